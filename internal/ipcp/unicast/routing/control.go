package routing

// The link-state component: LSUs in, LSUs out, forwarding tables filled.
//
// Events (from the connection manager, the Management flows and a timer):
//   - AddDT: a Data Transfer connection to a neighbour came: announce the
//     adjacency (seqno 0) to every Management neighbour, record it.
//   - RemoveDT: it went: the forwarding tables stop using its link at once
//     (alternates take over), the adjacency goes; no LSU says so, the others
//     age it out.
//   - LinkDown / LinkUp: the link's flow changed state: alternates only.
//   - AddMgmt: a Management connection came: send it the whole database.
//   - RemoveMgmt: it went.
//   - Receive: an LSU on a Management link: if the database accepts it,
//     flood it unchanged to every other Management link.
//   - Tick: every t_update, refresh and flood our own adjacencies with the
//     next seqno and age out the others; recompute when the topology
//     changed.
//
// Every method returns the LSUs to send; the caller writes them to its
// Management links after the call, so no lock is held across I/O and the
// Router has no goroutine of its own.

import (
	"slices"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// Defaults of the link-state timers, in the layer configuration's terms.
const (
	DefaultUpdate  = 15 * time.Second // t_update: own adjacencies refreshed
	DefaultTimeout = 60 * time.Second // t_timeo: others' adjacencies aged out
	DefaultRecalc  = 4 * time.Second  // t_recalc: pending recomputation checked
)

// Out is an LSU to send on a Management link.
type Out struct {
	Link int
	LSU  wire.LSU
}

// RouterConfig configures a Router.
type RouterConfig struct {
	Self uint64    // our address
	Algo Algorithm // link_state, lfa or ecmp
	// PFF are the forwarding tables to fill (one per QoS cube, possibly the
	// same table several times). Their policy should be Algo.PFFPolicy().
	PFF []*pff.Table
	// Update, Timeout and Recalc are t_update, t_timeo and t_recalc; zero
	// means the default.
	Update, Timeout, Recalc time.Duration
	// Hold is how long a topology change waits before the tables are
	// recomputed, so that a burst of LSUs costs one computation. Zero
	// recomputes at once, within the call that changed the topology.
	Hold time.Duration
}

// Router is the link-state routing of one member. Safe for concurrent use.
type Router struct {
	cfg RouterConfig

	mu         sync.Mutex
	db         *LSDB
	dtByAddr   map[uint64]int // DT neighbour address → link
	dtByLink   map[int]uint64
	mgmt       []int     // Management links, ascending: the flooding order
	dirty      bool      // topology changed since the last computation
	recalcAt   time.Time // when a dirty topology is recomputed
	nextUpdate time.Time
	stats      RouterStats
}

// RouterStats counts a Router's work.
type RouterStats struct {
	Received   uint64 // LSUs read from Management links
	Malformed  uint64 // of those, not 24 bytes or announcing us
	Accepted   uint64 // of those, new to the database (and flooded on)
	Sent       uint64 // LSUs handed out to send
	Recomputed uint64 // forwarding table computations
}

// NewRouter returns a Router that starts at now, with an empty database.
func NewRouter(cfg RouterConfig, now time.Time) *Router {
	if cfg.Update <= 0 {
		cfg.Update = DefaultUpdate
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Recalc <= 0 {
		cfg.Recalc = DefaultRecalc
	}
	return &Router{cfg: cfg, db: NewLSDB(cfg.Self), dtByAddr: make(map[uint64]int),
		dtByLink: make(map[int]uint64), nextUpdate: now.Add(cfg.Update)}
}

// toAllLocked appends lsu for every Management link but except (-1:
// none) to out, in ascending order of link. Called with r.mu held.
func (r *Router) toAllLocked(out []Out, lsu wire.LSU, except int) []Out {
	for _, l := range r.mgmt {
		if l != except {
			out = append(out, Out{Link: l, LSU: lsu})
			r.stats.Sent++
		}
	}
	return out
}

// changedLocked notes a topology change at now.
func (r *Router) changedLocked(now time.Time) {
	if r.cfg.Hold == 0 {
		r.recomputeLocked()
		return
	}
	if !r.dirty {
		r.dirty = true
		r.recalcAt = now.Add(r.cfg.Hold)
	}
}

// AddDT records a Data Transfer connection on link to neighbour nb.
func (r *Router) AddDT(now time.Time, nb uint64, link int) []Out {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.dtByAddr[nb]; ok && old != link {
		delete(r.dtByLink, old)
	}
	r.dtByAddr[nb], r.dtByLink[link] = link, nb
	for _, t := range r.cfg.PFF {
		_ = t.FlowUp(link) // a reused link id is not down
	}
	lsu, changed := r.db.AddNeighbour(nb, now)
	out := r.toAllLocked(nil, lsu, -1)
	_ = changed // even a known adjacency may have a new link: recompute
	r.changedLocked(now)
	return out
}

// RemoveDT forgets the Data Transfer connection on link.
func (r *Router) RemoveDT(now time.Time, link int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	nb, ok := r.dtByLink[link]
	if !ok {
		return
	}
	for _, t := range r.cfg.PFF {
		t.FlowDown(link)
	}
	delete(r.dtByLink, link)
	if r.dtByAddr[nb] == link {
		delete(r.dtByAddr, nb)
		r.db.RemoveNeighbour(nb)
	}
	r.changedLocked(now)
}

// LinkDown tells the forwarding tables that link's flow is down (LFA moves
// to alternates at once); LinkUp that it is up again.
func (r *Router) LinkDown(link int) {
	for _, t := range r.cfg.PFF {
		t.FlowDown(link)
	}
}

// LinkUp: see LinkDown.
func (r *Router) LinkUp(link int) {
	for _, t := range r.cfg.PFF {
		_ = t.FlowUp(link)
	}
}

// AddMgmt records a Management connection on link to nb and returns the
// whole database for it.
func (r *Router) AddMgmt(nb uint64, link int) []Out {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, found := slices.BinarySearch(r.mgmt, link); !found {
		r.mgmt = slices.Insert(r.mgmt, i, link)
	}
	all := r.db.All()
	out := make([]Out, len(all))
	for i, u := range all {
		out[i] = Out{Link: link, LSU: u}
	}
	r.stats.Sent += uint64(len(out))
	return out
}

// RemoveMgmt forgets the Management connection on link.
func (r *Router) RemoveMgmt(link int) {
	r.mu.Lock()
	if i, found := slices.BinarySearch(r.mgmt, link); found {
		r.mgmt = slices.Delete(r.mgmt, i, i+1)
	}
	r.mu.Unlock()
}

// Receive takes an SDU read from Management link at now. Anything but a
// 24-byte LSU is dropped, and so is an LSU about one of our own
// adjacencies: we are their only source (accepting one would make us
// refresh a stale adjacency of a former life forever).
func (r *Router) Receive(now time.Time, link int, sdu []byte) []Out {
	u, err := wire.ParseLSU(sdu)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Received++
	if err != nil || u.Src == r.cfg.Self {
		r.stats.Malformed++
		return nil
	}
	accepted, changed := r.db.Update(u, now)
	if !accepted {
		return nil
	}
	r.stats.Accepted++
	out := r.toAllLocked(make([]Out, 0, len(r.mgmt)), u, link)
	if changed {
		r.changedLocked(now)
	}
	return out
}

// Tick does what is due at now: the periodic update (refresh and ageing)
// and a pending recomputation. Call it at NextDeadline (earlier is
// harmless).
func (r *Router) Tick(now time.Time) []Out {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Out
	if !now.Before(r.nextUpdate) {
		lsus, changed := r.db.Tick(now, r.cfg.Timeout)
		out = make([]Out, 0, len(lsus)*len(r.mgmt))
		for _, u := range lsus {
			out = r.toAllLocked(out, u, -1)
		}
		if changed {
			r.changedLocked(now)
		}
		for !now.Before(r.nextUpdate) {
			r.nextUpdate = r.nextUpdate.Add(r.cfg.Update)
		}
	}
	if r.dirty && !now.Before(r.recalcAt) {
		r.recomputeLocked()
	}
	return out
}

// NextDeadline returns when Tick must next run.
func (r *Router) NextDeadline() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirty && r.recalcAt.Before(r.nextUpdate) {
		return r.recalcAt
	}
	return r.nextUpdate
}

// recomputeLocked fills the forwarding tables from the database. Without a
// table (we are in no graph of two members) they are emptied: the
// reference keeps them as they were, routing over links long gone.
func (r *Router) recomputeLocked() {
	r.dirty = false
	r.stats.Recomputed++
	var routes map[uint64][]int
	if t, err := r.db.Graph().Table(r.cfg.Algo, r.cfg.Self); err == nil {
		routes = Forwarding(t, func(nb uint64) (int, bool) {
			l, ok := r.dtByAddr[nb]
			return l, ok
		})
	}
	var done []*pff.Table
	for _, t := range r.cfg.PFF {
		if !slices.Contains(done, t) {
			t.Replace(routes)
			done = append(done, t)
		}
	}
}

// Stats returns the counters.
func (r *Router) Stats() RouterStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Database returns the adjacencies the Router knows.
func (r *Router) Database() []Adjacency {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.db.Adjacencies()
}
