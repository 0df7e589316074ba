package e2e

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// killIRMd kills the instance's irmd with SIGKILL, as a crash would: it
// cannot stop its processes, and its socket file stays behind.
func killIRMd(t *testing.T, in *rig.Instance) {
	t.Helper()
	if err := syscall.Kill(in.IRMdPID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// TestServersExitWhenIRMdDies: a server tool whose irmd is killed stops with
// a message saying the IRMd is gone and a non-zero status, instead of
// printing "Failed to accept flow" forever.
func TestServersExitWhenIRMdDies(t *testing.T) {
	servers := []struct {
		args  []string
		ready string
	}{
		{[]string{"oping", "-l"}, "Ouroboros ping server started."},
		{[]string{"operf", "-l"}, "Ouroboros perf server started."},
		{[]string{"ocbr", "-l"}, "Server started"},
		{[]string{"oecho", "-l"}, "Starting the server."},
	}
	for _, s := range servers {
		t.Run(s.args[0], func(t *testing.T) {
			in := rig.Start(t, rig.Options{})
			srv := in.Start(s.args[0], s.args[1:]...)
			srv.WaitOutput(t, s.ready, 10*time.Second)
			in.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "srv")
			killIRMd(t, in)
			if !srv.Wait(20 * time.Second) {
				t.Fatalf("%s still runs 20 s after its irmd died:\n%s", s.args[0], rig.Tail(srv.Out.String(), 40))
			}
			out := srv.Out.String()
			want := "IPC Resource Manager daemon at " + in.Dir + " is gone"
			if !strings.Contains(out, want) || !strings.Contains(out, "Exiting.") {
				t.Errorf("%s's output does not say %q:\n%s", s.args[0], want, rig.Tail(out, 40))
			}
			if n := strings.Count(out, "Failed to accept flow"); n > 2 {
				t.Errorf("%s printed %d accept failures before it stopped:\n%s", s.args[0], n, rig.Tail(out, 40))
			}
			if code := srv.Cmd.ProcessState.ExitCode(); code == 0 {
				t.Errorf("%s exited with status 0 after its irmd died", s.args[0])
			}
		})
	}
}

// TestAcceptLoopIRMdGone: an application's flow.Accept loop gets
// flow.ErrIRMDGone once its irmd is killed (at most one other failure first,
// not a stream of them); after an irmd starts again in the same run
// directory, the process is announced to it on its next call, can be bound
// there, and accepts a flow.
func TestAcceptLoopIRMdGone(t *testing.T) {
	e := setup(t, rig.Options{})
	e.Irm("bind", "process", strconv.Itoa(syscall.Getpid()), "name", "gone.srv")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := make(chan error, 1)
	others := 0
	go func() {
		for {
			f, err := flow.Accept(ctx)
			switch {
			case err == nil:
				f.Close()
			case errors.Is(err, flow.ErrIRMDGone), ctx.Err() != nil:
				res <- err
				return
			default:
				if others++; others > 1 {
					res <- err
					return
				}
			}
		}
	}()
	killIRMd(t, e.Instance)
	err := <-res
	if !errors.Is(err, flow.ErrIRMDGone) || !errors.Is(err, flow.EIRMD) {
		t.Fatalf("accept loop after the irmd died ended with %v (after %d other failures); want ErrIRMDGone", err, others)
	}
	if _, err := flow.Accept(ctx); !errors.Is(err, flow.ErrIRMDGone) {
		t.Fatalf("next Accept: %v, want ErrIRMDGone", err)
	}

	// A new irmd in the same run directory.
	irmd := e.StartCmd(exec.Command(filepath.Join(e.Bin, "irmd"), "--stdout", "--run-dir", e.Dir))
	irmd.WaitOutput(t, "daemon started", 10*time.Second)
	if err := flow.Init(); err != nil {
		t.Fatalf("announcing to the new irmd: %v", err)
	}
	e.Irm("bind", "process", strconv.Itoa(syscall.Getpid()), "name", "gone.srv")
	acc := make(chan error, 1)
	go func() {
		f, err := flow.Accept(ctx)
		if err == nil {
			buf := make([]byte, 64)
			var n int
			if n, err = f.Read(buf); err == nil {
				_, err = f.Write(buf[:n])
			}
			f.Close()
		}
		acc <- err
	}()
	f, err := flow.Alloc(ctx, "gone.srv", qos.Raw)
	if err != nil {
		t.Fatalf("allocation through the new irmd: %v\nnew irmd:\n%s", err, rig.Tail(irmd.Out.String(), 40))
	}
	defer f.Close()
	buf := make([]byte, 64)
	f.SetReadTimeout(10 * time.Second)
	if _, err := f.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Read(buf); err != nil || string(buf[:n]) != "again" {
		t.Fatalf("echo through the new irmd: %q, %v", buf[:n], err)
	}
	if err := <-acc; err != nil {
		t.Fatalf("accept through the new irmd: %v", err)
	}
}
