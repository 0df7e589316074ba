package reg

import "testing"

// allocThrough makes a flow of app allocated through the IPCP ipcp and
// handed over to app.
func allocThrough(t *testing.T, r *Registry, app, ipcp int) int {
	t.Helper()
	id := mustFlow(t, r, app)
	if err := r.PrepareAlloc(id, ipcp, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.AllocReply(id, 0, 1, nil); err != nil {
		t.Fatal(err)
	}
	if !r.HandOver(id, app) {
		t.Fatal("HandOver failed")
	}
	return id
}

// An id the IPCP holds is not reused when the application lets go; it is
// once the IPCP answered, and the IPCP is asked exactly once.
func TestIDReusedOnlyWhenIPCPReleased(t *testing.T) {
	t.Parallel()
	const app, ipcp = 10, 20
	r := New()
	mustProc(t, r, app, "app")
	id := allocThrough(t, r, app, ipcp)
	if _, res, err := r.Dealloc(id, app); err != nil || res != DeallocNotifyIPC {
		t.Fatalf("Dealloc = %v, %v; want DeallocNotifyIPC", res, err)
	}
	if _, res, _ := r.Dealloc(id, app); res == DeallocNotifyIPC {
		t.Fatal("the IPCP was asked twice for one hold")
	}
	if _, res, _ := r.Release(id, app); res == DeallocNotifyIPC {
		t.Fatal("the IPCP was asked twice for one hold")
	}
	if next := mustFlow(t, r, app); next == id {
		t.Fatalf("id %d reused while the IPCP holds it", id)
	}
	// An IPCP_FLOW_DEALLOC message crossing our request does not release.
	if r.DeallocResp(id, ipcp) {
		t.Fatal("DeallocResp released a hold we asked the IPCP about")
	}
	if c := r.Census(); c.Releasing != 1 || c.IPCPHeld != 1 {
		t.Fatalf("census %+v, want one flow being released", c)
	}
	if !r.IPCPReleased(id, ipcp) {
		t.Fatal("IPCPReleased: no hold")
	}
	if s := state(r, id); s != FlowNull {
		t.Fatalf("state after the IPCP released = %v, want the id free", s)
	}
	if r.IPCPReleased(id, ipcp) {
		t.Fatal("a second release counted")
	}
}

// A request that fails (the requester died while the IPCP worked on it)
// leaves the id to the IPCP until it answers.
func TestAbandonedRequestKeepsIDForIPCP(t *testing.T) {
	t.Parallel()
	const app, ipcp = 10, 20
	r := New()
	mustProc(t, r, app, "app")
	id := mustFlow(t, r, app)
	if err := r.PrepareAlloc(id, ipcp, nil); err != nil {
		t.Fatal(err)
	}
	if live := r.DestroyProc(app); len(live) != 0 {
		t.Fatalf("DestroyProc returned %v for a flow its request owns", ids(live))
	}
	if s := state(r, id); s != FlowDeallocated {
		t.Fatalf("pending flow of a dead process: %v, want DEALLOCATED", s)
	}
	if _, res, err := r.Release(id, app); err != nil || res != DeallocNotifyIPC {
		t.Fatalf("Release = %v, %v; want DeallocNotifyIPC", res, err)
	}
	if _, ok := r.GetFlow(id); !ok {
		t.Fatal("id freed while the IPCP may hold it")
	}
	r.IPCPReleased(id, ipcp)
	if _, ok := r.GetFlow(id); ok {
		t.Fatal("id not freed after the IPCP released it")
	}
}

// A dead IPCP holds nothing: flows only it held are freed, flows an
// application holds go down and stay until the application lets go.
func TestIPCPDeathEndsItsHolds(t *testing.T) {
	t.Parallel()
	const app, ipcp = 10, 20
	r := New()
	mustProc(t, r, app, "app")
	mustProc(t, r, ipcp, "ipcpd-local")
	held := allocThrough(t, r, app, ipcp)
	releasing := allocThrough(t, r, app, ipcp)
	r.Dealloc(releasing, app)
	r.DestroyProc(ipcp)
	if _, ok := r.GetFlow(releasing); ok {
		t.Error("a flow only the dead IPCP held survives")
	}
	if s := state(r, held); s != FlowDeallocated {
		t.Fatalf("the application's flow: %v, want DEALLOCATED", s)
	}
	if next := mustFlow(t, r, app); next == held {
		t.Fatal("id reused while the application holds it")
	}
	if _, res, err := r.Dealloc(held, app); err != nil || res != DeallocDone {
		t.Fatalf("Dealloc = %v, %v; want done", res, err)
	}
	if _, ok := r.GetFlow(held); ok {
		t.Fatal("id not freed after the application let go")
	}
}

// A flow is the process's only once handed over: before, its dealloc is
// refused and its death leaves the flow to the request, whose HandOver
// then fails.
func TestHandOver(t *testing.T) {
	t.Parallel()
	const app, ipcp = 10, 20
	r := New()
	mustProc(t, r, app, "app")
	id := mustFlow(t, r, app)
	r.PrepareAlloc(id, ipcp, nil)
	r.AllocReply(id, 0, 1, nil)
	if _, _, err := r.Dealloc(id, app); err == nil {
		t.Fatal("Dealloc of a flow not handed over yet")
	}
	if live := r.DestroyProc(app); len(live) != 0 {
		t.Fatalf("DestroyProc returned %v for a flow its request owns", ids(live))
	}
	if r.HandOver(id, app) {
		t.Fatal("HandOver to a dead process")
	}
	if _, res, err := r.Release(id, app); err != nil || res != DeallocNotifyIPC {
		t.Fatalf("Release = %v, %v", res, err)
	}
}
