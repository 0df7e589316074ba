package simnet

import (
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// event is one step of a RoutingSim: an LSU arriving on a Management link,
// or a member's timer.
type event struct {
	at   int64 // virtual time, ns since the start
	seq  uint64
	node int32
	link int32 // Management link id at node; -1 for a timer
	lsu  wire.LSU
}

func (a *event) before(b *event) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

// events is the RoutingSim's queue, in order of time and then of queueing
// (seq, which grows with every push). Nearly every event is an LSU that
// arrives one link delay after the current time; the current time never
// goes back and the delay is the same on every link, so those come in
// order and go into a FIFO, O(1) each. Timers, and an LSU that would be
// earlier than the FIFO's last event, go into a binary heap, which stays
// small: about one timer per member. pop takes the earlier of the two
// heads, so the order is the one a single priority queue would give.
type events struct {
	fifo ring
	heap heap
}

func (q *events) len() int { return q.fifo.n + len(q.heap) }

func (q *events) push(x event) {
	if x.link >= 0 && (q.fifo.n == 0 || !x.before(q.fifo.last())) {
		q.fifo.push(x)
		return
	}
	q.heap.push(x)
}

// peek returns the next event; the queue must not be empty.
func (q *events) peek() *event {
	switch {
	case q.fifo.n == 0:
		return &q.heap[0]
	case len(q.heap) == 0 || q.fifo.first().before(&q.heap[0]):
		return q.fifo.first()
	}
	return &q.heap[0]
}

// pop removes and returns the next event; the queue must not be empty.
func (q *events) pop() event {
	if q.fifo.n > 0 && (len(q.heap) == 0 || q.fifo.first().before(&q.heap[0])) {
		return q.fifo.pop()
	}
	return q.heap.pop()
}

// ring is a FIFO of events in a circular buffer whose size is a power of
// two, doubled when full.
type ring struct {
	buf  []event
	head int // index of the first event
	n    int // events held
}

func (r *ring) first() *event { return &r.buf[r.head] }

func (r *ring) last() *event { return &r.buf[(r.head+r.n-1)&(len(r.buf)-1)] }

func (r *ring) push(x event) {
	if r.n == len(r.buf) {
		nb := make([]event, max(2*len(r.buf), 1024))
		k := copy(nb, r.buf[r.head:])
		copy(nb[k:], r.buf[:r.head])
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = x
	r.n++
}

func (r *ring) pop() event {
	x := r.buf[r.head]
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return x
}

// heap is a binary min-heap of events, typed to avoid boxing.
type heap []event

func (e *heap) push(x event) {
	*e = append(*e, x)
	h := *e
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (e *heap) pop() event {
	h := *e
	x := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l].before(&h[m]) {
			m = l
		}
		if r := l + 1; r < n && h[r].before(&h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*e = h
	return x
}
