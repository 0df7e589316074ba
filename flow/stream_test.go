package flow

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestStreamMergesAndSplits: a Read returns bytes across message
// boundaries, a Write larger than StreamChunk is split, and nothing is lost
// or reordered.
func TestStreamMergesAndSplits(t *testing.T) {
	fa, fb := pair(t, reliable, reliable)
	a, b := NewConn(fa), NewConn(fb)
	for _, m := range []string{"ab", "cd", "ef"} {
		if _, err := a.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 0, 6)
	buf := make([]byte, 4)
	for len(got) < 6 {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "abcdef" {
		t.Fatalf("stream %q", got)
	}
	if err := a.SetChunk(MaxSDU); err == nil {
		t.Fatal("a chunk larger than the flow takes was accepted")
	}
	big := make([]byte, 3*StreamChunk+5)
	for i := range big {
		big[i] = byte(i * 7)
	}
	done := make(chan error, 1)
	go func() { _, err := a.Write(big); done <- err }()
	rcv := make([]byte, len(big))
	if _, err := io.ReadFull(b, rcv); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rcv, big) {
		t.Fatal("large write corrupted")
	}
	if n := fb.RxQueueLen(); n != 0 {
		t.Fatalf("%d messages left over", n)
	}
}

// TestStreamEOFAndDeadlines: the peer's Close is io.EOF after its data;
// deadlines are net.Error timeouts matching os.ErrDeadlineExceeded, and a
// past deadline fails even when data is waiting.
func TestStreamEOFAndDeadlines(t *testing.T) {
	fa, fb := pair(t, reliable, reliable)
	a, b := NewConn(fa), NewConn(fb)
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := b.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	a.Write([]byte("last words"))
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if n, err := b.Read(make([]byte, 64)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline with data waiting: %d, %v", n, err)
	}
	a.SetWriteDeadline(time.Now().Add(-time.Second))
	if n, err := a.Write([]byte("x")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the deadline: %d, %v", n, err)
	}
	a.Close()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "last words" {
		t.Fatalf("after the peer closed: %q, %v (want the data, then EOF)", got, err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write to a closed peer: %v", err)
	}
}
