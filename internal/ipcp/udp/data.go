package udp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// reader receives every datagram (data path):
// shorter than 4 bytes → dropped; EID 0 → management; otherwise the payload
// goes to the flow with that local EID, if the datagram came from its peer.
func (u *UDP) reader() {
	defer u.wg.Done()
	defer close(u.mgmtQ) // the workers end
	// buf[0] is headroom for the channel's kind byte: the datagram is read
	// at buf[1:], so buf[4:] is kind + payload once the EID is consumed.
	buf := make([]byte, 1+wire.UDPEIDLen+max(u.maxData, datapath.MaxSDU))
	for {
		n, src, err := u.recv(buf[1:])
		if err != nil {
			if errClosed(err) {
				return
			}
			u.log.Debug(fmt.Sprintf("UDP read: %v.", err))
			time.Sleep(time.Millisecond) // e.g. a transient ICMP error; do not spin
			continue
		}
		dgram := buf[1 : 1+n]
		eid, payload, err := wire.ParseUDPEID(dgram)
		if err != nil {
			u.stats.rxRunt.Add(1)
			u.logDrops(false)
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if eid == 0 {
			u.mgmt(append([]byte(nil), dgram...), src)
			continue
		}
		u.deliver(eid, src, buf[4:1+n], len(payload))
	}
}

// recv reads the next datagram (see rawSock).
func (u *UDP) recv(buf []byte) (int, netip.AddrPort, error) {
	if u.raw != nil {
		return u.raw.recvFrom(buf)
	}
	return u.conn.ReadFromUDPAddrPort(buf)
}

// deliver hands a data payload (pkt = headroom + payload) to its flow.
func (u *UDP) deliver(eid uint32, src netip.AddrPort, pkt []byte, n int) {
	u.mu.Lock()
	fl := u.byEID[eid]
	ok := fl != nil && fl.up
	if ok {
		ok = fl.peer == src
		if !ok {
			u.stats.rxWrongPeer.Add(1)
		}
	} else {
		u.stats.rxNoFlow.Add(1)
	}
	u.mu.Unlock()
	if !ok {
		u.logDrops(false)
		return
	}
	if err := fl.f.Deliver(pkt[:1+n]); err != nil && !datapath.IsDown(err) {
		u.stats.rxFull.Add(1) // the application does not keep up
		u.logDrops(false)
	}
}

// mgmt handles a management datagram. A FLOW_REPLY is settled at once, in
// the reader; a FLOW_REQ is queued for the workers (it waits for the IRMd)
// and, when the queue is full (a flood), dropped and counted.
func (u *UDP) mgmt(dgram []byte, src netip.AddrPort) {
	m, err := wire.ParseUDPMgmt(dgram)
	if err != nil {
		u.stats.mgmtBad.Add(1)
		u.logDrops(false)
		return
	}
	if m.Code == wire.UDPFlowReply {
		u.flowReply(m, src) // here, in datagram order: see flowReply
		return
	}
	select {
	case u.mgmtQ <- mgmtMsg{m, src}:
	default:
		u.stats.mgmtBusy.Add(1)
		u.logDrops(false)
	}
}

type mgmtMsg struct {
	m   wire.UDPMgmt
	src netip.AddrPort
}

// mgmtWorker handles queued management messages until the queue closes.
func (u *UDP) mgmtWorker() {
	defer u.wg.Done()
	for mm := range u.mgmtQ {
		switch mm.m.Code {
		case wire.UDPFlowReq:
			u.flowReq(mm.m, mm.src)
		}
	}
}

// flowReq passes a FLOW_REQ to the IRMd. The IRMd decides; the IPCP does
// not look at its registered names (as the reference).
func (u *UDP) flowReq(m wire.UDPMgmt, src netip.AddrPort) {
	q := qos.Spec{Delay: m.Delay, Bandwidth: m.Bandwidth, Availability: m.Availability, Loss: m.Loss,
		BER: m.BER, InOrder: m.InOrder, MaxGap: m.MaxGap, Timeout: m.Timeout}
	ctx, cancel := context.WithTimeout(context.Background(), reqArrTTL)
	defer cancel()
	var addErr error
	_, err := u.p.FlowReqArr(ctx, m.Hash[:], q, MPL, m.Data, func(f *ipcp.Flow) {
		addErr = u.add(&flow{id: f.ID, f: f, peer: src, reid: m.SEID})
	})
	if err == nil {
		err = addErr
	}
	if err != nil {
		u.log.Info(fmt.Sprintf("Flow request from %v for %s failed: %v.", src, DNSName(m.Hash[:]), err))
		r := wire.UDPMgmt{Code: wire.UDPFlowReply, SEID: m.SEID, Response: errResponse(err)}
		u.send(src, r.Append(nil))
	}
}

// flowReply completes an allocation this host requested. It runs in the
// reader, so the flow is up (its writer started, the peer's EID known)
// before the reader looks at the next datagram: the peer's first data
// packet, which its application may write as soon as it accepted and which
// leaves right behind the reply, finds the flow instead of being dropped
// for "no flow". The IRMd is told from a goroutine of its own (one per
// accepted reply, so bounded by our own requests); what arrives meanwhile
// waits in the flow's channel.
func (u *UDP) flowReply(m wire.UDPMgmt, src netip.AddrPort) {
	u.mu.Lock()
	fl := u.byEID[m.SEID]
	var id int
	ok := fl != nil && !fl.up
	if ok {
		id = fl.id
		if fl.peer != src {
			ok = false
			u.stats.rxWrongPeer.Add(1)
		}
	}
	if ok && m.Response == 0 {
		fl.reid = m.DEID
	}
	u.mu.Unlock()
	if !ok {
		u.log.Warn(fmt.Sprintf("Dropped a flow reply from %v for unknown or settled endpoint %d.", src, m.SEID))
		return
	}
	data := m.Data
	if m.Response != 0 {
		u.remove(fl)
		data = nil
	} else {
		u.start(fl)
	}
	u.wg.Add(1) // the reader, which is in wg, is running: Close has not returned
	go func() {
		defer u.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), reqArrTTL)
		defer cancel()
		if err := u.allocReply(ctx, id, m.Response, MPL, data); err != nil {
			u.log.Debug(fmt.Sprintf("IPCP_FLOW_ALLOC_REPLY for flow %d: %v.", id, err))
		}
	}()
}

// errResponse is the negative response for a failed request: the error
// number if it has one, else -1.
func errResponse(err error) int32 {
	var e oerr.Errno
	if errors.As(err, &e) && e > 0 {
		return -int32(e)
	}
	return -1
}

// start marks fl up and starts its writer.
func (u *UDP) start(fl *flow) {
	u.mu.Lock()
	if fl.up {
		u.mu.Unlock()
		return
	}
	fl.up = true
	fl.done = make(chan struct{})
	ep, peer, reid, done := fl.f.EP, fl.peer, fl.reid, fl.done
	u.mu.Unlock()
	// First in the channel, before the application has the flow: larger
	// SDUs than a datagram carries fail in its Write (EMSGSIZE).
	ep.TellMTU(u.maxData)
	u.wg.Add(1)
	go func() {
		defer close(done)
		u.writer(ep, peer, reid)
	}()
}

// writer sends the application's packets as datagrams to the peer until
// the channel closes. Only data packets travel (empty ones are keepalives);
// the local FlagDown signal has no equivalent on this wire. It reads
// through a datapath.Puller: while the application keeps sending, it waits
// for the next packet on the ring itself, woken by the application's write
// rather than by a doorbell through the netpoller.
func (u *UDP) writer(ep *datapath.Endpoint, peer netip.AddrPort, reid uint32) {
	defer u.wg.Done()
	buf := make([]byte, datapath.MaxSDU+1)
	out := make([]byte, 0, wire.UDPEIDLen+datapath.MaxSDU)
	p := ep.Puller()
	defer p.Close()
	get := func(int) []byte { return buf }
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
		if len(sdu) > u.maxData {
			u.stats.txTooBig.Add(1)
			u.logDrops(false)
			continue
		}
		out = append(wire.AppendUDPEID(out[:0], reid), sdu...)
		if err := u.send(peer, out); err != nil && errClosed(err) {
			return
		}
	}
}

// logDrops logs the drop counters, at most once a second unless final.
func (u *UDP) logDrops(final bool) {
	now := time.Now().UnixNano()
	last := u.stats.lastLog.Load()
	if !final && now-last < int64(time.Second) {
		return
	}
	if !u.stats.lastLog.CompareAndSwap(last, now) && !final {
		return
	}
	s := &u.stats
	total := s.rxNoFlow.Load() + s.rxWrongPeer.Load() + s.rxFull.Load() + s.rxRunt.Load() +
		s.mgmtBusy.Load() + s.mgmtBad.Load() + s.txTooBig.Load()
	if total == 0 {
		return
	}
	u.log.Warn(fmt.Sprintf("Dropped so far: %d for no flow, %d from a wrong peer, %d for a full flow, "+
		"%d runts, %d management while busy, %d bad management, %d too big to send.",
		s.rxNoFlow.Load(), s.rxWrongPeer.Load(), s.rxFull.Load(), s.rxRunt.Load(),
		s.mgmtBusy.Load(), s.mgmtBad.Load(), s.txTooBig.Load()))
}
