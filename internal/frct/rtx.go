package frct

// Retransmission:
//
//  1. Every DATA packet of an RTX flow is kept (a private copy) until an ACK
//     passes it.
//  2. When the oldest unacknowledged packet's deadline passes: if more than R
//     elapsed since its first transmission, the flow is down. Otherwise it
//     is sent again with its ACK and FC fields brought up to date (refresh:
//     with a receive run it carries ACK and FC even if its first copy did
//     not), and its deadline moves by the rto.
//  3. Of the packets whose deadline passed, only the oldest rtxBurst (8)
//     are sent again; the deadlines of the others move by the rto, and
//     only the head's R counts. ACKs are cumulative, so the sender
//     cannot tell a lost packet from one held in the receiver's reorder
//     queue behind the loss: the reference resends every packet whose timer
//     expires, which after one loss is the whole window, every rto (one
//     measured run over 10 % loss sent 27,000 frames for 200 messages).
//     Here the holes are resent from the head on, a few at a time, and
//  4. an ACK that moves the left edge but leaves packets unacknowledged (a
//     partial ACK) makes the oldest (up to rtxBurst) due at once if they
//     were last sent more than an RTT ago: the first is the next hole, or
//     it would have been acknowledged with the rest; and
//  5. duplicate ACKs, which our receiver sends at once for data beyond a
//     hole, resend the head at the second (fast retransmit), and again
//     every 32 after that if the hole stays: a hole is repaired in about a
//     round trip while data flows, not after an rto, which before the
//     first RTT sample is 1 s. (Standalone ACKs are ACK|FC packets as in
//     the reference; a reference sender just sees more of them.)
//  6. Back-off (Karn/Partridge): the flow's rto doubles when the RTT probe
//     is retransmitted (as in the reference; the probe is cancelled) and,
//     unlike the reference, also when the oldest unacknowledged packet is,
//     up to 8 × rto, until an ACK of new data undoes the back-off.
//
// On the wire this changes only which packets are resent and when, and how
// often the receiver sends its ACK|FC packets.

import (
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

type rtxEntry struct {
	seq   Seq
	first time.Time // first transmission (the R timer counts from here)
	last  time.Time // latest transmission
	due   time.Time
	pkt   []byte
}

// rtxQueue holds unacknowledged packets in sequence order.
type rtxQueue struct {
	q    []rtxEntry
	due  time.Time // earliest deadline, zero if empty
	free [][]byte  // copies of acknowledged packets, for reuse
	// freeBytes is the capacity held in free, in bytes.
	freeBytes int
}

// Reuse of acknowledged copies: at most maxFree buffers (a receive window
// of ours; an ACK frees up to a quarter of that at once, and the next
// quarter window of sends takes them back) of at most maxFreeCap bytes
// each, and at most maxFreeBytes (1.25 MiB) in all: a window of small
// packets is kept whole, of large ones a fraction.
const (
	maxFree      = 1024
	maxFreeCap   = 20 << 10
	maxFreeBytes = 1280 << 10
)

func (r *rtxQueue) reset() { r.q, r.due = nil, time.Time{} }

// push keeps a private copy of pkt until an ACK passes seqno s.
func (r *rtxQueue) push(s Seq, now time.Time, rto time.Duration, pkt []byte) {
	var buf []byte
	if n := len(r.free); n > 0 && cap(r.free[n-1]) >= len(pkt) {
		buf = r.free[n-1]
		r.free[n-1] = nil
		r.free = r.free[:n-1]
		r.freeBytes -= cap(buf)
	}
	e := rtxEntry{seq: s, first: now, last: now, due: now.Add(rto), pkt: append(buf[:0], pkt...)}
	r.q = append(r.q, e)
	r.due = earliest(r.due, e.due)
}

// ack forgets the packets before ackno. If none of them was sent more
// than once, sent is when the last of them was sent: an RTT sample by
// Karn's rule (an ACK that covers a retransmitted packet measures the
// repair of a hole, not the path), else zero.
func (r *rtxQueue) ack(ackno Seq) (sent time.Time) {
	n := 0
	once := true
	for n < len(r.q) && r.q[n].seq.Before(ackno) {
		if !r.q[n].last.Equal(r.q[n].first) {
			once = false
		}
		n++
	}
	if once && n > 0 {
		sent = r.q[n-1].first
	}
	n = 0
	for n < len(r.q) && r.q[n].seq.Before(ackno) {
		if c := cap(r.q[n].pkt); len(r.free) < maxFree && c <= maxFreeCap && r.freeBytes+c <= maxFreeBytes {
			r.free = append(r.free, r.q[n].pkt)
			r.freeBytes += c
		}
		r.q[n].pkt = nil
		n++
	}
	if n == 0 {
		return sent
	}
	// Keep the backing array (at most a window of entries): shift down.
	m := copy(r.q, r.q[n:])
	clear(r.q[m:])
	r.q = r.q[:m]
	r.recompute()
	return sent
}

func (r *rtxQueue) recompute() {
	r.due = time.Time{}
	for i := range r.q {
		r.due = earliest(r.due, r.q[i].due)
	}
}

// retransmit resends the head of the queue if its deadline has passed, and
// moves the passed deadlines of the others (see 2-3 above).
func (c *Conn) retransmit(now time.Time, out [][]byte) [][]byte {
	if c.rtx.due.IsZero() || now.Before(c.rtx.due) {
		return out
	}
	for i := range c.rtx.q {
		e := &c.rtx.q[i]
		if now.Before(e.due) {
			continue
		}
		if i >= rtxBurst {
			// Held behind the head (cumulative ACKs): its own R does not
			// run out while the head still gets through.
			e.due = now.Add(c.rtt.current())
			continue
		}
		if now.Sub(e.first) > c.cfg.R {
			c.down = true
			c.rtx.reset()
			return out
		}
		c.rtt.onRetransmit(e.seq, i == 0)
		out = append(out, c.refresh(now, append([]byte(nil), e.pkt...)))
		c.stats.Retransmitted++
		e.last = now
		e.due = now.Add(c.rtt.current())
	}
	c.rtx.recompute()
	return out
}

// refresh brings the ACK and FC fields of a packet being sent again up to
// date, as Send would fill them now: with a receive run, ACK (if the
// receive side was active within A) and FC are set even if the packet
// first went out without them. The reference only rewrites the ackno of a
// packet that carried ACK; but while our DATA is unacknowledged, our
// standalone ACKs wait for it (ctl.go, rule 2), so a packet first sent
// before the peer's run reached us must carry what we owe the peer when it
// goes again. Otherwise, once each side holds unacknowledged DATA (the
// peer's first packet was lost, then we filled our window), neither side
// ever learns its data arrived and both stall until R. The fields are in
// the fixed header, so only their meaning changes; a receiver handles them
// as on any DATA packet.
func (c *Conn) refresh(now time.Time, p []byte) []byte {
	h := wire.FRCT(p)
	f := h.Flags()
	c.expireRcv(now)
	if c.rcv.run {
		f |= wire.FRCTFC
		h.SetRWE(c.advertise())
		if now.Sub(c.rcv.act) <= c.cfg.A {
			f |= wire.FRCTACK
			c.rcv.seqno = c.rcv.lwe
		}
	}
	if f.Has(wire.FRCTACK) {
		h.SetAckno(uint32(c.rcv.lwe))
	}
	h.SetFlags(f)
	return p
}

// partialAck makes the oldest packets (up to rtxBurst) due at once after
// an ACK that left them unacknowledged, if they went out more than an RTT
// ago (4 above): the first is the next hole, and after a burst of losses
// (or a run whose first packet was lost, so the receiver dropped the rest)
// the next ones likely are too.
func (c *Conn) partialAck(now time.Time) {
	for i := 0; i < len(c.rtx.q) && i < rtxBurst; i++ {
		e := &c.rtx.q[i]
		if now.Sub(e.last) <= c.rtt.estimate() {
			break
		}
		if now.Before(e.due) {
			e.due = now
			c.rtx.due = now
		}
	}
}

// rtxBurst is how many of the oldest packets whose timers expired are
// resent at once (3 above).
const rtxBurst = 8

// dupAck counts a duplicate ACK and resends the head at the second, then
// every 32 (5 above).
func (c *Conn) dupAck(now time.Time) {
	if len(c.rtx.q) == 0 {
		return
	}
	c.dupAcks++
	if c.dupAcks == 2 || (c.dupAcks > 2 && (c.dupAcks-2)%32 == 0) {
		c.rtx.q[0].due = now
		c.rtx.due = now
	}
}
