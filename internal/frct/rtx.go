package frct

// Retransmission (library.md §5.7):
//
//  1. Every DATA packet of an RTX flow is kept (a private copy) until an ACK
//     passes it.
//  2. When its deadline passes: if more than R elapsed since the first
//     transmission, the flow is down. Otherwise the packet is sent again
//     with its ackno rewritten to the current rcv.lwe (only if it carries
//     ACK: unused fields stay zero), and its deadline moves by its rto.
//  3. Back-off (Karn/Partridge): the flow's rto doubles when the RTT probe
//     is retransmitted (as in the reference; the probe is cancelled) and,
//     unlike the reference, also when the oldest unacknowledged packet is,
//     so the gap between retransmissions of a lost packet keeps doubling
//     until an ACK of new data undoes the back-off. Rescheduling uses the
//     current (backed-off) rto. Acks are cumulative, so packets queued behind a loss
//     are retransmitted too, as in the reference.

import (
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

type rtxEntry struct {
	seq   Seq
	first time.Time
	due   time.Time
	pkt   []byte
}

// rtxQueue holds unacknowledged packets in sequence order.
type rtxQueue struct {
	q    []rtxEntry
	due  time.Time // earliest deadline, zero if empty
	free [][]byte  // copies of acknowledged packets, for reuse
}

// Reuse of acknowledged copies: at most maxFree buffers of at most
// maxFreeCap bytes (1.25 MiB), a fraction of what a full window holds.
const (
	maxFree    = 64
	maxFreeCap = 20 << 10
)

func (r *rtxQueue) reset() { r.q, r.due = nil, time.Time{} }

// push keeps a private copy of pkt until an ACK passes seqno s.
func (r *rtxQueue) push(s Seq, now time.Time, rto time.Duration, pkt []byte) {
	var buf []byte
	if n := len(r.free); n > 0 && cap(r.free[n-1]) >= len(pkt) {
		buf, r.free = r.free[n-1], r.free[:n-1]
	}
	e := rtxEntry{seq: s, first: now, due: now.Add(rto), pkt: append(buf[:0], pkt...)}
	r.q = append(r.q, e)
	r.due = earliest(r.due, e.due)
}

// ack forgets the packets before ackno.
func (r *rtxQueue) ack(ackno Seq) {
	n := 0
	for n < len(r.q) && r.q[n].seq.Before(ackno) {
		if len(r.free) < maxFree && cap(r.q[n].pkt) <= maxFreeCap {
			r.free = append(r.free, r.q[n].pkt)
		}
		r.q[n].pkt = nil
		n++
	}
	if n == 0 {
		return
	}
	// Keep the backing array (at most a window of entries): shift down.
	m := copy(r.q, r.q[n:])
	clear(r.q[m:])
	r.q = r.q[:m]
	r.recompute()
}

func (r *rtxQueue) recompute() {
	r.due = time.Time{}
	for i := range r.q {
		r.due = earliest(r.due, r.q[i].due)
	}
}

// retransmit resends the packets whose deadline has passed.
func (c *Conn) retransmit(now time.Time, out [][]byte) [][]byte {
	if c.rtx.due.IsZero() || now.Before(c.rtx.due) {
		return out
	}
	for i := range c.rtx.q {
		e := &c.rtx.q[i]
		if now.Before(e.due) {
			continue
		}
		if now.Sub(e.first) > c.cfg.R {
			c.down = true
			c.rtx.reset()
			return out
		}
		c.rtt.onRetransmit(e.seq, e.seq == c.snd.lwe)
		p := append([]byte(nil), e.pkt...)
		if h := wire.FRCT(p); h.Flags().Has(wire.FRCTACK) {
			h.SetAckno(uint32(c.rcv.lwe))
		}
		out = append(out, p)
		c.stats.Retransmitted++
		e.due = now.Add(c.rtt.current())
	}
	c.rtx.recompute()
	return out
}
