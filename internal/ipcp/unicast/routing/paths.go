package routing

import (
	"errors"
	"fmt"
	"slices"
)

// Algorithm is a graph algorithm that turns the graph into a routing table.
// The values are the link-state policy numbers of the layer configuration.
type Algorithm uint32

// Routing algorithms.
const (
	Simple Algorithm = 0 // shortest paths: one next hop per destination
	LFA    Algorithm = 1 // shortest paths plus loop-free alternates
	ECMP   Algorithm = 2 // every next hop on a shortest path
)

func (a Algorithm) String() string {
	switch a {
	case Simple:
		return "link_state"
	case LFA:
		return "lfa"
	case ECMP:
		return "ecmp"
	}
	return fmt.Sprintf("routing algorithm %d", uint32(a))
}

// Route is one entry of a routing table: the next hops (neighbour
// addresses) towards Dst, in order of preference.
type Route struct {
	Dst      uint64
	NextHops []uint64
}

// Table is a routing table, in ascending order of destination. It lists
// only reachable destinations, never the source itself.
type Table []Route

// Lookup returns the next hops towards dst, nil if the table has none.
func (t Table) Lookup(dst uint64) []uint64 {
	i, ok := slices.BinarySearchFunc(t, dst, func(r Route, d uint64) int {
		switch {
		case r.Dst < d:
			return -1
		case r.Dst > d:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return t[i].NextHops
}

// ErrNoTable is returned when the graph cannot give a table: it has fewer
// than two vertices or does not hold the source. The caller keeps its
// forwarding table as it is.
var ErrNoTable = errors.New("routing: no routing table (source not in a graph of two or more vertices)")

// Table computes the routing table of src with algorithm algo.
//
// Distances are hop counts over links that both ends announced. Among
// equal-cost paths, Simple (and the primary next hop of LFA) picks the one
// found first by a search that settles vertices in order of distance, then
// of ascending address: the same choice every member of the layer makes
// from the same database. LFA then lists, after the primary, every
// neighbour N with dist(N,D) < dist(src,N) + dist(src,D). ECMP lists every
// neighbour N with dist(N,D) + 1 == dist(src,D). Both take the source's
// neighbours newest adjacency first, and both consider an adjacency of the
// source even when only one end has announced it yet (its far end must still
// be reachable to qualify).
func (g *Graph) Table(algo Algorithm, src uint64) (Table, error) {
	if len(g.v) < 2 || g.v[src] == nil {
		return nil, ErrNoTable
	}
	t := g.topology(src)
	switch algo {
	case Simple:
		return t.simple(), nil
	case LFA:
		return t.lfa(), nil
	case ECMP:
		return t.ecmp(), nil
	}
	return nil, fmt.Errorf("routing: unknown algorithm %d", uint32(algo))
}

// topology is the graph in arrays for one computation: vertices by rank
// of address, the usable (announced twice) neighbours of each, newest edge
// first, and every neighbour of the source.
type topology struct {
	addrs []uint64
	adj   [][]int32
	src   int32
	srcNb []int32
}

func (g *Graph) topology(src uint64) *topology {
	t := &topology{addrs: make([]uint64, 0, len(g.v))}
	for a := range g.v {
		t.addrs = append(t.addrs, a)
	}
	slices.Sort(t.addrs)
	rank := make(map[uint64]int32, len(t.addrs))
	for i, a := range t.addrs {
		rank[a] = int32(i)
	}
	t.src = rank[src]
	t.adj = make([][]int32, len(t.addrs))
	for i, a := range t.addrs {
		es := g.v[a].edges
		for j := len(es) - 1; j >= 0; j-- {
			if es[j].announced == 2 {
				t.adj[i] = append(t.adj[i], rank[es[j].to])
			}
			if int32(i) == t.src {
				t.srcNb = append(t.srcNb, rank[es[j].to])
			}
		}
	}
	return t
}

// unreached marks an infinite distance.
const unreached = -1

// shortest returns the hop distance from s to every vertex (unreached if
// none) and the first hop on the chosen shortest path (-1 for s and for
// unreached vertices). It is Dijkstra with unit weights: vertices settle in
// order of distance and, at equal distance, of rank; a vertex keeps the
// first hop of the first settled vertex that reached it.
func (t *topology) shortest(s int32) (dist, nhop []int32) {
	n := len(t.addrs)
	dist = make([]int32, n)
	nhop = make([]int32, n)
	for i := range dist {
		dist[i], nhop[i] = unreached, -1
	}
	dist[s] = 0
	level := []int32{s}
	var next []int32
	for d := int32(0); len(level) > 0; d++ {
		slices.Sort(level)
		next = next[:0]
		for _, u := range level {
			for _, w := range t.adj[u] {
				if dist[w] != unreached {
					continue
				}
				dist[w] = d + 1
				if u == s {
					nhop[w] = w
				} else {
					nhop[w] = nhop[u]
				}
				next = append(next, w)
			}
		}
		level, next = next, level
	}
	return dist, nhop
}

func (t *topology) simple() Table {
	_, nhop := t.shortest(t.src)
	var tab Table
	for v, h := range nhop {
		if h >= 0 {
			tab = append(tab, Route{Dst: t.addrs[v], NextHops: []uint64{t.addrs[h]}})
		}
	}
	return tab
}

func (t *topology) lfa() Table {
	distS, nhop := t.shortest(t.src)
	hops := make([][]int32, len(t.addrs))
	for v, h := range nhop {
		if h >= 0 {
			hops[v] = []int32{h}
		}
	}
	for _, nb := range t.srcNb {
		if distS[nb] == unreached {
			continue
		}
		distN, _ := t.shortest(nb)
		for d := range hops {
			if hops[d] == nil || int32(d) == nb || distN[d] == unreached {
				continue
			}
			if distN[d] < distS[nb]+distS[d] && !slices.Contains(hops[d], nb) {
				hops[d] = append(hops[d], nb)
			}
		}
	}
	return t.table(hops)
}

func (t *topology) ecmp() Table {
	distS, _ := t.shortest(t.src)
	hops := make([][]int32, len(t.addrs))
	for _, nb := range t.srcNb {
		distN, _ := t.shortest(nb)
		for d := range hops {
			if distN[d] != unreached && distS[d] != unreached && distN[d]+1 == distS[d] {
				hops[d] = append(hops[d], nb)
			}
		}
	}
	return t.table(hops)
}

// table turns next hops by rank into a Table.
func (t *topology) table(hops [][]int32) Table {
	var tab Table
	for v, hs := range hops {
		if len(hs) == 0 || int32(v) == t.src {
			continue
		}
		r := Route{Dst: t.addrs[v], NextHops: make([]uint64, len(hs))}
		for i, h := range hs {
			r.NextHops[i] = t.addrs[h]
		}
		tab = append(tab, r)
	}
	return tab
}
