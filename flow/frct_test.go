package flow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

var reliable = func() qos.Spec { q := qos.Data; q.Timeout = 0; return q }()
var ordered = func() qos.Spec { q := qos.BestEffort; q.Timeout = 0; return q }()

// numbered returns message i: its index, then i%300 bytes of pattern.
func numbered(i int) []byte {
	m := make([]byte, 8+i%300)
	binary.BigEndian.PutUint64(m, uint64(i))
	for j := 8; j < len(m); j++ {
		m[j] = byte(i + j)
	}
	return m
}

// readNumbered reads n messages and checks that they are 0..n-1 in order.
func readNumbered(t *testing.T, f *Flow, n int, slow bool) {
	t.Helper()
	f.SetReadTimeout(10 * time.Second)
	buf := make([]byte, 1024)
	for i := range n {
		k, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(buf[:k], numbered(i)) {
			t.Fatalf("message %d: got index %d, %d bytes", i, binary.BigEndian.Uint64(buf), k)
		}
		if slow && i%1000 == 0 {
			time.Sleep(20 * time.Millisecond) // let the window close
		}
	}
}

// TestReliableFlowInOrder: a reliable flow carries many messages in order,
// with a reader that falls behind now and then (the window closes and
// reopens), and the writer never loses anything.
func TestReliableFlowInOrder(t *testing.T) {
	a, b := pair(t, reliable, reliable)
	const n = 20000
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := a.Write(numbered(i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	readNumbered(t, b, n, true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestOrderedFlowNoStall: a one-way best-effort (FRCT, no retransmission)
// flow keeps going past 64 packets (reference quirk F2/F3).
func TestOrderedFlowNoStall(t *testing.T) {
	a, b := pair(t, ordered, ordered)
	const n = 5000
	a.SetWriteTimeout(10 * time.Second)
	go func() {
		for i := range n {
			if _, err := a.Write(numbered(i)); err != nil {
				return
			}
		}
	}()
	readNumbered(t, b, n, false) // a local channel loses nothing
}

// TestReliableRequestResponse is the regression for the reader hang seen in
// the reference (F8): immediate answers, many rounds, each bounded by a
// timeout.
func TestReliableRequestResponse(t *testing.T) {
	a, b := pair(t, reliable, reliable)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := b.Read(buf)
			if err != nil {
				return
			}
			if _, err := b.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	a.SetReadTimeout(5 * time.Second)
	buf := make([]byte, 64)
	for i := range 3000 {
		msg := numbered(i)[:8]
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
		n, err := a.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("round %d: %x, %v", i, buf[:n], err)
		}
	}
}

// TestWindowBlocksWriter: with a reader that does not read, a blocking
// writer stops at the window and times out; a non-blocking one gets EAGAIN;
// once the reader reads, writing resumes.
func TestWindowBlocksWriter(t *testing.T) {
	a, b := pair(t, reliable, reliable)
	a.SetWriteTimeout(300 * time.Millisecond)
	sent := 0
	var err error
	for ; sent < 2000; sent++ {
		if _, err = a.Write(numbered(sent)); err != nil {
			break
		}
	}
	if !errors.Is(err, oerr.ETIMEDOUT) {
		t.Fatalf("after %d writes: %v, want ETIMEDOUT", sent, err)
	}
	if sent < 64 || sent > rcvWindow {
		t.Fatalf("window closed after %d messages, want 64..%d", sent, rcvWindow)
	}
	a.SetFlags(FlagDefault | FlagWNoBlock)
	if _, err := a.Write([]byte("x")); !errors.Is(err, oerr.EAGAIN) {
		t.Fatalf("non-blocking write on a closed window: %v", err)
	}
	a.SetFlags(FlagDefault)
	a.SetWriteTimeout(10 * time.Second)
	done := make(chan error, 1)
	go func() {
		var err error
		for i := sent; i < sent+500 && err == nil; i++ {
			_, err = a.Write(numbered(i))
		}
		done <- err
	}()
	readNumbered(t, b, sent+500, false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCloseLingers: Close on a reliable flow returns only after the peer
// acknowledged everything, so the reader gets every message and then
// EFLOWDOWN.
func TestCloseLingers(t *testing.T) {
	a, b := pair(t, reliable, reliable)
	const n = 1000
	go func() {
		for i := range n {
			a.Write(numbered(i))
		}
		a.Close()
	}()
	readNumbered(t, b, n, true)
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, oerr.EFLOWDOWN) {
		t.Fatalf("after the last message: %v, want EFLOWDOWN", err)
	}
}

// TestFRCTWire: a reliable flow against a raw end that plays a peer by
// hand: the first packet is DATA|DRF with no FC or ACK;
// a hand-made DATA|DRF|ACK|FC answer is delivered and acknowledges it.
func TestFRCTWire(t *testing.T) {
	a, b := pair(t, reliable, noKeepalive)
	if _, err := a.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	b.SetReadTimeout(5 * time.Second)
	buf := make([]byte, 64)
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	h, err := wire.ParseFRCT(buf[:n])
	if err != nil || h.Flags != wire.FRCTData|wire.FRCTDRF || h.RWE != 0 || h.Ackno != 0 || string(buf[12:n]) != "hi" {
		t.Fatalf("first packet %x", buf[:n])
	}
	resp := wire.FRCTFields{
		Flags: wire.FRCTData | wire.FRCTDRF | wire.FRCTACK | wire.FRCTFC,
		RWE:   h.Seqno + 1 + 256, Seqno: 0x24d4471d, Ackno: h.Seqno + 1,
	}.Append(nil)
	if _, err := b.Write(append(resp, "ho"...)); err != nil {
		t.Fatal(err)
	}
	a.SetReadTimeout(5 * time.Second)
	if n, err := a.Read(buf); err != nil || string(buf[:n]) != "ho" {
		t.Fatalf("answer %q, %v", buf[:n], err)
	}
	a.mu.Lock()
	unacked := a.fr.conn.Unacked()
	a.mu.Unlock()
	if unacked != 0 {
		t.Fatalf("%d packets still unacknowledged", unacked)
	}
	// Garbage shorter than the header is dropped, the flow carries on.
	b.Write([]byte{1, 2, 3})
	// The delayed ACK for "ho" (ACK|FC, ackno 0x24d4471e) reaches b.
	n, err = b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := wire.ParseFRCT(buf[:n]); err != nil || h.Flags != wire.FRCTACK|wire.FRCTFC || h.Ackno != 0x24d4471e {
		t.Fatalf("ack %x", buf[:n])
	}
}

// lossyPair connects two flows through a relay goroutine that drops a
// fraction of the packets in each direction: two real channels, a and b
// at the ends, the relay in the middle.
func lossyPair(t *testing.T, q qos.Spec, loss float64) (*Flow, *Flow) {
	t.Helper()
	leakcheck.Check(t)
	shm := testShm()
	a1, a2, err := datapath.Pair(shm)
	if err != nil {
		t.Fatal(err)
	}
	b1, b2, err := datapath.Pair(shm)
	if err != nil {
		t.Fatal(err)
	}
	ep := func(e datapath.End) *datapath.Endpoint {
		x, err := datapath.New(e)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	ea, ra, rb, eb := ep(a1), ep(a2), ep(b1), ep(b2)
	var wg sync.WaitGroup
	relay := func(from, to *datapath.Endpoint, seed uint64) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 7))
		buf := make([]byte, datapath.MaxSDU+1)
		for {
			kind, sdu, err := from.ReadPacket(buf)
			if err != nil {
				to.Close()
				return
			}
			if len(sdu) > 0 && rng.Float64() < loss {
				continue
			}
			pkt := append([]byte{0}, sdu...)
			if to.WritePacket(kind, pkt) != nil {
				return
			}
		}
	}
	wg.Add(2)
	go relay(ra, rb, 1)
	go relay(rb, ra, 2)
	p := testProcess(t)
	fa := newFlowOn(p, ea, ctrl.FlowInfo{ID: 1, QoS: q, MPL: 1}, "b")
	fb := newFlowOn(p, eb, ctrl.FlowInfo{ID: 2, QoS: q, MPL: 1}, "")
	startFlows(t, p, fa, fb)
	t.Cleanup(func() {
		fa.SetLinger(0)
		fa.Close()
		fb.Close()
		ra.Close()
		rb.Close()
		wg.Wait()
	})
	return fa, fb
}

// TestReliableFlowOverLoss: 10 % of the packets (data and control, both
// ways) are dropped between the ends; every message arrives once, in order.
func TestReliableFlowOverLoss(t *testing.T) {
	a, b := lossyPair(t, reliable, 0.1)
	const n = 3000
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < n && err == nil; i++ {
			_, err = a.Write(numbered(i))
		}
		done <- err
	}()
	readNumbered(t, b, n, false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFRCTFlags: FRCTGFLAGS/FRCTSFLAGS with the intended semantics (F5):
// RTX is read-only, ResCntl and Linger follow the argument; without
// ResCntl a writer ignores a closed window.
func TestFRCTFlags(t *testing.T) {
	a, _ := pair(t, reliable, reliable)
	if fl, err := a.FRCTFlags(); err != nil || fl != FRCTRTX|FRCTResCntl|FRCTLinger {
		t.Fatalf("default flags %b, %v", fl, err)
	}
	if err := a.SetFRCTFlags(FRCTResCntl); err != nil {
		t.Fatal(err)
	}
	if fl, _ := a.FRCTFlags(); fl != FRCTRTX|FRCTResCntl {
		t.Fatalf("after setting ResCntl only: %b", fl)
	}
	a.SetFRCTFlags(0) // RTX stays
	if fl, _ := a.FRCTFlags(); fl != FRCTRTX {
		t.Fatalf("after clearing: %b", fl)
	}
	a.SetWriteTimeout(time.Second)
	for i := range rcvWindow + 100 { // past any window: nobody reads
		if _, err := a.Write([]byte{byte(i)}); err != nil {
			t.Fatalf("write %d without resource control: %v", i, err)
		}
	}
	raw, _ := pair(t, noKeepalive, noKeepalive)
	if _, err := raw.FRCTFlags(); !errors.Is(err, oerr.EPERM) {
		t.Fatalf("FRCT flags of a raw flow: %v", err)
	}
}

// TestReliableConcurrentWriters: writers sharing a reliable flow, waiting
// for each other (and for the window), each get every message through
// exactly once and in their own order (writers take turns from Send to the
// channel, see lockWriter).
func TestReliableConcurrentWriters(t *testing.T) {
	a, b := pair(t, reliable, reliable)
	const writers, n = 4, 3000
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range n {
				m := make([]byte, 16)
				binary.BigEndian.PutUint64(m, uint64(w))
				binary.BigEndian.PutUint64(m[8:], uint64(i))
				if _, err := a.Write(m); err != nil {
					errs <- fmt.Errorf("writer %d, message %d: %w", w, i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	b.SetReadTimeout(20 * time.Second)
	next := make([]uint64, writers)
	buf := make([]byte, 64)
	for range writers * n {
		k, err := b.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (next expected %v)", err, next)
		}
		if k != 16 {
			t.Fatalf("read %d bytes", k)
		}
		w, i := binary.BigEndian.Uint64(buf), binary.BigEndian.Uint64(buf[8:])
		if w >= writers || i != next[w] {
			t.Fatalf("writer %d message %d, want message %d", w, i, next[w])
		}
		next[w]++
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestReliableWriteCountsAsSent: a reliable Write records when it sent, as
// a raw one does, so the keepalive sees a flow that sends (it used to
// record the zero time: a writing flow looked silent).
func TestReliableWriteCountsAsSent(t *testing.T) {
	a, b := pair(t, reliable, reliable)
	before := time.Now()
	if _, err := a.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if sent := monoTime(a.lastSnd.Load()); sent.Before(before.Add(-time.Second)) {
		t.Fatalf("last send recorded at %v, the write was at %v", sent, before)
	}
	b.SetReadTimeout(10 * time.Second)
	if _, err := b.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
}
