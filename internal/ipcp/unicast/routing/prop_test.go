package routing

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refShortest is Dijkstra exactly as the layer's description states it,
// kept naive on purpose: distances start at "infinity" (MaxInt32), the
// unvisited vertex with the smallest distance is settled next (ties to the
// lowest rank, i.e. lowest address), its edges are walked newest first and
// only those announced twice count, and a vertex takes a new distance (and
// first hop) only when strictly shorter.
func refShortest(g *Graph, src uint64) (addrs []uint64, dist map[uint64]int, nhop map[uint64]uint64) {
	for a := range g.v {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	dist = map[uint64]int{}
	nhop = map[uint64]uint64{}
	for _, a := range addrs {
		dist[a] = math.MaxInt32
	}
	dist[src] = 0
	done := map[uint64]bool{}
	for {
		u, best := uint64(0), math.MaxInt32
		for _, a := range addrs { // ascending: first minimum is lowest
			if !done[a] && dist[a] < best {
				u, best = a, dist[a]
			}
		}
		if best == math.MaxInt32 {
			break
		}
		done[u] = true
		es := g.v[u].edges
		for j := len(es) - 1; j >= 0; j-- {
			e := es[j]
			if e.announced != 2 {
				continue
			}
			if alt := dist[u] + 1; alt < dist[e.to] {
				dist[e.to] = alt
				if u == src {
					nhop[e.to] = e.to
				} else {
					nhop[e.to] = nhop[u]
				}
			}
		}
	}
	return addrs, dist, nhop
}

// randomGraph builds a graph of n vertices with random addresses (some
// small, to make ties between ranks likely) and about m links, a few of
// them announced by one end only, and a few announced more than twice
// and partly withdrawn.
func randomGraph(r *rand.Rand, n, m int) (*Graph, []uint64) {
	g := NewGraph()
	addrs := make([]uint64, 0, n)
	seen := map[uint64]bool{}
	for len(addrs) < n {
		a := uint64(r.Uint32())
		if r.IntN(2) == 0 {
			a = uint64(1 + r.IntN(4*n))
		}
		if a != 0 && !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	for range m {
		a, b := addrs[r.IntN(n)], addrs[r.IntN(n)]
		switch r.IntN(10) {
		case 0: // one end only
			g.UpdateEdge(a, b)
		case 1: // announced, then one withdrawn
			link(g, a, b)
			g.UpdateEdge(a, b)
			_ = g.DelEdge(a, b)
		default:
			link(g, a, b)
		}
	}
	return g, addrs
}

// TestShortestMatchesDescription compares the level-by-level search with
// the naive Dijkstra on random graphs: same distances, same next hops.
func TestShortestMatchesDescription(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		n := 2 + r.IntN(30)
		g, addrs := randomGraph(r, n, r.IntN(3*n))
		src := addrs[r.IntN(n)]
		if !g.Has(src) || g.Len() < 2 {
			continue
		}
		_, rdist, rnhop := refShortest(g, src)
		tab := mustTable(t, g, Simple, src)
		reach := 0
		for _, a := range g.sortedAddrs() {
			if a == src || rdist[a] == math.MaxInt32 {
				if tab.Lookup(a) != nil {
					t.Fatalf("iter %d: route to unreachable %d", iter, a)
				}
				continue
			}
			reach++
			if h := tab.Lookup(a); !slices.Equal(h, []uint64{rnhop[a]}) {
				t.Fatalf("iter %d: next hop from %d to %d = %v, described %d", iter, src, a, h, rnhop[a])
			}
		}
		if len(tab) != reach {
			t.Fatalf("iter %d: %d routes for %d reachable", iter, len(tab), reach)
		}
	}
}

func (g *Graph) sortedAddrs() []uint64 {
	var a []uint64
	for k := range g.v {
		a = append(a, k)
	}
	slices.Sort(a)
	return a
}

// srcNeighbours returns the source's neighbours, newest adjacency first.
func srcNeighbours(g *Graph, src uint64) []uint64 {
	var nb []uint64
	es := g.v[src].edges
	for j := len(es) - 1; j >= 0; j-- {
		nb = append(nb, es[j].to)
	}
	return nb
}

// TestTableProperties checks, on random graphs, what each algorithm
// promises: simple next hops lie on a shortest path; LFA lists the primary
// first and then exactly the neighbours that meet the loop-free inequality;
// ECMP lists exactly the neighbours on a shortest path.
func TestTableProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 200 {
		n := 2 + r.IntN(25)
		g, addrs := randomGraph(r, n, r.IntN(4*n))
		src := addrs[r.IntN(n)]
		if !g.Has(src) || g.Len() < 2 {
			continue
		}
		_, distS, _ := refShortest(g, src)
		inf := func(d int) bool { return d == math.MaxInt32 }
		distFrom := map[uint64]map[uint64]int{}
		for _, nb := range srcNeighbours(g, src) {
			_, distFrom[nb], _ = refShortest(g, nb)
		}

		simple := mustTable(t, g, Simple, src)
		for _, rt := range simple {
			h := rt.NextHops[0]
			if g.Announced(src, h) != 2 || inf(distS[rt.Dst]) || distFrom[h][rt.Dst]+1 != distS[rt.Dst] {
				t.Fatalf("iter %d: simple hop %d to %d is not on a shortest path", iter, h, rt.Dst)
			}
		}

		lfa := mustTable(t, g, LFA, src)
		if len(lfa) != len(simple) {
			t.Fatalf("iter %d: LFA has %d routes, simple %d", iter, len(lfa), len(simple))
		}
		for i, rt := range lfa {
			if rt.Dst != simple[i].Dst || rt.NextHops[0] != simple[i].NextHops[0] {
				t.Fatalf("iter %d: LFA primary to %d = %v, simple %v", iter, rt.Dst, rt.NextHops, simple[i].NextHops)
			}
			var want []uint64
			for _, nb := range srcNeighbours(g, src) {
				dN := distFrom[nb][rt.Dst]
				if nb != rt.Dst && nb != rt.NextHops[0] && !inf(dN) && !inf(distS[nb]) && dN < distS[nb]+distS[rt.Dst] {
					want = append(want, nb)
				}
			}
			if !slices.Equal(rt.NextHops[1:], want) {
				t.Fatalf("iter %d: LFA alternates to %d = %v, want %v", iter, rt.Dst, rt.NextHops[1:], want)
			}
		}

		ecmp := mustTable(t, g, ECMP, src)
		got := map[uint64][]uint64{}
		for _, rt := range ecmp {
			got[rt.Dst] = rt.NextHops
		}
		for _, d := range g.sortedAddrs() {
			var want []uint64
			for _, nb := range srcNeighbours(g, src) {
				if d != src && !inf(distS[d]) && !inf(distFrom[nb][d]) && distFrom[nb][d]+1 == distS[d] {
					want = append(want, nb)
				}
			}
			if !slices.Equal(got[d], want) {
				t.Fatalf("iter %d: ECMP to %d = %v, want %v", iter, d, got[d], want)
			}
			// Every destination reachable over confirmed links has at
			// least one ECMP hop: the simple one.
			if h := simple.Lookup(d); h != nil && !slices.Contains(got[d], h[0]) {
				t.Fatalf("iter %d: ECMP to %d = %v misses the simple hop %d", iter, d, got[d], h[0])
			}
		}
	}
}

// BenchmarkTable computes the tables of a 1000-node random mesh (average
// degree 4) from one node.
func BenchmarkTable(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	g := NewGraph()
	const n = 1000
	for i := 1; i < n; i++ { // a random tree keeps it connected
		link(g, uint64(i+1), uint64(1+r.IntN(i)))
	}
	for range n {
		link(g, uint64(1+r.IntN(n)), uint64(1+r.IntN(n)))
	}
	for _, algo := range []Algorithm{Simple, LFA, ECMP} {
		b.Run(algo.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := g.Table(algo, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
