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
	// Cipher and Key are the accepter's flow key of a direct flow, agreed
	// by the IRMd for both ends (cipher 0: not encrypted).
	Cipher uint16
	Key    []byte
	// Peer is the client's authenticated name of a direct flow ("" if it
	// sent no certificate), for the accepter's reply.
	Peer string
	// AppEnd is the application's end of the flow's channel, held from the
	// moment the flow is answered until the accept/alloc reply hands it over.
	AppEnd []*os.File

	// Holders of the id (see "Flow ids" in the package doc). The record, and
	// with it the id, stays in the table while any of them is set.
	AppHeld  bool // the application side: NPid, or the request serving it
	InReq    bool // the application side still belongs to the request serving it (not handed over)
	IPCPHeld bool // the IPCP N1Pid was given the id (or may have been) and has not released it
	Asked    bool // IPCP_FLOW_DEALLOC was sent for the IPCP's hold: its answer ends the hold
}

func (f *Flow) copy() Flow {
	c := *f
	c.ReqData = slices.Clone(f.ReqData)
	c.RspData = slices.Clone(f.RspData)
	c.Key = slices.Clone(f.Key)
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

// CreateFlow adds a flow in state INIT for process npid with the lowest free id;
// the request serving npid holds its application side (AppHeld, InReq). A flow
// needs a process: npid <= 0 is oerr.EINVAL. With every id held it fails with
// ErrNoFlowIDs.
func (r *Registry) CreateFlow(npid int, q qos.Spec) (int, error) {
	if npid <= 0 {
		return 0, oerr.EINVAL
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.freeIDLocked()
	if id == 0 {
		return 0, ErrNoFlowIDs
	}
	r.flows[id] = &Flow{ID: id, NPid: npid, QoS: q, State: FlowInit, T0: time.Now(), AppHeld: true, InReq: true}
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

// DestroyFlow removes a flow and frees its id whoever holds it; it closes a
// channel end that was never handed over. Only for a flow no IPCP was given
// and no process received: everything else is released with Release.
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
	Cipher  uint16     // direct flows: the accepter's cipher (0: none)
	Key     []byte     // and its flow key
	Peer    string     // direct flows: the client's authenticated name
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
		f.Cipher, f.Key = a.Cipher, slices.Clone(a.Key)
		f.Peer = a.Peer
		f.Name = name
		f.AppEnd = a.AppEnd
		// The IPCP holds the id from the reply to its request on (a reply
		// that cannot be sent is undone with IPCPReleased).
		f.IPCPHeld = !a.Direct
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

// PrepareAlloc moves flow id from INIT to ALLOC_PENDING through the IPCP n1pid,
// which holds the id from now on: the caller sends it IPCP_FLOW_ALLOC next.
func (r *Registry) PrepareAlloc(id, n1pid int, reqData []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || f.State != FlowInit {
		return ErrNotFound
	}
	f.N1Pid = n1pid
	f.IPCPHeld = true
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
	DeallocDone      DeallocResult = iota // nothing more: flow destroyed or waiting for its IPCP
	DeallocNotifyIPC                      // ask the IPCP (N1Pid) to release the flow, then IPCPReleased
	DeallocWaitPeer                       // direct flow: the other side is still there
)

// Dealloc handles an application's deallocation of flow id by pid (Release);
// a flow still owned by the request serving pid is not the application's to
// deallocate (ErrNotFound), nor is one pid does not hold (unless it is the
// same deallocation again).
func (r *Registry) Dealloc(id, pid int) (Flow, DeallocResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || (f.InReq && f.NPid == pid && !f.Direct) {
		return Flow{}, DeallocDone, ErrNotFound
	}
	if !f.Direct && f.NPid == pid && !f.AppHeld && f.State == FlowDeallocPending {
		return f.copy(), DeallocDone, nil // deallocated twice: still waiting for the IPCP
	}
	return r.releaseLocked(f, pid)
}

// Release ends pid's hold on flow id: its request failed or was abandoned, or
// the process deallocated or died. A direct flow marks pid's side Gone and is
// destroyed when both sides are. Through an IPCP the application side is
// released and the flow waits in DEALLOC_PENDING for its IPCP: the result is
// DeallocNotifyIPC exactly once per IPCP hold, and the caller then sends
// IPCP_FLOW_DEALLOC and reports the answer with IPCPReleased. ErrNotFound if
// pid holds no side of the flow (it was released already).
func (r *Registry) Release(id, pid int) (Flow, DeallocResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok {
		return Flow{}, DeallocDone, ErrNotFound
	}
	return r.releaseLocked(f, pid)
}

func (r *Registry) releaseLocked(f *Flow, pid int) (Flow, DeallocResult, error) {
	if f.Direct {
		switch {
		case pid == f.NPid:
			f.NPid = Gone
			f.InReq = false
		case pid == f.N1Pid:
			f.N1Pid = Gone
		default:
			return Flow{}, DeallocDone, ErrNotFound
		}
		f.Name = ""
		c := f.copy()
		if r.settleLocked(f) {
			return c, DeallocDone, nil
		}
		r.setStateLocked(f, FlowDeallocPending)
		r.notifyLocked()
		return c, DeallocWaitPeer, nil
	}
	if f.NPid != pid || !f.AppHeld {
		return Flow{}, DeallocDone, ErrNotFound
	}
	f.AppHeld, f.InReq = false, false
	f.Name = ""
	res := DeallocDone
	if f.IPCPHeld && !f.Asked {
		f.Asked = true
		res = DeallocNotifyIPC
	}
	c := f.copy()
	if !r.settleLocked(f) {
		r.setStateLocked(f, FlowDeallocPending)
		r.notifyLocked()
	}
	return c, res, nil
}

// settleLocked frees the id of a flow nobody holds any more (and closes a
// channel end never handed over); it reports whether it did.
func (r *Registry) settleLocked(f *Flow) bool {
	if f.Direct {
		if f.NPid != Gone || f.N1Pid != Gone {
			return false
		}
	} else if f.AppHeld || f.IPCPHeld {
		return false
	}
	r.destroyLocked(f, FlowDeallocated)
	return true
}

// HandOver gives the allocated flow id to process pid: the request serving
// pid is about to send it the flow, and from now on the process holds it (it may deallocate
// it at once). It returns false if pid is no longer there; the request then
// releases the flow itself.
func (r *Registry) HandOver(id, pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || f.State != FlowAllocated {
		return false
	}
	if f.NPid != pid || !f.InReq {
		return f.Direct && f.N1Pid == pid // the client side of a direct flow has no request
	}
	if _, alive := r.procs[pid]; !alive {
		return false
	}
	f.InReq = false
	return true
}

// IPCPReleased records that the IPCP n1pid no longer holds flow id: it
// answered IPCP_FLOW_ALLOC with an error, answered our IPCP_FLOW_DEALLOC, or
// never received the id. The id is freed if nobody else holds it. It reports
// whether the IPCP held the flow.
func (r *Registry) IPCPReleased(id, n1pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || f.Direct || f.N1Pid != n1pid || !f.IPCPHeld {
		return false
	}
	f.IPCPHeld, f.Asked = false, false
	if !r.settleLocked(f) {
		r.touchLocked(FlowTopic(f.ID))
		r.notifyLocked()
	}
	return true
}

// DeallocResp handles an IPCP_FLOW_DEALLOC that the IPCP n1pid sent of its
// own accord: it released flow id. While our own IPCP_FLOW_DEALLOC for the
// hold is out (Asked), its answer is what counts, so the message changes
// nothing (one release per hold: a late message must never release a later
// flow that reuses the id). A flow the application still holds goes down
// (DEALLOCATED). It reports whether the message released the IPCP's hold.
func (r *Registry) DeallocResp(id, n1pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.flows[id]
	if !ok || f.Direct || f.N1Pid != n1pid || !f.IPCPHeld || f.Asked {
		return false
	}
	f.IPCPHeld = false
	if !r.settleLocked(f) {
		r.setStateLocked(f, FlowDeallocated)
		r.notifyLocked()
	}
	return true
}

// Census counts the flows in the table: all of them, those waiting only for
// their IPCP to release the id, and those an IPCP holds.
type Census struct {
	Flows, Releasing, IPCPHeld int
}

// Census returns the counts of the flow table.
func (r *Registry) Census() Census {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Census{Flows: len(r.flows)}
	for _, f := range r.flows {
		if f.IPCPHeld {
			c.IPCPHeld++
			if !f.AppHeld {
				c.Releasing++
			}
		}
	}
	return c
}
