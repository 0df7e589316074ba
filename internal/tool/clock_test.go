package tool

import (
	"testing"
	"time"
)

// MonoClock's times follow time.Now's and never go back.
func TestMonoClock(t *testing.T) {
	clock := MonoClock()
	before := time.Now()
	a := clock()
	time.Sleep(2 * time.Millisecond)
	b := clock()
	after := time.Now()
	if a.Before(before) || b.After(after) || b.Sub(a) < 2*time.Millisecond {
		t.Errorf("readings %v and %v, want within [%v, %v] and at least 2 ms apart", a, b, before, after)
	}
	// The wall readings agree with time.Now's to well under a millisecond
	// (the tools compute durations from them, as the reference does).
	if d := b.UnixNano() - after.UnixNano(); d > 0 || d < -int64(time.Second) {
		t.Errorf("wall reading %v, time.Now %v", b.UnixNano(), after.UnixNano())
	}
}
