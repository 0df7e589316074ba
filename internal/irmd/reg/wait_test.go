package reg

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// ---- reg_test.c: test_wait_accepting --------------------------------------------

// test_wait_accepting_timeout: nobody accepts; a 1 ms wait times out.
func TestWaitAcceptingTimeout(t *testing.T) {
	t.Parallel()
	r := New()
	if err := r.CreateName(NameInfo{Name: "testname"}); err != nil {
		t.Fatal(err)
	}
	err := r.Wait(context.Background(), short(), func() bool { return r.HasAccepterLocked("testname") })
	if !errors.Is(err, oerr.ETIMEDOUT) {
		t.Errorf("Wait = %v, want ETIMEDOUT", err)
	}
}

// test_wait_accepting_fail_name: the C returns -ENAME for an unknown name. The
// registry leaves that check to the daemon (HasName); for an unknown name
// nobody is accepting and a request cannot be answered.
func TestWaitAcceptingFailName(t *testing.T) {
	t.Parallel()
	r := New()
	if r.HasName("nosuchname") || r.HasAccepter("nosuchname") || r.HasBindings("nosuchname") {
		t.Error("unknown name looks known")
	}
	if _, ok := r.RespondAccept("nosuchname", Answer{N1Pid: 1}); ok {
		t.Error("RespondAccept on an unknown name succeeded")
	}
	if _, ok := r.AutoStart("nosuchname"); ok {
		t.Error("AutoStart on an unknown name succeeded")
	}
}

// test_wait_accepting_success: a goroutine announces a process, binds it and
// accepts; the waiter sees the accepter and gets its flow.
func TestWaitAcceptingSuccess(t *testing.T) {
	t.Parallel()
	r := New()
	if err := r.CreateName(NameInfo{Name: "testname"}); err != nil {
		t.Fatal(err)
	}
	ids := make(chan int, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.CreateProc(Proc{PID: 1234, Prog: "testprog"}); err != nil {
			t.Error(err)
		}
		if err := r.BindProcess(1234, "testname"); err != nil {
			t.Error(err)
		}
		id, err := r.CreateFlow(1234, qos.Raw)
		if err != nil {
			t.Error(err)
		}
		if err := r.PrepareAccept(id); err != nil {
			t.Error(err)
		}
		ids <- id
		wait(t, r, "accepted", func() bool { return r.FlowStateLocked(id) == FlowAllocated })
	})
	wait(t, r, "accepter", func() bool { return r.HasAccepterLocked("testname") })
	f, ok := r.RespondAccept("testname", Answer{N1Pid: 99})
	want := <-ids
	if !ok || f.ID != want || f.ID == 0 {
		t.Errorf("RespondAccept = %d, %v; want flow %d", f.ID, ok, want)
	}
	wg.Wait()
}

// ---- reg_test.c: test_wait_ipcp_boot ----------------------------------------------

// test_wait_ipcp_boot_timeout / _fail / _success: the IRMd waits for a new
// IPCP to leave INIT. NULL means it failed; BOOT (what our IPCPs report) or
// OPERATIONAL (what the C test sets) mean success.
func TestWaitIPCPBoot(t *testing.T) {
	t.Parallel()
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		r := New()
		if err := r.CreateIPCP(IPCP{PID: 1, Type: 1}); err != nil {
			t.Fatal(err)
		}
		err := r.Wait(context.Background(), short(), func() bool {
			i, _ := r.IPCPLocked(1)
			return i.State != IPCPInit
		})
		if !errors.Is(err, oerr.ETIMEDOUT) {
			t.Errorf("Wait = %v, want ETIMEDOUT", err)
		}
	})
	for _, c := range []struct {
		name  string
		state uint32
		ok    bool
	}{{"fail", IPCPNull, false}, {"success_boot", IPCPBoot, true}, {"success_operational", IPCPOperational, true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := New()
			if err := r.CreateIPCP(IPCP{PID: 1, Type: 1}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() {
				if err := r.SetIPCPState(1, c.state); err != nil {
					t.Error(err)
				}
			})
			var got uint32
			wait(t, r, "IPCP state", func() bool {
				i, ok := r.IPCPLocked(1)
				got = i.State
				return ok && got != IPCPInit
			})
			wg.Wait()
			if got != c.state || (got != IPCPNull) != c.ok {
				t.Errorf("state %d, want %d (success %v)", got, c.state, c.ok)
			}
			if i, _ := r.GetIPCP(1); i.State != c.state {
				t.Errorf("stored state %d, want %d", i.State, c.state)
			}
		})
	}
}

// ---- reg_test.c: test_wait_proc -------------------------------------------------

func TestWaitProc(t *testing.T) {
	t.Parallel()
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		r := New()
		err := r.Wait(context.Background(), short(), func() bool { return r.HasProcLocked(1234) })
		if !errors.Is(err, oerr.ETIMEDOUT) {
			t.Errorf("Wait = %v, want ETIMEDOUT", err)
		}
	})
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		r := New()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := r.CreateProc(Proc{PID: 1234, Prog: "testprog"}); err != nil {
				t.Error(err)
			}
		})
		wait(t, r, "process", func() bool { return r.HasProcLocked(1234) })
		wg.Wait()
		if !r.HasProc(1234) {
			t.Error("process missing")
		}
	})
}

// ---- Wait itself -----------------------------------------------------------------

func TestWaitSemantics(t *testing.T) {
	t.Parallel()
	t.Run("already true", func(t *testing.T) {
		t.Parallel()
		r := New()
		// A condition that holds returns at once, even with a past deadline.
		if err := r.Wait(context.Background(), time.Now().Add(-time.Hour), func() bool { return true }); err != nil {
			t.Errorf("Wait = %v", err)
		}
	})
	t.Run("no deadline", func(t *testing.T) {
		t.Parallel()
		r := New()
		var wg sync.WaitGroup
		wg.Go(func() { mustProc(t, r, 1, "p") })
		if err := r.Wait(context.Background(), time.Time{}, func() bool { return r.HasProcLocked(1) }); err != nil {
			t.Errorf("Wait = %v", err)
		}
		wg.Wait()
	})
	t.Run("context cancelled", func(t *testing.T) {
		t.Parallel()
		r := New()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Wait(ctx, soon(), func() bool { return false }); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait = %v, want context.Canceled", err)
		}
	})
	t.Run("Do wakes waiters", func(t *testing.T) {
		t.Parallel()
		r := New()
		var flag bool // guarded by r.mu
		var wg sync.WaitGroup
		wg.Go(func() { r.Do(func() { flag = true }) })
		wait(t, r, "flag", func() bool { return flag })
		wg.Wait()
	})
	t.Run("timeout is an os deadline error", func(t *testing.T) {
		t.Parallel()
		r := New()
		err := r.Wait(context.Background(), short(), func() bool { return false })
		if !errors.Is(err, oerr.ETIMEDOUT) || oerr.Result(err) != -110 {
			t.Errorf("Wait = %v (result %d), want ETIMEDOUT (-110)", err, oerr.Result(err))
		}
	})
}

// ---- concurrency -------------------------------------------------------------------

// Two requests can never take the same pending accept (the reference's race,
// closed here): many responders race for the accepts of many accepters, while
// accepters keep arming new accepts. Every accept must be answered exactly once, by the
// responder that took it.
func TestRespondAcceptConcurrent(t *testing.T) {
	t.Parallel()
	for _, lb := range []LBPolicy{LBRoundRobin, LBSpill} {
		t.Run(lb.String(), func(t *testing.T) {
			t.Parallel()
			const (
				accepters  = 8
				perProc    = 25
				responders = 16
				total      = accepters * perProc
			)
			r := New()
			if err := r.CreateName(NameInfo{Name: "n", LB: lb}); err != nil {
				t.Fatal(err)
			}
			for pid := 1; pid <= accepters; pid++ {
				mustProc(t, r, pid, "srv")
				if err := r.BindProcess(pid, "n"); err != nil {
					t.Fatal(err)
				}
			}

			var (
				mu      sync.Mutex
				takenBy = map[int]int{} // flow id -> responder
				dups    []int
				taken   atomic.Int32
				wg      sync.WaitGroup
			)
			// Accepters: each arms perProc accepts, one or two at a time, and
			// waits for each to be answered, as accepting threads do.
			for pid := 1; pid <= accepters; pid++ {
				wg.Go(func() {
					for range perProc {
						id, err := r.CreateFlow(pid, qos.Raw)
						if err != nil {
							t.Error(err)
							return
						}
						if err := r.PrepareAccept(id); err != nil {
							t.Error(err)
							return
						}
						var f *Flow
						wait(t, r, "accept answered", func() bool {
							f = r.flowLocked(id)
							return f.State != FlowAcceptPending
						})
						r.mu.Lock()
						st, n1 := f.State, f.N1Pid
						r.mu.Unlock()
						if st != FlowAllocated {
							t.Errorf("flow %d: %v", id, st)
						}
						mu.Lock()
						by, ok := takenBy[id]
						mu.Unlock()
						if !ok || by != n1 {
							t.Errorf("flow %d answered by %d, responder record %d (%v)", id, n1, by, ok)
						}
					}
				})
			}
			// Responders: take accepts until all have been taken.
			for resp := 1000; resp < 1000+responders; resp++ {
				wg.Go(func() {
					for {
						err := r.Wait(context.Background(), soon(), func() bool {
							return r.HasAccepterLocked("n") || taken.Load() == total
						})
						if err != nil {
							t.Errorf("responder %d: %v", resp, err)
							return
						}
						if taken.Load() == total {
							return
						}
						// Record before the accepter can look, under mu.
						mu.Lock()
						f, ok := r.RespondAccept("n", Answer{N1Pid: resp, MPL: 1})
						if ok {
							if _, dup := takenBy[f.ID]; dup {
								dups = append(dups, f.ID)
							}
							takenBy[f.ID] = resp
						}
						mu.Unlock()
						if ok && taken.Add(1) == total {
							r.Do(func() {}) // wake the other responders
						}
					}
				})
			}
			wg.Wait()
			if len(dups) != 0 {
				t.Errorf("accepts taken twice: %v", dups)
			}
			if n := taken.Load(); n != total {
				t.Errorf("%d accepts taken, want %d", n, total)
			}
			if len(takenBy) != total {
				t.Errorf("%d distinct flows taken, want %d", len(takenBy), total)
			}
			if acc := active(t, r, "n"); len(acc) != 0 {
				t.Errorf("active list not empty: %v", acc)
			}
		})
	}
}

// Several goroutines creating and destroying flows at once never get the same
// id while both hold it.
func TestCreateFlowConcurrent(t *testing.T) {
	t.Parallel()
	r := New()
	var (
		mu   sync.Mutex
		held = map[int]bool{}
		wg   sync.WaitGroup
	)
	for g := range 16 {
		wg.Go(func() {
			for range 200 {
				id, err := r.CreateFlow(g+1, qos.Raw)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if held[id] {
					t.Errorf("id %d handed out twice", id)
				}
				held[id] = true
				mu.Unlock()
				mu.Lock()
				delete(held, id)
				mu.Unlock()
				r.DestroyFlow(id)
			}
		})
	}
	wg.Wait()
	if n := len(r.ListFlows()); n != 0 {
		t.Errorf("%d flows left", n)
	}
}
