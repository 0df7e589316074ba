package ipcp

import (
	"errors"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
)

// Deliver hands a packet that arrived from the network to the application
// (pkt is one byte of headroom, then the SDU). It is for the one reader
// goroutine of a shim IPCP (udp, eth), which serves every flow:
//
//  1. it never blocks on a flow with room;
//  2. when the application's channel is full it waits up to fullWait (the
//     socket buffer holds what arrives meanwhile), which keeps a reliable
//     flow's window from being dropped at every burst;
//  3. after a wait in vain, the flow's packets are dropped at once for
//     stallHold, so one stuck application cannot hold up the other flows.
//
// It returns nil, a datapath "down" error (the flow is gone: not a drop),
// or another error: the packet was dropped and should be counted.
func (f *Flow) Deliver(pkt []byte) error {
	err := f.EP.TryWritePacket(datapath.KindData, pkt)
	if errors.Is(err, datapath.ErrWouldBlock) && time.Now().After(f.stalled) {
		// Only the reader writes to this channel, so its deadline is ours.
		f.EP.SetWriteDeadline(time.Now().Add(fullWait))
		err = f.EP.WritePacket(datapath.KindData, pkt)
		if err != nil {
			f.stalled = time.Now().Add(stallHold)
		}
	}
	return err
}

// Delivery waits (see Deliver).
const (
	fullWait  = 5 * time.Millisecond
	stallHold = 100 * time.Millisecond
)
