package unicast

// N+1 flows.
//
// Allocation (requester flow A, responder flow B, both on this member when
// the name is registered here):
//
//	IRMd → FlowAlloc(A)          fa.Alloc: directory lookup, FLOW_REQ
//	FA worker: FLOW_REQ          upper.FlowReqArr → the IRMd's FLOW_REQ_ARR → B
//	IRMd → FlowAllocResp(B)      fa.AllocResp: FLOW_REPLY; B's reader starts
//	FA worker: FLOW_REPLY        upper.FlowAllocReply: A's reader starts, then
//	                             the IRMd's FLOW_ALLOC_REPLY(A)
//
// A reader starts only once its flow is up in the flow allocator, so that
// none of the application's packets is refused for a flow not yet up; what
// the application wrote before waits in its channel.
//
// Deallocation is local (nothing on the wire): the reader is given up to
// drainWait to pass on what the application wrote before it closed its end,
// then the flow allocator forgets the flow and the skeleton closes the
// channel, which ends the reader.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// drainWait bounds how long a deallocation waits for the flow's reader to
// pass on what is queued.
const drainWait = time.Second

// FlowAlloc starts the allocation of flow f to the name with hash h; the
// answer goes to the IRMd later (FLOW_ALLOC_REPLY).
func (u *Unicast) FlowAlloc(_ context.Context, f *ipcp.Flow, h []byte, q qos.Spec, pk []byte) error {
	a, _, err := u.booted()
	if err != nil {
		return err
	}
	u.tellLimit(f) // first in the channel: nothing comes before FLOW_REPLY
	return a.Alloc(f.ID, h, q, pk)
}

// FlowAllocResp answers a flow request that arrived as flow f.
func (u *Unicast) FlowAllocResp(_ context.Context, f *ipcp.Flow, response int32, pk []byte) error {
	a, _, err := u.booted()
	if err != nil {
		return err
	}
	if response == 0 {
		u.tellLimit(f) // first in the channel: the requester sends after FLOW_REPLY
	}
	if err := a.AllocResp(f.ID, response, pk); err != nil {
		return err
	}
	if response == 0 {
		u.startReader(f)
	}
	return nil
}

// FlowDealloc forgets flow f (see the top of the file).
func (u *Unicast) FlowDealloc(f *ipcp.Flow) {
	u.readers.Lock()
	done := u.readers.done[f]
	u.readers.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-time.After(drainWait):
		}
	}
	if a, _, err := u.booted(); err == nil {
		a.Dealloc(f.ID)
	}
	u.forgetLimit(f)
}

// startReader starts the goroutine that passes f's packets to the flow
// allocator, once per flow.
func (u *Unicast) startReader(f *ipcp.Flow) {
	u.readers.Lock()
	defer u.readers.Unlock()
	if _, ok := u.readers.done[f]; ok {
		return
	}
	done := make(chan struct{})
	u.readers.done[f] = done
	// After the flow is in the map: linkLimit, which tells the flows in
	// the map, cannot miss a lower limit that came since FlowAlloc or
	// FlowAllocResp told it (mtu.go).
	u.tellLimit(f)
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() {
			u.readers.Lock()
			delete(u.readers.done, f)
			u.readers.Unlock()
			close(done)
		}()
		u.read(f)
	}()
}

// read passes the application's SDUs on flow f to the flow allocator until
// the channel ends. Each SDU is read behind room for the DT PCI, so it goes
// out without a copy. Only data travels (an empty SDU is a keepalive); the
// local down/up signals have no equivalent in the layer. It reads through a
// datapath.Puller: while the application keeps sending, it waits for the
// next SDU on the ring itself, woken by the application's write.
func (u *Unicast) read(f *ipcp.Flow) {
	a, _, err := u.booted()
	if err != nil {
		return
	}
	var b *[]byte
	get := func(n int) []byte {
		b = getBuf(wire.DTPCILen - 1 + n)
		return (*b)[wire.DTPCILen-1:]
	}
	p := f.EP.Puller()
	defer p.Close()
	for {
		kind, sdu, err := p.Read(get)
		if errors.Is(err, datapath.ErrTooBig) {
			continue
		}
		if err != nil {
			if b != nil {
				putBuf(b)
			}
			return
		}
		if kind == datapath.KindData {
			err = a.Write(f.ID, (*b)[:wire.DTPCILen+len(sdu)])
			if err != nil && !isGone(err) {
				u.log.Debug(fmt.Sprintf("Flow %d: SDU of %d bytes not sent: %v.", f.ID, len(sdu), err))
			}
		}
		putBuf(b)
		b = nil
	}
}

// upper is the member as its flow allocator's IRMd side (fa.Upper).
type upper Unicast

// FlowReqArr hands an arriving flow request to the IRMd.
func (up *upper) FlowReqArr(h []byte, q qos.Spec, pk []byte, prepare func(int)) (int, error) {
	u := (*Unicast)(up)
	ctx, cancel := context.WithTimeout(u.ctx, ipcp.FlowReqArrWait)
	defer cancel()
	f, err := u.sk.FlowReqArr(ctx, h, q, MPL, pk, func(f *ipcp.Flow) { prepare(f.ID) })
	if err != nil {
		return 0, err
	}
	return f.ID, nil
}

// FlowAllocReply gives the IRMd the answer to an allocation; a flow that
// is up starts its reader first.
func (up *upper) FlowAllocReply(id int, response int32, pk []byte) {
	u := (*Unicast)(up)
	if response == 0 {
		if f := u.sk.Flow(id); f != nil {
			u.startReader(f)
		}
	}
	ctx, cancel := context.WithTimeout(u.ctx, ipcp.FlowReqArrWait)
	defer cancel()
	if err := u.sk.FlowAllocReply(ctx, id, response, MPL, pk); err != nil {
		u.log.Debug(fmt.Sprintf("IPCP_FLOW_ALLOC_REPLY for flow %d: %v.", id, err))
	}
}

// Deliver writes an SDU to the application of flow id.
func (up *upper) Deliver(id int, sdu []byte) error {
	u := (*Unicast)(up)
	f := u.sk.Flow(id)
	if f == nil {
		return oerr.ENOTALLOC
	}
	if len(sdu) > datapath.MaxSDU {
		return datapath.ErrTooBig
	}
	b := getBuf(1 + len(sdu))
	defer putBuf(b)
	pkt := (*b)[:1+len(sdu)]
	copy(pkt[1:], sdu)
	err := f.Deliver(pkt)
	if err != nil && datapath.IsDown(err) {
		return nil // the application left: the deallocation follows
	}
	return err
}

// Buffers for SDUs with room in front: for the PCI (readers) or the
// channel's kind byte (delivery). Two size classes, so that small packets
// do not pin large buffers.
const (
	smallBuf = 2048 + wire.DTPCILen
	largeBuf = datapath.MaxSDU + wire.DTPCILen
)

var (
	smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBuf); return &b }}
	largeBufs = sync.Pool{New: func() any { b := make([]byte, largeBuf); return &b }}
)

// getBuf returns a pooled buffer of at least n bytes (n ≤ largeBuf).
func getBuf(n int) *[]byte {
	if n <= smallBuf {
		return smallBufs.Get().(*[]byte)
	}
	return largeBufs.Get().(*[]byte)
}

func putBuf(b *[]byte) {
	if len(*b) == smallBuf {
		smallBufs.Put(b)
	} else {
		largeBufs.Put(b)
	}
}
