package frct

import (
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// Flow control and rendezvous.
//
//  1. The window is open while snd.seqno is before snd.rwe.
//  2. A Send on a closed window is refused (ErrWindowClosed) and arms the
//     rendezvous: an RDVS control packet is due a smoothed RTT later (at
//     once before the first RTT sample; at most 100 ms), then every 100 ms
//     while the window stays closed, until 1 s after the last refused Send.
//     This fixes quirks F2/F3: the reference sends no RDVS before the first
//     FC was received, so one-way flows could stall for good. The wait of
//     an RTT lets the window update that a receiver sends on its own (its
//     reader freed room, rcv.go) arrive first: a fast one-way sender that
//     reaches the edge now and then would otherwise send an RDVS, and get
//     an answer, each time.
//  3. An FC field (ACK|FC, RDV answer or piggybacked) moves snd.rwe and stops
//     the rendezvous.

type window struct {
	rdvDue   time.Time // next RDVS, zero if none
	rdvUntil time.Time // stop sending RDVS after this
}

func (c *Conn) windowOpen() bool { return c.noResCntl || c.snd.seqno.Before(c.snd.rwe) }

// SetResCntl turns resource control on or off (FRCTFRESCNTL, on by
// default): off, Send ignores the peer's window.
func (c *Conn) SetResCntl(on bool) { c.noResCntl = !on }

// ResCntl reports whether Send obeys the peer's window.
func (c *Conn) ResCntl() bool { return !c.noResCntl }

// refuse records a Send refused because the window is closed.
func (c *Conn) refuse(now time.Time) {
	if c.win.rdvDue.IsZero() {
		c.win.rdvDue = now.Add(min(c.rtt.estimate(), rdvInterval))
	}
	c.win.rdvUntil = now.Add(maxRDV)
}

// onFC applies a received window field (the low 24 bits of the edge). The
// edge may move backwards, as in the reference (F7).
func (c *Conn) onFC(low uint32) {
	c.snd.rwe = c.snd.rwe.Reconstruct24(low)
	if c.windowOpen() {
		c.win.rdvDue = time.Time{}
	}
}

// rendezvous sends an RDVS if one is due and the window is still closed.
func (c *Conn) rendezvous(now time.Time, out [][]byte) [][]byte {
	if c.win.rdvDue.IsZero() || now.Before(c.win.rdvDue) {
		return out
	}
	if c.windowOpen() || now.After(c.win.rdvUntil) {
		c.win.rdvDue = time.Time{}
		return out
	}
	c.win.rdvDue = now.Add(rdvInterval)
	// An RDVS belongs to the run: a writer waiting for the window is not
	// idle, so the run must not expire and restart under it (a new run
	// would fall outside the receiver's window and the flow would stall).
	c.snd.act = now
	if !c.ctlOK(now) {
		return out // our DATA has not reached the peer yet: its ACK opens the window
	}
	c.sentCtl(now)
	return append(out, wire.FRCTFields{Flags: wire.FRCTRDVS}.Append(nil))
}

// rdvAnswer is the reply to an RDVS: flags FC, window = rcv.rwe. Without a
// run our window edge is meaningless, so we stay silent (F6).
func (c *Conn) rdvAnswer(now time.Time) []byte {
	if !c.rcv.run {
		return nil
	}
	c.sentCtl(now)
	return wire.FRCTFields{Flags: wire.FRCTFC, RWE: c.advertise()}.Append(nil)
}
