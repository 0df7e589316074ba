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

// before orders events by time, then by member, then by order of queueing
// (seq grows with every push). Events at the same time at different
// members are simultaneous: none can affect another, as every link has a
// delay. Taking them member by member, rather than in the order they were
// queued, gives each member the same events in the same order as any other
// member order would, and keeps one member's database in the cache while
// it takes a whole wave of LSUs.
func (a *event) before(b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.node != b.node {
		return a.node < b.node
	}
	return a.seq < b.seq
}

// events is the RoutingSim's queue, in the order of before. Nearly every
// event is an LSU that arrives one link delay after the current time; the
// current time never goes back and the delay is the same on every link, so
// those come in order of time. They go into buckets, one per arrival time,
// in order of time, and a bucket is sorted by member (a counting sort,
// stable, so each member's events stay in order of seq) when it comes up.
// Timers, and an LSU earlier than the last bucket, go into a binary heap,
// which stays small: about one timer per member. Taking the earlier of the
// two heads gives the order a single priority queue would.
type events struct {
	cur     []event // the bucket being taken, sorted
	next    int     // index of its next event
	buckets []bucket
	heap    heap
	n       int
	nodes   int     // 1 + the highest member index pushed
	spare   []event // an emptied bucket's array, for reuse
	count   []int   // counting sort scratch
	sorted  []event // counting sort output
}

type bucket struct {
	at int64
	ev []event
}

func (q *events) len() int { return q.n }

func (q *events) push(x event) {
	q.n++
	q.nodes = max(q.nodes, int(x.node)+1)
	if x.link >= 0 {
		if k := len(q.buckets); k > 0 && q.buckets[k-1].at == x.at {
			q.buckets[k-1].ev = append(q.buckets[k-1].ev, x)
			return
		}
		if k := len(q.buckets); (k == 0 || q.buckets[k-1].at < x.at) && (len(q.cur) == 0 || q.cur[0].at < x.at) {
			q.buckets = append(q.buckets, bucket{at: x.at, ev: append(q.spare[:0], x)})
			q.spare = nil
			return
		}
	}
	q.heap.push(x)
}

// fill makes cur hold the earliest bucket's events, sorted, if it is used
// up and a bucket waits.
func (q *events) fill() {
	if q.next < len(q.cur) || len(q.buckets) == 0 {
		return
	}
	b := q.buckets[0]
	q.buckets = q.buckets[1:]
	if len(q.buckets) == 0 {
		q.buckets = nil // let the array go: it only ever grows at the end
	}
	// Counting sort by member; the arrays of the bucket and of the old cur
	// are reused.
	if cap(q.count) < q.nodes+1 {
		q.count = make([]int, q.nodes+1)
	}
	q.count = q.count[:q.nodes+1]
	clear(q.count)
	for i := range b.ev {
		q.count[b.ev[i].node+1]++
	}
	for i := 1; i <= q.nodes; i++ {
		q.count[i] += q.count[i-1]
	}
	out := q.cur[:0]
	if cap(out) < len(b.ev) {
		out = make([]event, len(b.ev))
	}
	out = out[:len(b.ev)]
	for i := range b.ev {
		n := b.ev[i].node
		out[q.count[n]] = b.ev[i]
		q.count[n]++
	}
	q.spare = b.ev[:0]
	q.cur, q.next = out, 0
}

// peek returns the next event; the queue must not be empty.
func (q *events) peek() *event {
	q.fill()
	if q.next < len(q.cur) && (len(q.heap) == 0 || q.cur[q.next].before(&q.heap[0])) {
		return &q.cur[q.next]
	}
	return &q.heap[0]
}

// pop removes and returns the next event; the queue must not be empty.
func (q *events) pop() event {
	q.n--
	q.fill()
	if q.next < len(q.cur) && (len(q.heap) == 0 || q.cur[q.next].before(&q.heap[0])) {
		q.next++
		return q.cur[q.next-1]
	}
	return q.heap.pop()
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
