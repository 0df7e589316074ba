package e2e

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// lockedBuffer collects a process's standard error while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// oncProc is a running onc with its standard input and output on files.
type oncProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
}

// startOnc starts onc as an application of in, with standard input from
// the file in (os.DevNull for none) and standard output to the file out;
// it is killed at the end of the test if still running.
func startOnc(t *testing.T, in *rig.Instance, stdin, stdout string, args ...string) *oncProc {
	t.Helper()
	cmd := exec.Command(filepath.Join(in.Bin, "onc"), args...)
	cmd.Env = in.Env()
	fi, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer fi.Close()
	fo, err := os.Create(stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer fo.Close()
	p := &oncProc{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = fi, fo, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitStderr waits until p printed s on standard error.
func (p *oncProc) waitStderr(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !strings.Contains(p.stderr.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("onc printed no %q in %v:\n%s", s, timeout, p.stderr.String())
		}
		select {
		case <-p.done:
			t.Fatalf("onc exited (%v) before printing %q:\n%s", p.cmd.ProcessState, s, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// exit waits for p to exit and returns its status.
func (p *oncProc) exit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("onc did not exit in %v:\n%s", timeout, p.stderr.String())
		return -1
	}
}

// randomFile writes size pseudo-random bytes to a new file and returns its
// path and SHA-256.
func randomFile(t *testing.T, size int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), 14))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, sha256.Sum256(b)
}

// oncTransfer moves a file of size bytes with onc: onc -l NAME > out on
// srv (standard input /dev/null, as a background job of a script has), and
// onc NAME < file on cli; both must exit 0 and the SHA-256 must match.
// Then the other way: onc -l NAME < file and onc NAME > out.
func oncTransfer(t *testing.T, srv, cli *rig.Instance, name string, size int, listenArgs ...string) {
	t.Helper()
	file, sum := randomFile(t, size)
	dir := t.TempDir()
	check := func(what, out string, l, c *oncProc) {
		t.Helper()
		start := time.Now()
		lc, cc := l.exit(t, 3*time.Minute), c.exit(t, 3*time.Minute)
		if lc != 0 || cc != 0 {
			t.Fatalf("%s: listener exit %d, client exit %d\nlistener: %s\nclient: %s", what, lc, cc, l.stderr, c.stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(got) != sum {
			t.Fatalf("%s: received %d bytes, want %d, SHA-256 differs", what, len(got), size)
		}
		t.Logf("%s: %d MB, SHA-256 matches, both ends exited 0 (%v)", what, size>>20, time.Since(start).Round(time.Millisecond))
	}

	out := filepath.Join(dir, "up")
	l := startOnc(t, srv, os.DevNull, out, append(append([]string{"-v", "-l"}, listenArgs...), name)...)
	l.waitStderr(t, "onc: listening on "+name, 20*time.Second)
	c := startOnc(t, cli, file, filepath.Join(dir, "cli-out"), "-v", name)
	check("upload", out, l, c)

	out = filepath.Join(dir, "down")
	l = startOnc(t, srv, file, filepath.Join(dir, "srv-out"), append(append([]string{"-v", "-l"}, listenArgs...), name)...)
	l.waitStderr(t, "onc: listening on "+name, 20*time.Second)
	c = startOnc(t, cli, os.DevNull, out, "-v", name)
	check("download", out, l, c)
}

// TestOncLocal: onc moves 10 MB each way across the local IPCP (no direct
// flows); the listener registers its name in the layer itself (-r).
func TestOncLocal(t *testing.T) {
	in := rig.Start(t, rig.Options{NoDirect: true})
	in.Irm("ipcp", "bootstrap", "type", "local", "name", "local-ipcp", "layer", "local-layer")
	oncTransfer(t, in, in, "onc.srv", 10<<20, "-r", "local-layer")
	if !strings.Contains(in.Log(), "Registered onc.srv with IPCP") {
		t.Fatalf("onc -r did not register the name:\n%s", in.Tail())
	}
}

// TestOncUDP: onc moves 10 MB each way across udp4 between two irmds on
// loopback (127.0.0.1 and 127.0.0.2); the end of the stream crosses the
// shim layer, which does not signal a deallocation.
func TestOncUDP(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"onc.b": "b"})
	oncTransfer(t, u.b, u.a.Instance, "onc.b", 10<<20)
}

// TestOncErrors: an unknown name, an unknown layer and no IRMd are said in
// words on standard error, with exit status 1 and nothing on standard
// output; a peer that dies mid-stream is exit status 1 at the other end.
func TestOncErrors(t *testing.T) {
	in := rig.Start(t, rig.Options{NoDirect: true})
	in.Irm("ipcp", "bootstrap", "type", "local", "name", "local-ipcp", "layer", "local-layer")
	for _, inv := range []invocation{
		{args: []string{"onc", "no.such.name"}, code: 1, stderr: "onc: cannot reach no.such.name: "},
		{args: []string{"onc", "-l", "-r", "no-such-layer", "x"}, code: 1,
			stderr: "onc: cannot register x in layer no-such-layer: no IPCP of this host is in that layer"},
		{args: []string{"onc", "-q", "fast", "x"}, code: 1, stderr: `onc: unknown QoS cube "fast"`},
		{args: []string{"onc"}, code: 1, stderr: "onc: no name given."},
		{args: []string{"onc", "--help"}, code: 0, stdout: "Usage: onc [OPTION]... NAME"},
	} {
		inv.check(t, in.Run)
		if inv.code != 0 {
			if out, _, _ := in.Run(inv.args[0], inv.args[1:]...); out != "" {
				t.Errorf("%v printed on standard output: %q", inv.args, out)
			}
		}
	}
	// The unknown name is explained.
	if _, errOut, _ := in.Run("onc", "no.such.name"); !strings.Contains(errOut, "unknown name") {
		t.Errorf("unknown name not explained: %q", errOut)
	}
	invocation{args: []string{"onc", "x"}, code: 1, stderr: "no IPC Resource Manager daemon at"}.check(t, runIn(t, in.Bin, t.TempDir()))

	// A listener killed mid-stream: the client's stream never ends. (The
	// listener's standard input is empty, so it ended its own stream first.)
	dir := t.TempDir()
	l := startOnc(t, in, os.DevNull, filepath.Join(dir, "out"), "-v", "-l", "-r", "local-layer", "onc.dies")
	l.waitStderr(t, "onc: listening on onc.dies", 20*time.Second)
	fifo := filepath.Join(dir, "fifo")
	if err := exec.Command("mkfifo", fifo).Run(); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// The client's standard input is a FIFO the test holds open: it sends
	// a little and then waits for more.
	opened := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			opened <- nil
			return
		}
		w.Write([]byte("some bytes\n"))
		opened <- w
	}()
	c := startOnc(t, in, fifo, filepath.Join(dir, "cli-out"), "-v", "onc.dies")
	w := <-opened
	if w == nil {
		t.Fatal("could not open the FIFO")
	}
	defer w.Close()
	// Killed only once it has sent its end: "accepted a flow" comes before
	// that, and a kill in between (seen under load) leaves the client a
	// flow that went down before the peer's end, another outcome.
	l.waitStderr(t, "onc: end of standard input: sent 0 bytes", 20*time.Second)
	l.cmd.Process.Kill()
	if code := c.exit(t, time.Minute); code != 1 || !strings.Contains(c.stderr.String(), "onc: the peer left before the end of our stream (sent 11 bytes)") {
		t.Errorf("client after its peer died: exit %d\n%s", code, c.stderr)
	}
}
