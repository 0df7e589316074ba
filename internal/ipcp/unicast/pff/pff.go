package pff

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Policy is the kind of forwarding table. It follows from the routing
// policy: link_state uses Simple, lfa Alternate, ecmp Multipath.
type Policy int

// Forwarding table policies.
const (
	Simple    Policy = iota // one next hop per destination
	Alternate               // a primary and alternates; switches when a flow goes down
	Multipath               // round robin over all next hops, packet by packet
)

func (p Policy) String() string {
	switch p {
	case Simple:
		return "simple"
	case Alternate:
		return "alternate"
	case Multipath:
		return "multipath"
	}
	return fmt.Sprintf("pff policy %d", int(p))
}

// Errors of the table's writers.
var (
	ErrUnknownFlow = errors.New("pff: flow was not down")
	ErrExists      = errors.New("pff: destination already in the table")
	ErrNoEntry     = errors.New("pff: destination not in the table")
	ErrNoNextHop   = errors.New("pff: no next hop")
)

// Table is a packet forwarding table: destination address → N-1 flow (an
// fd of the data transfer's lower flows). NextHop is the hot path: it takes
// no lock, allocates nothing and never blocks, whatever writers do.
//
// Writers (Replace, FlowDown, FlowUp) are serialised by a mutex and are
// rare: a routing recomputation every few seconds at most, a flow changing
// state. Replace builds a new map and publishes it atomically, so a lookup
// sees either the whole old table or the whole new one, never a table half
// flushed. Within a published table, an entry's current next hop is one
// atomic word that FlowDown and FlowUp change in place.
type Table struct {
	policy Policy
	cur    atomic.Pointer[map[uint64]*entry]

	mu   sync.Mutex       // serialises writers
	down map[int]struct{} // Alternate: flows that are down; under mu
}

type entry struct {
	// hop is the next hop NextHop returns (Simple, Alternate).
	hop atomic.Int64
	// fds are the next hops in order of preference. Immutable once
	// published for Multipath; for Alternate, writers reorder them under
	// Table.mu, so readers must not touch them.
	fds []int
	// primary is the routing's first choice (Alternate), restored when
	// its flow comes back up.
	primary int
	// rr counts lookups (Multipath).
	rr atomic.Uint32
}

// New returns an empty table with policy p.
func New(p Policy) *Table {
	t := &Table{policy: p, down: make(map[int]struct{})}
	m := make(map[uint64]*entry)
	t.cur.Store(&m)
	return t
}

// Policy returns the table's policy.
func (t *Table) Policy() Policy { return t.policy }

// NextHop returns the N-1 flow to forward a packet for dst to, and false if
// the table has no entry for dst. With Multipath, successive calls for the
// same destination go round its next hops (which reorders packets of one
// flow across paths, as the reference does).
func (t *Table) NextHop(dst uint64) (fd int, ok bool) {
	e := (*t.cur.Load())[dst]
	if e == nil {
		return -1, false
	}
	if t.policy == Multipath {
		n := e.rr.Add(1) - 1
		return e.fds[n%uint32(len(e.fds))], true
	}
	return int(e.hop.Load()), true
}

// Len returns the number of destinations in the table.
func (t *Table) Len() int { return len(*t.cur.Load()) }

// Replace flushes the table and fills it with routes (destination → next
// hop flows in order of preference), as one atomic step. Destinations with
// no next hop are left out. Simple keeps only the first next hop of each;
// Alternate keeps them all and starts each entry on its first next hop
// that is not down; Multipath keeps them all. The routes map and its
// slices are not retained.
func (t *Table) Replace(routes map[uint64][]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[uint64]*entry, len(routes))
	for dst, fds := range routes {
		if len(fds) > 0 {
			m[dst] = t.newEntry(fds)
		}
	}
	t.cur.Store(&m)
}

// newEntry builds an entry for next hops fds (len > 0). Called under t.mu.
func (t *Table) newEntry(fds []int) *entry {
	e := &entry{primary: fds[0]}
	switch t.policy {
	case Simple:
		e.fds = []int{fds[0]}
	default:
		e.fds = slices.Clone(fds)
	}
	if t.policy == Alternate {
		t.avoidDown(e)
	}
	e.hop.Store(int64(e.fds[0]))
	return e
}

// Add inserts one destination. It returns ErrExists if dst is already in the
// table and ErrNoNextHop if fds is empty. Add, Update and Delete copy the
// table (O(n)); routing uses Replace.
func (t *Table) Add(dst uint64, fds []int) error {
	return t.edit(dst, fds, false)
}

// Update replaces the next hops of one destination, adding it if absent.
func (t *Table) Update(dst uint64, fds []int) error {
	return t.edit(dst, fds, true)
}

func (t *Table) edit(dst uint64, fds []int, replace bool) error {
	if len(fds) == 0 {
		return ErrNoNextHop
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := *t.cur.Load()
	if _, ok := cur[dst]; ok && !replace {
		return fmt.Errorf("%w: %#x", ErrExists, dst)
	}
	m := maps.Clone(cur)
	m[dst] = t.newEntry(fds)
	t.cur.Store(&m)
	return nil
}

// Delete removes one destination, or returns ErrNoEntry.
func (t *Table) Delete(dst uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := *t.cur.Load()
	if _, ok := cur[dst]; !ok {
		return fmt.Errorf("%w: %#x", ErrNoEntry, dst)
	}
	m := maps.Clone(cur)
	delete(m, dst)
	t.cur.Store(&m)
	return nil
}

// Routes returns a copy of the table: destination → next hops, the current
// one first (for Multipath, in stored order).
func (t *Table) Routes() map[uint64][]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := *t.cur.Load()
	out := make(map[uint64][]int, len(cur))
	for dst, e := range cur {
		out[dst] = slices.Clone(e.fds)
	}
	return out
}

// avoidDown moves the first next hop that is not down to the front of e,
// swapping it with the current front. If every next hop is down, e stays.
// Called under t.mu.
func (t *Table) avoidDown(e *entry) {
	if _, d := t.down[e.fds[0]]; !d {
		return
	}
	for i := 1; i < len(e.fds); i++ {
		if _, d := t.down[e.fds[i]]; !d {
			e.fds[0], e.fds[i] = e.fds[i], e.fds[0]
			return
		}
	}
}

// FlowDown tells the table that N-1 flow fd went down. Alternate switches
// every destination whose current next hop is fd to its first alternate
// that is not down (if there is none, it stays on fd); it remembers fd as
// down across later Replace calls until FlowUp. The other policies ignore
// it: their next hops go when routing recomputes.
func (t *Table) FlowDown(fd int) {
	if t.policy != Alternate {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.down[fd] = struct{}{}
	for _, e := range *t.cur.Load() {
		if e.fds[0] == fd {
			t.avoidDown(e)
			e.hop.Store(int64(e.fds[0]))
		}
	}
}

// FlowUp tells the table that N-1 flow fd is up again. Alternate moves fd
// back to the front of every destination whose routing primary it is. It
// returns ErrUnknownFlow if fd was not down; the other policies ignore it
// and return nil.
func (t *Table) FlowUp(fd int) error {
	if t.policy != Alternate {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, d := t.down[fd]; !d {
		return fmt.Errorf("%w: %d", ErrUnknownFlow, fd)
	}
	delete(t.down, fd)
	for _, e := range *t.cur.Load() {
		if e.primary != fd || e.fds[0] == fd {
			continue
		}
		if i := slices.Index(e.fds, fd); i > 0 {
			e.fds[0], e.fds[i] = e.fds[i], e.fds[0]
			e.hop.Store(int64(fd))
		}
	}
	return nil
}
