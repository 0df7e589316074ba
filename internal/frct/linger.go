package frct

import (
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// Deallocation and linger.
//
//  1. A final ACK (flags ACK only, ackno = rcv.lwe) goes out if data
//     arrived since the last acknowledgment, unless our own DATA is still
//     on its way to open the peer's run (ctl.go): its retransmissions
//     carry the ackno.
//  2. keep is how long the layer must still hold the flow id so that no
//     stray packet of this flow reaches a new one (delta-t): until both
//     connection records have expired, in whole seconds as the reference
//     reports it to the IRMd.
//  3. linger reports unacknowledged data on an RTX flow: the caller keeps
//     feeding packets and timeouts to the Conn (so retransmissions run and
//     ACKs arrive) until Unacked is 0, the flow is down, or its own bound
//     passes.

// Dealloc prepares the end of the flow; see above.
func (c *Conn) Dealloc(now time.Time) (final []byte, keep time.Duration, linger bool) {
	if c.rcv.run && c.rcv.lwe != c.rcv.seqno && (c.Unacked() == 0 || c.ctlOK(now)) {
		c.rcv.seqno = c.rcv.lwe
		c.sentCtl(now)
		final = wire.FRCTFields{Flags: wire.FRCTACK, Ackno: uint32(c.rcv.lwe)}.Append(nil)
	}
	keep = max(c.rcv.inact-now.Sub(c.rcv.act), c.snd.inact-now.Sub(c.snd.act), 0)
	keep = keep.Truncate(time.Second)
	linger = c.cfg.RTX && !c.down && c.snd.lwe.Before(c.snd.seqno)
	return final, keep, linger
}
