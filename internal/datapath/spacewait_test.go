package datapath

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestWriterWaitOutlivesSocketReader: a writer that waits for room in a
// full ring while the reading goroutine sleeps on the socket must not depend
// on that goroutine reading the socket again. Here the reading goroutine is
// woken by a HotReader's poke (no doorbell), returns a record and stops
// reading, as a flow's receive goroutine does while its queue is full; then
// the peer empties the ring and rings the "space" doorbell, which nobody
// reads. The writer must still get its packet through. (Before, it waited
// for its write deadline: a server echoing a flood stalled.)
func TestWriterWaitOutlivesSocketReader(t *testing.T) {
	a, b := endpoints(t, true)
	pkt := make([]byte, 65)
	for b.TryWritePacket(KindData, pkt) == nil {
	}
	// b's reading goroutine: one read, which sleeps on the socket.
	read := make(chan error, 1)
	go func() {
		_, _, err := b.ReadPacket(make([]byte, MaxSDU+1))
		read <- err
	}()
	time.Sleep(50 * time.Millisecond)
	// The writer (no deadline): b's ring towards a is full.
	const limit = 5 * time.Second // far longer than any step below takes
	wrote := make(chan error, 1)
	go func() { wrote <- b.WritePacket(KindData, pkt) }()
	time.Sleep(50 * time.Millisecond)

	// A HotReader of b waits in FUTEX_WAIT; a's two records wake it, not
	// the doorbell; it takes one and leaves one, poking the reading
	// goroutine, which returns that one.
	h := b.HotRead()
	if h == nil {
		t.Fatal("no HotReader while the reading goroutine sleeps")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		a.WritePacket(KindData, make([]byte, 65))
		a.WritePacket(KindData, make([]byte, 65))
	}()
	for {
		_, _, ok, err := h.Next(func(n int) []byte { return make([]byte, n) }, time.Now().Add(limit))
		if err != nil {
			h.Done()
			t.Fatal(err)
		}
		if ok {
			break
		}
	}
	h.Done()
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(limit):
		t.Fatal("the reading goroutine did not return the record left behind")
	}

	// a empties the ring; nobody reads b's socket any more.
	buf := make([]byte, MaxSDU+1)
	for {
		a.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := a.ReadPacket(buf); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
	}
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatalf("the waiting write: %v, want it through once the ring had room", err)
		}
	case <-time.After(limit):
		// The cleanup closes b, which ends the write.
		t.Fatalf("the waiting write was still blocked %v after the ring had room", limit)
	}
}
