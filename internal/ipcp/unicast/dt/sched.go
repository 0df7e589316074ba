package dt

import (
	"sync"
	"sync/atomic"

	"github.com/ouroboros-go/ouroboros/qos"
)

// Sched is the packet scheduler: one bounded FIFO per QoS cube, served in
// strict priority (voice, then video, then best effort), as the reference
// gives its voice readers the highest real-time priority and best effort the
// lowest. Put copies the packet into a preallocated slot; a full queue drops
// the packet and counts it (a sender is never blocked by a queue of
// another cube). Get copies the packet out. Neither allocates. Safe for
// concurrent use; Get blocks until a packet is there or Close.
type Sched struct {
	mu     sync.Mutex
	ready  *sync.Cond
	q      [Cubes]ring
	closed bool
	drops  [Cubes]atomic.Uint64
}

type ring struct {
	slots      [][]byte // each cap = slot size
	lens       []int
	head, size int
}

// NewSched returns a scheduler holding up to depth packets of at most
// size bytes per cube.
func NewSched(depth, size int) *Sched {
	s := &Sched{}
	s.ready = sync.NewCond(&s.mu)
	for c := range s.q {
		r := &s.q[c]
		r.slots = make([][]byte, depth)
		r.lens = make([]int, depth)
		for i := range r.slots {
			r.slots[i] = make([]byte, size)
		}
	}
	return s
}

// Put queues a copy of pkt in cube c. It reports false (and counts a drop)
// when the cube's queue is full, the packet is larger than a slot, or the
// scheduler is closed.
func (s *Sched) Put(c qos.Cube, pkt []byte) bool {
	if c < 0 || c >= Cubes {
		c = qos.CubeBE
	}
	s.mu.Lock()
	r := &s.q[c]
	if s.closed || r.size == len(r.slots) || len(pkt) > cap(r.slots[0]) {
		s.mu.Unlock()
		s.drops[c].Add(1)
		return false
	}
	i := (r.head + r.size) % len(r.slots)
	r.lens[i] = copy(r.slots[i][:cap(r.slots[i])], pkt)
	r.size++
	s.mu.Unlock()
	s.ready.Signal()
	return true
}

// Get copies the next packet, highest cube first, into buf and returns its
// cube and length (a packet longer than buf is cut). It blocks while every
// queue is empty, and returns ok false once the scheduler is closed and
// drained.
func (s *Sched) Get(buf []byte) (c qos.Cube, n int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for c := qos.Cube(Cubes - 1); c >= 0; c-- {
			r := &s.q[c]
			if r.size == 0 {
				continue
			}
			n = copy(buf, r.slots[r.head][:r.lens[r.head]])
			r.head = (r.head + 1) % len(r.slots)
			r.size--
			return c, n, true
		}
		if s.closed {
			return 0, 0, false
		}
		s.ready.Wait()
	}
}

// Len returns the number of packets queued in cube c.
func (s *Sched) Len(c qos.Cube) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q[c].size
}

// Drops returns the packets dropped in cube c.
func (s *Sched) Drops(c qos.Cube) uint64 { return s.drops[c].Load() }

// Close wakes every Get; queued packets are still handed out.
func (s *Sched) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ready.Broadcast()
}
