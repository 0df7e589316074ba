package routing

import (
	"errors"
	"slices"
	"testing"
)

// link adds both directions of a link, as the two ends' LSUs do.
func link(g *Graph, a, b uint64) {
	g.UpdateEdge(a, b)
	g.UpdateEdge(b, a)
}

func mustTable(t *testing.T, g *Graph, algo Algorithm, src uint64) Table {
	t.Helper()
	tab, err := g.Table(algo, src)
	if err != nil {
		t.Fatalf("%v table of %d: %v", algo, src, err)
	}
	return tab
}

// TestGraphScenario is the reference's graph test, step by step, all from
// source 1.
func TestGraphScenario(t *testing.T) {
	g := NewGraph()
	if _, err := g.Table(Simple, 1); !errors.Is(err, ErrNoTable) {
		t.Fatalf("empty graph: %v", err)
	}

	entries := func(n int) {
		t.Helper()
		if tab := mustTable(t, g, Simple, 1); len(tab) != n {
			t.Fatalf("simple table has %d entries, want %d: %v", len(tab), n, tab)
		}
	}
	nhop := func(tab Table, dst, want uint64) {
		t.Helper()
		if h := tab.Lookup(dst); len(h) == 0 || h[0] != want {
			t.Errorf("next hop to %d = %v, want %d first", dst, h, want)
		}
	}

	// single link
	link(g, 1, 2)
	entries(1)
	nhop(mustTable(t, g, Simple, 1), 2, 2)

	// double link
	link(g, 2, 3)
	entries(2)
	tab := mustTable(t, g, Simple, 1)
	nhop(tab, 2, 2)
	nhop(tab, 3, 2)

	// delete 2-3 both ways: vertex 3 goes, single link again
	if err := g.DelEdge(2, 3); err != nil {
		t.Fatal(err)
	}
	if err := g.DelEdge(3, 2); err != nil {
		t.Fatal(err)
	}
	if g.Has(3) {
		t.Error("vertex 3 still there")
	}
	entries(1)
	nhop(mustTable(t, g, Simple, 1), 2, 2)

	link(g, 2, 3)
	link(g, 1, 3)
	entries(2)
	link(g, 3, 4)
	link(g, 4, 5)
	entries(4)
	link(g, 2, 6)
	link(g, 6, 7)
	link(g, 3, 7)
	entries(6)

	want := map[uint64]uint64{2: 2, 3: 3, 4: 3, 5: 3, 6: 2, 7: 3}
	for _, algo := range []Algorithm{Simple, LFA, ECMP} {
		tab := mustTable(t, g, algo, 1)
		if len(tab) != len(want) {
			t.Errorf("%v: %d entries, want %d", algo, len(tab), len(want))
		}
		for dst, h := range want {
			nhop(tab, dst, h)
		}
	}
}

// TestTables checks whole tables of the scenario graph, alternates and
// multipath included, worked out by hand.
//
//	1 - 2 - 6
//	 \  |   |
//	  - 3 - 7
//	    |
//	    4 - 5
func TestTables(t *testing.T) {
	g := NewGraph()
	for _, l := range [][2]uint64{{1, 2}, {2, 3}, {1, 3}, {3, 4}, {4, 5}, {2, 6}, {6, 7}, {3, 7}} {
		link(g, l[0], l[1])
	}
	cases := []struct {
		algo Algorithm
		want map[uint64][]uint64
	}{
		{Simple, map[uint64][]uint64{2: {2}, 3: {3}, 4: {3}, 5: {3}, 6: {2}, 7: {3}}},
		// From 1, neighbours 3 (newest) then 2. dist(2,D) < 1 + dist(1,D)
		// holds for 2 towards 3, 4, 5, 7 (2 hops or fewer), and
		// dist(3,D) < 1 + dist(1,D) for 3 towards 2 and 6.
		{LFA, map[uint64][]uint64{2: {2, 3}, 3: {3, 2}, 4: {3, 2}, 5: {3, 2}, 6: {2, 3}, 7: {3, 2}}},
		// No destination has two equal-cost first hops: 7 is one hop from
		// 3 but two from 2, 6 one hop from 2 but two from 3.
		{ECMP, map[uint64][]uint64{2: {2}, 3: {3}, 4: {3}, 5: {3}, 6: {2}, 7: {3}}},
	}
	for _, c := range cases {
		tab := mustTable(t, g, c.algo, 1)
		got := map[uint64][]uint64{}
		for _, r := range tab {
			got[r.Dst] = r.NextHops
		}
		if len(got) != len(c.want) {
			t.Errorf("%v: %v", c.algo, tab)
		}
		for d, h := range c.want {
			if !slices.Equal(got[d], h) {
				t.Errorf("%v: next hops to %d = %v, want %v", c.algo, d, got[d], h)
			}
		}
		if !slices.IsSortedFunc(tab, func(a, b Route) int { return int(a.Dst) - int(b.Dst) }) {
			t.Errorf("%v: table not sorted: %v", c.algo, tab)
		}
	}
}

// TestECMPSquare: in a square every far corner has two equal next hops,
// newest adjacency of the source first.
func TestECMPSquare(t *testing.T) {
	g := NewGraph()
	link(g, 10, 20)
	link(g, 10, 30)
	link(g, 20, 40)
	link(g, 30, 40)
	tab := mustTable(t, g, ECMP, 10)
	if h := tab.Lookup(40); !slices.Equal(h, []uint64{30, 20}) {
		t.Errorf("ECMP to 40 = %v, want [30 20]", h)
	}
	// Simple picks the path through the lower address, settled first.
	if h := mustTable(t, g, Simple, 10).Lookup(40); !slices.Equal(h, []uint64{20}) {
		t.Errorf("simple to 40 = %v, want [20]", h)
	}
}

// TestHalfAnnounced: a link only one end announced is not used for shortest
// paths; the far side is unreachable until the other LSU arrives.
func TestHalfAnnounced(t *testing.T) {
	g := NewGraph()
	link(g, 1, 2)
	g.UpdateEdge(2, 3) // 3's LSU has not arrived
	if g.Announced(2, 3) != 1 || g.Announced(3, 2) != 1 {
		t.Fatalf("announced %d/%d", g.Announced(2, 3), g.Announced(3, 2))
	}
	for _, algo := range []Algorithm{Simple, LFA, ECMP} {
		tab := mustTable(t, g, algo, 1)
		if tab.Lookup(3) != nil || len(tab) != 1 {
			t.Errorf("%v reaches 3 over a half-announced link: %v", algo, tab)
		}
	}
	g.UpdateEdge(3, 2)
	if h := mustTable(t, g, Simple, 1).Lookup(3); !slices.Equal(h, []uint64{2}) {
		t.Errorf("after both LSUs: %v", h)
	}
	// A half-announced adjacency of the source is still a candidate
	// alternate and ECMP hop when its far end is reachable otherwise.
	g.UpdateEdge(1, 3)
	if h := mustTable(t, g, ECMP, 1).Lookup(3); !slices.Equal(h, []uint64{2}) {
		t.Errorf("ECMP with a half link to 3: %v", h)
	}
}

func TestGraphEdges(t *testing.T) {
	g := NewGraph()
	if err := g.DelEdge(1, 2); !errors.Is(err, ErrNoEdge) {
		t.Errorf("DelEdge on empty graph: %v", err)
	}
	g.UpdateEdge(1, 1)
	if g.Len() != 0 {
		t.Error("self-loop created a vertex")
	}
	g.UpdateEdge(1, 2)
	g.UpdateEdge(3, 4)
	if err := g.DelEdge(1, 4); !errors.Is(err, ErrNoEdge) {
		t.Errorf("DelEdge of a missing edge: %v", err)
	}
	if g.Len() != 4 {
		t.Errorf("%d vertices after a failed delete", g.Len())
	}
	link(g, 1, 2) // now 1-2 has 3 announcements
	for range 3 {
		if err := g.DelEdge(2, 1); err != nil {
			t.Fatal(err)
		}
	}
	if g.Has(1) || g.Has(2) || g.Len() != 2 {
		t.Errorf("1-2 not gone: len %d", g.Len())
	}
	if _, err := g.Table(Simple, 1); !errors.Is(err, ErrNoTable) {
		t.Errorf("source not in graph: %v", err)
	}
	if _, err := g.Table(Algorithm(7), 3); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if Simple.String() != "link_state" || LFA.String() != "lfa" || ECMP.String() != "ecmp" || Algorithm(9).String() == "" {
		t.Error("Algorithm.String")
	}
}
