package dir

import (
	"bytes"
	"math/bits"
	"slices"
	"time"
)

// The routing table is a standard k-bucket table: bucket i holds the
// contacts whose XOR distance from our ID has i leading zero bits in its
// first 8 bytes (the distance the layer uses); bucket 64 holds the rare
// contacts that share all 8 bytes with us. A bucket holds at most k
// contacts, least recently seen first, and up to k replacements.
//
// A contact is known by its address: a contact that reappears with
// another ID (a member that restarted) replaces its old entry. A contact
// heard from directly moves to its bucket's tail; one learned from a
// third party's response is added if there is room and never refreshes an
// entry. A contact that leaves maxFails requests in a row unanswered is
// dropped and the newest replacement takes its place: the reference keeps
// dead contacts forever, which makes lookups wait on them. A dropped
// contact is not learned again from third parties (whose tables may still
// list it) for a while, only from a message of its own.

const nBuckets = 65

type contact struct {
	Contact
	seen  time.Time // last message from it (or when it was learned)
	fails int       // requests unanswered in a row
}

type bucket struct {
	contacts []*contact // at most k, least recently seen first
	repl     []*contact // at most k, oldest first
	refresh  time.Time  // when the bucket is next refreshed
}

type table struct {
	self   Contact
	k      int
	b      [nBuckets]bucket
	byAddr map[uint64]*contact  // contacts and replacements
	dead   map[uint64]time.Time // dropped contacts, until when they are not learned again
	tDead  time.Duration
}

// maxDead bounds the dropped contacts remembered.
const maxDead = 1024

func newTable(self Contact, k int, tDead time.Duration) *table {
	return &table{self: self, k: k, byAddr: map[uint64]*contact{}, dead: map[uint64]time.Time{}, tDead: tDead}
}

// bucketIndex returns the bucket for an ID.
func (t *table) bucketIndex(id []byte) int {
	return bits.LeadingZeros64(Distance(t.self.ID, id))
}

// len returns the number of contacts, replacements left out.
func (t *table) len() int {
	n := 0
	for i := range t.b {
		n += len(t.b[i].contacts)
	}
	return n
}

// seen records a message from c: insert or move to the tail.
func (t *table) seen(c Contact, now time.Time) {
	t.update(c, now, true)
}

// learned records a contact a third party told us about.
func (t *table) learned(c Contact, now time.Time) {
	t.update(c, now, false)
}

func (t *table) update(c Contact, now time.Time, direct bool) {
	if c.Addr == t.self.Addr || bytes.Equal(c.ID, t.self.ID) {
		return
	}
	if until, ok := t.dead[c.Addr]; ok {
		if !direct && now.Before(until) {
			return
		}
		delete(t.dead, c.Addr)
	}
	if old, ok := t.byAddr[c.Addr]; ok {
		if !direct {
			return
		}
		if bytes.Equal(old.ID, c.ID) {
			b := &t.b[t.bucketIndex(old.ID)]
			if i := slices.Index(b.contacts, old); i >= 0 {
				b.contacts = append(slices.Delete(b.contacts, i, i+1), old)
			} else if i := slices.Index(b.repl, old); i >= 0 {
				b.repl = append(slices.Delete(b.repl, i, i+1), old)
			}
			old.seen, old.fails = now, 0
			return
		}
		t.remove(c.Addr)
	}
	n := &contact{Contact: Contact{ID: slices.Clone(c.ID), Addr: c.Addr}, seen: now}
	b := &t.b[t.bucketIndex(c.ID)]
	if len(b.contacts) < t.k {
		b.contacts = append(b.contacts, n)
	} else {
		if len(b.repl) >= t.k {
			delete(t.byAddr, b.repl[0].Addr)
			b.repl = slices.Delete(b.repl, 0, 1)
		}
		b.repl = append(b.repl, n)
	}
	t.byAddr[c.Addr] = n
}

// remove forgets the contact or replacement at addr; the newest
// replacement of its bucket takes a freed contact's place.
func (t *table) remove(addr uint64) {
	c, ok := t.byAddr[addr]
	if !ok {
		return
	}
	delete(t.byAddr, addr)
	b := &t.b[t.bucketIndex(c.ID)]
	if i := slices.Index(b.repl, c); i >= 0 {
		b.repl = slices.Delete(b.repl, i, i+1)
		return
	}
	if i := slices.Index(b.contacts, c); i >= 0 {
		b.contacts = slices.Delete(b.contacts, i, i+1)
		if n := len(b.repl); n > 0 {
			b.contacts = append(b.contacts, b.repl[n-1])
			b.repl = b.repl[:n-1]
		}
	}
}

// failed records a request to addr left unanswered; after maxFails in a
// row the contact is dropped.
func (t *table) failed(addr uint64, now time.Time) {
	c, ok := t.byAddr[addr]
	if !ok {
		return
	}
	if c.fails++; c.fails >= maxFails {
		t.remove(addr)
		if len(t.dead) >= maxDead {
			t.expireDead(now)
		}
		if len(t.dead) < maxDead {
			t.dead[addr] = now.Add(t.tDead)
		}
	}
}

// expireDead forgets the dropped contacts that may be learned again.
func (t *table) expireDead(now time.Time) {
	for a, until := range t.dead {
		if !now.Before(until) {
			delete(t.dead, a)
		}
	}
}

// closest returns up to n contacts nearest to key, nearest first; never
// ourselves.
func (t *table) closest(key []byte, n int) []Contact {
	var all []Contact
	for i := range t.b {
		for _, c := range t.b[i].contacts {
			all = append(all, c.Contact)
		}
	}
	slices.SortFunc(all, func(a, b Contact) int { return cmpDistance(key, a.ID, b.ID) })
	return all[:min(n, len(all))]
}

// cmpDistance compares the XOR distances of a and b from key over their
// whole length: the 8-byte distance first, then the remaining bytes to
// break its ties.
func cmpDistance(key, a, b []byte) int {
	for i := range key {
		var x, y byte
		if i < len(a) {
			x = a[i] ^ key[i]
		}
		if i < len(b) {
			y = b[i] ^ key[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
