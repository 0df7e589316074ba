// Package rig runs private Ouroboros instances for tests: it builds the
// commands once, starts an irmd in a temporary run directory, and stops it
// and everything it started when the test ends, even when the test fails.
// Nothing touches the default run directory.
package rig

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Bin builds every command of the module into one directory (once per test
// binary) and returns it. The directory is removed by Cleanup.
func Bin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "o7s-bin-")
		if buildErr != nil {
			return
		}
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		args := []string{"build", "-o", binDir + "/"}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/...")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Cleanup removes the built binaries; call it from TestMain after m.Run.
func Cleanup() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the module")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Instance is a private irmd with its run directory.
type Instance struct {
	t    testing.TB
	Dir  string // run directory
	Bin  string // directory of the built commands
	irmd *exec.Cmd
	log  *syncBuffer
	done chan struct{}

	logFile   string      // where the whole log is saved if the test fails
	tailShown atomic.Bool // a failure message carried the log's tail

	env   []string // Options.Env
	netns string   // Options.NetNS

	mu       sync.Mutex
	procs    []*exec.Cmd
	started  []*Proc
	stopOnce sync.Once
}

// Options for Start.
type Options struct {
	NoDirect bool   // irmd --no-direct
	Datapath string // irmd --datapath: "shm" or "socket"; "" = $O7S_TEST_DATAPATH, else the irmd's default
	// Env is added to the environment of the irmd (which passes the
	// OUROBOROS_* variables on to its IPCPs) and of the instance's processes,
	// e.g. OUROBOROS_HOSTS for the UDP IPCPs' name resolution.
	Env []string
	// NetNS runs the irmd and every process of the instance inside this
	// network namespace (see Net), as one host of a multi-host test.
	NetNS string
	// Group is irmd --group: members of this group may manage the stack.
	Group string
	// Config is irmd --config: a configuration file carried out at start.
	Config string
	// MaxConns is irmd --max-conns (0: the irmd's default).
	MaxConns int
	// SecurityDir is irmd --security-dir: the per-name enc.conf files
	// ("": the irmd's default).
	SecurityDir string
}

// Start starts an irmd in a new temporary run directory and registers its
// teardown with t.Cleanup.
func Start(t testing.TB, opt Options) *Instance {
	t.Helper()
	bin := Bin(t)
	dir, err := os.MkdirTemp("", "o7s-run-")
	if err != nil {
		t.Fatal(err)
	}
	in := &Instance{t: t, Dir: dir, Bin: bin, log: &syncBuffer{}, done: make(chan struct{}), env: opt.Env,
		netns: opt.NetNS, logFile: logFileFor(t, dir)}
	args := []string{"--stdout", "--run-dir", dir}
	if opt.NoDirect {
		args = append(args, "--no-direct")
	}
	if opt.Group != "" {
		args = append(args, "--group", opt.Group)
	}
	if opt.Config != "" {
		args = append(args, "--config", opt.Config)
	}
	if opt.SecurityDir != "" {
		args = append(args, "--security-dir", opt.SecurityDir)
	}
	if opt.MaxConns != 0 {
		args = append(args, "--max-conns", strconv.Itoa(opt.MaxConns))
	}
	if opt.Datapath == "" {
		opt.Datapath = os.Getenv("O7S_TEST_DATAPATH")
	}
	if opt.Datapath != "" {
		args = append(args, "--datapath", opt.Datapath)
	}
	cmd := in.inNS(exec.Command(filepath.Join(bin, "irmd"), args...))
	cmd.Env = in.Env()
	cmd.Stdout, cmd.Stderr = in.log, in.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.irmd = cmd
	go func() { cmd.Wait(); close(in.done) }()
	t.Cleanup(in.Stop)
	in.WaitLog("daemon started", 10*time.Second)
	return in
}

// Env is the environment for processes of this instance.
func (in *Instance) Env() []string {
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, rundir.Env+"=") {
			env = append(env, e)
		}
	}
	env = append(env, in.env...)
	return append(env, rundir.Env+"="+in.Dir, "PATH="+in.Bin+":"+os.Getenv("PATH"))
}

// IRMdPID returns the irmd's pid.
func (in *Instance) IRMdPID() int { return in.irmd.Process.Pid }

// Log returns what the irmd and its IPCPs printed so far.
func (in *Instance) Log() string { return in.log.String() }

// WaitLog waits until the log contains s.
func (in *Instance) WaitLog(s string, timeout time.Duration) {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(in.log.String(), s) {
		if time.Now().After(deadline) {
			in.t.Fatalf("irmd log has no %q after %v:\n%s", s, timeout, in.Tail())
		}
		select {
		case <-in.done:
			in.t.Fatalf("irmd exited while waiting for %q:\n%s", s, in.Tail())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Run runs a command of the module to completion and returns its output and
// exit code.
func (in *Instance) Run(name string, args ...string) (stdout, stderr string, code int) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := in.inNS(exec.CommandContext(ctx, filepath.Join(in.Bin, name), args...))
	cmd.Env = in.Env()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			in.t.Fatalf("%s %v: %v", name, args, err)
		}
	}
	return o.String(), e.String(), code
}

// Irm runs the irm tool and fails the test if it exits non-zero.
func (in *Instance) Irm(args ...string) string {
	in.t.Helper()
	out, errOut, code := in.Run("irm", args...)
	if code != 0 {
		in.t.Fatalf("irm %s: exit %d\nstdout: %s\nstderr: %s\n%s",
			strings.Join(args, " "), code, out, errOut, in.Tail())
	}
	return out
}

// Proc is a background process of the instance.
type Proc struct {
	Cmd  *exec.Cmd
	Out  *syncBuffer
	done chan struct{}
}

// Start starts a command of the module in the background; it is killed at
// the end of the test.
func (in *Instance) Start(name string, args ...string) *Proc {
	in.t.Helper()
	cmd := exec.Command(filepath.Join(in.Bin, name), args...)
	cmd.Env = in.Env()
	return in.StartCmd(cmd)
}

// PID returns the process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to be reaped.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.done
}

// Wait waits for the process to exit, up to timeout; it reports whether it did.
func (p *Proc) Wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// WaitOutput waits until the process printed s.
func (p *Proc) WaitOutput(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output after %v:\n%s", s, timeout, p.Tail())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Fields splits a table row of the irm tool into its cells.
func Fields(row string) []string {
	var out []string
	for _, c := range strings.Split(row, "|") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// Stop ends the instance: SIGTERM to the irmd (which stops its IPCPs and
// processes), SIGKILL to anything left, and the run directory is removed.
// It may be called more than once.
func (in *Instance) Stop() {
	in.stopOnce.Do(in.stop)
}

func (in *Instance) stop() {
	if in.irmd != nil && in.irmd.Process != nil {
		in.irmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(20 * time.Second):
			in.irmd.Process.Kill()
			<-in.done
		}
	}
	in.mu.Lock()
	for _, p := range in.procs {
		if p.Process != nil {
			syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			p.Process.Kill()
		}
	}
	in.mu.Unlock()
	// Daemons and tools built with -race report races on their output.
	if strings.Contains(in.log.String(), "WARNING: DATA RACE") {
		in.t.Errorf("data race in the irmd or an IPCP")
	}
	for _, p := range in.started {
		if strings.Contains(p.Out.String(), "WARNING: DATA RACE") {
			in.t.Errorf("data race in %s:\n%s", p.Cmd.Path, raceReport(p.Out.String()))
		}
	}
	if in.t.Failed() {
		in.reportLog()
	}
	in.t.Cleanup(func() { os.RemoveAll(in.Dir) })
}

// Lines returns the lines of s that contain sub.
func Lines(s, sub string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// StartCmd starts cmd in the background as a process of the instance (with its
// output captured); it is killed at the end of the test. It runs in a process
// group of its own, with cmd's other attributes (such as a Credential).
func (in *Instance) StartCmd(cmd *exec.Cmd) *Proc {
	in.t.Helper()
	cmd = in.inNS(cmd)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	in.mu.Lock()
	in.procs = append(in.procs, cmd)
	in.started = append(in.started, p)
	in.mu.Unlock()
	return p
}

// Race reports whether the tests and the binaries they run are built with
// the race detector.
func Race() bool { return raceEnabled }

// inNS makes cmd run inside the instance's network namespace, if it has
// one: ip netns exec enters it and then executes the command in place, so
// the process keeps the pid the test sees.
func (in *Instance) inNS(cmd *exec.Cmd) *exec.Cmd {
	if in.netns == "" || (len(cmd.Args) > 2 && cmd.Args[1] == "netns") {
		return cmd
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		in.t.Fatalf("network namespace %s: %v", in.netns, err)
	}
	cmd.Args = append([]string{"ip", "netns", "exec", in.netns, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = ip
	return cmd
}
