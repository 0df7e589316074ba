package reg

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// ---- name_test.c ---------------------------------------------------------------

// test_reg_name_create: create and destroy a name.
func TestNameCreate(t *testing.T) {
	t.Parallel()
	r := New()
	info := NameInfo{Name: "testname", LB: LBRoundRobin, SKey: "sk", SCrt: "sc", CKey: "ck", CCrt: "cc"}
	if err := r.CreateName(info); err != nil {
		t.Fatal(err)
	}
	n, ok := r.GetName("testname")
	if !ok || n.NameInfo != info {
		t.Fatalf("GetName = %+v, %v; want %+v", n.NameInfo, ok, info)
	}
	if len(n.Procs) != 0 || len(n.Progs) != 0 || len(n.ActivePIDs()) != 0 {
		t.Errorf("new name has bindings: %+v", n)
	}
	if err := r.DestroyName("testname"); err != nil {
		t.Fatal(err)
	}
	if r.HasName("testname") {
		t.Error("name still there")
	}
	if err := r.DestroyName("testname"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DestroyName(gone) = %v, want ErrNotFound", err)
	}
}

// test_reg_name_add_proc: add, has and delete a pid on a name.
func TestNameAddProc(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1234, "p")
	if err := r.CreateName(NameInfo{Name: "testname"}); err != nil {
		t.Fatal(err)
	}
	if err := r.BindProcess(1234, "testname"); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.GetName("testname"); !slices.Equal(n.Procs, []int{1234}) {
		t.Errorf("procs = %v, want [1234]", n.Procs)
	}
	if !r.HasBindings("testname") {
		t.Error("HasBindings false with a bound process")
	}
	if err := r.UnbindProcess(1234, "testname"); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.GetName("testname"); len(n.Procs) != 0 {
		t.Errorf("procs after unbind = %v", n.Procs)
	}
	if r.HasBindings("testname") {
		t.Error("HasBindings true after unbind")
	}
}

// test_reg_name_add_prog: add an argv, has and delete it by argv[0].
func TestNameAddProg(t *testing.T) {
	t.Parallel()
	r := New()
	argv := []string{"/usr/bin/testprog", "--argswitch", "argvalue"}
	if err := r.BindProgram(argv[0], "testname", true, argv[1:], Cred{}); err != nil {
		t.Fatal(err)
	}
	n, _ := r.GetName("testname")
	if len(n.Progs) != 1 || !slices.Equal(n.Progs[0], argv) {
		t.Fatalf("auto-start = %q, want [%q]", n.Progs, argv)
	}
	if got, ok := r.AutoStart("testname"); !ok || !slices.Equal(got, argv) {
		t.Errorf("AutoStart = %q, %v", got, ok)
	}
	if err := r.UnbindProgram(argv[0], "testname"); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.GetName("testname"); len(n.Progs) != 0 {
		t.Errorf("auto-start after unbind = %q", n.Progs)
	}
	if _, ok := r.AutoStart("testname"); ok {
		t.Error("AutoStart still finds an entry")
	}
}

// test_reg_name_add_active(LB_RR) and (LB_SPILL): pids P, P+1 (twice) and P+2
// accept; RR puts P first, SPILL P+2; after that pid's accept ends and it
// accepts again, RR has P+1 first and SPILL still P+2; removing the processes
// empties the active list.
//
// In Go an active entry is a pending accept: BindProcess + CreateFlow +
// PrepareAccept adds one, the accept ending (here Fail, as on a timeout) removes
// it.
func TestNameAddActive(t *testing.T) {
	t.Parallel()
	const P = 1234
	for _, c := range []struct {
		lb                LBPolicy
		initial, readded  []int
		first, firstAfter int
	}{
		{LBRoundRobin, []int{P, P + 1, P + 1, P + 2}, []int{P + 1, P + 1, P + 2, P}, P, P + 1},
		{LBSpill, []int{P + 2, P + 1, P + 1, P}, []int{P + 2, P + 1, P + 1, P}, P + 2, P + 2},
	} {
		t.Run(c.lb.String(), func(t *testing.T) {
			t.Parallel()
			r := New()
			if err := r.CreateName(NameInfo{Name: "testname", LB: c.lb}); err != nil {
				t.Fatal(err)
			}
			// Empty active list: the C returns -1; here nobody accepts.
			if r.HasAccepter("testname") || len(active(t, r, "testname")) != 0 {
				t.Fatal("fresh name has accepters")
			}
			if _, ok := r.RespondAccept("testname", Answer{}); ok {
				t.Fatal("RespondAccept succeeded with nobody accepting")
			}
			for pid := P; pid <= P+2; pid++ {
				mustProc(t, r, pid, "p")
				if err := r.BindProcess(pid, "testname"); err != nil {
					t.Fatal(err)
				}
			}
			flows := map[int][]int{}
			for _, pid := range []int{P, P + 1, P + 1, P + 2} {
				flows[pid] = append(flows[pid], mustAccept(t, r, pid))
			}
			got := active(t, r, "testname")
			if len(got) != 4 || got[0] != c.first || !slices.Equal(got, c.initial) {
				t.Fatalf("active = %v, want %v (first %d)", got, c.initial, c.first)
			}

			// The first pid's accept ends, and it accepts again.
			f := flows[c.first][0]
			r.Fail(f)
			r.DestroyFlow(f)
			if got := active(t, r, "testname"); len(got) != 3 {
				t.Fatalf("active after the accept ended = %v", got)
			}
			mustAccept(t, r, c.first)
			got = active(t, r, "testname")
			if got[0] != c.firstAfter || !slices.Equal(got, c.readded) {
				t.Fatalf("active after re-add = %v, want %v (first %d)", got, c.readded, c.firstAfter)
			}

			for pid := P; pid <= P+2; pid++ {
				r.DestroyProc(pid)
			}
			if got := active(t, r, "testname"); len(got) != 0 {
				t.Fatalf("active after destroying the processes = %v", got)
			}
			if r.HasAccepter("testname") {
				t.Error("HasAccepter after destroying the processes")
			}
		})
	}
}

// Flow requests go to the first active accepter: round-robin serves accepters
// in the order they armed, spillover the most recently armed first.
func TestNameLBServeOrder(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lb   LBPolicy
		want []int
	}{
		{LBRoundRobin, []int{1, 2, 3}},
		{LBSpill, []int{3, 2, 1}},
	} {
		t.Run(c.lb.String(), func(t *testing.T) {
			t.Parallel()
			r := New()
			if err := r.CreateName(NameInfo{Name: "n", LB: c.lb}); err != nil {
				t.Fatal(err)
			}
			for pid := 1; pid <= 3; pid++ {
				mustProc(t, r, pid, "p")
				if err := r.BindProcess(pid, "n"); err != nil {
					t.Fatal(err)
				}
				mustAccept(t, r, pid)
			}
			var got []int
			for {
				f, ok := r.RespondAccept("n", Answer{N1Pid: 99})
				if !ok {
					break
				}
				got = append(got, f.NPid)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("served %v, want %v", got, c.want)
			}
		})
	}
}

// A process bound to several names is active in each; a request through one
// name takes the accept out of every list.
func TestNameActiveSeveralNames(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1, "p")
	for _, n := range []string{"a", "b"} {
		if err := r.BindProcess(1, n); err != nil {
			t.Fatal(err)
		}
	}
	id := mustAccept(t, r, 1)
	if !slices.Equal(active(t, r, "a"), []int{1}) || !slices.Equal(active(t, r, "b"), []int{1}) {
		t.Fatalf("active a=%v b=%v", active(t, r, "a"), active(t, r, "b"))
	}
	f, ok := r.RespondAccept("b", Answer{N1Pid: 9})
	if !ok || f.ID != id || f.Name != "b" {
		t.Fatalf("RespondAccept(b) = %+v, %v", f, ok)
	}
	if len(active(t, r, "a")) != 0 || len(active(t, r, "b")) != 0 {
		t.Errorf("accept still active: a=%v b=%v", active(t, r, "a"), active(t, r, "b"))
	}
	if _, ok := r.RespondAccept("a", Answer{N1Pid: 9}); ok {
		t.Error("the same accept was taken twice")
	}
}

// ---- reg_test.c: names ---------------------------------------------------------

// test_reg_create_name, plus ErrExists on a duplicate.
func TestRegCreateName(t *testing.T) {
	t.Parallel()
	r := New()
	if err := r.CreateName(NameInfo{Name: "testname", LB: LBRoundRobin}); err != nil {
		t.Fatal(err)
	}
	if !r.HasName("testname") {
		t.Fatal("HasName false")
	}
	if err := r.CreateName(NameInfo{Name: "testname", LB: LBSpill, SKey: "x"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate CreateName = %v, want ErrExists", err)
	}
	if n, _ := r.GetName("testname"); n.LB != LBRoundRobin || n.SKey != "" {
		t.Errorf("duplicate create changed the name: %+v", n.NameInfo)
	}
	if l := r.ListNames(); len(l) != 1 {
		t.Errorf("ListNames = %v", l)
	}
}

// test_reg_list_names: 10 names listed, in strcmp order.
func TestRegListNames(t *testing.T) {
	t.Parallel()
	r := New()
	for i := 9; i >= 0; i-- {
		if err := r.CreateName(NameInfo{Name: fmt.Sprintf("name%d", i), LB: LBPolicy(i % 2)}); err != nil {
			t.Fatal(err)
		}
	}
	l := r.ListNames()
	if len(l) != 10 {
		t.Fatalf("%d names, want 10", len(l))
	}
	for i, n := range l {
		if want := fmt.Sprintf("name%d", i); n.Name != want || n.LB != LBPolicy(i%2) {
			t.Errorf("names[%d] = %+v, want %s/%v", i, n, want, LBPolicy(i%2))
		}
	}
}

// strcmp order is byte order: upper case before '_' before lower case, and a
// prefix before its extensions.
func TestListNamesStrcmpOrder(t *testing.T) {
	t.Parallel()
	r := New()
	in := []string{"b", "a1", "_x", "Z", "a", "B", "ab", "a.b", "0"}
	for _, n := range in {
		if err := r.CreateName(NameInfo{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, n := range r.ListNames() {
		got = append(got, n.Name)
	}
	want := []string{"0", "B", "Z", "_x", "a", "a.b", "a1", "ab", "b"}
	if !slices.Equal(got, want) {
		t.Errorf("ListNames = %q, want %q", got, want)
	}
	// Pages follow the same order.
	page, more := r.NamesAfter("", 4)
	if len(page) != 4 || page[3].Name != "_x" || !more {
		t.Errorf("NamesAfter(\"\", 4) = %v, %v", page, more)
	}
	page, more = r.NamesAfter("_x", 10)
	if len(page) != 5 || page[0].Name != "a" || more {
		t.Errorf("NamesAfter(_x, 10) = %v, %v", page, more)
	}
	page, more = r.NamesAfter("a0", 1) // a cursor that is no longer a name
	if len(page) != 1 || page[0].Name != "a1" || !more {
		t.Errorf("NamesAfter(a0, 1) = %v, %v", page, more)
	}
}

// Destroying a name removes it from every process and program bound to it.
func TestDestroyNameRemovesBindings(t *testing.T) {
	t.Parallel()
	r := New()
	mustProc(t, r, 1, "p")
	for _, n := range []string{"keep", "gone"} {
		if err := r.BindProcess(1, n); err != nil {
			t.Fatal(err)
		}
		if err := r.BindProgram("/bin/prog", n, true, nil, Cred{}); err != nil {
			t.Fatal(err)
		}
	}
	id := mustAccept(t, r, 1)
	if err := r.DestroyName("gone"); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.GetProc(1); !slices.Equal(p.Names, []string{"keep"}) {
		t.Errorf("process names = %v, want [keep]", p.Names)
	}
	if p, _ := r.GetProg("prog"); !slices.Equal(p.Names, []string{"keep"}) {
		t.Errorf("program names = %v, want [keep]", p.Names)
	}
	if _, ok := r.RespondAccept("gone", Answer{}); ok {
		t.Error("accept reachable through a destroyed name")
	}
	// The accept itself stays pending for the other name.
	if f, ok := r.RespondAccept("keep", Answer{N1Pid: 5}); !ok || f.ID != id {
		t.Errorf("RespondAccept(keep) = %+v, %v", f, ok)
	}
	// A process of the program announced later only inherits the remaining name.
	mustProc(t, r, 2, "prog")
	if p, _ := r.GetProc(2); !slices.Equal(p.Names, []string{"keep"}) {
		t.Errorf("inherited names = %v, want [keep]", p.Names)
	}
	// A name created anew under the old spelling has no bindings.
	if err := r.CreateName(NameInfo{Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if r.HasBindings("gone") {
		t.Error("recreated name has bindings")
	}
}

// HasBoundProcs counts bound processes only; HasBindings also auto-start programs.
func TestHasBoundProcs(t *testing.T) {
	t.Parallel()
	r := New()
	if r.HasBoundProcs("n") {
		t.Error("unknown name has bound processes")
	}
	if err := r.BindProgram("/bin/srv", "n", true, nil, Cred{}); err != nil {
		t.Fatal(err)
	}
	if r.HasBoundProcs("n") || !r.HasBindings("n") {
		t.Errorf("program only: HasBoundProcs %v, HasBindings %v; want false, true",
			r.HasBoundProcs("n"), r.HasBindings("n"))
	}
	mustProc(t, r, 3, "other")
	if err := r.BindProcess(3, "n"); err != nil {
		t.Fatal(err)
	}
	if !r.HasBoundProcs("n") {
		t.Error("HasBoundProcs false with a bound process")
	}
	r.DestroyProc(3)
	if r.HasBoundProcs("n") {
		t.Error("HasBoundProcs true after the process went")
	}
}
