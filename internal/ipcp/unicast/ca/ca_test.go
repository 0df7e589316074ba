package ca

import (
	"testing"
	"time"
)

func TestECN(t *testing.T) {
	for _, c := range []struct {
		p    Policy
		q    int
		want uint8
	}{
		{None, 1000, 0}, {MBECN, 0, 0}, {MBECN, 15, 0}, {MBECN, 16, 1}, {MBECN, 100, 6},
		{MBECN, 4095, 255}, {MBECN, 4096, 0}, // the low 8 bits, as the reference
		{MBECN, -1, 0},
	} {
		if got := c.p.ECN(c.q); got != c.want {
			t.Errorf("%v.ECN(%d) = %d, want %d", c.p, c.q, got, c.want)
		}
	}
}

// TestReceivedUpdates: an update when congestion starts, on the 2nd, 10th,
// 18th marked packet after that, and when the level decays to zero.
func TestReceivedUpdates(t *testing.T) {
	c := New(MBECN, 0)
	if up, _ := c.Received(0); up {
		t.Fatal("update without congestion")
	}
	var updates []int
	for i := 1; i <= 20; i++ {
		if up, _ := c.Received(4); up {
			updates = append(updates, i)
		}
	}
	want := []int{1, 3, 11, 19}
	if len(updates) != len(want) {
		t.Fatalf("updates on marked packets %v, want %v", updates, want)
	}
	for i := range want {
		if updates[i] != want[i] {
			t.Fatalf("updates on marked packets %v, want %v", updates, want)
		}
	}
	n := 0
	for {
		n++
		up, ece := c.Received(0)
		if up {
			if ece != 0 {
				t.Fatalf("end-of-congestion update with level %d", ece)
			}
			break
		}
		if n > 20 {
			t.Fatal("congestion never ends")
		}
	}
	if up, _ := c.Received(0); up {
		t.Fatal("update after congestion ended")
	}
}

func TestNoneIsInert(t *testing.T) {
	c := New(None, 0)
	for i := range 1000 {
		if w := c.Sent(int64(i), 1500); w != 0 {
			t.Fatalf("none waits %v", w)
		}
		if up, _ := c.Received(255); up {
			t.Fatal("none updates")
		}
	}
	c.Update(10)
	if s := c.Stats(); s.TxECE != 0 {
		t.Fatal("none takes updates")
	}
}

// TestPacing: a sender that writes far more than its budget in a slot is
// made to wait for the next slot; an update ends slow start, and a sender
// that hears nothing for more than 32 packets forgets the level.
func TestPacing(t *testing.T) {
	c := New(MBECN, 0)
	now := int64(1) << 30
	var waited time.Duration
	for range 1000 {
		w := c.Sent(now, 1500)
		if w > time.Second {
			t.Fatalf("wait %v over a second", w)
		}
		waited += w
		now += int64(w) + 1000 // 1 µs per packet plus the wait
	}
	if waited == 0 {
		t.Fatal("1.5 MB in 1 ms never paced")
	}
	c.Update(1 << 10)
	if s := c.Stats(); s.SlowStart || s.TxECE != 1<<10 {
		t.Fatalf("after an update: %+v", s)
	}
	for range 40 {
		now += int64(c.Sent(now, 1500)) + 1000
	}
	if s := c.Stats(); s.TxECE != 0 {
		t.Errorf("level %d kept after 40 packets without an update", s.TxECE)
	}
}

func FuzzCtx(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 0, 0, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		c := New(MBECN, 12345)
		now := int64(12345)
		for _, o := range ops {
			switch o % 3 {
			case 0:
				w := c.Sent(now, int(o)*37)
				if w < 0 || w > time.Second+time.Millisecond {
					t.Fatalf("wait %v", w)
				}
				now += int64(o) * 997
			case 1:
				c.Received(o)
			case 2:
				c.Update(uint16(o) << 6)
			}
		}
	})
}
