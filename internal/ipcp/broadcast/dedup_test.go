package broadcast

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// TestDedupWindow: a payload is a duplicate for Window after its first
// copy (a duplicate does not extend it), and new again afterwards.
func TestDedupWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDedup(Window, 16)
		a, b := []byte("hello"), []byte("hello!")
		if d.check(a, time.Now()) {
			t.Fatal("first copy taken for a duplicate")
		}
		if !d.check(a, time.Now()) {
			t.Fatal("second copy not recognised")
		}
		if d.check(b, time.Now()) {
			t.Fatal("another payload taken for a duplicate")
		}
		time.Sleep(Window - time.Millisecond)
		if !d.check(a, time.Now()) {
			t.Fatal("copy within the window not recognised")
		}
		time.Sleep(time.Millisecond)
		if d.check(a, time.Now()) {
			t.Fatal("copy after the window taken for a duplicate")
		}
		if !d.check(a, time.Now()) {
			t.Fatal("the new first copy was not recorded")
		}
		if d.size() != 1 { // b expired with a's first record
			t.Fatalf("remembers %d payloads, want 1", d.size())
		}
	})
}

// TestDedupCapacity: a full dedup forgets its oldest payload first.
func TestDedupCapacity(t *testing.T) {
	d := newDedup(Window, 4)
	now := time.Now()
	for i := range 5 {
		if d.check(fmt.Appendf(nil, "p%d", i), now) {
			t.Fatalf("p%d taken for a duplicate", i)
		}
	}
	if d.size() != 4 {
		t.Fatalf("remembers %d payloads, want 4", d.size())
	}
	if d.check([]byte("p0"), now) {
		t.Fatal("p0 should have been forgotten")
	}
	if !d.check([]byte("p4"), now) {
		t.Fatal("p4 forgotten")
	}
}
