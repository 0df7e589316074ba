package irmd

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Lists in pages. A reply is one datagram of at most ctrl.BufSize bytes, the
// size the reference's irm reads, so a long list (names, IPCPs) comes in
// pages: each reply holds the entries that fit, in listing order, and, when
// more follow, list_next, the cursor (the key of its last entry) that the
// client sends back as list_after for the next page. A cursor names a
// position, not an index, so entries created or destroyed between pages
// neither shift nor repeat the others. A client that does not know the field
// (the reference's irm) gets the first page instead of an error.

// pageBudget is what a page's entries may take: the reply's other fields
// (code, result and the list_next key of at most maxKey bytes) fit in the rest.
func pageBudget(maxKey int) int {
	return ctrl.BufSize - 16 - protowire.SizeTag(1002) - protowire.SizeBytes(maxKey)
}

// entrySize is the encoded size of one repeated message field.
func entrySize(field protowire.Number, m proto.Message) int {
	return protowire.SizeTag(field) + protowire.SizeBytes(proto.Size(m))
}

// namesPerPage bounds the names taken from the registry for one page; a page
// of the shortest names holds fewer.
const namesPerPage = 1024

func (d *Daemon) listNames(req *pb.IrmMsg) reply {
	after := req.GetListAfter()
	m := &pb.IrmMsg{Result: proto.Int32(0)}
	used := 0
	for {
		names, more := d.reg.NamesAfter(after, namesPerPage)
		for _, n := range names {
			e := &pb.NameInfoMsg{Name: proto.String(n.Name),
				PolLb: proto.Uint32(uint32(n.LB)), Skey: proto.String(""), Scrt: proto.String(""),
				Ckey: proto.String(""), Ccrt: proto.String("")}
			sz := entrySize(18, e)
			if len(m.Names) > 0 && used+sz > pageBudget(len(n.Name)) {
				return d.cutList(req, m, after)
			}
			used += sz
			m.Names = append(m.Names, e)
			after = n.Name
		}
		if !more {
			return reply{msg: m}
		}
	}
}

// cutList finishes a page that did not hold the whole list.
func (d *Daemon) cutList(req, m *pb.IrmMsg, next string) reply {
	m.ListNext = proto.String(next)
	if req.ListAfter == nil {
		d.log.Info(fmt.Sprintf("Listing cut after %d entries for a client that does not page (%s).",
			len(m.Names)+len(m.Ipcps), req.GetCode()))
	}
	return reply{msg: m}
}

// ipcpKey is an IPCP's cursor: its place in the order by type, then pid.
func ipcpKey(typ uint32, pid int) string { return fmt.Sprintf("%d:%d", typ, pid) }

func (d *Daemon) listIPCPs(req *pb.IrmMsg) reply {
	m := &pb.IrmMsg{Result: proto.Int32(0)}
	list := d.reg.ListIPCPs()
	start := 0
	if a := req.GetListAfter(); a != "" {
		t, p, _ := strings.Cut(a, ":")
		typ, _ := strconv.ParseUint(t, 10, 32)
		pid, _ := strconv.Atoi(p)
		start, _ = slices.BinarySearchFunc(list, [2]int{int(typ), pid}, func(i reg.IPCP, k [2]int) int {
			return cmp.Or(cmp.Compare(int(i.Type), k[0]), cmp.Compare(i.PID, k[1]))
		})
		if start < len(list) && int(list[start].Type) == int(typ) && list[start].PID == pid {
			start++
		}
	}
	used := 0
	for k, i := range list[start:] {
		e := &pb.IpcpListMsg{
			Pid: proto.Uint32(uint32(i.PID)), Type: proto.Uint32(i.Type), Name: proto.String(i.Name),
			Layer: proto.String(i.Layer), HashAlgo: proto.Uint32(i.HashAlgo)}
		sz := entrySize(17, e)
		if k > 0 && used+sz > pageBudget(24) {
			last := list[start+k-1]
			return d.cutList(req, m, ipcpKey(last.Type, last.PID))
		}
		used += sz
		m.Ipcps = append(m.Ipcps, e)
	}
	return reply{msg: m}
}
