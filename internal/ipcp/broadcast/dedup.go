package broadcast

import (
	"hash/maphash"
	"time"
)

// dedup remembers the packets a member has flooded in the last Window, by
// a 64-bit keyed hash of their bytes, so that a copy coming back round a
// cycle of connections is dropped instead of flooded again.
//
// Invariants: every entry of seen has at least one record in order with
// the same hash and time; order holds the records in arrival order (times
// never decrease), oldest at head. A record leaves order when it is older
// than window or when the ring is full (capacity); it takes its entry out
// of seen only if the entry still has its time (a later packet with the
// same bytes may have refreshed it after it expired).
//
// Not safe for concurrent use: the flooder holds its lock around it.
type dedup struct {
	seed   maphash.Seed
	window time.Duration
	base   time.Time        // times are monotonic ns since base (a wall clock step changes nothing)
	seen   map[uint64]int64 // hash -> arrival
	order  []record         // ring buffer of capacity cap(order)
	head   int              // index of the oldest record
	n      int              // records in the ring
}

type record struct {
	h uint64
	t int64 // arrival: ns since base
}

func newDedup(window time.Duration, capacity int) *dedup {
	return &dedup{seed: maphash.MakeSeed(), window: window, base: time.Now(), seen: make(map[uint64]int64),
		order: make([]record, capacity)}
}

// check reports whether pkt is a duplicate, a packet with the same bytes
// that arrived less than window before now; if it is not, it is recorded
// as arriving now. A duplicate does not refresh the record: the window
// runs from the first copy, so a payload an application repeats gets
// through once per window.
func (d *dedup) check(pkt []byte, now time.Time) (dup bool) {
	t := int64(now.Sub(d.base))
	d.expire(t)
	h := maphash.Bytes(d.seed, pkt)
	if _, ok := d.seen[h]; ok {
		return true
	}
	if d.n == len(d.order) {
		d.pop() // full: the oldest goes early (the window shrinks under load)
	}
	d.order[(d.head+d.n)%len(d.order)] = record{h: h, t: t}
	d.n++
	d.seen[h] = t
	return false
}

// expire drops the records older than window at time t (ns since base).
func (d *dedup) expire(t int64) {
	for d.n > 0 && t-d.order[d.head].t >= int64(d.window) {
		d.pop()
	}
}

// pop drops the oldest record.
func (d *dedup) pop() {
	r := d.order[d.head]
	if d.seen[r.h] == r.t {
		delete(d.seen, r.h)
	}
	d.head = (d.head + 1) % len(d.order)
	d.n--
}

// size returns the number of packets remembered.
func (d *dedup) size() int { return len(d.seen) }
