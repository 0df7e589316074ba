package eth

import (
	"fmt"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// table maps the local ids lo..hi (DIX EIDs or LLC SAPs) to flows. Ids read
// from the wire go through get, which answers nil for any id outside the
// range, so no received value can index past the table.
type table struct {
	lo    int
	slots []*flow
	next  int // next slot tried: ids are handed out round robin, so a freed id is reused last
	used  int
}

func newTable(lo, hi int) table {
	return table{lo: lo, slots: make([]*flow, hi-lo+1)}
}

// get returns the flow with local id id, or nil.
func (t *table) get(id int) *flow {
	i := id - t.lo
	if i < 0 || i >= len(t.slots) {
		return nil
	}
	return t.slots[i]
}

// put gives fl a free id (fl.leid) and enters it; false when all are used.
func (t *table) put(fl *flow) bool {
	if t.used == len(t.slots) {
		return false
	}
	for range t.slots {
		i := t.next
		t.next = (t.next + 1) % len(t.slots)
		if t.slots[i] == nil {
			t.slots[i] = fl
			t.used++
			fl.leid = uint16(t.lo + i)
			return true
		}
	}
	return false
}

// del frees fl's id if fl holds it.
func (t *table) del(fl *flow) {
	if i := int(fl.leid) - t.lo; t.get(int(fl.leid)) == fl {
		t.slots[i] = nil
		t.used--
	}
}

// len returns the number of ids in use.
func (t *table) len() int { return t.used }

// The IPCP's flow state (under Eth.mu) and framing.

// reserve gives fl a free local id and enters it in the table.
func (e *Eth) reserve(fl *flow) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.tab.put(fl) {
		if e.Format == wire.EthLLC {
			return ErrNoSAP
		}
		return fmt.Errorf("all flow ids in use: %w", oerr.ENOMEM)
	}
	return nil
}

// bind attaches the IRMd's flow f to fl. A stale flow holding the same id
// (the IRMd reuses ids only once it considers them free) is dropped.
func (e *Eth) bind(fl *flow, f *ipcp.Flow) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if old := e.byID[f.ID]; old != nil && old != fl {
		e.tab.del(old)
		old.up = false
	}
	fl.f = f
	e.byID[f.ID] = fl
}

func (e *Eth) remove(fl *flow) {
	e.mu.Lock()
	e.tab.del(fl)
	if fl.f != nil && e.byID[fl.f.ID] == fl {
		delete(e.byID, fl.f.ID)
	}
	fl.up = false
	e.mu.Unlock()
}

// validRemote reports whether id may be a peer's data id: DIX EIDs are not 0
// (management), LLC SAPs are data SAPs (2..65).
func (e *Eth) validRemote(id uint16) bool {
	if e.Format == wire.EthLLC {
		return id >= wire.EthLLCMinDataSAP && id <= wire.EthLLCMaxDataSAP
	}
	return id != wire.EthDIXMgmtEID
}

// hdrLen is the frame header length.
func (e *Eth) hdrLen() int {
	if e.Format == wire.EthLLC {
		return wire.EthLLCHeaderLen
	}
	return wire.EthDIXHeaderLen
}

// appendHeader appends a frame header for n payload bytes from our id leid
// to the peer's id reid at dst.
func (e *Eth) appendHeader(b []byte, dst wire.EthAddr, leid, reid uint16, n int) []byte {
	if e.Format == wire.EthLLC {
		return wire.EthLLCHeader{Dst: dst, Src: e.mac, Length: uint16(wire.EthLLCOverhead + n),
			DSAP: uint8(reid), SSAP: uint8(leid)}.Append(b)
	}
	return wire.EthDIXHeader{Dst: dst, Src: e.mac, Ethertype: e.ethertype, EID: reid, Length: uint16(n)}.Append(b)
}

// maxMgmt is the largest management message this IPCP sends, bytes.
func (e *Eth) maxMgmt() int { return min(e.maxSDU, wire.EthMgmtFrameSize) }

// sendMgmt sends a management message to dst.
func (e *Eth) sendMgmt(dst wire.EthAddr, m wire.EthMgmt) error {
	n := m.Len(e.Format)
	if n > e.maxMgmt() {
		return fmt.Errorf("management message of %d bytes: %w", n, oerr.EMSGSIZE)
	}
	id := uint16(wire.EthDIXMgmtEID)
	if e.Format == wire.EthLLC {
		id = wire.EthLLCMgmtSAP
	}
	b := e.appendHeader(make([]byte, 0, e.hdrLen()+n), dst, id, id, n)
	return e.link.WriteFrame(m.Append(b, e.Format))
}
