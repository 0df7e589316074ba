package frct

import (
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// The gate of ctl.go: no control packet before our first DATA reached the
// peer. Each test drives two Conns by hand at fixed times.

func flagsOf(pkts [][]byte) []wire.FRCTFlags {
	var f []wire.FRCTFlags
	for _, p := range pkts {
		f = append(f, wire.FRCT(p).Flags())
	}
	return f
}

// TestResponderFirstPacketIsData: a responder with a large receive window
// (as the flow layer's) sends nothing between a request and its answer,
// whatever rule could fire: the immediate ACK (which the large window used
// to trigger on the first packet), the delayed ACK, the window update on
// consumption. The answer carries ACK|FC. A second request, while the
// answer is unacknowledged, is acknowledged only once the requester
// acknowledged the answer.
func TestResponderFirstPacketIsData(t *testing.T) {
	cli := New(Config{RTX: true, Rand: fixed(0x1000)}, t0)
	srv := New(Config{RTX: true, RQSize: 1024, Rand: fixed(0x9000)}, t0)
	req, _ := cli.Send(t0, nil, []byte("q1"))
	d, r, _ := srv.Receive(t0, req)
	if len(d) != 1 || len(r) != 0 {
		t.Fatalf("request: delivered %d, replies %v", len(d), flagsOf(r))
	}
	if p := srv.Consumed(t0); p != nil {
		t.Fatalf("window update before the answer: %v", wire.FRCT(p).Flags())
	}
	now := t0.Add(ackDelay)
	if out := srv.OnTimeout(now); len(out) != 0 {
		t.Fatalf("delayed ack before the answer: %v", flagsOf(out))
	}
	now = now.Add(50 * time.Millisecond)
	resp, _ := srv.Send(now, nil, []byte("a1"))
	if f := wire.FRCT(resp).Flags(); f != wire.FRCTData|wire.FRCTDRF|wire.FRCTACK|wire.FRCTFC {
		t.Fatalf("answer %v", f)
	}
	if srv.Stats().Control != 0 {
		t.Fatalf("%d control packets before the answer", srv.Stats().Control)
	}
	// A second request arrives before the answer is acknowledged.
	req2, _ := cli.Send(now, nil, []byte("q2"))
	srv.Receive(now, req2)
	srv.Consumed(now)
	if out := srv.OnTimeout(now.Add(ackDelay)); len(out) != 0 {
		t.Fatalf("ack while the answer is unacknowledged: %v", flagsOf(out))
	}
	// The requester acknowledges the answer (its delayed ACK): the held
	// ACK of the second request goes at once.
	cli.Receive(now, resp)
	cli.Consumed(now)
	ack := cli.OnTimeout(now.Add(ackDelay))
	if len(ack) != 1 {
		t.Fatalf("requester's ack %v", flagsOf(ack))
	}
	_, r, _ = srv.Receive(now.Add(ackDelay), ack[0])
	if len(r) != 1 || wire.FRCT(r[0]).Ackno() != 0x1002 {
		t.Fatalf("held ack after the answer was acknowledged: %x", r)
	}
}

// TestFirstPacketNotUrgent: the first packet of the peer's run, to a
// receiver whose gate is open and an eighth of whose window is more than
// the start window, is acknowledged by the delayed ACK, not at once: the
// sender still has most of its start window.
func TestFirstPacketNotUrgent(t *testing.T) {
	cli := New(Config{RTX: true, RQSize: 1024, Rand: fixed(0x1000)}, t0)
	srv := New(Config{RTX: true, Rand: fixed(0x9000)}, t0)
	req, _ := cli.Send(t0, nil, []byte("q"))
	srv.Receive(t0, req)
	srv.Consumed(t0)
	resp, _ := srv.Send(t0, nil, []byte("a")) // acknowledges the request
	_, r, _ := cli.Receive(t0, resp)
	if len(r) != 0 {
		t.Fatalf("first packet of the peer's run acknowledged at once: %v", flagsOf(r))
	}
	if p := cli.Consumed(t0); p != nil {
		t.Fatalf("window update at once: %v", wire.FRCT(p).Flags())
	}
	if out := cli.OnTimeout(t0.Add(ackDelay)); len(out) != 1 || wire.FRCT(out[0]).Ackno() != 0x9001 {
		t.Fatalf("delayed ack %v", flagsOf(out))
	}
}

// TestReceiverHoldEnds: a receiver that sends no DATA holds its ACKs for
// ctlHold at most, and less when the sender needs them: at the last packet
// of its start window, at a hole, at an RDVS.
func TestReceiverHoldEnds(t *testing.T) {
	setup := func() (*Conn, *Conn) {
		return New(Config{RTX: true, Rand: fixed(500)}, t0), New(Config{RTX: true}, t0)
	}
	// Time.
	a, b := setup()
	p, _ := a.Send(t0, nil, []byte{1})
	b.Receive(t0, p)
	b.Consumed(t0)
	if out := b.OnTimeout(t0.Add(ackDelay)); len(out) != 0 {
		t.Fatal("ack within the hold")
	}
	if dl := b.NextDeadline(); !dl.Equal(t0.Add(ctlHold)) {
		t.Fatalf("hold ends at %v", dl.Sub(t0))
	}
	if out := b.OnTimeout(t0.Add(ctlHold)); len(out) != 1 {
		t.Fatal("no ack at the end of the hold")
	}
	// The start window.
	a, b = setup()
	var last [][]byte
	for i := range DefaultStartWindow {
		p, _ := a.Send(t0, nil, []byte{byte(i)})
		_, r, _ := b.Receive(t0, p)
		b.Consumed(t0)
		if len(r) != 0 && i < DefaultStartWindow-1 {
			t.Fatalf("ack at packet %d", i)
		}
		last = r
	}
	if len(last) != 1 || wire.FRCT(last[0]).Ackno() != 500+DefaultStartWindow {
		t.Fatalf("no ack at the end of the start window: %x", last)
	}
	// A hole: a duplicate ACK at once.
	a, b = setup()
	p1, _ := a.Send(t0, nil, []byte{1})
	p2, _ := a.Send(t0, nil, []byte{2})
	_ = p1
	if _, r, _ := b.Receive(t0, p2); len(r) != 0 {
		t.Fatal("packet without a run acknowledged")
	}
	b.Receive(t0, p1)
	p3, _ := a.Send(t0, nil, []byte{3})
	p4, _ := a.Send(t0, nil, []byte{4})
	_ = p3
	if _, r, _ := b.Receive(t0, p4); len(r) != 1 || wire.FRCT(r[0]).Ackno() != 501 {
		t.Fatalf("hole: %x", r)
	}
	// An RDVS: answered at once.
	a, b = setup()
	p, _ = a.Send(t0, nil, []byte{1})
	b.Receive(t0, p)
	rdvs := wire.FRCTFields{Flags: wire.FRCTRDVS}.Append(nil)
	if _, r, _ := b.Receive(t0, rdvs); len(r) != 1 || wire.FRCT(r[0]).Flags() != wire.FRCTFC {
		t.Fatalf("rdv answer %x", r)
	}
}

// TestSenderRDVSWaitsForFirstAck: a sender whose window closed before any
// of its DATA was acknowledged sends no RDVS (its first DATA may have been
// lost: an RDVS would then reach a reference receiver first); after the
// first ACK it does. The final ACK of Dealloc waits the same way.
func TestSenderRDVSWaitsForFirstAck(t *testing.T) {
	a := New(Config{RTX: true, Rand: fixed(100)}, t0)
	b := New(Config{RTX: true, Rand: fixed(200)}, t0)
	var pkts [][]byte
	for range DefaultStartWindow {
		p, _ := a.Send(t0, nil, []byte{0})
		pkts = append(pkts, p)
	}
	if _, err := a.Send(t0, nil, []byte{0}); err != ErrWindowClosed {
		t.Fatalf("window: %v", err)
	}
	for now := t0; now.Before(t0.Add(300 * time.Millisecond)); now = now.Add(rdvInterval) {
		for _, p := range a.OnTimeout(now) {
			if wire.FRCT(p).Flags() == wire.FRCTRDVS {
				t.Fatalf("RDVS before the first ACK, at %v", now.Sub(t0))
			}
		}
	}
	// a received data from b too: its final ACK also waits.
	bp, _ := b.Send(t0, nil, []byte("x"))
	a.Receive(t0, bp)
	a.Consumed(t0)
	if final, _, _ := a.Dealloc(t0); final != nil {
		t.Fatalf("final ack while our DATA is unacknowledged: %x", final)
	}
	// b acknowledges a's first packet (its answer rides on DATA).
	b.Receive(t0, pkts[0])
	b.Consumed(t0)
	bp2, _ := b.Send(t0, nil, []byte("y"))
	a.Receive(t0, bp2)
	a.Consumed(t0)
	if final, _, _ := a.Dealloc(t0); final == nil {
		t.Fatal("no final ack once the peer has our run")
	}
	// The window is open again by b's FC; close it and see an RDVS.
	for {
		if _, err := a.Send(t0, nil, []byte{0}); err != nil {
			break
		}
	}
	now := t0.Add(time.Second)
	var rdvs bool
	for _, p := range a.OnTimeout(now) {
		rdvs = rdvs || wire.FRCT(p).Flags() == wire.FRCTRDVS
	}
	if !rdvs {
		t.Fatal("no RDVS after the peer acknowledged our DATA")
	}
}
