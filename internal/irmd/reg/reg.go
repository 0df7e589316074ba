// Package reg is the IRMd's registry: names, programs, processes, IPCPs and
// flows, with the reference's flow state machine. It is a plain data
// structure: no I/O, no logging, no goroutines. One mutex guards everything;
// every change wakes the waiters (Wait re-checks its condition under the lock),
// which replaces the reference's single condition variable.
//
// Listing orders follow the reference: IPCPs by type then pid, names and
// programs by strcmp order, processes by pid, flows by id. Flow ids are the
// lowest free id >= 1 and below MaxFlows.
//
// Accepting: each pending accept is a flow in ACCEPT_PENDING. It puts one
// entry (pid, flow) in the active list of every name its process is bound to;
// round-robin names append it, spillover names insert it at the head. A flow
// request takes the first entry of the name and moves that flow to ALLOCATED in
// the same critical section, and all the flow's entries leave every list, so two
// simultaneous requests can never take the same accept (the reference picks
// the accept and assigns the request in two critical sections, so two
// requests can take the same one; that race is closed here).
//
// Flow ids. An id names one flow to everyone who holds it, so it is reused
// only after every holder has released it; until then its record stays in the
// table (a flow nobody but an IPCP holds waits in DEALLOC_PENDING). The
// holders are:
//   - the application side (AppHeld): from CreateFlow, first through the
//     request that serves the process (InReq: a pending allocation or accept
//     of the daemon, which alone may release it), then, once HandOver gave
//     the flow to the process, the process itself, until it deallocates or
//     dies (Release). A direct flow has two application sides, NPid and
//     N1Pid, each Gone once released, and no IPCP.
//   - the IPCP below (IPCPHeld): from the moment the daemon sends it the id
//     (IPCP_FLOW_ALLOC, or the reply to its IPCP_FLOW_REQ_ARR) until the IPCP
//     released it: an error answer to IPCP_FLOW_ALLOC, the answer to the
//     daemon's IPCP_FLOW_DEALLOC (sent once per hold, Asked), an
//     IPCP_FLOW_DEALLOC of the IPCP's own that no request of ours crossed, or
//     the IPCP's death (IPCPReleased, RemoveProc). A request the IPCP may
//     have seen but did not answer counts as held.
//
// A flow through a local IPCP has two records, one per side, each with its
// own holders. Every release ends with settleLocked, which frees the id when
// no holder is left.
package reg

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// MaxFlows bounds the flow ids: they are 1..MaxFlows-1 (the reference's
// SYS_MAX_FLOWS is 10240; ours is larger so that 10,000 flows through an IPCP,
// two ids each, fit with room to spare). Ids travel in int32 fields.
const MaxFlows = 1 << 16

// NotEnrolled is the layer name of an IPCP before bootstrap or enrollment.
const NotEnrolled = "Not enrolled."

// ErrExists and ErrNotFound are returned by the table operations.
var (
	ErrExists   = errors.New("already exists")
	ErrNotFound = errors.New("not found")
	// ErrNoFlowIDs: every flow id is held (by processes, requests or IPCPs).
	ErrNoFlowIDs = errors.New("no flow ids left")
)

// Registry holds the IRMd's state. All methods are safe for concurrent use.
type Registry struct {
	mu      sync.Mutex
	changed chan struct{}            // closed and replaced on every change
	topics  map[string]chan struct{} // per-topic change channels of WaitOn waiters
	touched []string                 // topics changed by the current mutation

	names map[string]*Name
	idx   nameIndex        // names by digest and in order (nameindex.go)
	progs map[string]*Prog // by basename
	procs map[int]*Proc
	ipcps map[int]*IPCP
	flows map[int]*Flow
	next  int // hint for the lowest free flow id
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		changed: make(chan struct{}),
		topics:  map[string]chan struct{}{},
		names:   map[string]*Name{},
		progs:   map[string]*Prog{},
		procs:   map[int]*Proc{},
		ipcps:   map[int]*IPCP{},
		flows:   map[int]*Flow{},
		next:    1,
	}
}

// notifyLocked wakes the waiters of everything (Wait) and of the topics the
// change touched (WaitOn). Called with mu held after any change.
func (r *Registry) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
	for _, t := range r.touched {
		if ch, ok := r.topics[t]; ok {
			close(ch)
			delete(r.topics, t)
		}
	}
	r.touched = r.touched[:0]
}

// touchLocked marks a topic as changed by the current mutation.
func (r *Registry) touchLocked(topic string) {
	if _, ok := r.topics[topic]; ok {
		r.touched = append(r.touched, topic)
	}
}

// Topics name what a WaitOn waiter watches, so that a change wakes only the
// waiters it concerns (hundreds of pending allocations must not all wake on
// every change).
func FlowTopic(id int) string   { return "flow:" + strconv.Itoa(id) }
func NameTopic(n string) string { return "name:" + n }
func ProcTopic(pid int) string  { return "proc:" + strconv.Itoa(pid) }
func IPCPTopic(pid int) string  { return "ipcp:" + strconv.Itoa(pid) }

// WaitOn is Wait woken only by changes to topic (and by the deadline or ctx).
func (r *Registry) WaitOn(ctx context.Context, deadline time.Time, topic string, cond func() bool) error {
	return r.wait(ctx, deadline, cond, func() chan struct{} {
		ch, ok := r.topics[topic]
		if !ok {
			ch = make(chan struct{})
			r.topics[topic] = ch
		}
		return ch
	})
}

// Wait blocks until cond (evaluated with the registry locked) holds, ctx ends
// (ctx.Err()) or the deadline passes (oerr.ETIMEDOUT). A zero deadline means none.
func (r *Registry) Wait(ctx context.Context, deadline time.Time, cond func() bool) error {
	return r.wait(ctx, deadline, cond, func() chan struct{} { return r.changed })
}

// wait blocks until cond holds; signal (called locked) gives the channel that
// closes on the next relevant change.
func (r *Registry) wait(ctx context.Context, deadline time.Time, cond func() bool, signal func() chan struct{}) error {
	var timer <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timer = t.C
	}
	for {
		r.mu.Lock()
		ok := cond()
		var ch chan struct{}
		if !ok {
			ch = signal()
		}
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-timer:
			r.mu.Lock()
			ok := cond()
			r.mu.Unlock()
			if ok {
				return nil
			}
			return oerr.ETIMEDOUT
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Do runs fn with the registry locked and wakes waiters afterwards. It lets the
// daemon read or change several tables atomically.
func (r *Registry) Do(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn()
	r.notifyLocked()
}
