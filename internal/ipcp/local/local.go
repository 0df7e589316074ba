// Package local is the local IPCP: a layer that only
// connects processes on this host. It keeps the set of registered name hashes,
// answers queries from it, and pairs the two N+1 flows of each allocation,
// forwarding every datagram from one channel to the other unchanged (data,
// keepalives and up/down signals alike). When either side goes away, both
// channels close, so the survivor sees its flow go down.
//
// Allocation, client flow A and server flow B:
//
//	IRMd -> IPCP_FLOW_ALLOC(A)      FlowAlloc: IPCP_FLOW_REQ_ARR to the IRMd -> flow B
//	IRMd -> IPCP_FLOW_ALLOC_RESP(B) FlowAllocResp: start forwarding A<->B, then
//	                                IPCP_FLOW_ALLOC_REPLY(A, 0) to the IRMd
//
// Pairs are kept by flow, not by id: the IRMd may reuse A's id as soon as A is
// released (an abandoned allocation whose server side B arrives later), and B
// must then find no partner rather than the newer flow with A's id. An
// allocation abandoned by the IRMd fails even if B came through; B's
// IPCP_FLOW_ALLOC_RESP then fails and the IRMd releases B.
package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// MPL is IPCP_LOCAL_MPL, in ms.
const MPL = 100

// Local is the local IPCP's behaviour.
type Local struct {
	ipcp.Unsupported
	p *ipcp.IPCP

	mu    sync.Mutex
	names map[string]struct{}       // registered hashes
	pair  map[*ipcp.Flow]*ipcp.Flow // flow -> partner flow, both ways
	// drained holds, for each flow being forwarded, a channel closed when
	// the forwarder reading that flow's channel has stopped: at the
	// application's end of stream once its queued packets are passed on,
	// or when either side failed.
	drained map[*ipcp.Flow]chan struct{}
	wg      sync.WaitGroup
}

// New returns the local IPCP's operations for p.
func New(p *ipcp.IPCP) ipcp.Ops {
	return &Local{p: p, names: map[string]struct{}{}, pair: map[*ipcp.Flow]*ipcp.Flow{},
		drained: map[*ipcp.Flow]chan struct{}{}}
}

// Bootstrap accepts the layer name and the SHA3 hash algorithm asked for.
func (l *Local) Bootstrap(_ context.Context, conf *pb.IpcpConfigMsg) (string, hash.Algo, error) {
	li := conf.GetLayerInfo()
	algo := hash.Algo(li.GetDirHashAlgo())
	if algo > hash.SHA3_512 {
		return "", 0, oerr.EINVAL
	}
	if li.GetName() == "" {
		return "", 0, oerr.EINVAL
	}
	return li.GetName(), algo, nil
}

// Reg adds a hash (idempotent).
func (l *Local) Reg(h []byte) error {
	l.mu.Lock()
	l.names[string(h)] = struct{}{}
	l.mu.Unlock()
	return nil
}

// Unreg removes a hash (missing is fine).
func (l *Local) Unreg(h []byte) error {
	l.mu.Lock()
	delete(l.names, string(h))
	l.mu.Unlock()
	return nil
}

// Query succeeds iff the hash is registered.
func (l *Local) Query(_ context.Context, h []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.names[string(h)]; !ok {
		return oerr.ENAME
	}
	return nil
}

// FlowAlloc asks the IRMd for the server side of the flow and pairs the two.
func (l *Local) FlowAlloc(ctx context.Context, f *ipcp.Flow, h []byte, q qos.Spec, pk []byte) error {
	if err := l.Query(ctx, h); err != nil {
		return err
	}
	// The pair is recorded before the server side is published, so that
	// FlowAllocResp, which may follow at once, finds it.
	_, err := l.p.FlowReqArr(ctx, h, q, MPL, pk, func(out *ipcp.Flow) {
		l.mu.Lock()
		l.pair[f] = out
		l.pair[out] = f
		l.mu.Unlock()
	})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // abandoned while the server side came
	}
	if err != nil {
		l.unpair(f)
	}
	return err
}

// FlowAllocResp completes the allocation on the server side (f) and answers the
// client side.
func (l *Local) FlowAllocResp(ctx context.Context, f *ipcp.Flow, response int32, pk []byte) error {
	l.mu.Lock()
	peer, ok := l.pair[f]
	l.mu.Unlock()
	if !ok || l.p.Flow(peer.ID) != peer {
		return oerr.ENOTALLOC
	}
	if response != 0 {
		l.unpair(f)
		return l.p.FlowAllocReply(ctx, peer.ID, response, MPL, nil)
	}
	l.wg.Add(2)
	var once sync.Once
	down := func() { once.Do(func() { f.EP.Close(); peer.EP.Close() }) }
	fromPeer, fromF := make(chan struct{}), make(chan struct{})
	l.mu.Lock()
	l.drained[peer], l.drained[f] = fromPeer, fromF
	l.mu.Unlock()
	go l.forward(peer.EP, f.EP, down, fromPeer)
	go l.forward(f.EP, peer.EP, down, fromF)
	return l.p.FlowAllocReply(ctx, peer.ID, 0, MPL, pk)
}

// forward copies datagrams from src to dst until either fails, then closes both
// and closes done. It holds a buffer only while a packet passes: an idle flow
// costs its two goroutines' stacks, not two MaxSDU buffers. It reads
// through a datapath.Puller: while packets keep coming it waits for the
// next on src's ring itself, woken by the producer directly rather than by
// a doorbell through the netpoller.
func (l *Local) forward(src, dst *datapath.Endpoint, down func(), done chan struct{}) {
	defer l.wg.Done()
	defer close(done)
	defer down()
	p := src.Puller()
	p.Pair(dst) // the other forwarder of the flow reads dst and writes to src
	defer p.Close()
	var b *[]byte
	get := func(n int) []byte { b = datapath.GetBuf(n); return *b }
	for {
		kind, sdu, err := p.Read(get)
		if err != nil {
			if b != nil {
				datapath.PutBuf(b)
			}
			return
		}
		err = dst.WritePacket(kind, (*b)[:1+len(sdu)])
		datapath.PutBuf(b)
		b = nil
		if err != nil {
			return
		}
	}
}

// drainWait bounds how long FlowDealloc waits for a flow's queued packets to
// be passed on (the partner may have stopped reading). The IRMd asks for the
// release in the background and keeps the id reserved meanwhile, so the wait
// delays no application.
const drainWait = 3 * time.Second

// FlowDealloc forgets the pairing and lets the forwarder reading f pass on
// what f's application wrote before it left (it closed its end before asking
// for the release, so the forwarder stops at its end of stream), for at most
// drainWait; closing the channel (done by the skeleton) then ends forwarding
// and closes the partner. Without the wait a raw flow closed right after a
// burst lost the packets still queued towards the IPCP.
func (l *Local) FlowDealloc(f *ipcp.Flow) {
	l.mu.Lock()
	done := l.drained[f]
	delete(l.drained, f)
	l.mu.Unlock()
	if done != nil {
		t := time.NewTimer(drainWait)
		select {
		case <-done:
		case <-t.C:
			l.p.Log().Warn(fmt.Sprintf("Flow %d: its queued packets were not passed on within %v "+
				"(the partner is not reading); released with them.", f.ID, drainWait))
		}
		t.Stop()
	}
	l.unpair(f)
}

func (l *Local) unpair(f *ipcp.Flow) {
	l.mu.Lock()
	if peer, ok := l.pair[f]; ok && l.pair[peer] == f {
		delete(l.pair, peer)
	}
	delete(l.pair, f)
	l.mu.Unlock()
}

// Close waits for the forwarders (the skeleton has closed every channel).
func (l *Local) Close() { l.wg.Wait() }
