package simnet

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEvents drives the queue as RoutingSim does (LSUs one delay after the
// current time, timers at any later time, some at the current time) and
// checks that it gives back every event in the order of before, the order
// of a plain sort.
func TestEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const delay = 1000
	var q events
	var seq uint64
	var all, got []event
	push := func(x event) {
		seq++
		x.seq = seq
		all = append(all, x)
		q.push(x)
	}
	now := int64(0)
	for range 50 {
		push(event{at: now, node: int32(r.IntN(30)), link: -1})
	}
	for q.len() > 0 {
		if p := q.peek(); p.at < now {
			t.Fatalf("peek went back in time: %d < %d", p.at, now)
		}
		e := q.pop()
		now = e.at
		got = append(got, e)
		if len(all) > 20000 {
			continue
		}
		for range r.IntN(4) {
			push(event{at: now + delay, node: int32(r.IntN(30)), link: int32(r.IntN(5))})
		}
		switch r.IntN(10) {
		case 0:
			push(event{at: now + int64(r.IntN(5*delay)), node: e.node, link: -1})
		case 1:
			push(event{at: now, node: e.node, link: -1})
		}
	}
	want := slices.Clone(all)
	slices.SortFunc(want, func(a, b event) int {
		if a.before(&b) {
			return -1
		}
		return 1
	})
	if len(got) != len(want) {
		t.Fatalf("popped %d events, pushed %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
