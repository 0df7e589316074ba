package frct

// Receive path, for every packet of the flow:
//
//  1. Drop packets shorter than the 12-byte header (fixes F4).
//  2. Expire the receive run if idle > rcv.inact. Without a run, DATA+DRF
//     opens one (lwe = seqno); other DATA is dropped (fixes F6: a control
//     packet never opens a run, and a run is accepted whenever none exists),
//     but its ACK and FC fields, which are about our run, are applied (the
//     reference drops them too: a lost DRF packet would hold up the other
//     direction until it is retransmitted).
//  3. rcv.act = now.
//  4. RDVS: answer FC with rcv.rwe; done.
//  5. ACK: move snd.lwe forward (ignoring acks beyond snd.seqno, F6), end the
//     RTT probe, forget acknowledged packets.
//  6. FC: move snd.rwe (window.go).
//  7. DATA: duplicates of consumed packets force an ACK; with RTX, packets in
//     [lwe, lwe+RQSize) enter the reorder queue and schedule a delayed ACK;
//     without RTX the packet is delivered if not older than the last one.
//  8. Deliver the in-order prefix of the reorder queue: each delivered
//     payload advances rcv.lwe and rcv.rwe (= lwe + RQSize).
//  9. Dropped packets try to send an ACK|FC at once.
//
// Acknowledgments report in-order arrival (rcv.lwe); the advertised window
// reports consumption. Payloads that Receive returns are queued for the
// reader until the flow calls Consumed, and the right edge is
//
//	rcv.rwe = rcv.lwe + RQSize - pending
//
// where pending counts payloads returned but not yet consumed. So a
// receiver holds at most RQSize unread payloads from a conforming sender,
// and the receive goroutine never has to stop reading its channel (which
// would also stop ACK processing). The reference acks consumption; to a
// sender the two are indistinguishable on the wire.

import (
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// rcvRWE is the receive right window edge: RQSize past lwe, less what the
// reader has not consumed yet.
func (c *Conn) rcvRWE() Seq {
	if c.pending >= c.cfg.RQSize {
		return c.rcv.lwe
	}
	return c.rcv.lwe.Add(uint32(c.cfg.RQSize - c.pending))
}

// advertise returns the window edge to put in an FC field and records it.
func (c *Conn) advertise() uint32 {
	c.rcv.adv = c.rcvRWE()
	return uint32(c.rcv.adv)
}

// Consumed tells the Conn the reader took one payload that Receive
// returned; it reopens the receive window by one. A window update (ACK|FC)
// follows with the next delayed ACK, or at once (returned) when the reader
// has opened a quarter of the window since the last update: a fast sender
// must not sit on a closed window for the 10 ms of the delayed ACK.
func (c *Conn) Consumed(now time.Time) []byte {
	if c.pending > 0 {
		c.pending--
	}
	if !c.rcv.run {
		return nil
	}
	if c.urgentAck() {
		if p := c.ackPkt(now); p != nil {
			return p
		}
	}
	c.scheduleAck(now)
	return nil
}

// urgentAck reports that an ACK|FC should go now rather than after the
// delayed-ACK time: a quarter window arrived unacknowledged (as TCP acks
// every other segment), or the sender is running out of window and an
// update gives it a quarter window more.
//
// "Running out" is less than half our window left once the run has gone
// past the sender's start window: a one-way sender then learns of the room
// the reader made while it still has half a window to send, so it never
// stops to wait for the update (each stop costs it a wake-up, and the
// receiver's reader one more). At most one update goes per quarter window
// the reader frees, and none while we send data ourselves (every DATA
// packet carries FC, which moves adv). Within the start window, "running
// out" is less than an eighth of our window and less than a quarter of the
// start window: the first packets of a run must not look urgent, so that
// a responder's answer carries the first ACK (ctl.go). (Whether the ACK
// may go at all is ctlOK's decision.)
func (c *Conn) urgentAck() bool {
	q := c.cfg.RQSize / 4
	if int(int32(c.rcv.lwe-c.rcv.seqno)) >= q {
		return true
	}
	left := int(int32(c.rcv.adv - c.rcv.lwe))
	low := min(c.cfg.RQSize/8, int(c.cfg.StartWindow/4))
	if !c.rcv.lwe.Before(c.rcv.isn.Add(c.cfg.StartWindow)) {
		low = max(low, c.cfg.RQSize/2)
	}
	return left < low && int(int32(c.rcvRWE()-c.rcv.adv)) >= q
}

// expireRcv ends the receive run if the record has been idle too long.
func (c *Conn) expireRcv(now time.Time) {
	if c.rcv.run && now.Sub(c.rcv.act) > c.rcv.inact {
		c.rcv.run = false
		clear(c.rq)
	}
}

// Receive processes one packet from the peer. It returns the payloads now
// deliverable in order, and control packets to transmit at once. Payloads
// alias pkt, whose ownership passes to the Conn. The deliver slice itself
// is valid until the next call of Receive, which reuses its array (no
// allocation per packet); the payloads in it stay valid. A packet shorter
// than the header returns wire.ErrTruncated.
func (c *Conn) Receive(now time.Time, pkt []byte) (deliver, reply [][]byte, err error) {
	clear(c.dlv) // forget the last call's payloads
	c.dlv = c.dlv[:0]
	h, err := wire.ParseFRCT(pkt)
	if err != nil {
		return nil, nil, err
	}
	seq := Seq(h.Seqno)
	data := h.Flags.Has(wire.FRCTData)

	c.expireRcv(now)
	if !c.rcv.run && data {
		if !h.Flags.Has(wire.FRCTDRF) {
			// Unknown run (its DRF packet was lost): drop the payload,
			// the DRF packet will be retransmitted. But its ACK and FC
			// are about our run, which the peer knows: take them, so
			// our direction does not wait for that retransmission.
			// No run, so no ACK of ours either.
			if h.Flags.Has(wire.FRCTACK) {
				c.onAck(now, Seq(h.Ackno), false)
			}
			if h.Flags.Has(wire.FRCTFC) {
				c.onFC(h.RWE)
			}
			return nil, nil, nil
		}
		c.rcv.run = true
		// The sender starts a run with its start window.
		c.rcv.lwe, c.rcv.seqno, c.rcv.adv = seq, seq, seq.Add(c.cfg.StartWindow)
		c.rcv.isn, c.rcv.opened, c.rcv.ackNow = seq, now, false
		c.rqHead = 0
		clear(c.rq)
	}
	c.rcv.act = now

	if h.Flags.Has(wire.FRCTRDVS) {
		c.peer.run = true // the peer has heard from us (ctl.go)
		if p := c.rdvAnswer(now); p != nil {
			reply = append(reply, p)
		}
		return nil, reply, nil
	}
	if h.Flags.Has(wire.FRCTACK) {
		// A duplicate ACK: no progress and the same window edge, on a
		// pure control packet (the receiver saw data beyond a hole).
		dup := !data && h.Flags.Has(wire.FRCTFC) && Seq(h.Ackno) == c.snd.lwe &&
			h.RWE == uint32(c.snd.rwe)&0xffffff
		c.onAck(now, Seq(h.Ackno), dup)
	}
	if h.Flags.Has(wire.FRCTFC) {
		c.onFC(h.RWE)
	}
	if !data {
		return nil, c.dropPath(now), nil
	}

	payload := pkt[wire.FRCTLen:]
	if seq != c.rcv.lwe || !seq.Before(c.rcv.isn.Add(c.cfg.StartWindow-1)) {
		// A hole, or the end of the sender's start window: it needs our
		// ACK or FC to go on (ctl.go).
		c.rcv.ackNow = true
	}
	if seq.Before(c.rcv.lwe) {
		c.stats.Duplicates++
		c.rcv.seqno = seq // duplicate of consumed data: force an ACK
		return nil, c.dropPath(now), nil
	}
	if !c.cfg.RTX {
		// In order with gaps skipped. The reference stores the packet
		// and lets the reader pick it up, leaking the older one if two
		// arrive first; we deliver at once. We also schedule a delayed
		// ACK|FC so one-way flows keep their window open (F2).
		if !seq.Before(c.rcvRWE()) {
			c.stats.OutOfWindow++
			return nil, c.dropPath(now), nil // beyond the window: reader too slow
		}
		c.rcv.lwe = seq.Add(1)
		c.pending++
		c.stats.Delivered++
		c.scheduleAck(now)
		c.dlv = append(c.dlv, payload)
		return c.dlv, nil, nil
	}
	if !seq.InWindow(c.rcv.lwe, c.rcvRWE()) {
		c.stats.OutOfWindow++
		return nil, c.dropPath(now), nil
	}
	i := (c.rqHead + int(seq-c.rcv.lwe)) % len(c.rq)
	if c.rq[i] != nil {
		c.stats.Duplicates++
		return nil, c.dropPath(now), nil // duplicate in the queue
	}
	c.rq[i] = payload
	if seq != c.rcv.lwe {
		// Out of order: a hole before it. ACK at once (a duplicate ACK)
		// so the sender resends the hole without waiting for its timer.
		c.rcv.seqno = c.rcv.lwe.Add(^uint32(0))
		if p := c.ackPkt(now); p != nil {
			return nil, [][]byte{p}, nil
		}
		return nil, nil, nil
	}
	deliver = c.dlv
	for c.rq[c.rqHead] != nil {
		deliver = append(deliver, c.rq[c.rqHead])
		c.rq[c.rqHead] = nil
		c.rqHead = (c.rqHead + 1) % len(c.rq)
		c.rcv.lwe = c.rcv.lwe.Add(1)
		c.pending++
		c.stats.Delivered++
	}
	c.dlv = deliver
	// A packet that filled a hole (more than itself delivered) is acked at
	// once: the sender waits for that ACK to resend the next hole.
	if len(deliver) > 1 || c.urgentAck() {
		if p := c.ackPkt(now); p != nil {
			return deliver, [][]byte{p}, nil
		}
	}
	c.scheduleAck(now)
	return deliver, nil, nil
}

// onAck processes a received ackno.
func (c *Conn) onAck(now time.Time, ackno Seq, dup bool) {
	if dup {
		c.dupAck(now)
		return
	}
	if !ackno.After(c.snd.lwe) || ackno.After(c.snd.seqno) {
		return
	}
	c.dupAcks = 0
	c.snd.lwe = ackno
	c.peer.run = true // our DATA opened the peer's run (ctl.go)
	c.rtt.onNewAck()
	c.rtt.onAck(ackno, now)
	if sent := c.rtx.ack(ackno); !sent.IsZero() {
		// Besides the reference's one probe at a time, every ACK of a
		// packet sent only once is a sample (Karn): after losses the
		// probe may wait behind a hole for long, and an rto without
		// samples stays at its initial 1 s.
		c.rtt.sample(now.Sub(sent))
	}
	c.partialAck(now)
}

// dropPath returns the immediate ACK a dropped packet may trigger.
func (c *Conn) dropPath(now time.Time) [][]byte {
	if p := c.ackPkt(now); p != nil {
		return [][]byte{p}
	}
	return nil
}

// scheduleAck arms the delayed ACK unless one is pending sooner (a held
// ACK waits for the end of the hold, later).
func (c *Conn) scheduleAck(now time.Time) {
	if due := now.Add(ackDelay); c.ackDue.IsZero() || c.ackDue.After(due) {
		c.ackDue = due
	}
}

// ackPkt builds a standalone ACK|FC, as the reference does, if something
// arrived in order since the last ACK, or the reader opened the window past
// the last advertised edge, and the receive side was active within A.
// While control packets are held (ctl.go) it returns nil and re-arms the
// delayed ACK for the end of the hold.
// The reference also suppresses it when this side sent anything in the last
// 5 ms; that only makes sense with piggybacking and stalls non-RTX flows, so
// we leave it out (a piggybacked ACK already sets rcv.seqno = rcv.lwe).
func (c *Conn) ackPkt(now time.Time) []byte {
	if !c.rcv.run || now.Sub(c.rcv.act) > c.cfg.A {
		return nil
	}
	if !c.rcv.lwe.After(c.rcv.seqno) && !c.rcvRWE().After(c.rcv.adv) {
		return nil
	}
	if !c.ctlOK(now) {
		c.ackDue = earliest(c.ackDue, c.ctlHoldEnd())
		return nil
	}
	c.rcv.seqno = c.rcv.lwe
	c.sentCtl(now)
	return wire.FRCTFields{
		Flags: wire.FRCTACK | wire.FRCTFC,
		RWE:   c.advertise(),
		Ackno: uint32(c.rcv.lwe),
	}.Append(nil)
}
