package eth

import (
	"context"
	"encoding/binary"
	"errors"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestFloodThenAlloc: flow requests flood B while its IRMd hangs. The
// workers block, the queue fills and the rest is dropped and counted; name
// resolution still works meanwhile (answers are handled by the reader), and
// once the IRMd is back B allocates again.
func TestEthFloodThenAlloc(t *testing.T) {
	var b bus
	a, srv := newNode(t, &b, wire.EthDIX, 1), newNode(t, &b, wire.EthDIX, 2)
	h := hashOf(t, "srv")
	srv.e.Reg(h)
	release := make(chan struct{})
	srv.irm.mu.Lock()
	srv.irm.block = release
	srv.irm.mu.Unlock()
	peer := wire.EthAddr{2, 0, 0, 0, 0, 9}
	n := mgmtWorkers + mgmtQueue + 1000
	for i := range n {
		srv.link.inject(srv.mgmtFrame(peer, wire.EthMgmt{Code: wire.EthFlowReq, SEID: uint16(i + 1), Hash: h}))
	}
	eventually(t, "drops while busy", func() bool { return srv.e.stats.mgmtBusy.Load() >= 1000 })
	hq := hashOf(t, "on A")
	a.e.Reg(hq)
	if err := srv.e.Query(context.Background(), hq); err != nil {
		t.Fatalf("name query during the flood: %v", err)
	}
	srv.irm.setFail(oerr.EIRMD)
	close(release)
	// Drained: every request was dropped or went through FlowReqArr (a
	// worker that had taken one from the queue but not yet called it would
	// otherwise publish a flood flow once the failure is lifted, to the
	// hook that connect sets for its own flow).
	s := &srv.e.stats
	eventually(t, "the queue drained", func() bool {
		srv.e.mu.Lock()
		idle := len(srv.e.mgmtQ) == 0 && srv.e.tab.len() == 0
		srv.e.mu.Unlock()
		done := srv.irm.handled.Load() + int64(s.mgmtBusy.Load()+s.mgmtBad.Load()+s.mgmtStray.Load())
		return idle && done == int64(n)
	})
	srv.irm.setFail(nil)
	srv.irm.mu.Lock()
	srv.irm.block = nil
	srv.irm.mu.Unlock()
	_, appA, appB := connect(t, a, srv, 7)
	write(t, appA, []byte("after the flood"))
	if _, p, err := read(t, appB, 5*time.Second); err != nil || string(p) != "after the flood" {
		t.Fatalf("%q %v", p, err)
	}
}

// TestFlowIDReuse: a flow whose id the IRMd reused is not released by the
// old flow's deallocation.
func TestEthFlowIDReuse(t *testing.T) {
	var b bus
	a, srv := newNode(t, &b, wire.EthDIX, 1), newNode(t, &b, wire.EthDIX, 2)
	h := hashOf(t, "srv")
	srv.e.Reg(h)
	old, _ := newFlow(t, 5)
	if err := a.e.FlowAlloc(context.Background(), old, h, qos.Raw, nil); err != nil {
		t.Fatal(err)
	}
	cur, _ := newFlow(t, 5)
	if err := a.e.FlowAlloc(context.Background(), cur, h, qos.Raw, nil); err != nil {
		t.Fatal(err)
	}
	a.e.FlowDealloc(old)
	if fl := a.e.byID[5]; fl == nil || fl.f != cur || a.e.tab.get(int(fl.leid)) != fl || a.e.tab.len() != 1 {
		t.Fatalf("the current flow 5 is gone or the old one kept (table %d)", a.e.tab.len())
	}
	a.e.FlowDealloc(cur)
	if a.e.byID[5] != nil || a.e.tab.len() != 0 {
		t.Fatal("flow 5 not released")
	}
}

func TestEthLinkState(t *testing.T) {
	var b bus
	a, srv := newNode(t, &b, wire.EthDIX, 1), newNode(t, &b, wire.EthDIX, 2)
	_, appA, _ := connect(t, a, srv, 7)
	a.e.linkState(false)
	a.e.linkState(false) // no change, no signal
	a.e.linkState(true)
	for _, want := range []datapath.Kind{datapath.KindDown, datapath.KindUp} {
		if k, _, err := read(t, appA, 5*time.Second); err != nil || k != want {
			t.Fatalf("kind %d, %v; want %d", k, err, want)
		}
	}
	if _, _, err := read(t, appA, 50*time.Millisecond); err == nil {
		t.Fatal("a second down signal")
	}
}

// TestDeallocDrains: what the application wrote just before closing its end
// still leaves when the flow is deallocated.
func TestEthDeallocDrains(t *testing.T) {
	var b bus
	a, srv := newNode(t, &b, wire.EthDIX, 1), newNode(t, &b, wire.EthDIX, 2)
	fa, appA, appB := connect(t, a, srv, 7)
	for i := range 100 {
		write(t, appA, []byte{byte(i)})
	}
	appA.Close()
	a.e.FlowDealloc(fa)
	fa.EP.Close() // what the skeleton does next
	for i := range 100 {
		if _, p, err := read(t, appB, 5*time.Second); err != nil || len(p) != 1 || p[0] != byte(i) {
			t.Fatalf("packet %d: %v %v", i, p, err)
		}
	}
}

func TestEthBootstrapChecks(t *testing.T) {
	conf := func(typ uint32, algo uint32, eth *pb.EthConfigMsg) *pb.IpcpConfigMsg {
		return &pb.IpcpConfigMsg{IpcpType: proto.Uint32(typ), Eth: eth,
			LayerInfo: &pb.LayerInfoMsg{Name: proto.String("l"), DirHashAlgo: proto.Uint32(algo)}}
	}
	dev := func(d string, et uint32) *pb.EthConfigMsg {
		return &pb.EthConfigMsg{Dev: proto.String(d), Ethertype: proto.Uint32(et)}
	}
	for _, c := range []struct {
		f    wire.EthFormat
		conf *pb.IpcpConfigMsg
	}{
		{wire.EthDIX, conf(4, 1, nil)},
		{wire.EthDIX, conf(4, 1, dev("", 0xa000))},
		{wire.EthDIX, conf(4, 1, dev("sixteen-chars-xx", 0xa000))},
		{wire.EthDIX, conf(4, uint32(hash.MD5), dev("lo", 0xa000))},
		{wire.EthDIX, conf(4, 1, dev("lo", 0x05ff))},
		{wire.EthDIX, conf(4, 1, dev("lo", 0xffff))},
		{wire.EthDIX, conf(4, 1, dev("lo", 0x1a000))},
		{wire.EthLLC, conf(3, 9, dev("lo", 0))},
	} {
		e := New(newFakeIRMd(t), c.f)
		if _, _, err := e.Bootstrap(context.Background(), c.conf); !errors.Is(err, oerr.EINVAL) {
			t.Errorf("bootstrap %v: %v, want EINVAL", c.conf, err)
		}
		e.Close()
	}
	e := New(newFakeIRMd(t), wire.EthDIX)
	defer e.Close()
	if _, _, err := e.Bootstrap(context.Background(), conf(4, 1, dev("o7s-nonesuch", 0xa000))); err == nil {
		t.Fatal("bootstrap on a device that does not exist")
	}
}

func TestEthCapMTU(t *testing.T) {
	for _, c := range []struct {
		f        wire.EthFormat
		dev      string
		mtu, cap int
	}{
		{wire.EthDIX, "eth0", 1500, 1500}, {wire.EthDIX, "eth0", 9000, 9000}, {wire.EthDIX, "eth0", 65536, 65535},
		{wire.EthLLC, "eth0", 9000, 1500}, {wire.EthDIX, "lo", 65536, 9000}, {wire.EthLLC, "lo", 65536, 1500},
	} {
		if got := capMTU(c.f, c.dev, c.mtu); got != c.cap {
			t.Errorf("capMTU(%d, %s, %d) = %d, want %d", c.f, c.dev, c.mtu, got, c.cap)
		}
	}
}

func TestEthLinkUpMessage(t *testing.T) {
	msg := func(typ uint16, index int32, flags uint32) syscall.NetlinkMessage {
		d := make([]byte, 16)
		binary.NativeEndian.PutUint32(d[4:], uint32(index))
		binary.NativeEndian.PutUint32(d[8:], flags)
		return syscall.NetlinkMessage{Header: syscall.NlMsghdr{Type: typ}, Data: d}
	}
	for _, c := range []struct {
		m      syscall.NetlinkMessage
		up, ok bool
	}{
		{msg(syscall.RTM_NEWLINK, 3, syscall.IFF_UP|syscall.IFF_BROADCAST), true, true},
		{msg(syscall.RTM_NEWLINK, 3, syscall.IFF_BROADCAST), false, true},
		{msg(syscall.RTM_DELLINK, 3, syscall.IFF_UP), false, true},
		{msg(syscall.RTM_NEWLINK, 4, syscall.IFF_UP), false, false},
		{msg(syscall.RTM_NEWADDR, 3, syscall.IFF_UP), false, false},
	} {
		if up, ok := linkUp(c.m, 3); up != c.up || ok != c.ok {
			t.Errorf("linkUp(type %d) = %v %v, want %v %v", c.m.Header.Type, up, ok, c.up, c.ok)
		}
	}
}

func TestEthTable(t *testing.T) {
	tab := newTable(2, 4)
	fs := []*flow{{}, {}, {}, {}}
	for i, f := range fs[:3] {
		if !tab.put(f) || f.leid != uint16(2+i) {
			t.Fatalf("put %d: id %d", i, f.leid)
		}
	}
	if tab.put(fs[3]) {
		t.Fatal("put into a full table")
	}
	for _, id := range []int{-1, 0, 1, 5, 255, 1 << 20} {
		if tab.get(id) != nil {
			t.Fatalf("get(%d) out of range", id)
		}
	}
	tab.del(&flow{leid: 3}) // not the holder
	if tab.get(3) != fs[1] {
		t.Fatal("del by a non-holder")
	}
	tab.del(fs[0])
	if !tab.put(fs[3]) || fs[3].leid != 2 || tab.len() != 3 {
		t.Fatalf("reuse: id %d, len %d", fs[3].leid, tab.len())
	}
}
