package reg

// Shared helpers for the registry tests, and a goroutine leak check run after
// all tests. The tests live in package reg (not reg_test) so that Wait
// conditions can read flow fields under the registry lock, as the daemon's own
// conditions do through FlowStateLocked.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/qos"
)

// long is the deadline for waits that must succeed: generous, so a loaded
// machine does not make them flake. Expected timeouts use short deadlines.
const long = 30 * time.Second

func soon() time.Time { return time.Now().Add(long) }

// short is a deadline for waits that must time out.
func short() time.Time { return time.Now().Add(time.Millisecond) }

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakedGoroutines("ouroboros/internal/irmd/reg."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines reports goroutines, other than the caller, whose stack
// mentions pkg, after giving them a moment to finish.
func leakedGoroutines(pkg string) error {
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return nil
	}
	var leaked []string
	for range 200 {
		leaked = leaked[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		stacks := strings.Split(string(buf), "\n\n")
		for _, s := range stacks[1:] { // stacks[0] is this goroutine
			if strings.Contains(s, pkg) {
				leaked = append(leaked, s)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("leaked %d goroutine(s):\n%s", len(leaked), strings.Join(leaked, "\n\n"))
}

// wait runs r.Wait with a generous deadline and fails the test if the
// condition does not come true.
func wait(t testing.TB, r *Registry, what string, cond func() bool) {
	t.Helper()
	if err := r.Wait(context.Background(), soon(), cond); err != nil {
		t.Errorf("waiting for %s: %v", what, err)
	}
}

// flowLocked returns the flow record; call it with the lock held (in a Wait
// condition).
func (r *Registry) flowLocked(id int) *Flow { return r.flows[id] }

// mustProc announces a process.
func mustProc(t testing.TB, r *Registry, pid int, prog string) {
	t.Helper()
	if err := r.CreateProc(Proc{PID: pid, Prog: prog}); err != nil {
		t.Fatalf("CreateProc(%d): %v", pid, err)
	}
}

// mustFlow creates a flow for npid.
func mustFlow(t testing.TB, r *Registry, npid int) int {
	t.Helper()
	id, err := r.CreateFlow(npid, qos.Raw)
	if err != nil {
		t.Fatalf("CreateFlow(%d): %v", npid, err)
	}
	return id
}

// mustAccept creates a flow for the announced process pid and puts it in
// ACCEPT_PENDING, as an application's flow_accept does.
func mustAccept(t testing.TB, r *Registry, pid int) int {
	t.Helper()
	id := mustFlow(t, r, pid)
	if err := r.PrepareAccept(id); err != nil {
		t.Fatalf("PrepareAccept(%d): %v", id, err)
	}
	return id
}

// state returns the flow's state (FlowNull if it is gone).
func state(r *Registry, id int) FlowState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.FlowStateLocked(id)
}

// active returns the active pids of name.
func active(t testing.TB, r *Registry, name string) []int {
	t.Helper()
	n, ok := r.GetName(name)
	if !ok {
		t.Fatalf("name %q does not exist", name)
	}
	return n.ActivePIDs()
}

func mustGetFlow(t testing.TB, r *Registry, id int) Flow {
	t.Helper()
	f, ok := r.GetFlow(id)
	if !ok {
		t.Fatalf("flow %d does not exist", id)
	}
	return f
}
