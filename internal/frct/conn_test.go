package frct

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fixed(v uint32) func() uint32 { return func() uint32 { return v } }

// TestFirstPacketHex checks the header shapes of the reference's packets:
// request DATA|DRF without FC/ACK, delayed ACK|FC, response DATA|DRF|ACK|FC.
// The delayed ACK of a receiver that has sent no DATA waits (ctl.go) until
// the end of the hold.
func TestFirstPacketHex(t *testing.T) {
	a := New(Config{RTX: true, Rand: fixed(0xdeadbeef)}, t0)
	b := New(Config{RTX: true, Rand: fixed(0x24d4471d)}, t0)
	p, err := a.Send(t0, nil, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(p), "03000000deadbeef00000000"+hex.EncodeToString([]byte("hi")); got != want {
		t.Fatalf("first packet %s, want %s", got, want)
	}
	d, r, err := b.Receive(t0, p)
	if err != nil || len(d) != 1 || string(d[0]) != "hi" || len(r) != 0 {
		t.Fatalf("deliver %q reply %x err %v", d, r, err)
	}
	b.Consumed(t0)
	dl := b.NextDeadline()
	if dl.Sub(t0) != ackDelay {
		t.Fatalf("delayed ack at %v", dl.Sub(t0))
	}
	if out := b.OnTimeout(dl); len(out) != 0 {
		t.Fatalf("ack before any DATA of ours, within the hold: %x", out)
	}
	if dl = b.NextDeadline(); dl.Sub(t0) != ctlHold {
		t.Fatalf("held ack at %v, want %v", dl.Sub(t0), ctlHold)
	}
	out := b.OnTimeout(dl)
	// window = 0xdeadbef0 + 256, low 24 bits; ackno = next expected.
	if len(out) != 1 || hex.EncodeToString(out[0]) != "0cadbff000000000deadbef0" {
		t.Fatalf("delayed ack %x", out)
	}
	resp, err := b.Send(dl, nil, []byte{})
	if err != nil || hex.EncodeToString(resp) != "0fadbff024d4471ddeadbef0" {
		t.Fatalf("response %x, %v", resp, err)
	}
	if !b.NextDeadline().IsZero() && b.NextDeadline().Before(dl.Add(time.Millisecond)) {
		t.Fatalf("unexpected deadline %v", b.NextDeadline())
	}
}

func TestDuplicateDiscarded(t *testing.T) {
	for _, rtx := range []bool{true, false} {
		a := New(Config{RTX: rtx, Rand: fixed(7)}, t0)
		b := New(Config{RTX: rtx}, t0)
		p1, _ := a.Send(t0, nil, []byte("1"))
		p2, _ := a.Send(t0, nil, []byte("2"))
		if d, _, _ := b.Receive(t0, append([]byte(nil), p1...)); len(d) != 1 {
			t.Fatalf("rtx=%v: first not delivered", rtx)
		}
		d, r, _ := b.Receive(t0, append([]byte(nil), p1...))
		if len(d) != 0 {
			t.Fatalf("rtx=%v: duplicate delivered", rtx)
		}
		// A duplicate of consumed data forces an immediate ACK.
		if len(r) != 1 || wire.FRCT(r[0]).Flags() != wire.FRCTACK|wire.FRCTFC || wire.FRCT(r[0]).Ackno() != 8 {
			t.Fatalf("rtx=%v: reply %x", rtx, r)
		}
		if d, _, _ := b.Receive(t0, p2); len(d) != 1 || string(d[0]) != "2" {
			t.Fatalf("rtx=%v: second %q", rtx, d)
		}
	}
	// Short packets are dropped with an error (F4).
	if _, _, err := New(Config{}, t0).Receive(t0, make([]byte, 11)); !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("short packet: %v", err)
	}
}

func TestRTOBackoff(t *testing.T) {
	a := New(Config{RTX: true}, t0)
	p, _ := a.Send(t0, nil, []byte("x"))
	last := t0
	var gaps []time.Duration
	for !a.Down() {
		dl := a.NextDeadline()
		if dl.IsZero() {
			t.Fatal("no deadline")
		}
		out := a.OnTimeout(dl)
		if a.Down() {
			break
		}
		if len(out) != 1 || hex.EncodeToString(out[0]) != hex.EncodeToString(p) {
			t.Fatalf("retransmission %x, want %x", out, p)
		}
		gaps = append(gaps, dl.Sub(last))
		last = dl
	}
	// Seconds: doubling up to 8 × rto, then every 8 s: at 1, 3, 7, 15, …,
	// 119 s; the next (127 s) is past R.
	want := []time.Duration{1, 2, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8}
	if len(gaps) != len(want) {
		t.Fatalf("gaps %v", gaps)
	}
	for i := range gaps {
		if gaps[i] != want[i]*time.Second {
			t.Fatalf("gaps %v", gaps)
		}
	}
	if _, err := a.Send(last, nil, nil); !errors.Is(err, ErrFlowDown) {
		t.Fatalf("send after R: %v", err)
	}
}

func TestWindowClosesAndReopens(t *testing.T) {
	a := New(Config{RTX: true, Rand: fixed(100)}, t0)
	b := New(Config{RTX: true}, t0)
	// A first packet, acknowledged: the peer has our run (ctl.go).
	p, _ := a.Send(t0, nil, []byte{0})
	b.Receive(t0, p)
	b.Consumed(t0)
	for _, x := range b.OnTimeout(t0.Add(ctlHold)) {
		a.Receive(t0.Add(ctlHold), x)
	}
	if a.Unacked() != 0 {
		t.Fatal("first packet not acknowledged")
	}
	t1 := t0.Add(ctlHold)
	var pkts [][]byte
	for {
		p, err := a.Send(t1, nil, []byte{byte(len(pkts))})
		if errors.Is(err, ErrWindowClosed) {
			break
		}
		if err != nil {
			t.Fatalf("send %d: %v", len(pkts), err)
		}
		pkts = append(pkts, p)
	}
	if len(pkts) != DefaultRQSize {
		t.Fatalf("window closed after %d packets, want the %d b advertised", len(pkts), DefaultRQSize)
	}
	// Rendezvous is due a smoothed RTT later, at most 100 ms (the sample
	// here is the 500 ms hold), whether or not an FC was ever received
	// (F3 fixed).
	t2 := t1.Add(rdvInterval)
	if dl := a.NextDeadline(); !dl.Equal(t2) {
		t.Fatalf("rdv deadline %v after the refusal", dl.Sub(t1))
	}
	out := a.OnTimeout(t2)
	if len(out) != 1 || hex.EncodeToString(out[0]) != "100000000000000000000000" {
		t.Fatalf("rdvs %x", out)
	}
	if dl := a.NextDeadline(); dl.Sub(t2) != rdvInterval {
		t.Fatalf("next rdv at %v", dl.Sub(t2))
	}
	now := t1.Add(time.Millisecond)
	for _, p := range pkts {
		if d, _, _ := b.Receive(now, p); len(d) != 1 {
			t.Fatal("not delivered")
		}
		b.Consumed(now)
	}
	_, r, _ := b.Receive(now, out[0])
	if len(r) != 1 || wire.FRCT(r[0]).Flags() != wire.FRCTFC || wire.FRCT(r[0]).RWE() != 101+2*DefaultRQSize {
		t.Fatalf("rdv answer %x", r)
	}
	if _, _, err := a.Receive(now, r[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(now, nil, []byte{1}); err != nil {
		t.Fatalf("send after FC: %v", err)
	}
}
