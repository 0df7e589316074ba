package eth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// counters are drops, reported in the log at most once a second.
type counters struct {
	rxNotUs, rxBad, rxNoFlow, rxWrongPeer, rxFull atomic.Uint64
	mgmtBad, mgmtBusy, mgmtStray, dirFull         atomic.Uint64
	txTooBig, txErr                               atomic.Uint64
	lastLog                                       atomic.Int64
}

// readBuf holds the largest frame: a 14-byte MAC header and 65535 bytes.
const readBuf = 14 + 65536

// reader receives every frame until the link closes.
func (e *Eth) reader() {
	defer e.wg.Done()
	defer close(e.mgmtQ) // the workers end
	buf := make([]byte, readBuf)
	for {
		n, err := e.link.ReadFrame(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			e.log.Debug(fmt.Sprintf("Read from %s: %v.", e.dev, err))
			time.Sleep(time.Millisecond) // do not spin on a persistent error
			continue
		}
		e.receive(buf[:n])
	}
}

// receive handles one frame. The payload of a data frame is handed on in
// place: the byte before it (the end of the header) becomes the channel's
// kind byte.
func (e *Eth) receive(frame []byte) {
	if len(frame) < e.hdrLen() {
		e.drop(&e.stats.rxBad)
		return
	}
	if dst := wire.EthAddr(frame[0:6]); dst != e.mac && dst != wire.EthBroadcast {
		e.stats.rxNotUs.Add(1) // flooded by a switch; not an error
		return
	}
	hl := e.hdrLen()
	if e.Format == wire.EthLLC {
		h, payload, err := wire.ParseEthLLC(frame)
		switch {
		case errors.Is(err, wire.ErrEthNotLLC):
			return // another protocol
		case err != nil:
			e.drop(&e.stats.rxBad)
		case h.IsMgmt():
			e.mgmt(payload, h.Src)
		default:
			e.deliver(uint16(h.DSAP), h.Src, uint16(h.SSAP), frame[hl-1:hl+len(payload)])
		}
		return
	}
	h, payload, err := wire.ParseEthDIX(frame)
	switch {
	case err != nil:
		e.drop(&e.stats.rxBad)
	case h.Ethertype != e.ethertype:
		return // another protocol
	case h.EID == wire.EthDIXMgmtEID:
		e.mgmt(payload, h.Src)
	default:
		e.deliver(h.EID, h.Src, 0, frame[hl-1:hl+len(payload)])
	}
}

// deliver hands a data payload (pkt = headroom + payload) to the flow with
// local id leid, if it is up and the frame came from its peer (and, for LLC,
// from the peer's SAP rid).
func (e *Eth) deliver(leid uint16, src wire.EthAddr, rid uint16, pkt []byte) {
	e.mu.Lock()
	fl := e.tab.get(int(leid)) // bounds-checked
	ok := fl != nil && fl.up
	if ok {
		ok = fl.peer == src && (e.Format == wire.EthDIX || fl.reid == rid)
		if !ok {
			e.stats.rxWrongPeer.Add(1)
		}
	} else {
		e.stats.rxNoFlow.Add(1)
	}
	e.mu.Unlock()
	if !ok {
		e.logDrops(false)
		return
	}
	if err := fl.f.Deliver(pkt); err != nil && !datapath.IsDown(err) {
		e.drop(&e.stats.rxFull) // the application does not keep up
	}
}

type mgmtMsg struct {
	m   wire.EthMgmt
	src wire.EthAddr
}

// mgmt parses a management message (a copy: the read buffer is reused).
// Replies are handled here, in frame order; requests are queued for the
// workers, or dropped and counted when the queue is full.
func (e *Eth) mgmt(payload []byte, src wire.EthAddr) {
	if len(payload) > wire.EthMgmtFrameSize {
		e.drop(&e.stats.mgmtBad)
		return
	}
	m, err := wire.ParseEthMgmt(append([]byte(nil), payload...), e.Format, e.hashLen)
	if err != nil {
		e.drop(&e.stats.mgmtBad)
		return
	}
	switch m.Code {
	case wire.EthFlowReply:
		e.flowReply(m, src)
	case wire.EthNameQueryReply:
		e.nameReply(m.Hash, src)
	default:
		select {
		case e.mgmtQ <- mgmtMsg{m, src}:
		default:
			e.drop(&e.stats.mgmtBusy)
		}
	}
}

// mgmtWorker handles queued requests until the queue closes.
func (e *Eth) mgmtWorker() {
	defer e.wg.Done()
	for mm := range e.mgmtQ {
		switch mm.m.Code {
		case wire.EthFlowReq:
			e.flowReq(mm.m, mm.src)
		case wire.EthNameQueryReq:
			if e.registered(mm.m.Hash) {
				r := wire.EthMgmt{Code: wire.EthNameQueryReply, Hash: mm.m.Hash}
				if err := e.sendMgmt(mm.src, r); err != nil {
					e.drop(&e.stats.txErr)
				}
			}
		}
	}
}

// nameReply caches an answer, solicited or not (as the reference), and wakes
// the lookups waiting for it. The cache is bounded against floods.
func (e *Eth) nameReply(h []byte, src wire.EthAddr) {
	k := string(h)
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, pending := e.queries[k]
	if _, known := e.dir[k]; !pending && !known && len(e.dir) >= dirMax {
		e.stats.dirFull.Add(1)
		return
	}
	e.dir[k] = src
	if pending {
		close(ch)
		delete(e.queries, k)
	}
}

// flowReq serves a FLOW_REQ for a registered hash: a local id and the peer
// are recorded, then the IRMd publishes the flow. Requests for other hashes
// are ignored (as the reference); a failure is answered with a negative
// FLOW_REPLY.
func (e *Eth) flowReq(m wire.EthMgmt, src wire.EthAddr) {
	if !e.registered(m.Hash) {
		e.drop(&e.stats.mgmtStray)
		return
	}
	if !e.validRemote(m.SEID) {
		e.drop(&e.stats.mgmtBad)
		return
	}
	fl := &flow{peer: src, reid: m.SEID}
	err := e.reserve(fl)
	if err == nil {
		q := qos.Spec{Delay: m.Delay, Bandwidth: m.Bandwidth, Availability: m.Availability, Loss: m.Loss,
			BER: m.BER, InOrder: m.InOrder, MaxGap: m.MaxGap, Timeout: m.Timeout}
		ctx, cancel := context.WithTimeout(e.ctx, reqArrTTL)
		_, err = e.irm.FlowReqArr(ctx, m.Hash, q, MPL, m.Data, func(f *ipcp.Flow) { e.bind(fl, f) })
		cancel()
		if err != nil {
			e.remove(fl)
		}
	}
	if err != nil {
		e.log.Info(fmt.Sprintf("Flow request from %v for %s failed: %v.", src, hash.Short(m.Hash), err))
		r := wire.EthMgmt{Code: wire.EthFlowReply, DEID: m.SEID, Response: errResponse(err)}
		if err := e.sendMgmt(src, r); err != nil {
			e.drop(&e.stats.txErr)
		}
	}
}

// flowReply completes an allocation this host requested. The state changes
// here, in the reader; the IRMd is told from a goroutine of its own (one per
// accepted reply, so bounded by our own requests).
func (e *Eth) flowReply(m wire.EthMgmt, src wire.EthAddr) {
	e.mu.Lock()
	fl := e.tab.get(int(m.DEID)) // bounds-checked
	ok := fl != nil && fl.client && !fl.replied && fl.f != nil
	if ok && fl.peer != src {
		ok = false
		e.stats.rxWrongPeer.Add(1)
	}
	var id int
	resp := m.Response
	if ok {
		fl.replied = true
		id = fl.f.ID
		if resp == 0 && !e.validRemote(m.SEID) {
			resp = -int32(oerr.EIPCP) // a reply we could never send data to
		}
		if resp == 0 {
			fl.reid = m.SEID
		}
	}
	e.mu.Unlock()
	if !ok {
		e.drop(&e.stats.mgmtStray)
		return
	}
	data := m.Data
	if resp != 0 {
		e.remove(fl)
		data = nil
	} else {
		e.startFlow(fl)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := context.WithTimeout(e.ctx, reqArrTTL)
		defer cancel()
		if err := e.irm.FlowAllocReply(ctx, id, resp, MPL, data); err != nil {
			e.log.Debug(fmt.Sprintf("IPCP_FLOW_ALLOC_REPLY for flow %d: %v.", id, err))
		}
	}()
}

// errResponse is the negative response for a failed request: the error
// number if it has one, else -1.
func errResponse(err error) int32 {
	var en oerr.Errno
	if errors.As(err, &en) && en > 0 {
		return -int32(en)
	}
	return -1
}

// startFlow marks fl up and starts its writer.
func (e *Eth) startFlow(fl *flow) {
	e.mu.Lock()
	if fl.up || fl.f == nil || e.closed {
		e.mu.Unlock()
		return
	}
	fl.up = true
	fl.done = make(chan struct{})
	ep, peer, leid, reid, done := fl.f.EP, fl.peer, fl.leid, fl.reid, fl.done
	e.wg.Add(1)
	e.mu.Unlock()
	// First in the channel, before the application has the flow: larger
	// SDUs than a frame carries fail in its Write (EMSGSIZE).
	ep.TellMTU(e.maxSDU)
	go func() {
		defer close(done)
		e.writer(ep, peer, leid, reid)
	}()
}

// writer sends the application's packets to the peer until the channel
// closes. Only data packets travel (empty ones are keepalives); the local
// FLOW_DOWN signal has no equivalent on this wire. The SDU is read right
// after the space for the header, which is then written in front of it.
// It reads through a datapath.Puller, as the udp IPCP's writer does.
func (e *Eth) writer(ep *datapath.Endpoint, peer wire.EthAddr, leid, reid uint16) {
	defer e.wg.Done()
	hl := e.hdrLen()
	buf := make([]byte, hl+datapath.MaxSDU)
	p := ep.Puller()
	defer p.Close()
	get := func(int) []byte { return buf[hl-1:] }
	for {
		kind, sdu, err := p.Read(get)
		if errors.Is(err, datapath.ErrTooBig) {
			continue
		}
		if err != nil {
			return
		}
		if kind != datapath.KindData {
			continue
		}
		if len(sdu) > e.maxSDU {
			e.drop(&e.stats.txTooBig)
			continue
		}
		e.appendHeader(buf[:0], peer, leid, reid, len(sdu))
		if err := e.link.WriteFrame(buf[:hl+len(sdu)]); err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			e.drop(&e.stats.txErr) // e.g. ENOBUFS from a full device queue
		}
	}
}

// linkState marks every live flow down (the interface went down) or up
// again, by the in-band signal the application reads as FLOW_DOWN/FLOW_UP.
func (e *Eth) linkState(up bool) {
	e.mu.Lock()
	if e.linkDown == !up {
		e.mu.Unlock()
		return
	}
	e.linkDown = !up
	var eps []*datapath.Endpoint
	for _, fl := range e.byID {
		if fl.up {
			eps = append(eps, fl.f.EP)
		}
	}
	e.mu.Unlock()
	kind, what := datapath.KindUp, "up"
	if !up {
		kind, what = datapath.KindDown, "down"
	}
	e.log.Info(fmt.Sprintf("Interface %s is %s; %d flows marked %s.", e.dev, what, len(eps), what))
	for _, ep := range eps {
		ep.TryWritePacket(kind, []byte{0})
	}
}

// drop counts one drop and maybe logs.
func (e *Eth) drop(c *atomic.Uint64) {
	c.Add(1)
	e.logDrops(false)
}

// logDrops logs the drop counters, at most once a second unless final.
func (e *Eth) logDrops(final bool) {
	now := time.Now().UnixNano()
	last := e.stats.lastLog.Load()
	if !final && now-last < int64(time.Second) {
		return
	}
	if !e.stats.lastLog.CompareAndSwap(last, now) && !final {
		return
	}
	s := &e.stats
	total := s.rxBad.Load() + s.rxNoFlow.Load() + s.rxWrongPeer.Load() + s.rxFull.Load() +
		s.mgmtBad.Load() + s.mgmtBusy.Load() + s.mgmtStray.Load() + s.dirFull.Load() +
		s.txTooBig.Load() + s.txErr.Load()
	if total == 0 {
		return
	}
	e.log.Warn(fmt.Sprintf("Dropped so far: %d malformed, %d for no flow, %d from a wrong peer, "+
		"%d for a full flow, %d bad management, %d management while busy, %d management for "+
		"nothing here, %d answers over the cache limit, %d too big to send, %d send errors.",
		s.rxBad.Load(), s.rxNoFlow.Load(), s.rxWrongPeer.Load(), s.rxFull.Load(), s.mgmtBad.Load(),
		s.mgmtBusy.Load(), s.mgmtStray.Load(), s.dirFull.Load(), s.txTooBig.Load(), s.txErr.Load()))
}
