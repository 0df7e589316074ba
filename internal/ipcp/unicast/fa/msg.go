package fa

import (
	"fmt"
	"sync/atomic"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Post is the data transfer's handler for the flow allocator's EID: it
// queues a copy of the message for the worker (Start), which handles them
// one by one, since a request waits for the IRMd. When the queue is full
// the message is dropped and counted.
func (fa *FA) Post(_ uint64, _ uint8, b []byte) {
	select {
	case fa.ctl <- ctlMsg{b: append([]byte(nil), b...)}:
	default:
		fa.stats.ctlDropped.Add(1)
	}
}

// Start runs the worker that handles what Post queues, until Close.
func (fa *FA) Start() {
	fa.wg.Add(1)
	go func() {
		defer fa.wg.Done()
		for {
			select {
			case m := <-fa.ctl:
				if r, err := wire.ParseFA(m.b, fa.cfg.HashLen); err == nil && r.Code == wire.FAFlowReq {
					fa.handleReqAsync(r, m.local)
					continue
				}
				fa.handle(m.b, m.local)
			case <-fa.done:
				return
			}
		}
	}()
}

// handleReqAsync hands a FLOW_REQ to a goroutine of its own, which waits
// for the IRMd (see maxReqs); beyond maxReqs pending, it is refused at
// once with EAGAIN.
func (fa *FA) handleReqAsync(m wire.FAMsg, local bool) {
	select {
	case fa.reqs <- struct{}{}:
	default:
		fa.stats.refused.Add(1)
		fa.log.Info(fmt.Sprintf("Flow request from %#x refused: %d requests are pending.", m.SAddr, maxReqs))
		fa.sendMsg(m.SAddr, wire.FAMsg{Code: wire.FAFlowReply, REID: m.SEID, Response: -int32(oerr.EAGAIN)})
		return
	}
	fa.wg.Add(1)
	go func() {
		defer func() { <-fa.reqs; fa.wg.Done() }()
		fa.flowReq(m, local) // m.Hash and m.Data alias the queued copy, ours alone
	}()
}

// Close stops the worker and waits for it.
func (fa *FA) Close() {
	fa.once.Do(func() { close(fa.done) })
	fa.wg.Wait()
}

// Handle processes one flow allocator message from a peer. Whatever the
// bytes, it never panics and never touches a flow the message does not
// name by its full EID; what it cannot use it drops, counts and logs.
func (fa *FA) Handle(b []byte) { fa.handle(b, false) }

// handle is Handle; local is true for a message we sent ourselves.
func (fa *FA) handle(b []byte, local bool) {
	m, err := wire.ParseFA(b, fa.cfg.HashLen)
	if err != nil {
		fa.drop(&fa.stats.malformed, "malformed message (%d bytes): %v", len(b), err)
		return
	}
	switch m.Code {
	case wire.FAFlowReq:
		fa.flowReq(m, local)
	case wire.FAFlowReply:
		fa.flowReply(m)
	case wire.FAFlowUpdate:
		fa.flowUpdate(m)
	}
}

func (fa *FA) drop(c *atomic.Uint64, format string, args ...any) {
	c.Add(1)
	fa.log.Debug(fmt.Sprintf("Flow allocator dropped a "+format+".", args...))
}

// flowReq hands a request to the IRMd. If it fails, the requester is told
// with a negative FLOW_REPLY (the reference sends nothing and leaves the
// requester to time out; its requester handles such a reply). Our own
// address as the source is accepted only from ourselves (local).
func (fa *FA) flowReq(m wire.FAMsg, local bool) {
	self := m.SAddr == fa.cfg.DT.Addr()
	if m.SAddr == 0 || m.SAddr > wire.DTAddrMax || self != local || m.SEID < wire.DTEIDFirstFlow {
		fa.drop(&fa.stats.malformed, "FLOW_REQ with source address %#x, EID %#x", m.SAddr, m.SEID)
		return
	}
	key := [2]uint64{m.SAddr, m.SEID}
	if !fa.startAsking(key) {
		fa.drop(&fa.stats.malformed, "duplicate FLOW_REQ from %#x, EID %#x", m.SAddr, m.SEID)
		return
	}
	defer fa.doneAsking(key)
	q := qos.Spec{Delay: m.Delay, Bandwidth: m.Bandwidth, Availability: m.Availability,
		Loss: m.Loss, BER: m.BER, InOrder: m.InOrder, MaxGap: m.MaxGap, Timeout: m.Timeout}
	var addErr error
	_, err := fa.cfg.Upper.FlowReqArr(m.Hash, q, m.Data, func(id int) {
		_, addErr = fa.add(id, q.Cube(), arrived, m.SEID, m.SAddr)
	})
	if err == nil {
		err = addErr
	}
	if err != nil {
		fa.stats.refused.Add(1)
		fa.log.Info(fmt.Sprintf("Flow request from %#x refused: %v.", m.SAddr, err))
		r := wire.FAMsg{Code: wire.FAFlowReply, REID: m.SEID, Response: errResponse(err)}
		fa.sendMsg(m.SAddr, r)
	}
}

// startAsking records a request from key unless one is being handed to
// the IRMd or a flow with the peer's address and EID exists already.
func (fa *FA) startAsking(key [2]uint64) bool {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	if fa.asking[key] || fa.duplicateLocked(key[0], key[1]) {
		return false
	}
	fa.asking[key] = true
	return true
}

func (fa *FA) doneAsking(key [2]uint64) {
	fa.mu.Lock()
	delete(fa.asking, key)
	fa.mu.Unlock()
}

// duplicateLocked reports whether a flow with the peer's address and EID
// exists. Called with fa.mu held.
func (fa *FA) duplicateLocked(raddr, reid uint64) bool {
	for _, f := range fa.byID {
		f.mu.Lock()
		dup := f.raddr == raddr && f.reid == reid
		f.mu.Unlock()
		if dup {
			return true
		}
	}
	return false
}

// errResponse is the negative response for a failed request: minus the
// error number if it has one, else -1.
func errResponse(err error) int32 {
	var e oerr.Errno
	if ok := asErrno(err, &e); ok && e > 0 {
		return -int32(e)
	}
	return -1
}

// flowReply completes an allocation we requested.
func (fa *FA) flowReply(m wire.FAMsg) {
	f := fa.flowByEID(m.REID)
	if f == nil {
		fa.drop(&fa.stats.unknownEID, "FLOW_REPLY for unknown EID %#x", m.REID)
		return
	}
	f.mu.Lock()
	if f.state != pending {
		f.mu.Unlock()
		fa.drop(&fa.stats.malformed, "FLOW_REPLY for settled EID %#x", m.REID)
		return
	}
	resp := m.Response
	if resp == 0 && m.SEID < wire.DTEIDFirstFlow {
		// Our data would go to a component of the peer: refuse it.
		fa.log.Warn(fmt.Sprintf("Flow reply for EID %#x names peer EID %d; failing the flow.", m.REID, m.SEID))
		resp = -int32(oerr.EIPCP)
	}
	if resp == 0 {
		f.reid = m.SEID
		f.state = up
	}
	f.mu.Unlock()
	if resp != 0 {
		fa.remove(f)
	}
	fa.cfg.Upper.FlowAllocReply(f.id, resp, m.Data)
}

// flowUpdate applies the receiver's congestion level to our sender.
func (fa *FA) flowUpdate(m wire.FAMsg) {
	f := fa.flowByEID(m.REID)
	if f == nil {
		fa.drop(&fa.stats.unknownEID, "FLOW_UPDATE for unknown EID %#x", m.REID)
		return
	}
	f.mu.Lock()
	f.ca.Update(m.ECE)
	f.mu.Unlock()
	fa.stats.updatesRcvd.Add(1)
}
