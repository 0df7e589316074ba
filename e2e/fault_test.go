package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// readUntilDown reads f until it fails and returns the error; it fails the
// test if the flow stays up for 10 s.
func readUntilDown(t *testing.T, f *flow.Flow) error {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	for {
		if _, err := f.Read(buf); err != nil {
			if isErrno(err, flow.ETIMEDOUT) {
				t.Fatal("the flow did not go down within 10 s")
			}
			return err
		}
	}
}

// acceptOne binds this process to name and returns a channel with the next
// accepted flow.
func (e *env) acceptOne(name string) <-chan *flow.Flow {
	e.t.Helper()
	if err := e.irm.BindProcess(e.ctx(), os.Getpid(), name); err != nil {
		e.t.Fatal(err)
	}
	ch := make(chan *flow.Flow, 1)
	go func() {
		f, err := flow.Accept(e.ctx())
		if err != nil {
			e.t.Error(err)
			close(ch)
			return
		}
		e.t.Cleanup(func() { f.Close() })
		ch <- f
	}()
	return ch
}

// TestKillClient: a client killed mid-flow; the server sees the flow go down
// and the irmd forgets the process.
func TestKillClient(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			e := setup(t, rig.Options{NoDirect: !direct})
			if !direct {
				pid := e.localLayer("local1", "local-layer")
				e.register("victim.srv", pid)
			}
			accepted := e.acceptOne("victim.srv")
			cli := e.role("client", "victim.srv")
			srvFlow := <-accepted
			if srvFlow == nil {
				t.FailNow()
			}
			go echo2(srvFlow)
			cli.WaitOutput(t, "echoing", 10*time.Second)
			cli.Kill()
			e.WaitLog(fmt.Sprintf("Process %d died.", cli.PID()), 5*time.Second)
			eventually(t, "the server's flow to go down", func() bool {
				_, err := srvFlow.Write([]byte("x"))
				return isErrno(err, flow.EFLOWDOWN)
			})
			if got := e.Log(); strings.Contains(got, "panic") {
				t.Fatalf("panic in the irmd log:\n%s", got)
			}
		})
	}
}

// echo2 echoes on f without closing it (the test owns it).
func echo2(f *flow.Flow) {
	buf := make([]byte, 2048)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestKillServer: a server killed mid-flow; the client's reads return the
// queued data then EFLOWDOWN, the irmd unbinds the dead process and a new
// server takes over the name.
func TestKillServer(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			e := setup(t, rig.Options{NoDirect: !direct})
			if !direct {
				pid := e.localLayer("local1", "local-layer")
				e.register("victim.srv", pid)
			}
			srv := e.role("echo-server", "victim.srv")
			srv.WaitOutput(t, "ready", 10*time.Second)
			f := e.alloc("victim.srv", qos.Raw)
			roundTrip(t, f, []byte("before"))
			srv.Kill()
			if err := readUntilDown(t, f); !isErrno(err, flow.EFLOWDOWN) {
				t.Fatalf("read after the server died: %v, want EFLOWDOWN", err)
			}
			if _, err := f.Write([]byte("x")); !isErrno(err, flow.EFLOWDOWN) {
				t.Fatalf("write after the server died: %v, want EFLOWDOWN", err)
			}
			e.WaitLog(fmt.Sprintf("Process %d died.", srv.PID()), 5*time.Second)
			f.Close()
			srv2 := e.role("echo-server", "victim.srv")
			srv2.WaitOutput(t, "ready", 10*time.Second)
			g := e.alloc("victim.srv", qos.Raw)
			roundTrip(t, g, []byte("after"))
		})
	}
}

// TestKillIPCP: the local IPCP killed mid-flow; both ends see the flow go
// down, the irmd drops the IPCP (irm ipcp list) and a new IPCP works.
func TestKillIPCP(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local1", "local-layer")
	e.register("victim.srv", pid)
	accepted := e.acceptOne("victim.srv")
	f := e.alloc("victim.srv", qos.Raw)
	srvFlow := <-accepted
	if srvFlow == nil {
		t.FailNow()
	}
	srvFlow.Write([]byte("queued"))
	syscall.Kill(pid, syscall.SIGKILL)
	buf := make([]byte, 16)
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := f.Read(buf); err == nil && string(buf[:n]) != "queued" {
		t.Fatalf("read %q", buf[:n])
	}
	if err := readUntilDown(t, f); !isErrno(err, flow.EFLOWDOWN) {
		t.Fatalf("client read after the IPCP died: %v", err)
	}
	if err := readUntilDown(t, srvFlow); !isErrno(err, flow.EFLOWDOWN) {
		t.Fatalf("server read after the IPCP died: %v", err)
	}
	e.WaitLog(fmt.Sprintf("IPCP %d died.", pid), 5*time.Second)
	out := e.Irm("ipcp", "list")
	if out != "No IPCPs in system.\n\n" {
		t.Fatalf("irm ipcp list after the IPCP died:\n%q", out)
	}
	// The name survives (names live in the irmd); a new layer serves it.
	if out := e.Irm("name", "list"); !strings.Contains(out, "victim.srv") {
		t.Fatalf("irm name list lost the name:\n%s", out)
	}
	pid2 := e.localLayer("local2", "local-layer")
	if err := e.irm.RegName(e.ctx(), "victim.srv", pid2); err != nil {
		t.Fatal(err)
	}
	e.serve("victim.srv")
	g := e.alloc("victim.srv", qos.Raw)
	roundTrip(t, g, []byte("new layer"))
}

// TestDeadProcessUnbound checks that a bound process that dies without
// PROC_EXIT is removed from the registry within a second or two, so the next
// allocation does not wait for it.
func TestDeadProcessUnbound(t *testing.T) {
	e := setup(t, rig.Options{})
	srv := e.role("echo-server", "gone.srv")
	srv.WaitOutput(t, "ready", 10*time.Second)
	start := time.Now()
	srv.Kill()
	e.WaitLog(fmt.Sprintf("Process %d died.", srv.PID()), 5*time.Second)
	if d := time.Since(start); d > 5*time.Second { // pidfd: immediate by design; the bound only guards against polling
		t.Errorf("death noticed after %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := flow.Alloc(ctx, "gone.srv", qos.Raw)
	if err == nil {
		t.Fatal("allocated a flow to a dead process")
	}
	names, err := e.irm.ListNames(e.ctx())
	if err != nil || len(names) != 1 || names[0].Name != "gone.srv" || names[0].LB != irm.Spill {
		t.Fatalf("names = %v, %v", names, err)
	}
}
