package datapath

import (
	"errors"
	"time"
)

// Puller reads the packets of one endpoint for a forwarder (an IPCP's
// reader of an application's channel): ReadPacketInto, but after a packet
// it waits for the next one on the shared ring itself (a HotReader, woken
// by the producer's FUTEX_WAKE, with no netpoller or hand-off between
// threads on the way) for as long as the peer sends within HotWindow of
// its last packet. Past that, or when no thread is free for a hot wait,
// it sleeps on the doorbell socket (ReadPacketInto), where an idle channel
// costs nothing and the peer's end is seen. The forwarder must be the only
// reader of the endpoint; the consumer role stays with the Puller between
// calls while it is hot. Over the socket data path it is ReadPacketInto.
//
// The netpoller. A Puller that goes hot was woken by its doorbell, most
// likely on the thread that had been waiting in the Go netpoller, and its
// hot wait holds that thread (a raw wait is a running goroutine to the
// runtime). No other thread takes its place by itself: the doorbells of
// the process's other channels (in a local IPCP, the other forwarder's:
// the reply) were read only when the hot wait timed out, a hot window
// later (e2e TestLocalIPCPPacedNoStall). So going hot, the Puller starts a
// goroutine that does nothing: the scheduler wakes a thread for it on an
// idle P, which, finding no work afterwards, waits in the netpoller. It
// costs one thread wake-up when a channel turns hot, not one per packet.
//
// For the same reason a Puller waits hot only as a raw wait (a slot from
// rawWaitSlot: GOMAXPROCS/2 of them), never the ordinary way: while every
// slot is taken, a Puller does not turn hot and sleeps on its doorbell, as
// does one that meets every slot taken when it would wait. An ordinary
// hot wait holds its thread in the system call and its P until the
// runtime's monitor takes it back, up to 10 ms later; with a raw wait
// holding the other P, no thread was left in the netpoller, and a local
// IPCP forwarding many busy flows read the IRMd's requests 10 ms late at
// each step: allocating 200 flows at once, the server's accepts (each
// waits for the IPCP's answer) came so slowly that the IRMd gave up on 30
// to 40 of them after its 15 s (e2e Test200ConcurrentFlows, which passed
// in 10 s before the Puller).
//
// Users: the local IPCP's forwarders, the udp and Ethernet IPCPs' writers
// (an application's channel to the wire) and the unicast IPCP's readers of
// its applications' channels. A unicast IPCP's N-1 flows are read by the
// flow library, whose Read waits hot the same way and shares the process's
// hot-wait threads (hotSlots, rawWaitSlot) with these. Hot waits in every
// reader of a unicast IPCP once made its round trips ten times slower,
// before the netpoller's thread was seen to and while hot waits could be
// ordinary ones; with both seen to, paced round trips over a unicast layer
// over udp4 got shorter (e2e TestUnicastOverUDP checks that they do not
// stall).
//
// Pairs. The local IPCP forwards each flow with two Pullers, one per
// direction, and a raw-wait slot lets only one of them wait hot at a time
// on two Ps: the other slept on its doorbell, and a paced round trip paid
// that wake-up through the netpoller. Pair tells a Puller that the other
// direction of its flow reads dst (where the caller writes this Puller's
// packets) and writes to this Puller's endpoint. A hot Puller then also
// takes dst's consumer role when the other direction's goroutine sleeps
// on its doorbell (it holds no packet it read, so none is passed on out of
// order; a hot Puller without it looks again every millisecond), passes
// dst's packets on itself, one of each direction in turn, and waits for
// the next packet of either in one futex_waitv on both rings
// (hotWaitPair). It gives the other direction back, for the rest of its
// hot turn, when that direction's destination is full (the other goroutine
// then waits for room, and this one is never held up by it), when its own
// packet would not fit in dst (the caller's write will wait for room, and
// the other direction must not wait for that), on any error of the other
// direction (its goroutine meets it on its socket), and when it cools.
// Without futex_waitv (Linux before 5.16) Pair does nothing, and a Puller
// waits for its own direction only.
//
// A Puller is used by one goroutine; Close gives the consumer role back.
type Puller struct {
	e     *Endpoint
	h     *HotReader
	until time.Time // the hot wait ends then without a packet
	fresh bool      // a packet passed since until was set: set it again before a wait

	dst    *Endpoint  // Pair's (nil without futex_waitv): the other direction reads it and writes to e
	q      *HotReader // dst's consumer role, taken while hot
	noPair bool       // given back while hot: not taken again until the next turn
}

// Puller returns a Puller of e.
func (e *Endpoint) Puller() *Puller { return &Puller{e: e} }

// Pair says the caller writes the packets Read returns to dst, and another
// goroutine passes dst's packets on to this Puller's endpoint (see the
// type's doc). Over the socket data path, or without futex_waitv, it does
// nothing.
func (p *Puller) Pair(dst *Endpoint) {
	if p.e.shm != nil && dst.shm != nil && waitvOK() {
		p.dst = dst
	}
}

// Read returns the next packet, as ReadPacketInto does, including its
// errors: a record too long for get's buffer is skipped and reported
// (ErrTooBig); a hot wait that meets another error (the end closed or
// corrupt, the peer gone) goes back to the socket, which reports it.
func (p *Puller) Read(get func(n int) []byte) (Kind, []byte, error) {
	for p.h != nil {
		if p.q != nil {
			// One packet of each direction in turn: neither starves.
			passed := p.passBack()
			if p.q == nil {
				continue // given back
			}
			kind, sdu, done, err := p.look(get)
			if done {
				if err == nil && !p.dst.shmRoom(len(sdu)) {
					p.dropPair() // the caller's write waits for room
				}
				return kind, sdu, err
			}
			if p.h == nil {
				break // cooled
			}
			if passed {
				p.fresh = true
				continue
			}
			p.stamp()
			if !hotWaitPair(p.e, p.dst, p.until) {
				p.cool()
			}
			continue
		}
		if p.fresh {
			// Look without waiting first: in a flood the ring is
			// seldom empty, and the clock is read only before a wait.
			kind, sdu, done, err := p.look(get)
			if done {
				return kind, sdu, err
			}
			if p.h == nil {
				break // cooled
			}
			p.stamp()
		}
		until := p.until
		if p.dst != nil && !p.noPair {
			// The other direction's goroutine may have gone to sleep
			// since this Puller turned hot.
			if p.q = p.dst.hotReadIdle(); p.q != nil {
				continue
			}
			// Look for it again within a millisecond.
			if soon := time.Now().Add(waitvChunk); soon.Before(until) {
				until = soon
			}
		}
		kind, sdu, ok, err := p.h.Next(get, until)
		if ok {
			p.fresh = true
			return kind, sdu, nil
		}
		if errors.Is(err, ErrTooBig) {
			// The record is skipped; say so, as ReadPacketInto does.
			return 0, nil, err
		}
		if err != nil || !p.h.Waited() || !time.Now().Before(p.until) {
			p.cool()
		}
	}
	kind, sdu, err := p.e.ReadPacketInto(get)
	if err == nil && rawWaitFree() {
		if p.h = p.e.HotRead(); p.h != nil {
			// Leave a thread in the netpoller (see the type's doc).
			go func() {}()
			p.h.SetPolling(false) // the CPU is for the processes forwarded between
			p.h.rawOnly = true    // never an ordinary wait (see the type's doc)
			p.fresh = true        // until is set before the first wait
			p.noPair = false
		}
	}
	return kind, sdu, err
}

// look takes the next packet without waiting. done says Read returns what
// it got: a packet, or ErrTooBig for a record skipped. On any other error
// the Puller has cooled (p.h is nil); with nothing there, it is unchanged.
func (p *Puller) look(get func(n int) []byte) (kind Kind, sdu []byte, done bool, err error) {
	kind, sdu, ok, err := p.h.Next(get, time.Time{})
	switch {
	case ok:
		p.fresh = true
		return kind, sdu, true, nil
	case errors.Is(err, ErrTooBig):
		return 0, nil, true, err
	case err != nil:
		p.cool()
	}
	return 0, nil, false, nil
}

// stamp lets the hot wait last HotWindow from now, if a packet passed
// since it was last set. It is called before a wait, that is when the
// rings were found empty, not per packet: a clock read per packet (two,
// time.Now) was 13 % of a local IPCP's CPU under a reliable 64 B flood.
func (p *Puller) stamp() {
	if p.fresh {
		p.until = time.Now().Add(HotWindow)
		p.fresh = false
	}
}

// passBack passes one packet of the other direction on (dst to e), if
// there is one and e has room for it. It reports whether it did; it gives
// the other direction back when e is full or either end fails.
func (p *Puller) passBack() bool {
	if n, ok := p.dst.peekLen(); ok && !p.e.shmRoom(n) {
		p.dropPair()
		return false
	}
	var b *[]byte
	kind, sdu, ok, err := p.q.Next(func(n int) []byte { b = GetBuf(n); return *b }, time.Time{})
	if !ok {
		if b != nil {
			PutBuf(b)
		}
		if err != nil {
			p.dropPair()
		}
		return false
	}
	err = p.e.WritePacket(kind, (*b)[:1+len(sdu)])
	PutBuf(b)
	if err != nil {
		p.dropPair()
	}
	return true
}

// dropPair gives the other direction's consumer role back, for the rest
// of this hot turn: its goroutine is woken if records are left, and taking
// the role again at once would only wake it again.
func (p *Puller) dropPair() {
	p.q.Done()
	p.q = nil
	p.noPair = true
	p.dst.EndHot()
}

// cool gives the consumer role back to the socket's reader, for a sleep on
// the doorbell rather than a lazy wait for a HotReader that is not coming.
func (p *Puller) cool() {
	if p.q != nil {
		p.dropPair()
	}
	p.h.Done()
	p.h = nil
	p.e.EndHot()
}

// Close gives the consumer role back, if the Puller holds it.
func (p *Puller) Close() {
	if p.h != nil {
		p.cool()
	}
}
