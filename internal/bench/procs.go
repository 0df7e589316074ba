package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the harness started: a peer or an irmd.
type child struct {
	name   string
	cmd    *exec.Cmd
	out    *outFile       // its standard output and error
	stdin  io.WriteCloser // closing it stops a peer; nil for daemons
	done   chan struct{}  // closed when it has been reaped
	daemon bool           // stopped with SIGTERM (an irmd stops its IPCPs and processes)
	extra  []int          // pids it started (IPCPs), killed if still there after it

	stopOnce sync.Once
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// waitOutput waits until the child printed a line containing s and returns
// that line.
func (c *child) waitOutput(s string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		// Once done is closed, the output is complete (Wait copied it all).
		exited := false
		select {
		case <-c.done:
			exited = true
		default:
		}
		for _, line := range strings.Split(c.out.String(), "\n") {
			if strings.Contains(line, s) {
				return line, nil
			}
		}
		if exited {
			return "", fmt.Errorf("%s exited before printing %q:\n%s", c.name, s, c.out.String())
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s printed no %q in %v:\n%s", c.name, s, timeout, c.out.String())
		}
		select {
		case <-c.done:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// procs tracks every process, directory and other system object (a network
// namespace, a veth pair) the harness created, so that they go away on every
// exit path, Ctrl-C included.
type procs struct {
	mu       sync.Mutex
	children []*child
	dirs     []string
	undos    []*undo // newest last
	closed   bool
	log      io.Writer // where the output of a child that misbehaved goes
}

// undo is a teardown step that cleanup runs after every child stopped.
type undo struct {
	once sync.Once
	f    func()
}

// start starts cmd in its own process group (so that a Ctrl-C at the terminal
// reaches only the harness, which then stops it). A peer gets a pipe as
// standard input and exits when it closes; a daemon gets SIGTERM if the
// harness dies.
func (ps *procs) start(name string, cmd *exec.Cmd, daemon bool) (*child, error) {
	out, err := newOutFile()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, out: out, done: make(chan struct{}), daemon: daemon}
	cmd.Stdout, cmd.Stderr = out.f, out.f
	sig := syscall.SIGKILL
	if daemon {
		sig = syscall.SIGTERM
	} else {
		w, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		c.stdin = w
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return nil, fmt.Errorf("start %s: the harness is stopping", name)
	}
	if err := cmd.Start(); err != nil {
		out.f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(c.done) }()
	ps.children = append(ps.children, c)
	return c, nil
}

// tempDir creates a directory that cleanup removes.
func (ps *procs) tempDir(pattern string) (string, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return "", fmt.Errorf("the harness is stopping")
	}
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	ps.dirs = append(ps.dirs, dir)
	return dir, nil
}

// stop ends c: a peer by closing its standard input, a daemon by SIGTERM;
// after 10 s, SIGKILL to its process group. Then the processes it started are
// killed if they are still there. It is safe to call more than once.
func (ps *procs) stop(c *child) {
	c.stopOnce.Do(func() { ps.stopNow(c) })
}

func (ps *procs) stopNow(c *child) {
	if c.stdin != nil {
		c.stdin.Close()
	}
	if c.daemon {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
	// Anything left in its group (it was the group leader).
	syscall.Kill(-c.pid(), syscall.SIGKILL)
	for _, pid := range c.extra {
		if isIPCP(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if out := c.out.String(); strings.Contains(out, "WARNING: DATA RACE") && ps.log != nil {
		fmt.Fprintf(ps.log, "== output of %s (pid %d)\n%s", c.name, c.pid(), out)
	}
}

// onCleanup registers f, which undoes something the harness just created
// outside its processes and directories (a veth pair, a network namespace),
// and returns the function that runs it: at most once, whether it is called
// first or cleanup is. cleanup runs the steps still registered after it
// stopped every child, newest first. It fails, without registering f, once
// the harness is stopping; the caller then undoes what it created itself.
func (ps *procs) onCleanup(f func()) (func(), error) {
	u := &undo{f: f}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return nil, fmt.Errorf("the harness is stopping")
	}
	ps.undos = append(ps.undos, u)
	return func() {
		u.once.Do(u.f)
		ps.mu.Lock()
		defer ps.mu.Unlock()
		for i, v := range ps.undos {
			if v == u {
				ps.undos = append(ps.undos[:i], ps.undos[i+1:]...)
				break
			}
		}
	}, nil
}

// removeDir removes a directory made by tempDir.
func (ps *procs) removeDir(dir string) {
	os.RemoveAll(dir)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for i, d := range ps.dirs {
		if d == dir {
			ps.dirs = append(ps.dirs[:i], ps.dirs[i+1:]...)
			break
		}
	}
}

// isIPCP reports whether pid is a live ipcpd-* process.
func isIPCP(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && bytes.HasPrefix(b, []byte("ipcpd"))
}

// cleanup stops every child, newest first, runs every teardown step still
// registered with onCleanup, newest first, and removes every directory.
// Nothing can be added afterwards. It is safe to call more than once and
// concurrently.
func (ps *procs) cleanup() {
	ps.mu.Lock()
	ps.closed = true
	children, dirs, undos := ps.children, ps.dirs, ps.undos
	ps.children, ps.dirs, ps.undos = nil, nil, nil
	ps.mu.Unlock()
	for i := len(children) - 1; i >= 0; i-- {
		ps.stop(children[i])
		children[i].out.f.Close()
	}
	for i := len(undos) - 1; i >= 0; i-- {
		undos[i].once.Do(undos[i].f)
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

// outFile is where a child's standard output and error go: a file (created
// and unlinked at once, so nothing is left behind), as the reference's tools
// write to theirs (cnode.sh bg), not a pipe. A pipe has a reader, this
// process, which wakes for every line written to it, and would take the CPU
// from the processes measured on a 2-core machine if one printed per packet
// (the tool rows run quiet, -Q, so none does today). The child writes through its own descriptor; String reads what
// is there so far with pread, leaving the shared offset alone.
type outFile struct{ f *os.File }

func newOutFile() (*outFile, error) {
	f, err := os.CreateTemp("", "obench-out-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return &outFile{f: f}, nil
}

// String returns everything the child wrote so far.
func (o *outFile) String() string {
	fi, err := o.f.Stat()
	if err != nil {
		return ""
	}
	b := make([]byte, fi.Size())
	n, _ := o.f.ReadAt(b, 0)
	return string(b[:n])
}
