package frct

import (
	"encoding/hex"
	"testing"
	"time"
)

// FuzzReceive feeds arbitrary packets (untrusted input from the network) to a
// reliable and an unreliable Conn, interleaved with sends and timeouts: the
// engine never panics, never delivers more than it was given, and its next
// deadline is never in the past after OnTimeout.
func FuzzReceive(f *testing.F) {
	for _, h := range []string{
		"03000000deadbeef00000000", "0c5c573a000000004a5c563a", "0f5c573a24d4471d4a5c563a",
		"10000000000000000000000", "ffffffffffffffffffffffff", "",
	} {
		b, _ := hex.DecodeString(h)
		f.Add(b, b, true)
	}
	f.Fuzz(func(t *testing.T, a, b []byte, rtx bool) {
		now := time.Unix(1000, 0)
		c := New(Config{RTX: rtx, MPL: 100 * time.Millisecond}, now)
		given, delivered := 0, 0
		for i, pkt := range [][]byte{a, b, a, b} {
			in := append([]byte(nil), pkt...)
			given += len(pkt)
			deliver, _, _ := c.Receive(now, in)
			for _, d := range deliver {
				delivered += len(d)
			}
			if delivered > given {
				t.Fatalf("delivered %d bytes from %d bytes of packets", delivered, given)
			}
			if i%2 == 0 {
				c.Send(now, nil, []byte("payload"))
			}
			now = now.Add(7 * time.Millisecond)
			c.OnTimeout(now)
			if d := c.NextDeadline(); !d.IsZero() && d.Before(now.Add(-time.Second)) {
				t.Fatalf("next deadline %v is in the past of %v", d, now)
			}
		}
	})
}
