package routing

import (
	"cmp"
	"slices"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// LSDB is the link-state database: the adjacencies the layer has announced,
// with their sequence numbers and when each was last heard of, and the
// Graph they make. It is pure: time is passed in, and what must go on the
// wire is returned to the caller, which floods it on its Management flows.
// Not safe for concurrent use.
//
// Every LSU a member receives looks its adjacency up here, and most only
// find that they are not new, so the entries are plain values without
// pointers (16 bytes, kept in the map itself): a lookup touches no other
// memory and the garbage collector need not scan the map.
type LSDB struct {
	self  uint64
	adj   map[adjKey]adjacency
	graph *Graph
	// base is the first time the database was given (by Update or Tick);
	// stamps are kept as offsets from it, which keeps the monotonic clock
	// reading of times from time.Now.
	base    time.Time
	hasBase bool
	// gone holds the last seqno of each of our own adjacencies that was
	// removed (one entry per neighbour address this member ever lost,
	// 8 bytes each): see AddNeighbour.
	gone map[uint64]uint64
}

type adjKey struct{ src, dst uint64 }

type adjacency struct {
	seqno uint64
	stamp time.Duration // last accepted update (or own refresh), since base
}

// since returns now as an offset from the database's base, which it sets
// on the first call. Times further than 292 years from the base saturate.
func (db *LSDB) since(now time.Time) time.Duration {
	if !db.hasBase {
		db.base, db.hasBase = now, true
	}
	return now.Sub(db.base)
}

// Adjacency is one entry of the database, for replication and display.
type Adjacency struct {
	Src, Dst uint64
	Seqno    uint64
	Updated  time.Time
}

// NewLSDB returns an empty database for the member with address self.
func NewLSDB(self uint64) *LSDB {
	return &LSDB{self: self, adj: make(map[adjKey]adjacency), graph: NewGraph(), gone: map[uint64]uint64{}}
}

// Graph returns the graph of the database's adjacencies. The caller may
// compute tables from it but must not change it.
func (db *LSDB) Graph() *Graph { return db.graph }

// Len returns the number of adjacencies.
func (db *LSDB) Len() int { return len(db.adj) }

// Update applies an announcement of src→dst with seqno, received at now
// (or made locally). A new adjacency is accepted whatever its seqno and
// changes the topology; a known one is accepted only with a higher seqno,
// which refreshes it without changing the topology. accepted says whether
// the LSU must be flooded on; changed whether routes must be recomputed.
// A self-loop or an address 0 is refused.
func (db *LSDB) Update(u wire.LSU, now time.Time) (accepted, changed bool) {
	if u.Src == u.Dst || u.Src == 0 || u.Dst == 0 {
		return false, false
	}
	k := adjKey{u.Src, u.Dst}
	if a, ok := db.adj[k]; ok {
		if u.Seqno <= a.seqno {
			return false, false
		}
		db.adj[k] = adjacency{seqno: u.Seqno, stamp: db.since(now)}
		return true, false
	}
	db.adj[k] = adjacency{seqno: u.Seqno, stamp: db.since(now)}
	db.graph.UpdateEdge(u.Src, u.Dst)
	return true, true
}

// AddNeighbour records a new data transfer connection to nb, at now: it
// adds the adjacency self→nb and returns the LSU announcing it, for every
// Management neighbour. changed says whether the topology changed (false
// if the adjacency was already known).
//
// The first adjacency to nb has seqno 0, as in the reference. One that
// comes back (nb was disconnected and connected again) goes on from the
// last seqno the removed one had: the others may still hold that copy,
// not yet aged out, and would refuse a lower seqno, so the fresh
// announcement would be lost and their stale copy would age out later,
// taking the link out of their routes for a while although it is up.
func (db *LSDB) AddNeighbour(nb uint64, now time.Time) (lsu wire.LSU, changed bool) {
	lsu = wire.LSU{Dst: nb, Src: db.self}
	if s, ok := db.gone[nb]; ok {
		lsu.Seqno = s + 1
		delete(db.gone, nb)
	}
	_, changed = db.Update(lsu, now)
	return lsu, changed
}

// RemoveNeighbour deletes the adjacency self→nb when its data transfer
// connection goes. No LSU announces this; other members age it out. It
// reports whether the topology changed.
func (db *LSDB) RemoveNeighbour(nb uint64) bool {
	if a, ok := db.adj[adjKey{db.self, nb}]; ok {
		db.gone[nb] = a.seqno
	}
	return db.remove(adjKey{db.self, nb})
}

func (db *LSDB) remove(k adjKey) bool {
	if _, ok := db.adj[k]; !ok {
		return false
	}
	delete(db.adj, k)
	_ = db.graph.DelEdge(k.src, k.dst) // present: every entry bumped it once
	return true
}

// Tick is the periodic update, run every t_update at now: every adjacency
// not heard of for longer than timeout is aged out; each of our own
// adjacencies gets the next seqno and is returned for flooding. changed says
// whether the topology changed (an adjacency aged out), in which case routes
// must be recomputed: the reference forgets to, and keeps routing over a
// vanished link until something else changes.
//
// The LSUs are in ascending order of destination. Tick visits every entry
// once, without sorting them: a member of a large layer holds thousands.
func (db *LSDB) Tick(now time.Time, timeout time.Duration) (lsus []wire.LSU, changed bool) {
	t := db.since(now)
	for k, a := range db.adj {
		if t-a.stamp > timeout {
			db.remove(k) // deleting the current entry is safe in a range
			changed = true
			continue
		}
		if k.src == db.self {
			db.adj[k] = adjacency{seqno: a.seqno + 1, stamp: t}
			lsus = append(lsus, wire.LSU{Dst: k.dst, Src: k.src, Seqno: a.seqno + 1})
		}
	}
	slices.SortFunc(lsus, func(a, b wire.LSU) int { return cmp.Compare(a.Dst, b.Dst) })
	return lsus, changed
}

// All returns every adjacency as the LSU that replicates it (stored seqno),
// to send on a new Management connection, in ascending order of
// (destination, source).
func (db *LSDB) All() []wire.LSU {
	var out []wire.LSU
	for _, k := range db.sortedLinks() {
		out = append(out, wire.LSU{Dst: k.dst, Src: k.src, Seqno: db.adj[k].seqno})
	}
	return out
}

// Adjacencies returns the database's entries in ascending order of
// (destination, source).
func (db *LSDB) Adjacencies() []Adjacency {
	var out []Adjacency
	for _, k := range db.sortedLinks() {
		a := db.adj[k]
		out = append(out, Adjacency{Src: k.src, Dst: k.dst, Seqno: a.seqno, Updated: db.base.Add(a.stamp)})
	}
	return out
}

func (db *LSDB) sortedLinks() []adjKey {
	ks := make([]adjKey, 0, len(db.adj))
	for k := range db.adj {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b adjKey) int {
		return cmp.Or(cmp.Compare(a.dst, b.dst), cmp.Compare(a.src, b.src))
	})
	return ks
}
