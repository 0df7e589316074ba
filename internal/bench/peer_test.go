package bench

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/qos"
)

// TestMain lets this test binary run as a peer, as obench does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == PeerCommand {
		os.Exit(PeerMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// TestKernelPaths opens the kernel paths with real peer processes, makes a
// few round trips, and checks that Cleanup leaves no process behind.
func TestKernelPaths(t *testing.T) {
	cfg := DefaultConfig(true)
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	var pids []int
	for _, p := range DefaultPaths() {
		if !p.Kernel {
			continue
		}
		s, err := p.Open(context.Background(), h, qos.Raw)
		if err != nil {
			t.Fatalf("%s: %v", p.ID, err)
		}
		if len(s.PIDs) != 2 || s.PIDs[0] != os.Getpid() {
			t.Errorf("%s: pids %v", p.ID, s.PIDs)
		}
		pids = append(pids, s.PIDs[1])
		cl := newClient(s.Conn, s.Lossy)
		cl.test = 1
		for i := range 10 {
			if _, ok, err := cl.roundTrip(make([]byte, 100), uint64(i)); err != nil || !ok {
				t.Errorf("%s: round trip %d: %v, %v", p.ID, i, ok, err)
			}
		}
		if _, err := CPUTicks(s.PIDs); err != nil {
			t.Errorf("%s: %v", p.ID, err)
		}
		if p.ID == UnixID {
			s.Close() // the other one is left to Cleanup
		}
	}
	h.Cleanup()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("peer %d still runs after Cleanup", pid)
		}
	}
}

func TestPeerUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"flow"}} {
		if code := PeerMain(args); code != 2 {
			t.Errorf("PeerMain(%q) = %d, want 2", args, code)
		}
	}
}

func TestWaitOutputExit(t *testing.T) {
	var ps procs
	defer ps.cleanup()
	c, err := ps.start("false", newCmd("/bin/sh", "-c", "echo hello; exit 3"), false)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := c.waitOutput("hello", time.Second); err != nil || line != "hello" {
		t.Errorf("waitOutput = %q, %v", line, err)
	}
	if _, err := c.waitOutput("never", 5*time.Second); err == nil {
		t.Error("waitOutput of an exited process succeeded")
	}
}

func newCmd(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

// TestOnCleanup checks the teardown steps of things other than processes and
// directories: one run by its caller is not run again by cleanup, the others
// run at cleanup, newest first, after every child stopped, and nothing can
// be registered afterwards.
func TestOnCleanup(t *testing.T) {
	var ps procs
	defer ps.cleanup()
	c, err := ps.start("sleep", newCmd("/bin/sh", "-c", "echo up; exec sleep 60"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitOutput("up", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var order []string
	step := func(name string) func() {
		return func() {
			select {
			case <-c.done:
			default:
				t.Errorf("%s ran before the child stopped", name)
			}
			order = append(order, name)
		}
	}
	first, err := ps.onCleanup(step("first"))
	if err != nil {
		t.Fatal(err)
	}
	early, err := ps.onCleanup(func() { order = append(order, "early") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.onCleanup(step("last")); err != nil {
		t.Fatal(err)
	}
	early()
	early()
	ps.cleanup()
	first() // already run by cleanup
	if want := []string{"early", "last", "first"}; !reflect.DeepEqual(order, want) {
		t.Errorf("steps ran in order %v, want %v", order, want)
	}
	if _, err := ps.onCleanup(func() {}); err == nil {
		t.Error("onCleanup after cleanup succeeded")
	}
}
