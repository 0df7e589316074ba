package flow

import (
	"testing"
	"time"
)

// The stamps follow time.Now: a stamp's time falls between the time.Now
// readings around it, monoOf inverts monoTime, and the keepalive's
// comparisons of stamps with time.Now's times come out right.
func TestStampsFollowTimeNow(t *testing.T) {
	before := time.Now()
	s := monoNow()
	c := clockNow()
	after := time.Now()
	if st := monoTime(s); st.Before(before) || st.After(after) {
		t.Errorf("stamp's time %v outside [%v, %v]", st, before, after)
	}
	if c.Before(before) || c.After(after) {
		t.Errorf("clockNow %v outside [%v, %v]", c, before, after)
	}
	if got := monoOf(monoTime(s)); got != s {
		t.Errorf("monoOf(monoTime(%d)) = %d", s, got)
	}
	old := monoOf(before.Add(-time.Second))
	if d := after.Sub(monoTime(old)); d < time.Second {
		t.Errorf("a stamp one second old is %v old", d)
	}
}
