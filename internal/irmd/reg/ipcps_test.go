package reg

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// ---- ipcp_test.c ---------------------------------------------------------------

// test_reg_ipcp_create: a new IPCP has layer "Not enrolled."; once in BOOT,
// setting the layer stores it.
func TestIPCPCreate(t *testing.T) {
	t.Parallel()
	r := New()
	// Whatever state and layer the caller passes, a new IPCP is INIT and not enrolled.
	if err := r.CreateIPCP(IPCP{PID: 100, Type: 1, Name: "testipcp", State: IPCPOperational,
		Layer: "bogus", HashAlgo: 3}); err != nil {
		t.Fatal(err)
	}
	i, ok := r.GetIPCP(100)
	if !ok || i.Layer != NotEnrolled || i.State != IPCPInit || i.Enrolled() ||
		i.Name != "testipcp" || i.Type != 1 {
		t.Fatalf("new IPCP = %+v, %v", i, ok)
	}
	if NotEnrolled != "Not enrolled." {
		t.Errorf("NotEnrolled = %q", NotEnrolled)
	}
	if err := r.SetIPCPState(100, IPCPBoot); err != nil {
		t.Fatal(err)
	}
	if err := r.SetLayer(100, "testlayer", 1); err != nil {
		t.Fatal(err)
	}
	i, _ = r.GetIPCP(100)
	if i.Layer != "testlayer" || i.HashAlgo != 1 || i.State != IPCPBoot || !i.Enrolled() {
		t.Errorf("after set layer: %+v", i)
	}
	if err := r.CreateIPCP(IPCP{PID: 100}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate CreateIPCP = %v, want ErrExists", err)
	}
}

// ---- reg_test.c: IPCPs ---------------------------------------------------------

// test_reg_create_ipcp: create and destroy.
func TestRegCreateIPCP(t *testing.T) {
	t.Parallel()
	r := New()
	if err := r.CreateIPCP(IPCP{PID: 1, Type: 0, Name: "local"}); err != nil {
		t.Fatal(err)
	}
	if l := r.ListIPCPs(); len(l) != 1 || l[0].PID != 1 {
		t.Fatalf("ListIPCPs = %+v", l)
	}
	if err := r.DestroyIPCP(1); err != nil {
		t.Fatal(err)
	}
	if err := r.DestroyIPCP(1); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DestroyIPCP = %v, want ErrNotFound", err)
	}
	if l := r.ListIPCPs(); len(l) != 0 {
		t.Errorf("ListIPCPs after destroy = %+v", l)
	}
	if err := r.SetIPCPState(1, IPCPBoot); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetIPCPState(unknown) = %v, want ErrNotFound", err)
	}
	if err := r.SetLayer(1, "l", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetLayer(unknown) = %v, want ErrNotFound", err)
	}
	if _, ok := r.GetIPCP(1); ok {
		t.Error("GetIPCP(unknown) ok")
	}
}

// test_reg_list_ipcps: 10 IPCPs listed (same type: by pid).
func TestRegListIPCPs(t *testing.T) {
	t.Parallel()
	r := New()
	for i := 10; i >= 1; i-- {
		if err := r.CreateIPCP(IPCP{PID: i, Type: 1, Name: fmt.Sprintf("ipcp%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	l := r.ListIPCPs()
	if len(l) != 10 {
		t.Fatalf("%d IPCPs, want 10", len(l))
	}
	for i, ip := range l {
		if ip.PID != i+1 || ip.Name != fmt.Sprintf("ipcp%d", i+1) || ip.Layer != NotEnrolled {
			t.Errorf("ipcps[%d] = %+v", i, ip)
		}
	}
}

// test_insert_ipcps: 100 IPCPs of random type and pid are listed sorted by
// type, then pid.
func TestInsertIPCPs(t *testing.T) {
	t.Parallel()
	r := New()
	rng := rand.New(rand.NewPCG(7, 11))
	var want []IPCP
	seen := map[int]bool{}
	for len(want) < 100 {
		pid := 2 + rng.IntN(1<<20)
		if seen[pid] {
			continue
		}
		seen[pid] = true
		i := IPCP{PID: pid, Type: uint32(rng.IntN(7)), Name: fmt.Sprint("ipcp", pid)}
		if err := r.CreateIPCP(i); err != nil {
			t.Fatal(err)
		}
		i.State, i.Layer = IPCPInit, NotEnrolled
		want = append(want, i)
	}
	slices.SortFunc(want, func(a, b IPCP) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.PID, b.PID))
	})
	if got := r.ListIPCPs(); !slices.Equal(got, want) {
		t.Errorf("ListIPCPs not sorted by type then pid:\n got  %v\n want %v", got, want)
	}
}

// test_set_layer.
func TestSetLayer(t *testing.T) {
	t.Parallel()
	r := New()
	if err := r.CreateIPCP(IPCP{PID: 5, Type: 5, Name: "udp"}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetIPCPState(5, IPCPBoot); err != nil {
		t.Fatal(err)
	}
	if err := r.SetLayer(5, "testlayer", 5); err != nil {
		t.Fatal(err)
	}
	l := r.ListIPCPs()
	if len(l) != 1 || l[0].Layer != "testlayer" || l[0].HashAlgo != 5 || !l[0].Enrolled() {
		t.Errorf("ListIPCPs = %+v", l)
	}
}
