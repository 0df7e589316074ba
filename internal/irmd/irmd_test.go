package irmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/olog"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs a daemon in this process on a temporary run directory; this
// process is its application through the flow package.
func start(t *testing.T) (*Daemon, *logBuf, irm.Client) {
	t.Helper()
	leakcheck.Check(t)
	dir := t.TempDir()
	log := &logBuf{}
	d, err := New(Config{Dir: dir, Log: olog.New(log, "irmd", olog.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	})
	t.Setenv(rundir.Env, dir)
	t.Cleanup(flow.Fini)
	return d, log, irm.Client{Dir: dir}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestSingleInstance(t *testing.T) {
	d, _, _ := start(t)
	if _, err := New(Config{Dir: d.cfg.Dir}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second daemon on the same run directory: %v", err)
	}
}

func TestDirectFlowInProcess(t *testing.T) {
	d, log, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := flow.Init(); err != nil {
		t.Fatal(err)
	}
	if err := c.BindProcess(ctx, os.Getpid(), "self"); err != nil {
		t.Fatal(err)
	}
	accepted := make(chan *flow.Flow)
	go func() {
		f, err := flow.Accept(ctx)
		if err != nil {
			t.Error(err)
		}
		accepted <- f
	}()
	f, err := flow.Alloc(ctx, "self", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	g := <-accepted
	if g == nil {
		t.FailNow()
	}
	if f.ID() != g.ID() {
		t.Errorf("direct flow ids differ: %d, %d", f.ID(), g.ID())
	}
	f.Write([]byte("to self"))
	buf := make([]byte, 16)
	if n, err := g.Read(buf); err != nil || string(buf[:n]) != "to self" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	f.Close()
	g.Close()
	waitFor(t, "the flow to be released", func() bool { return len(d.reg.ListFlows()) == 0 })
	if !strings.Contains(log.String(), "allocated (direct)") {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestDeadProcessCleanup(t *testing.T) {
	d, log, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A child process that never talks to us: we announce it on its behalf.
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	pid := cmd.Process.Pid
	if err := d.procAnnounce(pid, "sleep", ctrl.Cred{PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if err := c.BindProcess(ctx, pid, "sleeper"); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, "the dead process to be removed", func() bool { return !d.reg.HasProc(pid) })
	if n, _ := d.reg.GetName("sleeper"); len(n.Procs) != 0 {
		t.Errorf("dead process still bound: %v", n.Procs)
	}
	// The registry forgets the process before the line is logged: wait for
	// the line rather than expect it at the instant the entry is gone.
	want := fmt.Sprintf("Process %d died.", pid)
	waitFor(t, "the log line "+strconv.Quote(want), func() bool { return strings.Contains(log.String(), want) })
}

func TestNamesAndPrograms(t *testing.T) {
	d, _, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.CreateName(ctx, irm.NameInfo{Name: "b", LB: irm.RoundRobin}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateName(ctx, irm.NameInfo{Name: "b", LB: irm.Spill}); err != nil {
		t.Fatalf("creating an existing name: %v, want success", err)
	}
	if err := c.BindProgram(ctx, "/bin/sh", "a", true, []string{"-c", "true"}); err != nil {
		t.Fatal(err)
	}
	names, err := c.ListNames(ctx)
	if err != nil || len(names) != 2 || names[0].Name != "a" || names[1].LB != irm.RoundRobin {
		t.Fatalf("names %v, %v", names, err)
	}
	if argv, ok := d.reg.AutoStart("a"); !ok || strings.Join(argv, " ") != "/bin/sh -c true" {
		t.Fatalf("auto-start %v", argv)
	}
	if err := c.UnbindProgram(ctx, "sh", "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.reg.AutoStart("a"); ok {
		t.Fatal("auto-start entry left after unbind")
	}
	if err := c.DestroyName(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.DestroyName(ctx, "a"); err == nil {
		t.Fatal("destroyed a name twice")
	}
	if err := c.CreateIPCP(ctx, "x", irm.Broadcast); err == nil {
		t.Fatal("created an IPCP of a type that is not built")
	}
}

// TestNoFlowIDsLeft: with every flow id held, a request fails with ENOMEM
// and words that say why (it used to be EBADF, with nothing logged), and the
// irmd logs it; once an id is free again, requests work.
func TestNoFlowIDsLeft(t *testing.T) {
	d, log, _ := start(t)
	if err := flow.Init(); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for {
		id, err := d.Registry().CreateFlow(1, qos.Raw)
		if err != nil {
			break
		}
		ids = append(ids, id)
	}
	// The refusal comes at once; the deadline is only a bound for a broken
	// irmd (a short one lost the race with a busy machine).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := flow.Accept(ctx)
	if !errors.Is(err, flow.ENOMEM) || !strings.Contains(err.Error(), "no flow ids") {
		t.Fatalf("accept with every id held: %v, want ENOMEM saying no flow ids are left", err)
	}
	if !strings.Contains(log.String(), "No flow ids left") {
		t.Fatalf("nothing logged:\n%s", log.String())
	}
	d.Registry().DestroyFlow(ids[0])
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if _, err := flow.Accept(ctx2); !errors.Is(err, flow.ETIMEDOUT) {
		t.Fatalf("accept with a free id: %v, want ETIMEDOUT", err)
	}
}
