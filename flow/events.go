package flow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// EventType is the type of a flow event; the values are the reference's.
type EventType int

// Event types.
const (
	EventPkt     EventType = 1  // FLOW_PKT: a message is ready; Read will not block
	EventDown    EventType = 2  // FLOW_DOWN: the peer marked the flow down
	EventUp      EventType = 4  // FLOW_UP: the peer marked the flow up
	EventAlloc   EventType = 8  // FLOW_ALLOC: defined by the reference, never generated
	EventDealloc EventType = 16 // FLOW_DEALLOC: the peer deallocated or went away
	EventPeer    EventType = 32 // FLOW_PEER: the peer was silent longer than the QoS timeout
)

func (t EventType) String() string {
	switch t {
	case EventPkt:
		return "FLOW_PKT"
	case EventDown:
		return "FLOW_DOWN"
	case EventUp:
		return "FLOW_UP"
	case EventAlloc:
		return "FLOW_ALLOC"
	case EventDealloc:
		return "FLOW_DEALLOC"
	case EventPeer:
		return "FLOW_PEER"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one event on a flow.
type Event struct {
	Flow *Flow
	Type EventType
}

// maxEvents bounds the queued non-packet events of one set.
const maxEvents = 1024

// EventSet is a set of flows whose events one goroutine waits for (the
// reference's fset, with fevent as Wait). A flow belongs to at most one set.
//
// Packet events are level-triggered: Wait reports one EventPkt per message that
// is queued on a flow and was not reported before, so a loop that reads one
// message per EventPkt never stalls and never blocks. Other events are queued
// (bounded; beyond maxEvents the oldest are dropped and counted).
type EventSet struct {
	p   *process
	idx int

	mu      sync.Mutex
	flows   map[*Flow]struct{}
	readyQ  []*Flow            // flows that may have unreported messages
	inReady map[*Flow]struct{} // members of readyQ
	events  []Event            // non-packet events
	dropped int
	closed  bool
	kick    chan struct{}
	hot     *Flow // the flow whose ring Wait last waited on itself, until its EndHot (waiter's only)
	// hotLeft holds the flows whose ring a Read of theirs last left armed
	// for its return (Flow.leftHot): Wait ends that (EndHot) before it
	// waits, as the flows' packets must then ring their doorbells.
	hotLeft map[*Flow]struct{}
	// waiting: a Wait waits (on the kick channel, or on one flow's ring),
	// having ended the flows of hotLeft; a Read that leaves its flow's
	// ring armed meanwhile ends that itself (noteLeftHot), as nobody else
	// would before that Wait wakes.
	waiting bool

	// hotFlow is the flow whose ring Wait waits on itself (hotRead) right
	// now, nil when it does not: an event on another flow, or a change of
	// the set, interrupts that wait (wake).
	hotFlow atomic.Pointer[Flow]
}

// maxHotScan is the largest set that Wait scans for its one busy flow
// (hotCandidate).
const maxHotScan = 8

// NewEventSet creates an empty set. A process has at most 31 sets (ENOMEM).
func NewEventSet() (*EventSet, error) {
	p, err := defaultProcess()
	if err != nil {
		return nil, err
	}
	idx, err := p.newSetIndex()
	if err != nil {
		return nil, err
	}
	return &EventSet{p: p, idx: idx, flows: map[*Flow]struct{}{}, inReady: map[*Flow]struct{}{},
		kick: make(chan struct{}, 1)}, nil
}

// Add puts f in the set. It fails with EPERM if f is in another set and with
// EINVAL if f is closed. Messages already queued on f are reported by the
// next Wait, or by a Wait in progress, which Add wakes: no packet may come
// to wake it (the flow's queue may be full).
func (s *EventSet) Add(f *Flow) error {
	if f == nil {
		return oerr.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return oerr.EINVAL
	case f.set == s:
		return nil
	case f.set != nil:
		return oerr.EPERM
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return oerr.EINVAL
	}
	f.set = s
	f.reported = 0
	s.flows[f] = struct{}{}
	if f.queued() > 0 || f.partial != nil {
		s.readyLocked(f)
		s.wake(nil)
	} else if h := s.hotFlow.Load(); h != nil {
		h.ep.InterruptHot() // a Wait on one live flow may now have two
	}
	return nil
}

// Del removes f from the set, with its pending events.
func (s *EventSet) Del(f *Flow) {
	if f == nil {
		return
	}
	f.mu.Lock()
	if f.set == s {
		f.set = nil
		f.reported = 0
	}
	f.mu.Unlock()
	s.mu.Lock()
	_, noted := s.hotLeft[f]
	s.delLocked(f)
	s.mu.Unlock()
	if noted {
		f.ep.EndHot() // the set's Wait will not
	}
}

func (s *EventSet) delLocked(f *Flow) {
	delete(s.flows, f)
	delete(s.hotLeft, f)
	if _, ok := s.inReady[f]; ok {
		delete(s.inReady, f)
		for i, g := range s.readyQ {
			if g == f {
				s.readyQ = append(s.readyQ[:i], s.readyQ[i+1:]...)
				break
			}
		}
	}
	kept := s.events[:0]
	for _, e := range s.events {
		if e.Flow != f {
			kept = append(kept, e)
		}
	}
	s.events = kept
}

// Has reports whether f is in the set.
func (s *EventSet) Has(f *Flow) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.flows[f]
	return ok
}

// Zero removes every flow from the set.
func (s *EventSet) Zero() {
	s.mu.Lock()
	flows := make([]*Flow, 0, len(s.flows))
	for f := range s.flows {
		flows = append(flows, f)
	}
	s.mu.Unlock()
	for _, f := range flows {
		s.Del(f)
	}
}

// Close empties the set and releases it (fset_destroy).
func (s *EventSet) Close() {
	s.Zero()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.p.freeSetIndex(s.idx)
	s.wake(nil)
}

// Dropped returns how many non-packet events were dropped because the queue was full.
func (s *EventSet) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// wake wakes a Wait: on the kick channel, or in its wait on a flow's ring
// unless that flow is from (whose own packets reach it there).
func (s *EventSet) wake(from *Flow) {
	select {
	case s.kick <- struct{}{}:
	default:
	}
	if h := s.hotFlow.Load(); h != nil && h != from {
		h.ep.InterruptHot()
	}
}

// ready notes that f has a new message.
func (s *EventSet) ready(f *Flow) {
	s.mu.Lock()
	if _, ok := s.flows[f]; ok {
		s.readyLocked(f)
	}
	s.mu.Unlock()
	s.wake(f)
}

func (s *EventSet) readyLocked(f *Flow) {
	if _, ok := s.inReady[f]; !ok {
		s.inReady[f] = struct{}{}
		s.readyQ = append(s.readyQ, f)
	}
}

// post queues a non-packet event for f.
func (s *EventSet) post(f *Flow, t EventType) {
	s.mu.Lock()
	if _, ok := s.flows[f]; ok {
		if len(s.events) >= maxEvents {
			s.events = s.events[1:]
			s.dropped++
		}
		s.events = append(s.events, Event{Flow: f, Type: t})
	}
	s.mu.Unlock()
	s.wake(f)
}

// Wait blocks until the set has events and moves them all into q (fevent). If
// q still holds unconsumed events it returns at once. Expiry of ctx's deadline
// gives ETIMEDOUT; cancellation gives ctx.Err(). A set with one busy flow
// (see hotCandidate: the others are gone or quiet, as a server's flows
// whose clients left are until it closes them) waits for that flow's
// packets in the calling goroutine for up to datapath.HotWindow at a time;
// a cancellation is then seen that late at most, events on the other flows
// and changes of the set at once.
func (s *EventSet) Wait(ctx context.Context, q *EventQueue) error {
	if q == nil {
		return oerr.EINVAL
	}
	if q.pos < len(q.ev) {
		return nil
	}
	for {
		if s.collect(q) {
			return nil
		}
		if f := s.hotCandidate(); f != nil && ctx.Err() == nil {
			// One busy flow: wait for its next packet in
			// this goroutine (see Flow.hotRead), as a blocking Read of
			// it would. hotFlow is published before the last look at
			// the set: an event queued after that look interrupts the
			// wait (wake), one queued before it is collected first.
			until := clockNow().Add(datapath.HotWindow)
			if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
				until = dl
			}
			s.hotFlow.Store(f)
			if s.pending() {
				s.hotFlow.Store(nil)
				continue
			}
			if s.hot != nil && s.hot != f {
				s.hot.ep.EndHot()
			}
			s.beginWait(f)
			got, again := f.hotRead(until)
			s.endWait()
			s.hotFlow.Store(nil)
			// Waited on or not, f's ring may have had a HotReader:
			// EndHot below, or a later Wait's, ends what it left armed.
			s.hot = f
			if got || again {
				continue
			}
		}
		s.beginWait(nil)
		if s.hot != nil {
			// The receive goroutine delivers from here (see Flow.Read),
			// and must not sleep lazily for a HotReader that is not
			// coming: a wait that took nothing left the ring armed for the
			// next HotReader, and the peer's next packet rang no doorbell
			// (it waited in the ring up to a hot window, 10 ms: an oping
			// server paced at 10 to 20 ms had one reply in three late by
			// that much).
			s.hot.ep.EndHot()
			s.hot = nil
		}
		select {
		case <-s.kick:
			s.endWait()
		case <-ctx.Done():
			s.endWait()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return oerr.ETIMEDOUT
			}
			return ctx.Err()
		}
	}
}

// noteLeftHot records that a Read of f, a member, returned with f's ring
// armed for its return (see hotLeft), or, if a Wait is waiting already (it
// ended the flows noted before it began), ends that at once: a Wait that
// sleeps while f's receive goroutine sleeps lazily would see f's next
// packet only when the lazy window closes, up to datapath.HotWindow late.
func (s *EventSet) noteLeftHot(f *Flow) {
	s.mu.Lock()
	_, member := s.flows[f]
	end := member && s.waiting
	if member && !end {
		if s.hotLeft == nil {
			s.hotLeft = map[*Flow]struct{}{}
		}
		s.hotLeft[f] = struct{}{}
	}
	s.mu.Unlock()
	if end {
		f.ep.EndHot()
	}
}

// beginWait marks the set's Wait as waiting and ends what the Reads of
// noteLeftHot left armed, but on except (the flow whose ring it waits on
// itself): a receive goroutine that slept lazily, waiting for a Read to
// come back to the ring, would hold the flow's next packet (and its event)
// for up to a hot window. endWait unmarks it.
func (s *EventSet) beginWait(except *Flow) {
	s.mu.Lock()
	left := s.hotLeft
	s.hotLeft = nil
	s.waiting = true
	s.mu.Unlock()
	for f := range left {
		if f != except {
			f.ep.EndHot()
		}
	}
}

func (s *EventSet) endWait() {
	s.mu.Lock()
	s.waiting = false
	s.mu.Unlock()
}

// hotCandidate returns the flow whose ring Wait waits on itself, nil for
// none: of a set of at most maxHotScan flows, the one flow that can still
// deliver packets, or, of several, the one that received last if every
// other has received nothing for longer than datapath.HotWindow. A flow
// whose receive goroutine has ended (its peer is gone, or it is closed)
// delivers nothing more: its last event was posted before that goroutine
// ended. A quiet flow is one whose peer left without a word, as a client
// across a layer does (no message tells the server's side that a flow is
// deallocated: its flow lives on until the server closes it, an oping
// server after 10 s), or a peer that is idle; a packet of it reaches Wait
// through its receive goroutine, which interrupts the wait (wake), and the
// next Wait, seeing two busy flows, waits on neither ring.
func (s *EventSet) hotCandidate() *Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.flows) > maxHotScan {
		return nil
	}
	var (
		live [maxHotScan]*Flow
		n    int
	)
	for f := range s.flows {
		select {
		case <-f.rxDone:
		default:
			live[n] = f
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case 1:
		return live[0] // no clock read: the common case of a server with one client
	}
	one := live[0]
	for _, f := range live[1:n] {
		if f.lastRcv.Load() > one.lastRcv.Load() {
			one = f
		}
	}
	now := monoNow()
	for _, f := range live[:n] {
		if f != one && now-f.lastRcv.Load() <= int64(datapath.HotWindow) {
			return nil // two busy flows
		}
	}
	return one
}

// pending reports whether the set has something for collect, or is closed.
func (s *EventSet) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || len(s.readyQ) > 0 || len(s.events) > 0
}

// Events waits like Wait and returns the events.
func (s *EventSet) Events(ctx context.Context) ([]Event, error) {
	var q EventQueue
	if err := s.Wait(ctx, &q); err != nil {
		return nil, err
	}
	return q.ev, nil
}

// collect moves pending events into q; it reports whether there were any.
func (s *EventSet) collect(q *EventQueue) bool {
	q.ev = q.ev[:0]
	q.pos = 0
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	ready := s.readyQ
	s.readyQ = nil
	clear(s.inReady)
	q.ev = append(q.ev, s.events...)
	s.events = s.events[:0]
	s.mu.Unlock()
	for _, f := range ready {
		f.mu.Lock()
		n := f.queued()
		if f.partial != nil {
			n++
		}
		fresh := n - f.reported
		if f.set == s && fresh > 0 {
			f.reported = n
			for range fresh {
				q.ev = append(q.ev, Event{Flow: f, Type: EventPkt})
			}
		}
		f.mu.Unlock()
	}
	return len(q.ev) > 0
}

// EventQueue holds the events one Wait collected (the reference's fqueue).
type EventQueue struct {
	ev  []Event
	pos int
}

// NewEventQueue returns an empty queue.
func NewEventQueue() *EventQueue { return &EventQueue{} }

// Next returns the next event; ok is false when the queue is exhausted.
func (q *EventQueue) Next() (ev Event, ok bool) {
	if q.pos >= len(q.ev) {
		return Event{}, false
	}
	ev = q.ev[q.pos]
	q.pos++
	return ev, true
}
