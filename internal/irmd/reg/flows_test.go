package reg

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// ---- flow_test.c -------------------------------------------------------------

// test_reg_flow_create_destroy: create a flow {id 1, n_pid 1, INIT} and destroy it.
func TestFlowCreateDestroy(t *testing.T) {
	t.Parallel()
	r := New()
	id, err := r.CreateFlow(1, qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	f := mustGetFlow(t, r, id)
	if f.ID != 1 || f.NPid != 1 || f.State != FlowInit || f.QoS != qos.Raw {
		t.Errorf("new flow = %+v, want id 1, n_pid 1, INIT, qos raw", f)
	}
	if f.T0.IsZero() {
		t.Error("t0 not recorded")
	}
	r.DestroyFlow(id)
	if _, ok := r.GetFlow(id); ok {
		t.Error("flow still there after DestroyFlow")
	}
	if got := state(r, id); got != FlowNull {
		t.Errorf("state of destroyed flow = %v, want NULL", got)
	}
	r.DestroyFlow(id) // destroying a gone flow is harmless
}

// test_reg_flow_update: updating a fresh flow with state DEALLOCATED copies
// the new info exactly. The Go registry has no generic update: a fresh flow is
// failed with Fail (timeout/abort), which must change the state and nothing
// else; AllocReply must store exactly the fields it is given.
func TestFlowUpdate(t *testing.T) {
	t.Parallel()
	r := New()
	id := mustFlow(t, r, 1)
	before := mustGetFlow(t, r, id)
	r.Fail(id)
	after := mustGetFlow(t, r, id)
	if after.State != FlowDeallocated {
		t.Errorf("state after Fail = %v, want DEALLOCATED", after.State)
	}
	after.State = before.State
	if !flowEqual(before, after) {
		t.Errorf("Fail changed more than the state:\n before %+v\n after  %+v", before, after)
	}

	id2 := mustFlow(t, r, 2)
	if err := r.PrepareAlloc(id2, 77, []byte("req")); err != nil {
		t.Fatal(err)
	}
	if err := r.AllocReply(id2, 0, 2, []byte("rsp")); err != nil {
		t.Fatal(err)
	}
	f := mustGetFlow(t, r, id2)
	want := Flow{ID: id2, NPid: 2, N1Pid: 77, MPL: 2, QoS: qos.Raw, State: FlowAllocated,
		ReqData: []byte("req"), RspData: []byte("rsp"), T0: f.T0}
	if !flowEqual(f, want) {
		t.Errorf("after AllocReply:\n got  %+v\n want %+v", f, want)
	}
}

func flowEqual(a, b Flow) bool {
	return a.ID == b.ID && a.NPid == b.NPid && a.N1Pid == b.N1Pid && a.UID == b.UID &&
		a.MPL == b.MPL && a.QoS == b.QoS && a.State == b.State && a.Response == b.Response &&
		slices.Equal(a.ReqData, b.ReqData) && slices.Equal(a.RspData, b.RspData) &&
		a.T0.Equal(b.T0) && a.Name == b.Name && a.Direct == b.Direct && slices.Equal(a.AppEnd, b.AppEnd)
}

// test_reg_flow_assert_fails: the C asserts on malformed creates and updates.
// In Go most of them cannot be expressed; the rest return errors.
func TestFlowAssertFails(t *testing.T) {
	t.Parallel()

	// _create_no_id (id 0): the registry assigns ids itself, from 1; id 0
	// is never handed out, not even when the table is full (then CreateFlow
	// fails). See also TestFlowTableFull.
	t.Run("create_no_id", func(t *testing.T) {
		t.Parallel()
		r := New()
		for range 100 {
			if id := mustFlow(t, r, 1); id == 0 {
				t.Fatal("CreateFlow returned id 0")
			}
		}
	})

	// _create_no_pid (n_pid 0): CreateFlow refuses a flow without a process.
	t.Run("create_no_pid", func(t *testing.T) {
		t.Parallel()
		r := New()
		for _, pid := range []int{0, Gone} {
			id, err := r.CreateFlow(pid, qos.Raw)
			if !errors.Is(err, oerr.EINVAL) || id != 0 {
				t.Errorf("CreateFlow(%d) = %d, %v; want 0, EINVAL", pid, id, err)
			}
		}
		if n := len(r.ListFlows()); n != 0 {
			t.Errorf("%d flows after refused creates", n)
		}
	})

	// _create_has_n_1_pid, _create_wrong_state, _create_has_mpl: CreateFlow
	// takes only n_pid and qos, so a new flow always has n_1_pid 0, state
	// INIT and mpl 0.
	t.Run("create_fields", func(t *testing.T) {
		t.Parallel()
		r := New()
		f := mustGetFlow(t, r, mustFlow(t, r, 5))
		if f.N1Pid != 0 || f.State != FlowInit || f.MPL != 0 || f.Direct || f.Name != "" ||
			f.ReqData != nil || f.RspData != nil || f.Response != 0 || f.AppEnd != nil {
			t.Errorf("new flow %+v has more than id, n_pid, qos", f)
		}
	})

	// _update_wrong_id: every transition names the flow by id, so one flow
	// cannot be updated with another's info; an unknown id is an error and
	// leaves the existing flows alone.
	t.Run("update_wrong_id", func(t *testing.T) {
		t.Parallel()
		r := New()
		mustProc(t, r, 5, "p")
		id := mustFlow(t, r, 5)
		other := id + 1
		before := mustGetFlow(t, r, id)
		for name, err := range map[string]error{
			"PrepareAlloc":  r.PrepareAlloc(other, 9, nil),
			"PrepareAccept": r.PrepareAccept(other),
			"AllocReply":    r.AllocReply(other, 0, 1, nil),
			"Dealloc":       func() error { _, _, err := r.Dealloc(other, 5); return err }(),
		} {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s(unknown id) = %v, want ErrNotFound", name, err)
			}
		}
		if r.DeallocResp(other, 9) || r.IPCPReleased(other, 9) {
			t.Error("DeallocResp or IPCPReleased(unknown id) = true")
		}
		r.Fail(other)
		r.SetRspData(other, []byte("x"))
		if r.TakeAppEnd(other) != nil {
			t.Error("TakeAppEnd(unknown id) != nil")
		}
		if after := mustGetFlow(t, r, id); !flowEqual(before, after) {
			t.Errorf("flow changed by operations on another id:\n before %+v\n after  %+v", before, after)
		}
		if n := len(r.ListFlows()); n != 1 {
			t.Errorf("%d flows, want 1", n)
		}
	})
}

// ---- reg_test.c: flows ---------------------------------------------------------

// test_reg_create_flow: id != 0, list length 1, destroy empties.
func TestRegCreateFlow(t *testing.T) {
	t.Parallel()
	r := New()
	id := mustFlow(t, r, 1)
	if id == 0 {
		t.Fatal("id 0")
	}
	if fl := r.ListFlows(); len(fl) != 1 || fl[0].ID != id {
		t.Fatalf("ListFlows = %+v, want one flow %d", fl, id)
	}
	r.DestroyFlow(id)
	if fl := r.ListFlows(); len(fl) != 0 {
		t.Fatalf("ListFlows after destroy = %+v", fl)
	}
}

func TestFlowIDsLowestFree(t *testing.T) {
	t.Parallel()
	r := New()
	for want := 1; want <= 5; want++ {
		if id := mustFlow(t, r, 1); id != want {
			t.Fatalf("id = %d, want %d", id, want)
		}
	}
	r.DestroyFlow(4)
	r.DestroyFlow(2)
	for _, want := range []int{2, 4, 6, 7} {
		if id := mustFlow(t, r, 1); id != want {
			t.Fatalf("id = %d, want %d", id, want)
		}
	}
	r.DestroyFlow(1)
	r.DestroyFlow(7)
	r.DestroyFlow(6)
	for _, want := range []int{1, 6, 7, 8} {
		if id := mustFlow(t, r, 1); id != want {
			t.Fatalf("id = %d, want %d", id, want)
		}
	}
	if got := ids(r.ListFlows()); !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("ListFlows ids = %v, want 1..8 ascending", got)
	}
}

func ids(fl []Flow) []int {
	out := make([]int, len(fl))
	for i, f := range fl {
		out[i] = f.ID
	}
	return out
}

// TestFlowIDsModel checks the lowest-free-id rule against a model over random
// creates and destroys (fixed seed, so it is reproducible).
func TestFlowIDsModel(t *testing.T) {
	t.Parallel()
	r := New()
	rng := rand.New(rand.NewPCG(1, 2))
	used := map[int]bool{}
	lowest := func() int {
		for id := 1; ; id++ {
			if !used[id] {
				return id
			}
		}
	}
	for i := range 5000 {
		if len(used) == 0 || rng.IntN(3) != 0 {
			want := lowest()
			id := mustFlow(t, r, 1)
			if id != want {
				t.Fatalf("step %d: CreateFlow = %d, want lowest free %d", i, id, want)
			}
			used[id] = true
			continue
		}
		keys := make([]int, 0, len(used))
		for k := range used {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		id := keys[rng.IntN(len(keys))]
		r.DestroyFlow(id)
		delete(used, id)
	}
	if got, want := len(r.ListFlows()), len(used); got != want {
		t.Errorf("%d flows, model has %d", got, want)
	}
}

// Ids run from 1 to MaxFlows-1; when all are taken CreateFlow fails (and never
// returns id 0 as a valid id).
func TestFlowTableFull(t *testing.T) {
	t.Parallel()
	r := New()
	for want := 1; want < MaxFlows; want++ {
		if id := mustFlow(t, r, 1); id != want {
			t.Fatalf("id = %d, want %d", id, want)
		}
	}
	if id, err := r.CreateFlow(1, qos.Raw); err == nil || id != 0 {
		t.Fatalf("CreateFlow on a full table = %d, %v; want 0 and an error", id, err)
	}
	r.DestroyFlow(5000)
	if id := mustFlow(t, r, 1); id != 5000 {
		t.Fatalf("id after freeing 5000 = %d", id)
	}
	r.DestroyFlow(MaxFlows - 1)
	if id := mustFlow(t, r, 1); id != MaxFlows-1 {
		t.Fatalf("id after freeing the last = %d", id)
	}
}

// TestFlowStateMachine walks the transitions of the flow state machine, valid and
// invalid. Process 10 is the application, 20 an IPCP, 30 a direct peer.
func TestFlowStateMachine(t *testing.T) {
	t.Parallel()
	const app, ipcp, peer = 10, 20, 30
	type op func(r *Registry, id int) error
	var (
		alloc   op = func(r *Registry, id int) error { return r.PrepareAlloc(id, ipcp, []byte("req")) }
		accept  op = func(r *Registry, id int) error { return r.PrepareAccept(id) }
		replyOK op = func(r *Registry, id int) error { return r.AllocReply(id, 0, 7, []byte("rsp")) }
		replyNo op = func(r *Registry, id int) error { return r.AllocReply(id, -int32(oerr.ENAME), 7, nil) }
		respond op = func(r *Registry, id int) error {
			f, ok := r.RespondAccept("n", Answer{N1Pid: ipcp, MPL: 3, QoS: qos.Voice, ReqData: []byte("oap")})
			if !ok || f.ID != id {
				return ErrNotFound
			}
			return nil
		}
		direct op = func(r *Registry, id int) error {
			f, ok := r.RespondAccept("n", Answer{N1Pid: peer, MPL: 1, QoS: qos.Data, Direct: true})
			if !ok || f.ID != id {
				return ErrNotFound
			}
			return nil
		}
		fail    op = func(r *Registry, id int) error { r.Fail(id); return nil }
		die     op = func(r *Registry, id int) error { r.DestroyProc(app); return nil }
		ipcpDie op = func(r *Registry, id int) error { r.DestroyProc(ipcp); return nil }
		dealloc op = func(r *Registry, id int) error {
			r.HandOver(id, app) // the reply gave it to the process (if allocated)
			_, _, err := r.Dealloc(id, app)
			return err
		}
		stranger op = func(r *Registry, id int) error {
			_, _, err := r.Dealloc(id, 99)
			return err
		}
		resp op = func(r *Registry, id int) error {
			if !r.IPCPReleased(id, ipcp) {
				return ErrNotFound
			}
			return nil
		}
	)
	cases := []struct {
		name    string
		setup   []op
		op      op
		wantErr error
		want    FlowState
		check   func(t *testing.T, f Flow)
	}{
		{"INIT->ALLOC_PENDING", nil, alloc, nil, FlowAllocPending, func(t *testing.T, f Flow) {
			if f.N1Pid != ipcp || string(f.ReqData) != "req" {
				t.Errorf("n_1_pid %d, req %q", f.N1Pid, f.ReqData)
			}
		}},
		{"INIT->ACCEPT_PENDING", nil, accept, nil, FlowAcceptPending, nil},
		{"ALLOC_PENDING->ALLOCATED", []op{alloc}, replyOK, nil, FlowAllocated, func(t *testing.T, f Flow) {
			if f.MPL != 7 || string(f.RspData) != "rsp" || f.Response != 0 {
				t.Errorf("mpl %d, rsp %q, response %d", f.MPL, f.RspData, f.Response)
			}
		}},
		{"ALLOC_PENDING->DEALLOCATED (refused)", []op{alloc}, replyNo, nil, FlowDeallocated, func(t *testing.T, f Flow) {
			if f.Response != -int32(oerr.ENAME) || f.MPL != 0 {
				t.Errorf("response %d, mpl %d", f.Response, f.MPL)
			}
		}},
		{"ACCEPT_PENDING->ALLOCATED", []op{accept}, respond, nil, FlowAllocated, func(t *testing.T, f Flow) {
			if f.N1Pid != ipcp || f.MPL != 3 || f.QoS != qos.Voice || string(f.ReqData) != "oap" ||
				f.Name != "n" || f.Direct {
				t.Errorf("accepted flow %+v", f)
			}
		}},
		{"ACCEPT_PENDING->ALLOCATED (direct)", []op{accept}, direct, nil, FlowAllocated, func(t *testing.T, f Flow) {
			if f.N1Pid != peer || f.MPL != 1 || f.QoS != qos.Data || !f.Direct || f.NPid != app {
				t.Errorf("direct flow %+v", f)
			}
		}},
		{"ALLOC_PENDING->DEALLOCATED (timeout)", []op{alloc}, fail, nil, FlowDeallocated, nil},
		{"ACCEPT_PENDING->DEALLOCATED (timeout)", []op{accept}, fail, nil, FlowDeallocated, nil},
		{"INIT->DEALLOCATED (process died)", nil, die, nil, FlowDeallocated, nil},
		{"ALLOC_PENDING->DEALLOCATED (process died)", []op{alloc}, die, nil, FlowDeallocated, nil},
		{"ACCEPT_PENDING->DEALLOCATED (process died)", []op{accept}, die, nil, FlowDeallocated, nil},
		{"ALLOC_PENDING->DEALLOCATED (IPCP died)", []op{alloc}, ipcpDie, nil, FlowDeallocated, nil},
		{"ALLOCATED stays (process died)", []op{alloc, replyOK}, die, nil, FlowAllocated, nil},
		{"ALLOCATED->DEALLOC_PENDING", []op{alloc, replyOK}, dealloc, nil, FlowDeallocPending, func(t *testing.T, f Flow) {
			if f.Name != "" {
				t.Errorf("name %q not cleared", f.Name)
			}
		}},
		{"accepted ALLOCATED->DEALLOC_PENDING clears name", []op{accept, respond}, dealloc, nil, FlowDeallocPending, func(t *testing.T, f Flow) {
			if f.Name != "" {
				t.Errorf("name %q not cleared", f.Name)
			}
		}},
		{"DEALLOC_PENDING stays on repeated dealloc", []op{alloc, replyOK, dealloc}, dealloc, nil, FlowDeallocPending, nil},
		{"DEALLOC_PENDING->destroyed by IPCP", []op{alloc, replyOK, dealloc}, resp, nil, FlowNull, nil},

		// Invalid transitions leave the flow as it was.
		{"PrepareAlloc on ACCEPT_PENDING", []op{accept}, alloc, ErrNotFound, FlowAcceptPending, nil},
		{"PrepareAlloc on ALLOC_PENDING", []op{alloc}, alloc, ErrNotFound, FlowAllocPending, nil},
		{"PrepareAccept on ALLOC_PENDING", []op{alloc}, accept, ErrNotFound, FlowAllocPending, nil},
		{"PrepareAccept on ACCEPT_PENDING", []op{accept}, accept, ErrNotFound, FlowAcceptPending, nil},
		{"AllocReply on INIT", nil, replyOK, ErrNotFound, FlowInit, nil},
		{"AllocReply on ACCEPT_PENDING", []op{accept}, replyOK, ErrNotFound, FlowAcceptPending, nil},
		{"AllocReply on ALLOCATED", []op{alloc, replyOK}, replyNo, ErrNotFound, FlowAllocated, nil},
		{"AllocReply on DEALLOCATED", []op{alloc, fail}, replyOK, ErrNotFound, FlowDeallocated, nil},
		{"RespondAccept with no accept", nil, respond, ErrNotFound, FlowInit, nil},
		{"Dealloc on INIT", nil, dealloc, ErrNotFound, FlowInit, nil},
		{"Dealloc on ALLOC_PENDING", []op{alloc}, dealloc, ErrNotFound, FlowAllocPending, nil},
		{"Dealloc by another process", []op{alloc, replyOK}, stranger, ErrNotFound, FlowAllocated, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := New()
			mustProc(t, r, app, "app")
			mustProc(t, r, ipcp, "ipcpd-unicast")
			if err := r.CreateIPCP(IPCP{PID: ipcp, Type: 1}); err != nil {
				t.Fatal(err)
			}
			if err := r.BindProcess(app, "n"); err != nil {
				t.Fatal(err)
			}
			id := mustFlow(t, r, app)
			for i, s := range c.setup {
				if err := s(r, id); err != nil {
					t.Fatalf("setup step %d: %v", i, err)
				}
			}
			err := c.op(r, id)
			if !errors.Is(err, c.wantErr) {
				t.Errorf("op error = %v, want %v", err, c.wantErr)
			}
			if got := state(r, id); got != c.want {
				t.Errorf("state = %v, want %v", got, c.want)
			}
			if c.check != nil && err == nil {
				if f, ok := r.GetFlow(id); ok {
					c.check(t, f)
				}
			}
			// Only ACCEPT_PENDING flows may be active.
			if acc := active(t, r, "n"); c.want != FlowAcceptPending && len(acc) != 0 {
				t.Errorf("active list %v for a flow in %v", acc, c.want)
			} else if c.want == FlowAcceptPending && !slices.Equal(acc, []int{app}) {
				t.Errorf("active list %v, want [%d]", acc, app)
			}
		})
	}
}

// Only an announced process can accept.
func TestPrepareAcceptUnknownProcess(t *testing.T) {
	t.Parallel()
	r := New()
	id := mustFlow(t, r, 55)
	if err := r.PrepareAccept(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("PrepareAccept for an unannounced process = %v, want ErrNotFound", err)
	}
	if s := state(r, id); s != FlowInit {
		t.Errorf("state = %v, want INIT", s)
	}
}

// test_reg_allocate_flow_timeout: an accept waiting with a 1 ms deadline gets
// ETIMEDOUT and the flow ends DEALLOCATED (in Go the waiter fails it).
func TestRegAllocateFlowTimeout(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1, "srv")
	if err := r.BindProcess(1, "testname"); err != nil {
		t.Fatal(err)
	}
	id := mustAccept(t, r, 1)
	err := r.Wait(context.Background(), short(), func() bool { return r.FlowStateLocked(id) != FlowAcceptPending })
	if !errors.Is(err, oerr.ETIMEDOUT) {
		t.Fatalf("Wait = %v, want ETIMEDOUT", err)
	}
	r.Fail(id)
	if s := state(r, id); s != FlowDeallocated {
		t.Errorf("state = %v, want DEALLOCATED", s)
	}
	if acc := active(t, r, "testname"); len(acc) != 0 {
		t.Errorf("timed-out accept still active: %v", acc)
	}
	if _, ok := r.RespondAccept("testname", Answer{N1Pid: 2}); ok {
		t.Error("RespondAccept took a timed-out accept")
	}
}

// test_reg_accept_flow_success (and _no_crypt: same without checking the
// payload): a goroutine answers the pending accept with request data; the
// accepter sees ALLOCATED and the data; dealloc -> DEALLOC_PENDING; the IPCP's
// dealloc completes it (the C sets DEALLOCATED; here the flow is destroyed).
func TestRegAcceptFlowSuccess(t *testing.T) {
	t.Parallel()
	for _, data := range [][]byte{[]byte("testpbufdata2"), nil} {
		name := "crypt"
		if data == nil {
			name = "no_crypt"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const srv, ipcp = 100, 200
			r := New()
			mustProc(t, r, srv, "srv")
			if err := r.BindProcess(srv, "testname"); err != nil {
				t.Fatal(err)
			}
			id := mustAccept(t, r, srv)

			var wg sync.WaitGroup
			wg.Go(func() {
				wait(t, r, "accepter", func() bool { return r.HasAccepterLocked("testname") })
				f, ok := r.RespondAccept("testname", Answer{N1Pid: ipcp, MPL: 2, QoS: qos.Voice, ReqData: data})
				if !ok || f.ID != id {
					t.Errorf("RespondAccept = %d, %v; want %d, true", f.ID, ok, id)
				}
			})
			wait(t, r, "accept", func() bool { return r.FlowStateLocked(id) != FlowAcceptPending })
			wg.Wait()

			f := mustGetFlow(t, r, id)
			if f.State != FlowAllocated || f.N1Pid != ipcp || f.MPL != 2 || f.QoS != qos.Voice ||
				f.Name != "testname" || f.NPid != srv {
				t.Errorf("accepted flow %+v", f)
			}
			if data != nil && string(f.ReqData) != string(data) {
				t.Errorf("request data %q, want %q", f.ReqData, data)
			}
			if !r.HandOver(id, srv) {
				t.Fatal("HandOver failed")
			}
			if _, res, err := r.Dealloc(id, srv); err != nil || res != DeallocNotifyIPC {
				t.Fatalf("Dealloc = %v, %v; want DeallocNotifyIPC", res, err)
			}
			if s := state(r, id); s != FlowDeallocPending {
				t.Errorf("state after dealloc = %v, want DEALLOC_PENDING", s)
			}
			if !r.IPCPReleased(id, ipcp) {
				t.Fatal("IPCPReleased: flow gone")
			}
			if s := state(r, id); s != FlowNull {
				t.Errorf("state after dealloc resp = %v, want the flow destroyed", s)
			}
		})
	}
}

// test_reg_allocate_flow_fail: alloc pending; the IPCP answers with -1; the
// waiter wakes, the flow is DEALLOCATED and the response kept.
func TestRegAllocateFlowFail(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		response int32
		want     FlowState
	}{{"fail", -1, FlowDeallocated}, {"success", 0, FlowAllocated}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := New()
			id := mustFlow(t, r, 1)
			if err := r.PrepareAlloc(id, 2, []byte("testpbufdata")); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() {
				if err := r.AllocReply(id, c.response, 5, []byte("rsp")); err != nil {
					t.Errorf("AllocReply: %v", err)
				}
			})
			wait(t, r, "alloc reply", func() bool { return r.FlowStateLocked(id) != FlowAllocPending })
			wg.Wait()
			f := mustGetFlow(t, r, id)
			if f.State != c.want || f.Response != c.response {
				t.Errorf("flow %v response %d, want %v %d", f.State, f.Response, c.want, c.response)
			}
		})
	}
}

// test_reg_direct_flow_success: a client prepares a direct flow with request
// data, the accepter receives it and answers, the client gets the answer;
// dealloc by the server -> DEALLOC_PENDING, again by the server stays, by the
// client -> gone (the C reports DEALLOCATED; Go destroys the flow and frees the
// id at that point).
func TestRegDirectFlowSuccess(t *testing.T) {
	t.Parallel()
	const srv, cli = 100, 101
	r := New()
	mustProc(t, r, srv, "srv")
	mustProc(t, r, cli, "cli")
	if err := r.BindProcess(srv, "testname"); err != nil {
		t.Fatal(err)
	}
	id := mustAccept(t, r, srv)

	rsp := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() { // the client's allocation
		wait(t, r, "accepter", func() bool { return r.HasAccepterLocked("testname") })
		f, ok := r.RespondAccept("testname", Answer{N1Pid: cli, MPL: 1, QoS: qos.Data,
			ReqData: []byte("testpbufdata"), Direct: true})
		if !ok || f.ID != id {
			t.Errorf("RespondAccept = %d, %v; want %d, true", f.ID, ok, id)
			rsp <- ""
			return
		}
		var got []byte
		wait(t, r, "response", func() bool {
			got = r.flowLocked(id).RspData
			return got != nil
		})
		rsp <- string(got)
	})

	wait(t, r, "accept", func() bool { return r.FlowStateLocked(id) != FlowAcceptPending })
	f := mustGetFlow(t, r, id)
	if f.State != FlowAllocated || !f.Direct || string(f.ReqData) != "testpbufdata" ||
		f.NPid != srv || f.N1Pid != cli || f.MPL != 1 || f.QoS != qos.Data {
		t.Fatalf("direct flow %+v", f)
	}
	r.SetRspData(id, []byte("testpbufdata2"))
	if got := <-rsp; got != "testpbufdata2" {
		t.Errorf("client got response %q", got)
	}
	wg.Wait()

	g, res, err := r.Dealloc(id, srv)
	if err != nil || res != DeallocWaitPeer || g.NPid != Gone || g.N1Pid != cli {
		t.Fatalf("Dealloc(server) = %+v, %v, %v; want server side gone, DeallocWaitPeer", g, res, err)
	}
	if s := state(r, id); s != FlowDeallocPending {
		t.Fatalf("state = %v, want DEALLOC_PENDING", s)
	}
	// The same side again: the flow stays DEALLOC_PENDING. (The server's side
	// is already gone, so the call is refused with ErrNotFound.)
	if _, _, err := r.Dealloc(id, srv); !errors.Is(err, ErrNotFound) {
		t.Errorf("repeated Dealloc(server) = %v, want ErrNotFound", err)
	}
	if s := state(r, id); s != FlowDeallocPending {
		t.Fatalf("state after repeated dealloc = %v, want DEALLOC_PENDING", s)
	}
	if _, res, err := r.Dealloc(id, cli); err != nil || res != DeallocDone {
		t.Fatalf("Dealloc(client) = %v, %v; want DeallocDone", res, err)
	}
	if _, ok := r.GetFlow(id); ok {
		t.Fatal("direct flow still there after both sides deallocated")
	}
	if got := mustFlow(t, r, srv); got != id {
		t.Errorf("freed id not reused: got %d, want %d", got, id)
	}
}

// A process may allocate a direct flow to itself: both ends have its pid, and
// two deallocs by that pid end the flow.
func TestDirectFlowToSelf(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 7, "self")
	if err := r.BindProcess(7, "me"); err != nil {
		t.Fatal(err)
	}
	id := mustAccept(t, r, 7)
	if _, ok := r.RespondAccept("me", Answer{N1Pid: 7, MPL: 1, Direct: true}); !ok {
		t.Fatal("RespondAccept failed")
	}
	if _, res, err := r.Dealloc(id, 7); err != nil || res != DeallocWaitPeer {
		t.Fatalf("first Dealloc = %v, %v", res, err)
	}
	if _, res, err := r.Dealloc(id, 7); err != nil || res != DeallocDone {
		t.Fatalf("second Dealloc = %v, %v", res, err)
	}
	if _, ok := r.GetFlow(id); ok {
		t.Error("flow still there")
	}
}

// The accepter's channel end travels with the flow until it is taken; a flow
// destroyed before that closes it.
func TestFlowAppEnd(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T, direct bool) (*Registry, int, *os.File) {
		rd, wr, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rd.Close(); wr.Close() })
		r := New()
		mustProc(t, r, 1, "srv")
		mustProc(t, r, 2, "cli")
		if err := r.BindProcess(1, "n"); err != nil {
			t.Fatal(err)
		}
		id := mustAccept(t, r, 1)
		if _, ok := r.RespondAccept("n", Answer{N1Pid: 2, Direct: direct, AppEnd: []*os.File{wr}}); !ok {
			t.Fatal("RespondAccept failed")
		}
		return r, id, wr
	}
	closed := func(f *os.File) bool {
		_, err := f.Write([]byte{0})
		return errors.Is(err, os.ErrClosed)
	}

	t.Run("taken", func(t *testing.T) {
		t.Parallel()
		r, id, wr := setup(t, false)
		if got := r.TakeAppEnd(id); len(got) != 1 || got[0] != wr {
			t.Fatalf("TakeAppEnd = %v, want the stored file", got)
		}
		if r.TakeAppEnd(id) != nil {
			t.Error("second TakeAppEnd returned the file again")
		}
		r.DestroyFlow(id)
		if closed(wr) {
			t.Error("DestroyFlow closed a file already handed over")
		}
	})
	t.Run("destroyed", func(t *testing.T) {
		t.Parallel()
		r, id, wr := setup(t, false)
		r.DestroyFlow(id)
		if !closed(wr) {
			t.Error("DestroyFlow left the untaken channel end open")
		}
	})
	t.Run("direct dealloc", func(t *testing.T) {
		t.Parallel()
		r, id, wr := setup(t, true)
		r.Dealloc(id, 1)
		r.Dealloc(id, 2)
		if _, ok := r.GetFlow(id); ok {
			t.Fatal("flow still there")
		}
		if !closed(wr) {
			t.Error("direct flow ended by Dealloc left the untaken channel end open")
		}
	})
}

// The state numbers travel in flow_info_msg.
func TestFlowStateValues(t *testing.T) {
	t.Parallel()
	for i, name := range []string{"INIT", "ALLOC_PENDING", "ACCEPT_PENDING", "ALLOCATED",
		"DEALLOC_PENDING", "DEALLOCATED", "DESTROY", "NULL"} {
		if got := FlowState(i).String(); got != name {
			t.Errorf("FlowState(%d) = %s, want %s", i, got, name)
		}
	}
	if got := FlowState(100).String(); got != "?" {
		t.Errorf("FlowState(100) = %q", got)
	}
	if LBRoundRobin != 0 || LBSpill != 1 || LBPolicy(9).String() != "UNKNOWN" {
		t.Error("LB policy values")
	}
}
