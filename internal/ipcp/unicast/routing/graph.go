package routing

import (
	"errors"
	"fmt"
	"slices"
)

// Graph is the layer's topology as the link-state database sees it:
// vertices are addresses, edges are adjacencies. Every announcement of a
// directed adjacency s→d (an LSU) bumps the announcement counter of both
// edges s→d and d→s; a link counts for shortest paths only once both ends
// announced it, so that its edges carry 2.
//
// A Graph is not safe for concurrent use; the link-state component owns it
// and computes tables from it under its own lock.
type Graph struct {
	v map[uint64]*vertex
}

type vertex struct {
	// edges in the order they were created, oldest first. Algorithms walk
	// them newest first, which decides the order of ECMP next hops and LFA
	// alternates.
	edges []edge
}

type edge struct {
	to        uint64
	announced int
}

// ErrNoEdge is returned by DelEdge for an edge the graph does not have.
var ErrNoEdge = errors.New("routing: no such edge")

// NewGraph returns an empty graph.
func NewGraph() *Graph { return &Graph{v: make(map[uint64]*vertex)} }

// Len returns the number of vertices.
func (g *Graph) Len() int { return len(g.v) }

// Has reports whether addr is a vertex.
func (g *Graph) Has(addr uint64) bool { return g.v[addr] != nil }

// Announced returns the announcement count of the edge s→d, 0 if there is
// none.
func (g *Graph) Announced(s, d uint64) int {
	if v := g.v[s]; v != nil {
		if i := v.find(d); i >= 0 {
			return v.edges[i].announced
		}
	}
	return 0
}

func (v *vertex) find(to uint64) int {
	return slices.IndexFunc(v.edges, func(e edge) bool { return e.to == to })
}

func (g *Graph) vertex(addr uint64) *vertex {
	v := g.v[addr]
	if v == nil {
		v = &vertex{}
		g.v[addr] = v
	}
	return v
}

func (v *vertex) bump(to uint64) {
	if i := v.find(to); i >= 0 {
		v.edges[i].announced++
		return
	}
	v.edges = append(v.edges, edge{to: to, announced: 1})
}

// UpdateEdge records one announcement of the adjacency s→d: it creates the
// vertices and edges it needs and bumps the counters of s→d and d→s. A
// self-loop (s == d) is ignored: no LSU from a sane peer announces one, and
// it cannot be part of a shortest path.
func (g *Graph) UpdateEdge(s, d uint64) {
	if s == d {
		return
	}
	g.vertex(s).bump(d)
	g.vertex(d).bump(s)
}

// DelEdge withdraws one announcement of s→d: both counters drop by one, an
// edge that reaches 0 goes, and so does a vertex left without edges. It
// returns ErrNoEdge, changing nothing, if either edge is missing.
func (g *Graph) DelEdge(s, d uint64) error {
	vs, vd := g.v[s], g.v[d]
	if vs == nil || vd == nil || s == d {
		return fmt.Errorf("%w: %#x-%#x", ErrNoEdge, s, d)
	}
	is, id := vs.find(d), vd.find(s)
	if is < 0 || id < 0 {
		return fmt.Errorf("%w: %#x-%#x", ErrNoEdge, s, d)
	}
	g.drop(s, vs, is)
	g.drop(d, vd, id)
	return nil
}

func (g *Graph) drop(addr uint64, v *vertex, i int) {
	v.edges[i].announced--
	if v.edges[i].announced > 0 {
		return
	}
	v.edges = slices.Delete(v.edges, i, i+1)
	if len(v.edges) == 0 {
		delete(g.v, addr)
	}
}
