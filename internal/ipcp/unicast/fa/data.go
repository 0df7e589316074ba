package fa

// The N+1 data path.
//
// Write (the goroutine that reads the application's flow):
//  1. find the flow, which must be up;
//  2. account the SDU to the congestion avoidance, which may ask to wait
//     (pacing): the writer sleeps, holding up only its own flow;
//  3. send it by the data transfer to the peer's address and EID.
//
// Receive (the data transfer's flow handler, in the link reader):
//  1. find the flow by our EID (all 64 bits: a stale or forged EID with a
//     reused flow id does not match); unknown → dropped and counted;
//  2. account the congestion mark; write the SDU to the application;
//  3. when the congestion avoidance asks, send the peer a FLOW_UPDATE.
//
// Neither path allocates, except to build a FLOW_UPDATE.

import (
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// Write sends an SDU the application wrote on N+1 flow id to the peer. pkt
// is the whole buffer: wire.DTPCILen bytes of headroom, then the SDU. It
// may sleep to pace the flow (never more than about a second).
func (fa *FA) Write(id int, pkt []byte) error {
	f := fa.flowByID(id)
	if f == nil {
		return ErrNotAlloc
	}
	f.mu.Lock()
	if f.state != up {
		f.mu.Unlock()
		return ErrState
	}
	wait := f.ca.Sent(fa.now(), len(pkt)-wire.DTPCILen)
	raddr, reid := f.raddr, f.reid
	f.mu.Unlock()
	if wait > 0 {
		fa.stats.paced.Add(1)
		fa.cfg.Pace(wait)
	}
	if err := fa.cfg.DT.Send(raddr, f.cube, reid, pkt); err != nil {
		fa.stats.sendFailed.Add(1)
		return err
	}
	return nil
}

// Receive takes N+1 flow data for our EID eid that arrived with congestion
// mark ecn; it is the data transfer's handler for EIDs from 64 up.
func (fa *FA) Receive(eid uint64, ecn uint8, sdu []byte) {
	f := fa.flowByEID(eid)
	if f == nil {
		fa.stats.unknownEID.Add(1)
		return
	}
	f.mu.Lock()
	update, ece := f.ca.Received(ecn)
	raddr, reid := f.raddr, f.reid
	f.mu.Unlock()
	if err := fa.cfg.Upper.Deliver(f.id, sdu); err != nil {
		fa.stats.deliverFailed.Add(1)
	}
	if update && reid != 0 {
		m := wire.FAMsg{Code: wire.FAFlowUpdate, REID: reid, ECE: ece}
		if fa.sendMsg(raddr, m) == nil {
			fa.stats.updatesSent.Add(1)
		}
	}
}
