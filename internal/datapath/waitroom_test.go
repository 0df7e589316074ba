package datapath

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestWaitRoom: WaitRoom returns at once while a packet fits; on a full
// channel it waits, writing nothing, until the peer reads (then a
// TryWritePacket goes through), until the write deadline (a timeout, as
// WritePacket's), or until the peer is gone (an error IsDown reports).
func TestWaitRoom(t *testing.T) { bothModes(t, testWaitRoom) }

func testWaitRoom(t *testing.T, shm bool) {
	a, b := endpoints(t, shm)
	pkt := make([]byte, 1+200)
	if err := a.WaitRoom(200); err != nil {
		t.Fatalf("WaitRoom on an empty channel: %v", err)
	}
	sent := 0
	for a.TryWritePacket(KindData, pkt) == nil {
		sent++
	}
	if sent == 0 {
		t.Fatal("no packet fitted")
	}

	// Full: the deadline ends the wait, and nothing was written.
	a.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if err := a.WaitRoom(200); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitRoom on a full channel past its deadline: %v, want a timeout", err)
	}
	a.SetWriteDeadline(time.Time{})

	// The peer reads: the waiter returns, and the packet goes in.
	waited := make(chan error, 1)
	go func() { waited <- a.WaitRoom(200) }()
	select {
	case err := <-waited:
		t.Fatalf("WaitRoom returned %v on a full channel", err)
	case <-time.After(20 * time.Millisecond):
	}
	buf := make([]byte, MaxSDU+1)
	left := sent // unread packets
	var werr error
	for done := false; !done; {
		if left == 0 {
			werr, done = <-waited, true
			break
		}
		b.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := b.ReadPacket(buf); err != nil {
			t.Fatalf("read with %d of %d left: %v", left, sent, err)
		}
		left--
		select {
		case werr = <-waited:
			done = true
		default:
		}
	}
	if werr != nil {
		t.Fatalf("WaitRoom after the peer read: %v", werr)
	}
	if err := a.TryWritePacket(KindData, pkt); err != nil {
		t.Fatalf("write after WaitRoom: %v", err)
	}
	// The channel holds what was left unread and the one packet: WaitRoom
	// wrote nothing of its own.
	for i := range left + 1 {
		b.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := b.ReadPacket(buf); err != nil {
			t.Fatalf("read %d of %d: %v", i, left+1, err)
		}
	}
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := b.ReadPacket(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a packet more than written: %v", err)
	}

	// Full again, and the peer goes: the waiter learns it.
	for a.TryWritePacket(KindData, pkt) == nil {
	}
	go func() { waited <- a.WaitRoom(200) }()
	time.Sleep(20 * time.Millisecond)
	b.Close()
	select {
	case err := <-waited:
		if err != nil && !IsDown(err) {
			t.Fatalf("WaitRoom when the peer left: %v, want nil or a down error", err)
		}
		if err == nil {
			if err := a.TryWritePacket(KindData, pkt); err == nil || !IsDown(err) && !errors.Is(err, ErrWouldBlock) {
				t.Fatalf("write to a peer that left: %v", err)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitRoom did not return when the peer left")
	}
}
