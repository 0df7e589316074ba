package frct

import (
	"errors"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// oneWay drives a one-way flow from a to b in lockstep: every packet is
// delivered at once, the reader consumes payloads batch at a time (as a
// reader that is woken once for several packets does), and every control
// packet b emits reaches a at once. No timer runs, so only
// the immediate (urgent) ACK|FC packets keep the sender going. It returns
// the fewest packets the sender had left in its window after each send,
// once the run was past the start window, and b's control packets.
func oneWay(t *testing.T, a, b *Conn, n, batch int) (minLeft int, ctl int) {
	t.Helper()
	now := t0
	minLeft = 1 << 30
	unread := 0
	for i := range n {
		now = now.Add(time.Microsecond)
		p, err := a.Send(now, nil, []byte{byte(i)})
		if errors.Is(err, ErrWindowClosed) {
			t.Fatalf("rtx %v, packet %d: window closed for a sender whose reader keeps up (left %d)", a.cfg.RTX, i, int(int32(a.snd.rwe-a.snd.seqno)))
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= int(a.cfg.StartWindow) {
			minLeft = min(minLeft, int(int32(a.snd.rwe-a.snd.seqno)))
		}
		d, r, err := b.Receive(now, p)
		if err != nil {
			t.Fatal(err)
		}
		if unread += len(d); unread >= batch {
			for ; unread > 0; unread-- {
				if u := b.Consumed(now); u != nil {
					r = append(r, u)
				}
			}
		}
		for _, x := range r {
			ctl++
			if _, _, err := a.Receive(now, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	return minLeft, ctl
}

// TestOneWayUpdateBeforeStall: once past the start window, a receiver
// whose reader keeps up (in batches of 5/8 of the window) tells the sender
// of the room it made while the sender still has a good part of the window
// (it never stops to wait for the update), and sends at most one update per
// quarter window consumed and one ACK per quarter window arrived.
func TestOneWayUpdateBeforeStall(t *testing.T) {
	// Reliable flows: without RTX a receiver that has sent nothing holds its
	// control packets until the end of the start window (ctl.go), which a
	// lockstep run without timers cannot get past.
	for _, rtx := range []bool{true} {
		const rq, n = 64, 64 * 20
		a := New(Config{RTX: rtx, Rand: fixed(1 << 31), StartWindow: 32, RQSize: rq}, t0)
		b := New(Config{RTX: rtx, StartWindow: 32, RQSize: rq}, t0)
		minLeft, ctl := oneWay(t, a, b, n, rq*5/8)
		if minLeft < rq/4 {
			t.Errorf("rtx %v: the sender got down to %d packets of window, want at least %d", rtx, minLeft, rq/4)
		}
		if max := 2*n/(rq/4) + 2; ctl > max {
			t.Errorf("rtx %v: %d control packets for %d one-way packets, want at most %d", rtx, ctl, n, max)
		}
		if ctl == 0 {
			t.Errorf("rtx %v: no control packet: the sender cannot have gone on", rtx)
		}
	}
}

// TestRequestResponseNoUpdate: when both ends send (a request, its answer),
// the FC in every DATA packet keeps the window open, and consuming never
// produces a standalone ACK|FC, over many times the window.
func TestRequestResponseNoUpdate(t *testing.T) {
	const rq = 64
	a := New(Config{RTX: true, Rand: fixed(100), StartWindow: 16, RQSize: rq}, t0)
	b := New(Config{RTX: true, Rand: fixed(5000), StartWindow: 16, RQSize: rq}, t0)
	now := t0
	xfer := func(from, to *Conn, i int) {
		t.Helper()
		p, err := from.Send(now, nil, []byte{byte(i)})
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		d, r, err := to.Receive(now, p)
		if err != nil || len(d) != 1 {
			t.Fatalf("exchange %d: delivered %d, err %v", i, len(d), err)
		}
		if len(r) != 0 {
			t.Fatalf("exchange %d: control packet on receipt: %x", i, r[0])
		}
		if u := to.Consumed(now); u != nil {
			t.Fatalf("exchange %d: standalone window update %x (flags %v)", i, u, wire.FRCT(u).Flags())
		}
	}
	for i := range 10 * rq {
		now = now.Add(50 * time.Microsecond)
		xfer(a, b, i)
		xfer(b, a, i)
	}
}

// TestRefusedRDVSAfterRTT: a sender with an RTT sample whose window closes
// sends its RDVS a smoothed RTT after the refusal, not at once (the
// receiver's own update may be on its way), and then every 100 ms.
func TestRefusedRDVSAfterRTT(t *testing.T) {
	const rtt = 2 * time.Millisecond
	a := New(Config{RTX: true, Rand: fixed(10), StartWindow: 4, RQSize: 8}, t0)
	b := New(Config{RTX: true, StartWindow: 4, RQSize: 8}, t0)
	now := t0
	// One packet, acknowledged rtt later: the first sample.
	p, _ := a.Send(now, nil, []byte{0})
	b.Receive(now, p)
	now = now.Add(rtt)
	for _, x := range b.OnTimeout(now.Add(ctlHold)) {
		a.Receive(now, x)
	}
	if a.Unacked() != 0 || a.rtt.estimate() != rtt {
		t.Fatalf("unacked %d, srtt %v: no sample", a.Unacked(), a.rtt.estimate())
	}
	for {
		if _, err := a.Send(now, nil, []byte{1}); errors.Is(err, ErrWindowClosed) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	rdvs := func(at time.Time) bool {
		for _, p := range a.OnTimeout(at) {
			if wire.FRCT(p).Flags() == wire.FRCTRDVS {
				return true
			}
		}
		return false
	}
	if rdvs(now) || rdvs(now.Add(rtt-time.Microsecond)) {
		t.Fatal("RDVS before an RTT passed")
	}
	if !rdvs(now.Add(rtt)) {
		t.Fatal("no RDVS an RTT after the refusal")
	}
	if rdvs(now.Add(rtt+rdvInterval-time.Microsecond)) || !rdvs(now.Add(rtt+rdvInterval)) {
		t.Fatal("the next RDVS is not 100 ms later")
	}
}
