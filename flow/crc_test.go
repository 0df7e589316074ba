package flow

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/qos"
)

// TestCRC: a ber = 0 flow appends the IEEE CRC-32 as the reference does
// (check value of "123456789": cb f4 39 26, big-endian) and drops packets
// whose CRC is wrong; the end without CRC plays the peer by hand.
func TestCRC(t *testing.T) {
	withCRC := qos.Spec{BER: 0, Loss: 1}
	noCRC := qos.Spec{BER: 1, Loss: 1}
	a, b := pair(t, withCRC, noCRC)
	a.Write([]byte("123456789"))
	b.SetReadTimeout(5 * time.Second)
	buf := make([]byte, 64)
	n, err := b.Read(buf)
	if err != nil || hex.EncodeToString(buf[:n]) != hex.EncodeToString([]byte("123456789"))+"cbf43926" {
		t.Fatalf("packet with CRC %x, %v", buf[:n], err)
	}
	b.Write(append([]byte("123456789"), 0xcb, 0xf4, 0x39, 0x27)) // one bit off
	b.Write(append([]byte("123456789"), 0xcb, 0xf4, 0x39, 0x26))
	a.SetReadTimeout(5 * time.Second)
	if n, err := a.Read(buf); err != nil || string(buf[:n]) != "123456789" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if got := a.malformed.Load(); got != 1 {
		t.Fatalf("%d packets dropped, want the one with the bad CRC", got)
	}
	// A reliable flow with CRC at both ends: ACKs carry a CRC too, so the
	// writer's data is acknowledged (the reference loses its ACKs here).
	r := qos.Data
	r.Timeout = 0
	c, d := pair(t, r, r)
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 300 && err == nil; i++ {
			_, err = c.Write(numbered(i))
		}
		done <- err
	}()
	readNumbered(t, d, 300, false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		u := c.fr.conn.Unacked()
		c.mu.Unlock()
		if u == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d packets never acknowledged on a CRC flow", u)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
