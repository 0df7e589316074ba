package routing

import (
	"maps"
	"slices"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
)

func TestForwarding(t *testing.T) {
	tab := Table{
		{Dst: 2, NextHops: []uint64{2, 3}},
		{Dst: 4, NextHops: []uint64{9, 3}}, // 9 is not a DT neighbour
		{Dst: 5, NextHops: []uint64{9}},
	}
	flows := map[uint64]int{2: 64, 3: 65}
	got := Forwarding(tab, func(a uint64) (int, bool) { fd, ok := flows[a]; return fd, ok })
	want := map[uint64][]int{2: {64, 65}, 4: {65}}
	if !maps.EqualFunc(got, want, slices.Equal[[]int]) {
		t.Errorf("Forwarding = %v, want %v", got, want)
	}
}

// TestLFAToPFF runs the whole path for a ring of four: LFA table, flows,
// alternate forwarding table, a link going down.
//
//	1 - 2
//	|   |
//	4 - 3
func TestLFAToPFF(t *testing.T) {
	g := NewGraph()
	link(g, 1, 2)
	link(g, 2, 3)
	link(g, 3, 4)
	link(g, 4, 1)
	tab := mustTable(t, g, LFA, 1)
	flows := map[uint64]int{2: 64, 4: 65}
	fw := pff.New(LFA.PFFPolicy())
	fw.Replace(Forwarding(tab, func(a uint64) (int, bool) { fd, ok := flows[a]; return fd, ok }))
	// 3 is two hops either way: primary via 2 (lower address settled
	// first), alternate via 4.
	if fd, _ := fw.NextHop(3); fd != 64 {
		t.Fatalf("to 3 via %d, want 64", fd)
	}
	fw.FlowDown(64)
	if fd, _ := fw.NextHop(3); fd != 65 {
		t.Errorf("with 2's flow down, to 3 via %d, want 65", fd)
	}
	// 2 itself: is 4 a loop-free alternate? dist(4,2)=2 < dist(1,4)+dist(1,2)=2 is false.
	if fd, _ := fw.NextHop(2); fd != 64 {
		t.Errorf("to 2 via %d, want 64 (no alternate)", fd)
	}
	if ECMP.PFFPolicy() != pff.Multipath || Simple.PFFPolicy() != pff.Simple {
		t.Error("PFFPolicy")
	}
}
