package datapath

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

func endpoints(t *testing.T, shm bool) (*Endpoint, *Endpoint) {
	t.Helper()
	a, b, err := Pair(shm)
	if err != nil {
		t.Fatal(err)
	}
	ea, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ea.Close(); eb.Close() })
	return ea, eb
}

func TestFraming(t *testing.T) { bothModes(t, testFraming) }

func bothModes(t *testing.T, f func(*testing.T, bool)) {
	for _, shm := range []bool{false, true} {
		name := "socket"
		if shm {
			name = "shm"
		}
		t.Run(name, func(t *testing.T) { f(t, shm) })
	}
}

func testFraming(t *testing.T, shm bool) {
	a, b := endpoints(t, shm)
	buf := make([]byte, MaxSDU+1)
	for _, c := range []struct {
		kind Kind
		sdu  []byte
	}{{KindData, []byte("hello")}, {KindData, nil}, {KindDown, nil}, {KindUp, nil},
		{KindData, bytes.Repeat([]byte{0xab}, MaxSDU)}} {
		pkt := append([]byte{0xff}, c.sdu...)
		if err := a.WritePacket(c.kind, pkt); err != nil {
			t.Fatal(err)
		}
		kind, sdu, err := b.ReadPacket(buf)
		if err != nil || kind != c.kind || !bytes.Equal(sdu, c.sdu) {
			t.Fatalf("got %d %d bytes %v; want %d %d bytes", kind, len(sdu), err, c.kind, len(c.sdu))
		}
	}
	if err := a.WritePacket(KindData, make([]byte, MaxSDU+2)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("oversized SDU: %v", err)
	}
}

func TestPeerCloseIsEOFAfterQueue(t *testing.T) { bothModes(t, testPeerClose) }

func testPeerClose(t *testing.T, shm bool) {
	a, b := endpoints(t, shm)
	a.WritePacket(KindData, []byte{0, 'x'})
	a.Close()
	buf := make([]byte, MaxSDU+1)
	if _, sdu, err := b.ReadPacket(buf); err != nil || string(sdu) != "x" {
		t.Fatalf("queued packet: %q, %v", sdu, err)
	}
	if _, _, err := b.ReadPacket(buf); !errors.Is(err, io.EOF) || !IsDown(err) {
		t.Fatalf("after the peer closed: %v, want EOF", err)
	}
	if err := b.WritePacket(KindData, []byte{0, 'y'}); !IsDown(err) {
		t.Fatalf("write to a closed peer: %v", err)
	}
}

// TestPeerCloseUnreadKeepsQueue: a peer that closes with packets of ours it
// never read (a keepalive, a signal) must not cost the packets it sent
// before it closed. Linux reports such a close to the survivor as
// ECONNRESET, once, ahead of the queued packets; reading on gets them, then
// the end of stream. (The local IPCP closes a server's channel the moment
// its client's ends: an ocbr server lost the last 32 of 47,608 packets.)
func TestPeerCloseUnreadKeepsQueue(t *testing.T) { bothModes(t, testPeerCloseUnread) }

func testPeerCloseUnread(t *testing.T, shm bool) {
	a, b := endpoints(t, shm)
	for i := range 5 {
		if err := a.WritePacket(KindData, []byte{0, byte('0' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WritePacket(KindData, []byte{0}); err != nil { // never read by a
		t.Fatal(err)
	}
	a.Close()
	buf := make([]byte, MaxSDU+1)
	for i := range 5 {
		_, sdu, err := b.ReadPacket(buf)
		if err != nil || string(sdu) != string(rune('0'+i)) {
			t.Fatalf("queued packet %d: %q, %v", i, sdu, err)
		}
	}
	if _, _, err := b.ReadPacket(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after the queue: %v, want EOF", err)
	}
	// The pooled reader as well (the local IPCP's forwarders use it).
	a2, b2 := endpoints(t, shm)
	a2.WritePacket(KindData, []byte{0, 'z'})
	b2.WritePacket(KindData, []byte{0})
	a2.Close()
	var pb *[]byte
	_, sdu, err := b2.ReadPacketInto(func(n int) []byte { pb = GetBuf(n); return *pb })
	if err != nil || string(sdu) != "z" {
		t.Fatalf("ReadPacketInto: %q, %v", sdu, err)
	}
	PutBuf(pb)
}

func TestTryWriteAndDeadlines(t *testing.T) { bothModes(t, testTryWrite) }

func testTryWrite(t *testing.T, shm bool) {
	a, b := endpoints(t, shm)
	pkt := make([]byte, 1001)
	n := 0
	var err error
	for ; n < 100000; n++ {
		if err = a.TryWritePacket(KindData, pkt); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrWouldBlock) || n == 0 {
		t.Fatalf("after %d packets: %v, want ErrWouldBlock", n, err)
	}
	if q := a.TxQueued(); q <= 0 {
		t.Errorf("TxQueued = %d with a full channel", q)
	}
	a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if err := a.WritePacket(KindData, pkt); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocking write to a full channel: %v", err)
	}
	_ = b
	a.SetReadDeadline(time.Now().Add(-time.Second)) // nothing queued towards a
	if _, _, err := a.ReadPacket(make([]byte, MaxSDU+1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past deadline: %v", err)
	}
}

// TestTxQueuedPackets: TxQueued counts packets, not bytes: exactly on the
// shared-memory path, within a factor of two on the socket one; 0 once
// the peer read them all.
func TestTxQueuedPackets(t *testing.T) { bothModes(t, testTxQueuedPackets) }

func testTxQueuedPackets(t *testing.T, shm bool) {
	a, b := endpoints(t, shm)
	const n = 10
	for range n {
		if err := a.WritePacket(KindData, make([]byte, 1001)); err != nil {
			t.Fatal(err)
		}
	}
	q := a.TxQueued()
	if shm && q != n || !shm && (q < n/2 || q > 2*n) {
		t.Errorf("TxQueued = %d after %d packets of 1000 bytes", q, n)
	}
	buf := make([]byte, MaxSDU+1)
	for range n {
		if _, _, err := b.ReadPacket(buf); err != nil {
			t.Fatal(err)
		}
	}
	if q := a.TxQueued(); q != 0 {
		t.Errorf("TxQueued = %d after the peer read everything", q)
	}
}

// TestTryWriteIgnoresDeadline: TryWritePacket never waits, so no write
// deadline applies to it. Over the socket it went through the netpoller's
// write path, which fails at once once a deadline has passed: after one
// bounded blocking write (an IPCP's Deliver waiting for room for 5 ms, a
// flow's Write with a deadline), every later non-blocking write failed
// with "i/o timeout" until the deadline was moved, and a flow through a
// shim IPCP dropped everything for good (onc over udp4 stalled for 120 s).
func TestTryWriteIgnoresDeadline(t *testing.T) {
	bothModes(t, func(t *testing.T, shm bool) {
		a, b := endpoints(t, shm)
		a.SetWriteDeadline(time.Now().Add(-time.Second))
		if err := a.TryWritePacket(KindData, []byte{0, 'x'}); err != nil {
			t.Fatalf("non-blocking write after a past deadline: %v", err)
		}
		buf := make([]byte, MaxSDU+1)
		if _, sdu, err := b.ReadPacket(buf); err != nil || string(sdu) != "x" {
			t.Fatalf("read %q, %v", sdu, err)
		}
		// A full channel still says so, whatever the deadline.
		var err error
		for i := 0; i < 1<<20 && err == nil; i++ {
			err = a.TryWritePacket(KindData, make([]byte, 1025))
		}
		if !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("full channel: %v, want ErrWouldBlock", err)
		}
	})
}

// TestTxLimit: on the shared-memory path an end capped at n packets
// (SetTxLimit) finds the flow full at n small packets, though its bytes
// hold thousands; a blocking write waits until the peer takes one, then
// succeeds. An end not capped queues more than n. The socket path has no
// cap (the kernel's bytes are its limit).
func TestTxLimit(t *testing.T) {
	const limit = 100
	fill := func(a *Endpoint) int {
		n := 0
		for ; n < 100000; n++ {
			if err := a.TryWritePacket(KindData, make([]byte, 65)); err != nil {
				if !errors.Is(err, ErrWouldBlock) {
					t.Fatalf("after %d packets: %v", n, err)
				}
				break
			}
		}
		return n
	}
	a, _ := endpoints(t, true)
	if n := fill(a); n <= limit {
		t.Fatalf("an end without a cap took only %d packets of 64 bytes", n)
	}
	a, b := endpoints(t, true)
	a.SetTxLimit(limit)
	if n := fill(a); n != limit || a.TxQueued() != limit {
		t.Fatalf("an end capped at %d took %d packets (%d queued)", limit, n, a.TxQueued())
	}
	done := make(chan error, 1)
	go func() { done <- a.WritePacket(KindData, make([]byte, 65)) }()
	select {
	case err := <-done:
		t.Fatalf("a blocking write at the cap returned at once: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, _, err := b.ReadPacket(make([]byte, MaxSDU+1)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the blocking write after the peer took one: %v", err)
	}
	if q := a.TxQueued(); q != limit {
		t.Fatalf("TxQueued = %d, want %d", q, limit)
	}
}
