package frct

import "time"

// Control packets and the peer's receive run (quirk F6).
//
// A reference receiver whose receive record is idle opens a run only on a
// DATA packet with DRF. Any other packet makes the record active without a
// run, its edges left at 0: from then on, until it has heard nothing from
// us for its receive lifetime (over two minutes), it drops our reliable
// DATA as outside its window, and on a best-effort flow it advertises a
// window of 0, 1, 2, ... that keeps our sender shut. So no control packet
// of ours (ACK|FC, RDV answer, RDVS, final ACK), whatever rule produces it,
// may reach the peer before a DATA packet of ours has opened the peer's
// run. ctlOK decides:
//
//  1. Once the peer's run is known to be open, control packets go freely.
//     It is known open when the peer acknowledges our DATA (reliable
//     flows); at our first DATA (best effort: nothing will acknowledge it,
//     and every packet carries DRF); or when the peer sends an RDVS (a
//     reference sender asks only after an FC from us, which came in our
//     DATA; our own receivers are immune to F6). It is forgotten when we
//     have sent nothing for nearly the receive lifetime (the peer's record
//     expires) and when our sender starts a new run.
//  2. While our DATA is unacknowledged, control packets wait: that DATA
//     carries ACK and FC itself, its retransmissions carry the current ACK
//     and FC (rtx.go, refresh; also when its first copy went out before we
//     had a receive run, or both sides would wait for each other), and the
//     peer's ACK of it opens the gate.
//  3. A pure receiver so far (no DATA of ours in flight) waits as long as
//     a responder may take to answer a request, so that the answer carries
//     the first ACK: until the last packet of the peer's start window
//     arrives (it can send no more without an FC from us), a packet
//     arrives out of order (a loss: the sender needs our duplicate ACKs,
//     and we could not answer anyway before the retransmission), or
//     ctlHold after its run opened.
//     Then it sends: a one-way sender needs our ACKs and window. A
//     reference requester answered later than that drops the answer; no
//     responder can avoid this without stalling one-way senders.
//
// A held ACK is not lost: the delayed-ACK timer is re-armed for the end of
// the hold, and the next packet from the peer (its ACK of our DATA, an
// RDVS) lets it go.

// ctlHold is how long a receiver that has sent no DATA holds its control
// packets (3 above): long enough for a responder to answer, shorter than
// the initial retransmission timeout (1 s) so that a sender waiting for
// the ACK does not resend.
const ctlHold = 500 * time.Millisecond

// peerRec is what this end knows of the peer's receive record.
type peerRec struct {
	run  bool      // the peer has a receive run from our DATA (1 above)
	last time.Time // when we last produced a packet for the peer
}

// ctlOK reports whether a control packet may go to the peer at now.
func (c *Conn) ctlOK(now time.Time) bool {
	if c.peer.run && now.Sub(c.peer.last) < c.rcv.inact-time.Second {
		return true
	}
	c.peer.run = false
	if c.Unacked() > 0 {
		return false // 2
	}
	if c.rcv.run && (c.rcv.ackNow || now.Sub(c.rcv.opened) >= ctlHold) {
		c.peer.run = true // 3: give up waiting
		return true
	}
	return false
}

// ctlHoldEnd returns when a held control packet may go without news from
// the peer, zero if only a packet from the peer can release it.
func (c *Conn) ctlHoldEnd() time.Time {
	if c.Unacked() > 0 || !c.rcv.run {
		return time.Time{}
	}
	return c.rcv.opened.Add(ctlHold)
}

// sentCtl records a control packet produced at now.
func (c *Conn) sentCtl(now time.Time) {
	c.peer.last = now
	c.stats.Control++
}
