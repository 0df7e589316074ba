package reg

import (
	"errors"
	"slices"
	"testing"
)

// ---- proc_test.c / prog_test.c -------------------------------------------------

// test_reg_proc_create_destroy (and reg_test.c test_reg_create_proc).
func TestProcCreateDestroy(t *testing.T) {
	t.Parallel()
	r := New()
	p := Proc{PID: 1234, Prog: "testprog", UID: 1000, GID: 100}
	if err := r.CreateProc(p); err != nil {
		t.Fatal(err)
	}
	if !r.HasProc(1234) {
		t.Fatal("HasProc false")
	}
	if got, ok := r.GetProc(1234); !ok || got.PID != 1234 || got.Prog != "testprog" ||
		got.UID != 1000 || got.GID != 100 || len(got.Names) != 0 {
		t.Errorf("GetProc = %+v, %v", got, ok)
	}
	if err := r.CreateProc(p); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate CreateProc = %v, want ErrExists", err)
	}
	if live := r.DestroyProc(1234); len(live) != 0 {
		t.Errorf("DestroyProc returned flows %v", live)
	}
	if r.HasProc(1234) {
		t.Error("process still there")
	}
	if live := r.DestroyProc(1234); len(live) != 0 { // unknown pid: nothing happens
		t.Errorf("DestroyProc(unknown) returned %v", live)
	}
}

// Processes are listed by pid.
func TestListProcs(t *testing.T) {
	t.Parallel()
	r := New()
	for _, pid := range []int{30, 4, 1000, 7, 5} {
		mustProc(t, r, pid, "p")
	}
	if got := r.ListProcs(); !slices.Equal(got, []int{4, 5, 7, 30, 1000}) {
		t.Errorf("ListProcs = %v", got)
	}
}

// test_reg_proc_add_name: add, has and delete a name on a process.
func TestProcAddName(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1234, "p")
	if err := r.BindProcess(1234, "testname"); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.GetProc(1234); !slices.Equal(p.Names, []string{"testname"}) {
		t.Errorf("names = %v", p.Names)
	}
	if err := r.UnbindProcess(1234, "testname"); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.GetProc(1234); len(p.Names) != 0 {
		t.Errorf("names after unbind = %v", p.Names)
	}
}

// test_reg_prog_create (and reg_test.c test_reg_create_prog): a program is
// created by binding it; it is keyed by basename and keeps the path.
func TestProgCreate(t *testing.T) {
	t.Parallel()
	r := New()
	if err := r.BindProgram("/usr/bin/testprog", "testname", false, nil, Cred{}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"testprog", "/usr/bin/testprog", "/elsewhere/testprog"} {
		p, ok := r.GetProg(key)
		if !ok || p.Name != "testprog" || p.Path != "/usr/bin/testprog" {
			t.Errorf("GetProg(%q) = %+v, %v", key, p, ok)
		}
	}
	if got := r.ListProgs(); !slices.Equal(got, []string{"testprog"}) {
		t.Errorf("ListProgs = %q", got)
	}
}

// test_reg_prog_add_name: the program records the names it is bound to.
func TestProgAddName(t *testing.T) {
	t.Parallel()
	r := New()
	for _, n := range []string{"n1", "n2"} {
		if err := r.BindProgram("/usr/bin/testprog", n, false, nil, Cred{}); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := r.GetProg("testprog"); !slices.Equal(p.Names, []string{"n1", "n2"}) {
		t.Errorf("names = %v", p.Names)
	}
	if err := r.UnbindProgram("testprog", "n1"); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.GetProg("testprog"); !slices.Equal(p.Names, []string{"n2"}) {
		t.Errorf("names after unbind = %v", p.Names)
	}
}

// Programs are listed in strcmp order of basename.
func TestListProgs(t *testing.T) {
	t.Parallel()
	r := New()
	for _, p := range []string{"/b/zz", "/a/Zz", "/c/a_b", "/d/a"} {
		if err := r.BindProgram(p, "n", false, nil, Cred{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.ListProgs(); !slices.Equal(got, []string{"Zz", "a", "a_b", "zz"}) {
		t.Errorf("ListProgs = %q", got)
	}
}

// ---- reg_test.c: procs, spawned, binding ---------------------------------------

// test_reg_spawned: the Go registry keeps no spawned list (the daemon tracks
// its children); the registry's part is that destroying the process of an IPCP
// also removes the IPCP entry.
func TestRegSpawned(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 42, "ipcpd-unicast")
	if err := r.CreateIPCP(IPCP{PID: 42, Type: 1, Name: "ipcp"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.GetIPCP(42); !ok {
		t.Fatal("IPCP missing")
	}
	r.DestroyProc(42)
	if _, ok := r.GetIPCP(42); ok {
		t.Error("IPCP entry survives DestroyProc")
	}
	if r.HasProc(42) {
		t.Error("process survives DestroyProc")
	}
	// An IPCP that never announced itself is removed too.
	if err := r.CreateIPCP(IPCP{PID: 43}); err != nil {
		t.Fatal(err)
	}
	r.DestroyProc(43)
	if len(r.ListIPCPs()) != 0 {
		t.Error("IPCP without a process entry survives DestroyProc")
	}
}

// test_bind_proc: bind and unbind a process; after destroying it the name has
// no process.
func TestBindProc(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1234, "p")
	if err := r.BindProcess(1234, "testname"); err != nil {
		t.Fatal(err)
	}
	n, ok := r.GetName("testname")
	if !ok || n.LB != LBSpill {
		t.Fatalf("implicitly created name = %+v, %v; want spillover", n.NameInfo, ok)
	}
	if !slices.Equal(n.Procs, []int{1234}) {
		t.Errorf("procs = %v", n.Procs)
	}
	if err := r.BindProcess(1234, "testname"); !errors.Is(err, ErrExists) {
		t.Errorf("second BindProcess = %v, want ErrExists", err)
	}
	if err := r.BindProcess(999, "testname"); !errors.Is(err, ErrNotFound) {
		t.Errorf("BindProcess(unknown pid) = %v, want ErrNotFound", err)
	}
	if err := r.UnbindProcess(1234, "testname"); err != nil {
		t.Fatal(err)
	}
	if err := r.UnbindProcess(1234, "testname"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second UnbindProcess = %v, want ErrNotFound", err)
	}
	if err := r.UnbindProcess(999, "testname"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UnbindProcess(unknown pid) = %v, want ErrNotFound", err)
	}
	if err := r.BindProcess(1234, "testname"); err != nil {
		t.Fatal(err)
	}
	r.DestroyProc(1234)
	if n, _ := r.GetName("testname"); len(n.Procs) != 0 {
		t.Errorf("procs after DestroyProc = %v", n.Procs)
	}
}

// A bound process's pending accepts are active for the name at once, and
// leave it when the binding goes.
func TestBindProcessActivatesPendingAccept(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1, "p")
	if err := r.CreateName(NameInfo{Name: "n", LB: LBRoundRobin}); err != nil {
		t.Fatal(err)
	}
	id1 := mustAccept(t, r, 1)
	id2 := mustAccept(t, r, 1)
	if r.HasAccepter("n") {
		t.Fatal("unbound process is accepting for n")
	}
	if err := r.BindProcess(1, "n"); err != nil {
		t.Fatal(err)
	}
	if got := active(t, r, "n"); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("active after bind = %v, want [1 1]", got)
	}
	if err := r.UnbindProcess(1, "n"); err != nil {
		t.Fatal(err)
	}
	if r.HasAccepter("n") {
		t.Fatal("accepts still active after unbind")
	}
	if err := r.BindProcess(1, "n"); err != nil {
		t.Fatal(err)
	}
	f, ok := r.RespondAccept("n", Answer{N1Pid: 5})
	if !ok || f.ID != id1 {
		t.Fatalf("RespondAccept = %d, %v; want the oldest accept %d", f.ID, ok, id1)
	}
	if f, ok := r.RespondAccept("n", Answer{N1Pid: 5}); !ok || f.ID != id2 {
		t.Fatalf("RespondAccept = %d, %v; want %d", f.ID, ok, id2)
	}
}

// DestroyProc fails the process's pending flows (their waiters wake with
// DEALLOCATED) and returns the ones it holds for the daemon to release.
func TestDestroyProcFlows(t *testing.T) {
	t.Parallel()
	const app, ipcp, other = 10, 20, 30
	r := New()
	mustProc(t, r, app, "app")
	mustProc(t, r, other, "other")
	if err := r.BindProcess(app, "n"); err != nil {
		t.Fatal(err)
	}
	initFlow := mustFlow(t, r, app)
	allocPending := mustFlow(t, r, app)
	if err := r.PrepareAlloc(allocPending, ipcp, nil); err != nil {
		t.Fatal(err)
	}
	acceptPending := mustAccept(t, r, app)
	allocated := mustFlow(t, r, app)
	if err := r.PrepareAlloc(allocated, ipcp, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.AllocReply(allocated, 0, 1, nil); err != nil {
		t.Fatal(err)
	}
	r.HandOver(allocated, app)
	deallocPending := mustFlow(t, r, app)
	if err := r.PrepareAlloc(deallocPending, ipcp, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.AllocReply(deallocPending, 0, 1, nil); err != nil {
		t.Fatal(err)
	}
	r.HandOver(deallocPending, app)
	if _, _, err := r.Dealloc(deallocPending, app); err != nil {
		t.Fatal(err)
	}
	// A direct flow where app is the client (n_1_pid) and other the server.
	if err := r.BindProcess(other, "o"); err != nil {
		t.Fatal(err)
	}
	direct := mustAccept(t, r, other)
	if _, ok := r.RespondAccept("o", Answer{N1Pid: app, MPL: 1, Direct: true}); !ok {
		t.Fatal("direct RespondAccept failed")
	}
	// Flows of someone else stay as they are.
	untouched := mustFlow(t, r, other)
	if err := r.PrepareAlloc(untouched, ipcp, nil); err != nil {
		t.Fatal(err)
	}

	// A waiter on the pending accept wakes up when the process goes.
	done := make(chan FlowState)
	go func() {
		var s FlowState
		wait(t, r, "accept to end", func() bool {
			s = r.FlowStateLocked(acceptPending)
			return s != FlowAcceptPending
		})
		done <- s
	}()

	live := r.DestroyProc(app)
	if s := <-done; s != FlowDeallocated {
		t.Errorf("accept waiter woke with %v, want DEALLOCATED", s)
	}
	// The flow app deallocated is no longer its (only its IPCP holds it).
	if got := ids(live); !slices.Equal(got, []int{allocated, direct}) {
		t.Errorf("DestroyProc returned flows %v, want %v", got, []int{allocated, direct})
	}
	for id, want := range map[int]FlowState{
		initFlow:       FlowDeallocated,
		allocPending:   FlowDeallocated,
		acceptPending:  FlowDeallocated,
		allocated:      FlowAllocated,
		deallocPending: FlowDeallocPending,
		direct:         FlowAllocated,
		untouched:      FlowAllocPending,
	} {
		if got := state(r, id); got != want {
			t.Errorf("flow %d: %v, want %v", id, got, want)
		}
	}
	if got := active(t, r, "n"); len(got) != 0 {
		t.Errorf("active after DestroyProc = %v", got)
	}
	if n, _ := r.GetName("n"); len(n.Procs) != 0 {
		t.Errorf("name procs after DestroyProc = %v", n.Procs)
	}
}

// test_bind_prog: binding with BIND_AUTO adds the auto-start entry and the
// program's name; unbinding removes both; binding without auto adds no
// auto-start entry. Unbinding works by basename and by full path (in the
// reference neither form removes both).
func TestBindProg(t *testing.T) {
	t.Parallel()
	const path = "/usr/bin/testprog"
	for _, unbindBy := range []string{"testprog", path} {
		t.Run(unbindBy, func(t *testing.T) {
			t.Parallel()
			r := New()
			if err := r.BindProgram(path, "testname", true, []string{"-l"}, Cred{}); err != nil {
				t.Fatal(err)
			}
			n, ok := r.GetName("testname")
			if !ok || n.LB != LBSpill {
				t.Fatalf("implicit name = %+v, %v; want spillover", n.NameInfo, ok)
			}
			if len(n.Progs) != 1 || !slices.Equal(n.Progs[0], []string{path, "-l"}) {
				t.Errorf("auto-start = %q", n.Progs)
			}
			if p, _ := r.GetProg("testprog"); !slices.Equal(p.Names, []string{"testname"}) {
				t.Errorf("program names = %v", p.Names)
			}
			if !r.HasBindings("testname") {
				t.Error("HasBindings false with an auto-start program")
			}
			if err := r.BindProgram(path, "testname", true, nil, Cred{}); !errors.Is(err, ErrExists) {
				t.Errorf("second BindProgram = %v, want ErrExists", err)
			}

			if err := r.UnbindProgram(unbindBy, "testname"); err != nil {
				t.Fatalf("UnbindProgram(%q) = %v", unbindBy, err)
			}
			if n, _ := r.GetName("testname"); len(n.Progs) != 0 {
				t.Errorf("auto-start after unbind = %q", n.Progs)
			}
			if p, _ := r.GetProg("testprog"); len(p.Names) != 0 {
				t.Errorf("program names after unbind = %v", p.Names)
			}
			if err := r.UnbindProgram(unbindBy, "testname"); !errors.Is(err, ErrNotFound) {
				t.Errorf("second UnbindProgram = %v, want ErrNotFound", err)
			}

			if err := r.BindProgram(path, "testname", false, nil, Cred{}); err != nil {
				t.Fatal(err)
			}
			if n, _ := r.GetName("testname"); len(n.Progs) != 0 {
				t.Errorf("bind without auto added auto-start %q", n.Progs)
			}
			if p, _ := r.GetProg("testprog"); !slices.Equal(p.Names, []string{"testname"}) {
				t.Errorf("program names = %v", p.Names)
			}
		})
	}
}

func TestUnbindProgramErrors(t *testing.T) {
	t.Parallel()
	r := New()
	if err := r.UnbindProgram("nope", "n"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UnbindProgram(unknown program) = %v, want ErrNotFound", err)
	}
	if err := r.BindProgram("/bin/p", "n", true, nil, Cred{}); err != nil {
		t.Fatal(err)
	}
	if err := r.UnbindProgram("p", "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UnbindProgram(unbound name) = %v, want ErrNotFound", err)
	}
	if n, _ := r.GetName("n"); len(n.Progs) != 1 {
		t.Errorf("failed unbind touched auto-start: %q", n.Progs)
	}
}

// Unbinding a program without a name forgets the program and all its
// auto-start entries; other programs' entries stay, and the most recently
// bound auto-start program comes first.
func TestUnbindProgramAll(t *testing.T) {
	t.Parallel()
	r := New()
	for _, b := range []struct{ path, name string }{
		{"/bin/a", "n1"}, {"/bin/a", "n2"}, {"/bin/b", "n1"},
	} {
		if err := r.BindProgram(b.path, b.name, true, nil, Cred{}); err != nil {
			t.Fatal(err)
		}
	}
	if argv, _ := r.AutoStart("n1"); !slices.Equal(argv, []string{"/bin/b"}) {
		t.Errorf("AutoStart(n1) = %q, want the most recent, /bin/b", argv)
	}
	if err := r.UnbindProgram("/bin/a", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.GetProg("a"); ok {
		t.Error("program a still there")
	}
	if n, _ := r.GetName("n1"); len(n.Progs) != 1 || n.Progs[0][0] != "/bin/b" {
		t.Errorf("n1 auto-start = %q, want only /bin/b", n.Progs)
	}
	if n, _ := r.GetName("n2"); len(n.Progs) != 0 {
		t.Errorf("n2 auto-start = %q, want none", n.Progs)
	}
	if got := r.ListProgs(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("ListProgs = %q", got)
	}
	mustProc(t, r, 5, "a")
	if p, _ := r.GetProc(5); len(p.Names) != 0 {
		t.Errorf("process of a forgotten program inherited %v", p.Names)
	}
}

// test_inherit_prog: after binding program P to N, a process of P announced
// later is bound to N. Processes already running, or of other programs, are
// not.
func TestInheritProg(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1, "testprog") // running before the bind
	if err := r.BindProgram("/usr/bin/testprog", "testname", false, nil, Cred{}); err != nil {
		t.Fatal(err)
	}
	if err := r.BindProgram("/usr/bin/testprog", "second", false, nil, Cred{}); err != nil {
		t.Fatal(err)
	}
	mustProc(t, r, 2, "testprog")
	mustProc(t, r, 3, "otherprog")

	if p, _ := r.GetProc(2); !slices.Equal(p.Names, []string{"testname", "second"}) {
		t.Errorf("new process names = %v, want [testname second]", p.Names)
	}
	if n, _ := r.GetName("testname"); !slices.Equal(n.Procs, []int{2}) {
		t.Errorf("testname procs = %v, want [2]", n.Procs)
	}
	for _, pid := range []int{1, 3} {
		if p, _ := r.GetProc(pid); len(p.Names) != 0 {
			t.Errorf("process %d bound to %v", pid, p.Names)
		}
	}
	// The inherited binding makes its accepts active.
	id := mustAccept(t, r, 2)
	if f, ok := r.RespondAccept("testname", Answer{N1Pid: 9}); !ok || f.ID != id {
		t.Errorf("RespondAccept = %+v, %v", f, ok)
	}
}

// RemoveProc reports whether there was anything to remove, so that two
// detections of one death act once.
func TestRemoveProcExisted(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1, "app")
	if err := r.CreateIPCP(IPCP{PID: 2, Type: 0}); err != nil { // an IPCP not (yet) announced
		t.Fatal(err)
	}
	for _, c := range []struct {
		pid  int
		want bool
	}{{1, true}, {1, false}, {2, true}, {2, false}, {3, false}} {
		if _, existed := r.RemoveProc(c.pid); existed != c.want {
			t.Errorf("RemoveProc(%d) existed = %v, want %v", c.pid, existed, c.want)
		}
	}
}

// A binding remembers who made it (auto-started programs run as that user),
// and a name's owners are the users of its bound processes and programs.
func TestBinderAndOwners(t *testing.T) {
	t.Parallel()
	r := New()
	by := Cred{UID: 1000, GID: 1000, Groups: []uint32{27, 100}}
	if err := r.BindProgram("/home/u/srv", "n", true, nil, by); err != nil {
		t.Fatal(err)
	}
	if err := r.BindProgram("/usr/bin/srv2", "n", false, nil, Cred{}); err != nil {
		t.Fatal(err)
	}
	by.Groups[0] = 0 // the registry keeps its own copy
	if c, ok := r.Binder("srv", "n"); !ok || c.UID != 1000 || c.GID != 1000 || !slices.Equal(c.Groups, []uint32{27, 100}) {
		t.Errorf("Binder = %+v, %v", c, ok)
	}
	if _, ok := r.Binder("/home/u/srv", "other"); ok {
		t.Error("Binder of a name the program is not bound to")
	}
	if err := r.CreateProc(Proc{PID: 7, Prog: "app", UID: 1001, Own: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.BindProcess(7, "n"); err != nil {
		t.Fatal(err)
	}
	if got := r.NameOwners("n"); !slices.Equal(got, []uint32{0, 1000, 1001}) {
		t.Errorf("NameOwners = %v, want [0 1000 1001]", got)
	}
	if got := r.NameOwners("nobody"); len(got) != 0 {
		t.Errorf("owners of an unknown name: %v", got)
	}
	if err := r.UnbindProgram("srv", "n"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Binder("srv", "n"); ok {
		t.Error("Binder after unbind")
	}
	if got := r.NameOwners("n"); !slices.Equal(got, []uint32{0, 1001}) {
		t.Errorf("NameOwners after unbind = %v, want [0 1001]", got)
	}
	if p, _ := r.GetProc(7); !p.Own {
		t.Error("Own lost")
	}
}
