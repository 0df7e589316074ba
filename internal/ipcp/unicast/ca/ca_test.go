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

// TestSpread: a sender that always has a packet ready passes its budget
// spread over the slot, never more than the elapsed part of the budget
// plus an eighth (and the packet in hand, and what a wait too short to
// make would have held back); a packet within the budget
// never waits past the slot's end; and slow start still doubles the
// budget, as when the budget went out in one burst.
func TestSpread(t *testing.T) {
	const size = 1000
	c := New(MBECN, 0)
	now := int64(1) << 30
	spreadWaits := 0
	for range 20000 {
		w := c.Sent(now, size)
		if w < 0 || w > time.Second {
			t.Fatalf("wait %v", w)
		}
		slotLen := int64(1) << c.txMul
		start := c.txSlot << c.txMul
		if c.txWBC <= c.txWBL && now >= start { // within the budget: spread, never past the slot
			if w > 0 {
				spreadWaits++
			}
			dep := now + int64(w)
			if end := start + slotLen; dep > end {
				t.Fatalf("a packet within the budget waits %v, past the slot's end by %d ns", w, dep-end)
			}
			elapsed := max(dep-start, 0)
			// minSpread: a shorter wait is not made.
			limit := float64(c.txWBL)*float64(elapsed+minSpread)/float64(slotLen) + float64(c.txWBL)/spreadDiv + size
			if float64(c.txWBC) > limit {
				t.Fatalf("%d bytes gone %d ns into a slot of %d ns with a budget of %d", c.txWBC, elapsed, slotLen, c.txWBL)
			}
		}
		now += int64(w) + 1000 // 1 µs per packet plus the wait
	}
	if spreadWaits == 0 {
		t.Fatal("the budget was never spread")
	}
	if s := c.Stats(); s.SlotLimit*(1<<24)/s.SlotNs <= initLimit {
		t.Errorf("slow start did not grow the budget: %+v", s)
	}
}

// TestSpreadLateSender: a sender that woke late sends what the elapsed
// part of the slot allows at once.
func TestSpreadLateSender(t *testing.T) {
	c := New(MBECN, 0)
	start := c.txSlot << c.txMul
	now := start + (int64(1)<<c.txMul)/2 // half the slot gone, nothing sent
	for i := range 40 {                  // 40 kB of a 64 kB budget: within half of it plus an eighth
		if w := c.Sent(now, 1000); w != 0 {
			t.Fatalf("packet %d waits %v", i, w)
		}
	}
	if w := c.Sent(now, 1000); w == 0 {
		t.Fatal("the 41st packet at half the slot did not wait")
	}
}

// TestSpreadWaitBound: in a slot widened past a second, a spreading wait
// is still cut to about a second, as the description's wait is.
func TestSpreadWaitBound(t *testing.T) {
	c := New(MBECN, 0)
	c.txMul = 32 // a slot of about 4.3 s
	c.txSlot = 1
	c.txWBL = 1 << 20
	now := c.txSlot << c.txMul // the slot's start
	waited := false
	for range 1000 { // 1 MB, within the budget: the last waits about 4 s without the bound
		w := c.Sent(now, 1000)
		if w > time.Duration(maxWait) {
			t.Fatalf("wait %v over the bound", w)
		}
		waited = waited || w > 0
	}
	if !waited {
		t.Fatal("1 MB at the start of a slot did not wait")
	}
}
