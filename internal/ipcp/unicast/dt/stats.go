package dt

import "sync/atomic"

type counters struct {
	sent, sendNoRoute                   atomic.Uint64
	received, delivered, forwarded      atomic.Uint64
	dropMalformed, dropTTL, dropNoRoute atomic.Uint64
	dropWrite, dropNoEID                atomic.Uint64
}

// Stats counts what the data transfer did with packets since it started.
type Stats struct {
	Sent        uint64 // packets we originated and wrote to a link or delivered to ourselves
	SendNoRoute uint64 // packets we originated with no next hop
	Received    uint64 // packets read from links
	Delivered   uint64 // handed to a local component or flow (from links, or sent to ourselves)
	Forwarded   uint64 // of those, written on towards their destination
	Malformed   uint64 // dropped: shorter than a PCI
	TTL         uint64 // dropped: TTL exhausted
	NoRoute     uint64 // dropped in transit: no next hop
	WriteFailed uint64 // dropped: the next hop's link is gone or failed the write
	NoEID       uint64 // dropped: for us, but no component has the EID
}

// Stats returns the counters.
func (d *DT) Stats() Stats {
	s := &d.stats
	return Stats{Sent: s.sent.Load(), SendNoRoute: s.sendNoRoute.Load(),
		Received: s.received.Load(), Delivered: s.delivered.Load(), Forwarded: s.forwarded.Load(),
		Malformed: s.dropMalformed.Load(), TTL: s.dropTTL.Load(), NoRoute: s.dropNoRoute.Load(),
		WriteFailed: s.dropWrite.Load(), NoEID: s.dropNoEID.Load()}
}
