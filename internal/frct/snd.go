package frct

// Send path, for every user packet:
//
//  1. If the send record is inactive (idle > snd.inact), start a new run: a
//     random seqno, lwe = seqno, rwe = seqno + StartWindow. This is done
//     before the window check, so a stale closed window cannot block a new
//     run.
//  2. Refuse with ErrWindowClosed unless seqno is before rwe.
//  3. Flags DATA, plus DRF if nothing is unacknowledged (seqno == lwe).
//  4. With an active receive run: FC with rcv.rwe.
//  5. Without RTX: lwe += 1, so every packet carries DRF.
//     With RTX: start an RTT probe if none runs; piggyback ACK = rcv.lwe if
//     the receive side was active within A; save a private copy for
//     retransmission (fixes F1: the copy is plaintext header+payload).
//  6. seqno += 1, act = now.

import (
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// Send appends the packet to transmit (the FRCT header, then payload) to dst
// and returns the extended slice; dst lets the caller keep headroom in front.
// It returns ErrWindowClosed when the send window is closed (the caller then
// waits for a packet carrying FC, or maps it to EAGAIN), and ErrFlowDown once
// the flow was declared down. The returned packet is the caller's to modify;
// payload is not retained.
func (c *Conn) Send(now time.Time, dst, payload []byte) ([]byte, error) {
	if c.down {
		return nil, ErrFlowDown
	}
	if now.Sub(c.snd.act) > c.snd.inact && len(c.rtx.q) == 0 {
		s := Seq(c.cfg.Rand())
		c.snd.lwe, c.snd.seqno, c.snd.rwe = s, s, s.Add(c.cfg.StartWindow)
		c.rtx.reset()
		c.rtt.probing = false
		c.peer.run = false // a new run must open the peer's first (ctl.go)
	}
	if !c.windowOpen() {
		c.stats.Refused++
		c.refuse(now)
		return nil, ErrWindowClosed
	}

	h := wire.FRCTFields{Flags: wire.FRCTData, Seqno: uint32(c.snd.seqno)}
	if c.snd.seqno == c.snd.lwe {
		h.Flags |= wire.FRCTDRF
	}
	c.expireRcv(now)
	if c.rcv.run {
		h.Flags |= wire.FRCTFC
		h.RWE = c.advertise()
	}
	c.peer.last = now
	if !c.cfg.RTX {
		c.snd.lwe = c.snd.lwe.Add(1)
		c.peer.run = true // nothing acknowledges it: assume it arrives
	} else {
		c.rtt.startProbe(c.snd.seqno, now)
		if c.rcv.run && now.Sub(c.rcv.act) <= c.cfg.A {
			h.Flags |= wire.FRCTACK
			h.Ackno = uint32(c.rcv.lwe)
			c.rcv.seqno = c.rcv.lwe
		}
	}

	start := len(dst)
	pkt := append(h.Append(dst), payload...)
	if c.cfg.RTX {
		c.rtx.push(c.snd.seqno, now, c.rtt.current(), pkt[start:])
	}
	c.snd.seqno = c.snd.seqno.Add(1)
	c.snd.act = now
	c.stats.Sent++
	return pkt, nil
}
