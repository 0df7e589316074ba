package frct

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// TestSlowReaderWindow: the advertised window shrinks by what the reader has
// not consumed, a sender that fills it is refused, and consumption reopens it
// with a delayed ACK|FC.
func TestSlowReaderWindow(t *testing.T) {
	const rq = 8
	a := New(Config{RTX: true, Rand: fixed(1000), StartWindow: 4, RQSize: rq}, t0)
	b := New(Config{RTX: true, StartWindow: 4, RQSize: rq}, t0)
	now := t0
	deliver := func(p []byte) int {
		t.Helper()
		d, r, err := b.Receive(now, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range r {
			a.Receive(now, x)
		}
		return len(d)
	}
	ack := func() {
		t.Helper()
		now = now.Add(ackDelay)
		for _, x := range b.OnTimeout(now) {
			if _, _, err := a.Receive(now, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	sent := 0
	for {
		p, err := a.Send(now, nil, []byte{byte(sent)})
		if errors.Is(err, ErrWindowClosed) {
			ack() // the receiver acks what arrived; nothing is consumed
			if p, err = a.Send(now, nil, []byte{byte(sent)}); errors.Is(err, ErrWindowClosed) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if deliver(p) != 1 {
			t.Fatalf("packet %d not delivered", sent)
		}
		sent++
	}
	if sent != rq {
		t.Fatalf("sent %d before the window closed, want %d (the unread queue)", sent, rq)
	}
	// The reader takes one: the update waits for the delayed ACK. It takes
	// a second, a quarter window: the sender, out of window, is told at once.
	if p := b.Consumed(now); p != nil {
		t.Fatalf("window update for one packet sent at once: %x", p)
	}
	if dl := b.NextDeadline(); dl.IsZero() || dl.Sub(now) != ackDelay {
		t.Fatalf("no window update scheduled after consumption (deadline %v)", dl)
	}
	p := b.Consumed(now)
	out := [][]byte{p}
	if p == nil || wire.FRCT(p).Flags() != wire.FRCTACK|wire.FRCTFC || wire.FRCT(p).RWE() != 1000+rq+2 {
		t.Fatalf("window update %x", p)
	}
	a.Receive(now, out[0])
	for i := range 2 {
		if _, err := a.Send(now, nil, []byte{byte(i)}); err != nil {
			t.Fatalf("send %d after window update: %v", i, err)
		}
	}
	if _, err := a.Send(now, nil, nil); !errors.Is(err, ErrWindowClosed) {
		t.Fatalf("window should be closed again, got %v", err)
	}
}

// TestLinger: Dealloc reports unacknowledged data until the ACK arrives,
// sends the final ACK once, and reports the delta-t keep time.
func TestLinger(t *testing.T) {
	a := New(Config{RTX: true, Rand: fixed(0x10)}, t0)
	b := New(Config{RTX: true, Rand: fixed(0x20)}, t0)
	p, _ := a.Send(t0, nil, []byte("x"))
	_, keep, linger := a.Dealloc(t0)
	if !linger {
		t.Fatal("no linger with unacknowledged data")
	}
	if want := a.snd.inact.Truncate(time.Second); keep != want {
		t.Fatalf("keep %v, want %v", keep, want)
	}
	now := t0.Add(time.Millisecond)
	if d, _, _ := b.Receive(now, p); len(d) != 1 {
		t.Fatal("not delivered")
	}
	b.Consumed(now)
	final, _, blinger := b.Dealloc(now)
	if blinger {
		t.Fatal("receiver without unacked data lingers")
	}
	if hex.EncodeToString(final) != "0400000000000000"+"00000011" {
		t.Fatalf("final ack %x", final)
	}
	if again, _, _ := b.Dealloc(now); again != nil {
		t.Fatalf("final ack sent twice: %x", again)
	}
	a.Receive(now, final)
	if _, _, linger := a.Dealloc(now); linger || a.Unacked() != 0 {
		t.Fatalf("still lingering after the ack (unacked %d)", a.Unacked())
	}
	// Without RTX there is nothing to linger for.
	c := New(Config{}, t0)
	c.Send(t0, nil, []byte("y"))
	if _, _, linger := c.Dealloc(t0); linger {
		t.Fatal("non-RTX flow lingers")
	}
	// Long idle: both records expired, nothing to keep.
	if _, keep, _ := a.Dealloc(now.Add(time.Hour)); keep != 0 {
		t.Fatalf("keep after an hour %v", keep)
	}
}

// TestRunExpiry: after snd.inact of silence the sender starts a new run
// (fresh random seqno, DRF), and the receiver, whose record expired after
// rcv.inact, accepts it.
func TestRunExpiry(t *testing.T) {
	seqs := []uint32{500, 9000}
	a := New(Config{RTX: true, Rand: func() uint32 { s := seqs[0]; seqs = seqs[1:]; return s }}, t0)
	b := New(Config{RTX: true}, t0)
	p, _ := a.Send(t0, nil, []byte("1"))
	if d, _, _ := b.Receive(t0, p); len(d) != 1 {
		t.Fatal("first run not accepted")
	}
	b.Consumed(t0)
	for _, x := range b.OnTimeout(t0.Add(ctlHold)) { // b sends no DATA: its ACK is held
		a.Receive(t0.Add(ctlHold), x)
	}
	later := t0.Add(a.snd.inact + 2*time.Second)
	p, _ = a.Send(later, nil, []byte("2"))
	h := wire.FRCT(p)
	if h.Seqno() != 9000 || !h.Flags().Has(wire.FRCTDRF) {
		t.Fatalf("new run packet %x", p[:12])
	}
	if d, _, _ := b.Receive(later, p); len(d) != 1 || string(d[0]) != "2" {
		t.Fatalf("new run not accepted: %q", d)
	}
	// Inside the lifetime a DATA packet without DRF of an unknown run is dropped.
	c := New(Config{RTX: true}, t0)
	q := append([]byte(nil), p...)
	wire.FRCT(q).SetFlags(wire.FRCTData)
	if d, _, _ := c.Receive(t0, q); len(d) != 0 {
		t.Fatal("data of an unknown run delivered")
	}
}

// TestBlockedWriterKeepsRun: a writer that waits on a closed window for
// longer than the run lifetime (snd.inact, 131 s) keeps its run alive with
// RDVS; when the reader finally reads, the writer continues in the same
// run. (Restarting the run would put its packets outside the receiver's
// window and stall the flow for good.)
func TestBlockedWriterKeepsRun(t *testing.T) {
	a := New(Config{RTX: true, Rand: fixed(5000)}, t0)
	b := New(Config{RTX: true}, t0)
	now := t0
	pump := func(from, to *Conn, pkts [][]byte) {
		for _, p := range pkts {
			_, r, _ := to.Receive(now, p)
			for _, x := range r {
				from.Receive(now, x)
			}
		}
	}
	unread := 0
	for {
		p, err := a.Send(now, nil, []byte{1})
		if errors.Is(err, ErrWindowClosed) {
			if unread >= DefaultRQSize {
				break
			}
			now = now.Add(ackDelay)
			pump(b, a, b.OnTimeout(now))
			continue
		}
		pump(a, b, [][]byte{p})
		unread++
	}
	// 200 s of a writer retrying every 500 ms; RDVS goes out, b answers.
	for end := now.Add(200 * time.Second); now.Before(end); now = now.Add(100 * time.Millisecond) {
		if int(now.Sub(t0)/(100*time.Millisecond))%5 == 0 {
			if _, err := a.Send(now, nil, []byte{1}); !errors.Is(err, ErrWindowClosed) {
				t.Fatalf("window opened without a read: %v", err)
			}
		}
		pump(a, b, a.OnTimeout(now))
		pump(b, a, b.OnTimeout(now))
	}
	for range 100 {
		if p := b.Consumed(now); p != nil {
			pump(b, a, [][]byte{p})
		}
	}
	p, err := a.Send(now, nil, []byte{2})
	if err != nil {
		t.Fatalf("send after the reader read: %v", err)
	}
	if h := wire.FRCT(p); h.Seqno() != 5000+uint32(unread) { // a new run would restart at 5000
		t.Fatalf("packet %x: want seqno %d in the same run", p[:12], 5000+unread)
	}
	if d, _, _ := b.Receive(now, p); len(d) != 1 {
		t.Fatal("receiver dropped the writer's next packet")
	}
}
