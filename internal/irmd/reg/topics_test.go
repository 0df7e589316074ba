package reg

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/qos"
)

// TestWaitOnWakesOnlyOnItsTopic checks that a waiter on one flow is not woken
// by changes to others (no thundering herd), and is woken by its own.
func TestWaitOnWakesOnlyOnItsTopic(t *testing.T) {
	r := New()
	r.CreateProc(Proc{PID: 10, Prog: "p"})
	r.BindProcess(10, "n")
	id, _ := r.CreateFlow(10, qos.Raw)
	r.PrepareAccept(id)
	var evals atomic.Int32
	done := make(chan error)
	go func() {
		done <- r.WaitOn(context.Background(), time.Now().Add(10*time.Second), FlowTopic(id), func() bool {
			evals.Add(1)
			return r.FlowStateLocked(id) == FlowAllocated
		})
	}()
	for evals.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 100 {
		other, _ := r.CreateFlow(11, qos.Raw)
		r.DestroyFlow(other)
	}
	time.Sleep(10 * time.Millisecond)
	if n := evals.Load(); n != 1 {
		t.Fatalf("condition evaluated %d times by unrelated changes", n)
	}
	if _, ok := r.RespondAccept("n", Answer{N1Pid: 20}); !ok {
		t.Fatal("no accepter")
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitOn: %v", err)
	}
}

// TestWaitOnName wakes an allocation waiting for an accepter of a name.
func TestWaitOnName(t *testing.T) {
	r := New()
	r.CreateProc(Proc{PID: 10, Prog: "p"})
	r.BindProcess(10, "n")
	done := make(chan error)
	go func() {
		done <- r.WaitOn(context.Background(), time.Now().Add(10*time.Second), NameTopic("n"),
			func() bool { return r.HasAccepterLocked("n") })
	}()
	time.Sleep(5 * time.Millisecond)
	id, _ := r.CreateFlow(10, qos.Raw)
	r.PrepareAccept(id)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(r.topics) != 0 {
		t.Errorf("%d topic channels left behind", len(r.topics))
	}
}
