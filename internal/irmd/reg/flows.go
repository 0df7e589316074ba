package reg

import (
	"os"
	"slices"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// FlowState is the state of a flow (enum flow_state; the numbers travel in
// flow_info_msg).
type FlowState uint32

// Flow states.
const (
	FlowInit           FlowState = 0
	FlowAllocPending   FlowState = 1
	FlowAcceptPending  FlowState = 2
	FlowAllocated      FlowState = 3
	FlowDeallocPending FlowState = 4
	FlowDeallocated    FlowState = 5
	FlowDestroy        FlowState = 6
	FlowNull           FlowState = 7
)

func (s FlowState) String() string {
	return [...]string{"INIT", "ALLOC_PENDING", "ACCEPT_PENDING", "ALLOCATED",
		"DEALLOC_PENDING", "DEALLOCATED", "DESTROY", "NULL", "?"}[min(int(s), 8)]
}

// Gone marks a direct flow's side whose process has deallocated.
const Gone = -1

// Flow is a flow record. NPid is the application end; N1Pid is the IPCP, or
// for a direct flow the client process (then NPid is the server).
type Flow struct {
	ID       int
	NPid     int
	N1Pid    int
	UID      uint32
	MPL      uint32
	QoS      qos.Spec
	State    FlowState
	Response int32  // result of an allocation reply (0 or negative errno)
	ReqData  []byte // OAP request carried with the allocation
	RspData  []byte // OAP response
	T0       time.Time
	Name     string // the name it was accepted for
	Direct   bool
	// AppEnd is the application's end of the flow's channel, held from the
	// moment the flow is answered until the accept/alloc reply hands it over.
	AppEnd []*os.File
}

func (f *Flow) copy() Flow {
	c := *f
	c.ReqData = slices.Clone(f.ReqData)
	c.RspData = slices.Clone(f.RspData)
	return c
}

// setStateLocked changes a flow's state; leaving ACCEPT_PENDING removes its
// active entries (only names its process is bound to hold them).
func (r *Registry) setStateLocked(f *Flow, s FlowState) {
	r.touchLocked(FlowTopic(f.ID))
	if f.State == FlowAcceptPending && s != FlowAcceptPending {
		if p, ok := r.procs[f.NPid]; ok {
			for _, n := range p.Names {
				if name, ok := r.names[n]; ok {
					name.delActiveFlow(f.ID)
				}
			}
		}
	}
	f.State = s
}

// CreateFlow adds a flow in state INIT for process npid with the lowest free id.
// A flow needs a process: npid <= 0 is oerr.EINVAL.
func (r *Registry) CreateFlow(npid int, q qos.Spec) (int, error) {
	if npid <= 0 {
		return 0, oerr.EINVAL
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.freeIDLocked()
	if id == 0 {
		return 0, ErrExists
	}
	r.flows[id] = &Flow{ID: id, NPid: npid, QoS: q, State: FlowInit, T0: time.Now()}
	r.notifyLocked()
	return id, nil
}

func (r *Registry) freeIDLocked() int {
	for id := r.next; id < MaxFlows; id++ {
		if _, ok := r.flows[id]; !ok {
			r.next = id + 1
			return id
		}
	}
	for id := 1; id < r.next && id < MaxFlows; id++ {
		if _, ok := r.flows[id]; !ok {
			r.next = id + 1
			return id
		}
	}
	return 0
}

// DestroyFlow removes a flow and frees its id; it closes a channel end that was
// never handed over.
func (r *Registry) DestroyFlow(id int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.flows[id]; ok {
		r.destroyLocked(f, FlowNull)
	}
}

// destroyLocked leaves f in state s, closes a channel end that was never
// handed over, frees the id and wakes the waiters.
func (r *Registry) destroyLocked(f *Flow, s FlowState) {
	r.setStateLocked(f, s)
	for _, e := range f.AppEnd {
		e.Close()
	}
	f.AppEnd = nil
	delete(r.flows, f.ID)
	if f.ID < r.next {
		r.next = f.ID
	}
	r.notifyLocked()
}

// GetFlow returns a copy of a flow record.
func (r *Registry) GetFlow(id int) (Flow, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok {
		return Flow{}, false
	}
	return f.copy(), true
}

// FlowState returns the flow's state, FlowNull if it does not exist. It must
// be called with the lock held: use it inside Wait conditions.
func (r *Registry) FlowStateLocked(id int) FlowState {
	if f, ok := r.flows[id]; ok {
		return f.State
	}
	return FlowNull
}

// ListFlows returns copies of all flows by id.
func (r *Registry) ListFlows() []Flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Flow, 0, len(r.flows))
	for _, f := range r.sortedFlowsLocked() {
		out = append(out, f.copy())
	}
	return out
}

func (r *Registry) sortedFlowsLocked() []*Flow {
	out := make([]*Flow, 0, len(r.flows))
	for _, f := range r.flows {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *Flow) int { return a.ID - b.ID })
	return out
}

// PrepareAccept moves flow id (INIT, owned by an announced process) to
// ACCEPT_PENDING and makes it active for every name its process is bound to.
func (r *Registry) PrepareAccept(id int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || f.State != FlowInit {
		return ErrNotFound
	}
	p, ok := r.procs[f.NPid]
	if !ok {
		return ErrNotFound
	}
	f.State = FlowAcceptPending
	for _, n := range p.Names {
		if name, ok := r.names[n]; ok {
			name.addActive(f.NPid, id)
			r.touchLocked(NameTopic(n))
		}
	}
	r.notifyLocked()
	return nil
}

// Answer is how an arriving request fills in the accepted flow.
type Answer struct {
	N1Pid   int
	MPL     uint32
	QoS     qos.Spec
	ReqData []byte
	Direct  bool
	AppEnd  []*os.File // the accepter's channel end
}

// RespondAccept gives a flow request for name to the first active accepter, in
// one step: that flow goes from ACCEPT_PENDING to ALLOCATED with a's fields.
// It returns the accepted flow, or false if nobody is accepting.
func (r *Registry) RespondAccept(name string, a Answer) (Flow, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.names[name]
	if !ok {
		return Flow{}, false
	}
	for len(n.active) > 0 {
		e := n.active[0]
		f, ok := r.flows[e.flow]
		if !ok || f.State != FlowAcceptPending {
			n.active = n.active[1:] // stale entry
			continue
		}
		f.N1Pid = a.N1Pid
		f.MPL = a.MPL
		f.QoS = a.QoS
		f.ReqData = slices.Clone(a.ReqData)
		f.Direct = a.Direct
		f.Name = name
		f.AppEnd = a.AppEnd
		r.setStateLocked(f, FlowAllocated)
		r.notifyLocked()
		return f.copy(), true
	}
	return Flow{}, false
}

// TakeAppEnd hands over the application's channel end stored in the flow.
func (r *Registry) TakeAppEnd(id int) []*os.File {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok {
		return nil
	}
	e := f.AppEnd
	f.AppEnd = nil
	return e
}

// SetRspData stores the OAP response of a flow.
func (r *Registry) SetRspData(id int, rsp []byte) {
	r.Do(func() {
		if f, ok := r.flows[id]; ok {
			f.RspData = slices.Clone(rsp)
		}
	})
}

// PrepareAlloc moves flow id from INIT to ALLOC_PENDING through the IPCP n1pid.
func (r *Registry) PrepareAlloc(id, n1pid int, reqData []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || f.State != FlowInit {
		return ErrNotFound
	}
	f.N1Pid = n1pid
	f.ReqData = slices.Clone(reqData)
	f.State = FlowAllocPending
	r.notifyLocked()
	return nil
}

// AllocReply records the IPCP's answer to an allocation: response 0 makes the
// flow ALLOCATED, anything else DEALLOCATED with the response kept.
func (r *Registry) AllocReply(id int, response int32, mpl uint32, rsp []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || f.State != FlowAllocPending {
		return ErrNotFound
	}
	f.Response = response
	f.RspData = slices.Clone(rsp)
	if response != 0 {
		r.setStateLocked(f, FlowDeallocated)
	} else {
		f.MPL = mpl
		r.setStateLocked(f, FlowAllocated)
	}
	r.notifyLocked()
	return nil
}

// Fail moves a pending flow to DEALLOCATED (timeout, abort).
func (r *Registry) Fail(id int) {
	r.Do(func() {
		if f, ok := r.flows[id]; ok && f.State != FlowNull {
			r.setStateLocked(f, FlowDeallocated)
		}
	})
}

// DeallocResult says what the daemon must do after an application's dealloc.
type DeallocResult int

// Dealloc outcomes.
const (
	DeallocDone      DeallocResult = iota // nothing more: flow destroyed or already gone
	DeallocNotifyIPC                      // tell the IPCP (N1Pid) to release the flow
	DeallocWaitPeer                       // direct flow: the other side is still there
)

// Dealloc handles an application's deallocation of flow id by pid. A flow
// through an IPCP goes to DEALLOC_PENDING (the IPCP confirms later); a direct
// flow marks the caller's side Gone and is destroyed when both sides are gone.
func (r *Registry) Dealloc(id, pid int) (Flow, DeallocResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok {
		return Flow{}, DeallocDone, ErrNotFound
	}
	if f.Direct {
		switch pid {
		case f.NPid:
			f.NPid = Gone
		case f.N1Pid:
			f.N1Pid = Gone
		default:
			return Flow{}, DeallocDone, ErrNotFound
		}
		f.Name = ""
		c := f.copy()
		if f.NPid == Gone && f.N1Pid == Gone {
			r.destroyLocked(f, FlowDeallocated)
			return c, DeallocDone, nil
		}
		r.setStateLocked(f, FlowDeallocPending)
		r.notifyLocked()
		return c, DeallocWaitPeer, nil
	}
	if f.NPid != pid {
		return Flow{}, DeallocDone, ErrNotFound
	}
	switch f.State {
	case FlowAllocated:
		f.Name = ""
		r.setStateLocked(f, FlowDeallocPending)
		r.notifyLocked()
		return f.copy(), DeallocNotifyIPC, nil
	case FlowDeallocPending:
		return f.copy(), DeallocDone, nil
	}
	return Flow{}, DeallocDone, ErrNotFound
}

// DeallocResp handles the IPCP's confirmation (IPCP_FLOW_DEALLOC): the flow is
// destroyed. It reports whether the flow existed.
func (r *Registry) DeallocResp(id int) bool {
	r.mu.Lock()
	_, ok := r.flows[id]
	r.mu.Unlock()
	if ok {
		r.DestroyFlow(id)
	}
	return ok
}
