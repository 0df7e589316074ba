package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// Interoperability with the reference implementation (the C prototype,
// installed as a black box under refPrefix by its own installer). A
// reference node runs in network and mount namespaces of its own, managed
// by the bundle's cnode.sh; our irmd runs in a network namespace the test
// creates, and a veth pair joins the two. Root only; skipped with a
// message when the reference is not installed.

const refPrefix = "/opt/o7s-ref"

// refNode is a reference node (cnode.sh) joined to a namespace of ours.
type refNode struct {
	t     *testing.T
	cnode string
	name  string // the reference node (and its namespace)
	ns    string // our namespace
	state string // cnode.sh state directory: irmd.log, bg.*.log
	ipcps int    // udp4 IPCPs bootstrapped so far; the newest is "udp<ipcps>"
	ip    string // the reference's address in its udp4 layer
}

// serveOping has the reference node serve each of names in layer by its
// oping server (bound, started on demand).
func (r *refNode) serveOping(layer string, names ...string) {
	r.t.Helper()
	for _, n := range names {
		r.run("exec", r.name, "irm", "name", "register", n, "layer", layer)
		r.run("exec", r.name, "irm", "bind", "program", refPrefix+"/nodirect/bin/oping", "name", n, "auto", "--", "-l")
	}
}

// refCnode returns the reference's cnode.sh, or skips the test where
// reference nodes cannot run: not root, the reference not installed, or
// no /dev/fuse.
func refCnode(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and the reference's nodes (CI runs as root)")
	}
	cnode := refPrefix + "/cnode.sh"
	if _, err := os.Stat(cnode); err != nil {
		t.Skipf("the reference implementation is not installed at %s (CI installs it from the reference implementation's install kit, ../shared/reference, when present beside the checkout)", refPrefix)
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("the reference needs /dev/fuse")
	}
	return cnode
}

// startRefNode starts a reference node and our namespace, joined by a
// veth pair: the reference at 10.99.0.1, ours at 10.99.0.2.
func startRefNode(t *testing.T) *refNode {
	t.Helper()
	cnode := refCnode(t)
	id := fmt.Sprintf("%05x", rand.IntN(1<<20))
	r := &refNode{t: t, cnode: cnode, name: "o7ref" + id, ns: "o7go" + id, state: t.TempDir()}
	if out, err := exec.Command("ip", "netns", "add", r.ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", r.ns, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", r.ns).Run() })
	r.run("start", r.name, "nodirect")
	t.Cleanup(r.stop)
	r.run("veth", r.name, r.ns, "10.99.0.1/24", "10.99.0.2/24")
	return r
}

// cmd is a cnode.sh command, killed (with what it started in its process
// group) after d.
func (r *refNode) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, r.cnode, args...)
	c.Env = append(os.Environ(), "O7S_REF_STATE="+r.state)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 5 * time.Second
	return c
}

// try runs a cnode.sh command for at most d.
func (r *refNode) try(d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, err := r.cmd(ctx, args...).CombinedOutput()
	return string(out), err
}

// run runs a cnode.sh command and fails the test if it fails within 2 min.
func (r *refNode) run(args ...string) string {
	r.t.Helper()
	out, err := r.try(2*time.Minute, args...)
	if err != nil {
		r.t.Fatalf("cnode.sh %s: %v\n%s\nreference irmd log:\n%s", strings.Join(args, " "), err, out, r.logTail())
	}
	return out
}

// stop stops the reference node; if cnode.sh cannot within 3 minutes, its
// holder process (which keeps the node's namespaces) is killed by pid.
func (r *refNode) stop() {
	if _, err := r.try(3*time.Minute, "stop", r.name); err == nil {
		return
	}
	if b, err := os.ReadFile(r.state + "/" + r.name + "/holder.pid"); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	exec.Command("ip", "netns", "del", r.name).Run()
}

// bootstrap bootstraps the reference node's udp4 IPCP. Under heavy load
// the reference irmd may give up on a starting IPCP ("failed to boot")
// while its irm waits on: the attempt is bounded, and a second one uses
// a new IPCP.
func (r *refNode) bootstrap(ip string) {
	r.t.Helper()
	r.ip = ip
	var out string
	var err error
	for i := 1; i <= 2; i++ {
		r.ipcps++
		out, err = r.try(time.Minute, "exec", r.name, "irm", "ipcp", "bootstrap", "type", "udp4",
			"name", fmt.Sprintf("udp%d", r.ipcps), "layer", "udp", "ip", ip)
		if err == nil {
			return
		}
		r.t.Logf("reference udp4 bootstrap, attempt %d: %v\n%s", i, err, out)
	}
	r.t.Fatalf("reference udp4 bootstrap: %v\n%s\nreference irmd log:\n%s", err, out, r.logTail())
}

// renew replaces the reference node's udp4 IPCP after one of its clients
// failed: such a failure can leave the IPCP dead or wedged (see
// TestReferenceClientToOurServer), and every later allocation through it
// fails. The old IPCP is destroyed (a failure to do so is only logged) and
// a new one bootstrapped at the same address. (The failed client was killed
// by its timeout; the node shares our pid namespace, so a pkill there would
// kill our processes too.)
func (r *refNode) renew() {
	r.t.Helper()
	if out, err := r.try(time.Minute, "exec", r.name, "irm", "ipcp", "destroy", "name",
		fmt.Sprintf("udp%d", r.ipcps)); err != nil {
		r.t.Logf("destroying the reference's udp4 IPCP udp%d: %v %s", r.ipcps, err, out)
	}
	r.bootstrap(r.ip)
}

// logLen returns the length of the reference node's irmd log so far.
func (r *refNode) logLen() int {
	b, _ := os.ReadFile(r.state + "/" + r.name + "/irmd.log")
	return len(b)
}

// logSince returns what the reference node's irmd log gained after it
// was off bytes long.
func (r *refNode) logSince(off int) string {
	b, _ := os.ReadFile(r.state + "/" + r.name + "/irmd.log")
	return string(b[min(off, len(b)):])
}

// logTail returns the last lines of the reference node's irmd log.
func (r *refNode) logTail() string {
	b, _ := os.ReadFile(r.state + "/" + r.name + "/irmd.log")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

var opingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// TestReferenceClientToOurServer: the reference's own oping client against
// our oping -l over udp4, with the raw cube (a baseline: no FRCT), best
// (FRCT without retransmission) and data (FRCT with retransmission). Our
// server answers every request, and its first packet on the flow is its
// first answer, which opens the reference's receive run: a control packet
// first would activate the reference's receive record without a run, after
// which it advertised a window of 0, 1, 2, ... and dropped the answers
// ("Server timed out").
//
// The counts stay small: the reference's own FRCT stalls after 64 packets
// between two reference nodes. Its best-effort receiver also delivers only
// the newest of two packets that reach it before its reader runs, so a
// best run may miss an answer or two that our server did send; a run
// must get at least three quarters, and each of three runs (a fresh flow,
// with fresh random sequence numbers, each time) must. Reliable runs get
// every answer.
func TestReferenceClientToOurServer(t *testing.T) {
	if os.Getenv("O7S_TEST_DATAPATH") == "socket" {
		// What crosses the wire does not depend on our local datapath,
		// which the run with the default one covers; with the socket
		// datapath the reference client's failures (below) came in most
		// best-effort attempts, for reasons on its side.
		t.Skip("the reference client against our server: covered by the run with the default datapath")
	}
	r := startRefNode(t)
	in := rig.Start(t, rig.Options{NetNS: r.ns})
	in.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", "10.99.0.2")
	in.Irm("name", "register", "oping.go", "layer", "udp")
	srv := opingServer(t, in, "oping.go")

	r.bootstrap("10.99.0.1")
	r.run("host", r.name, "oping.go", "10.99.0.2")
	r.run("exec", r.name, "irm", "name", "create", "oping.go")

	const n = 20
	suspect := 0         // failures not of the reference's own kinds
	var unshown []string // cubes whose every attempt failed on the reference's side
	// ping runs the reference client once; the run's failure() says
	// whether and how it failed.
	ping := func(cube string, min int) refRun {
		t.Helper()
		// A blocked reference client ignores SIGTERM: timeout -k. Its
		// output is line-buffered, so that a client that dies or is killed
		// still shows how far it came.
		mark, logMark := len(srv.Out.String()), r.logLen()
		out, err := r.try(time.Minute, "exec", r.name, "timeout", "-k", "2", "30", "stdbuf", "-oL", "oping", "-n", "oping.go",
			"-c", strconv.Itoa(n), "-i", "50", "-q", cube)
		run := refRun{cube: cube, n: n, min: min, out: out, exit: exitStatus(err),
			received: strings.Count(srv.Out.String()[mark:], "Received "), refLog: r.logSince(logMark)}
		if m := opingSummary.FindStringSubmatch(out); m != nil {
			run.sent, _ = strconv.Atoi(m[1])
			run.got, _ = strconv.Atoi(m[2])
		}
		if err != nil {
			run.out += fmt.Sprintf("[the reference client: %v]\n", err)
		}
		return run
	}
	explain := func(run refRun) string {
		return fmt.Sprintf("reference oping -q %s:\n%s\nour server's output (tail):\n%s\nour irmd log (tail):\n%s\nreference irmd log (tail):\n%s",
			run.cube, lastLines(run.out, 8), lastLines(srv.Out.String(), 8), lastLines(in.Log(), 15), r.logTail())
	}
	for _, tc := range []struct {
		cube string
		runs int
		min  int // answers each run must get
	}{
		{"raw", 1, n},
		{"data", 2, n},
		{"best", 3, n * 3 / 4},
	} {
	runs:
		for i := 1; i <= tc.runs; i++ {
			// The reference client fails in about one run in six
			// against our server, and in one in four against its own
			// oping -l (README, "The reference client's own failures"):
			// it crashes with SIGSEGV, reports "Invalid message", its sender stops
			// ("Server timed out", our server having received only its
			// first requests) and it then blocks in its exit until
			// killed, its best-effort receiver loses answers our server
			// sent, or its udp4 IPCP drops a well-formed FLOW_REPLY as
			// "from wrong source". Sometimes its udp4 IPCP is gone
			// afterwards (later allocations fail with -1003) until it is
			// replaced. Such a failure (refRun.failure) is logged as the
			// reference's and the run tried again, up to five attempts,
			// with a new reference IPCP. A failure of any other kind
			// may be ours: it is logged as such and retried once; a
			// second one anywhere in the test fails it.
			const attempts = 5
			for try := 1; ; try++ {
				run := ping(tc.cube, tc.min)
				what, refOwn := run.failure()
				if what == "" {
					t.Logf("reference oping -q %s against our server, run %d: %s", tc.cube, i, lastLine(opingSummary.FindString(run.out)))
					break
				}
				msg := fmt.Sprintf("-q %s, run %d, attempt %d: %d sent, %d answered (want at least %d): %s\n%s",
					tc.cube, i, try, run.sent, run.got, tc.min, what, explain(run))
				kind := "the reference's own failure (it fails so against its own server too)"
				if !refOwn {
					kind = "a failure of a kind the reference did not show against its own server: may be ours"
					if suspect++; suspect > 1 {
						t.Fatalf("%s\n(%s, the second in this test)", msg, kind)
					}
				}
				if try == attempts {
					if !refOwn {
						t.Fatalf("%s\n(%s; all %d attempts failed)", msg, kind, attempts)
					}
					// Under load the reference's client can fail
					// on its own every time (loaded CI run 51: -q
					// best crashed, blocked and stopped sending
					// five times in a row). Nothing of ours is
					// shown wrong; the cube is left unshown, and
					// the test skipped at the end with the reason
					// unless no cube could be shown at all.
					t.Logf("%s\n(%s; all %d attempts failed: -q %s not shown)", msg, kind, attempts, tc.cube)
					unshown = append(unshown, tc.cube)
					r.renew()
					break runs
				}
				t.Logf("%s, retried: %s", kind, msg)
				r.renew()
			}
		}
	}
	switch {
	case len(unshown) == 3:
		t.Fatalf("the reference client failed on its own in every attempt of every cube: nothing was shown")
	case len(unshown) > 0:
		t.Skipf("the reference client failed on its own in every attempt of -q %s (logged above); the other cubes passed",
			strings.Join(unshown, ", "))
	}
}

// exitStatus is a command's exit status as a shell reports it: 128+n for
// a process ended by signal n, -1 if it did not run.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return -1
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestReferenceUnicast: a unicast layer with a member of each
// implementation, over udp4 between our namespace and a reference node,
// bootstrapped by either. The other member enrolls through it by the
// layer's name (OCEP, OEP and the whole configuration on the wire) and
// connects to it (Management and Data Transfer connections, LSUs). A name
// registered at the reference is then found from our side through the
// DHT, and our oping gets every answer from the reference's oping server
// across the layer (flow allocator messages and DT packets both ways); and
// the reverse, the reference's oping against ours.
func TestReferenceUnicast(t *testing.T) {
	t.Run("ours bootstraps", func(t *testing.T) { testReferenceUnicast(t, true) })
	t.Run("reference bootstraps", func(t *testing.T) { testReferenceUnicast(t, false) })
}

func testReferenceUnicast(t *testing.T, oursFirst bool) {
	r := startRefNode(t)
	hosts := writeHosts(t, map[string]string{"uni.ref": "10.99.0.1", "uni": "10.99.0.1"})
	if oursFirst {
		hosts = writeHosts(t, map[string]string{"uni.ref": "10.99.0.1"})
	}
	in := rig.Start(t, rig.Options{NetNS: r.ns, NoDirect: true, Env: []string{udp.HostsEnv + "=" + hosts}})
	in.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", "10.99.0.2")
	r.bootstrap("10.99.0.1")
	r.run("host", r.name, "uni.go", "10.99.0.2")
	// The reference's irmd allocates only to names it knows.
	for _, n := range []string{"uni", "uni.go", "uni.ref", "oping.go", "oping.ref"} {
		r.run("exec", r.name, "irm", "name", "create", n)
	}
	// retried holds the steps tried again after the reference's own
	// failure (refStep, ourRefStep; withoutRetried).
	retried := map[string]bool{}
	explain := func() string {
		return fmt.Sprintf("our irmd log (tail):\n%s\nreference irmd log (tail):\n%s", lastLines(in.Log(), 25), r.logTail())
	}

	if oursFirst {
		in.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.go", "layer", "uni", "autobind")
		in.Irm("name", "register", "uni.go", "layer", "udp")
		in.Irm("name", "register", "uni", "layer", "udp")
		r.run("host", r.name, "uni", "10.99.0.2")
		retried["enroll"] = r.refStep(t, explain, "irm", "ipcp", "enroll", "name", "uni.ref", "layer", "uni", "autobind")
		in.WaitLog("Enrollment completed.", 10*time.Second)
		retried["connect"] = r.refStep(t, explain, "irm", "ipcp", "connect", "name", "uni.ref", "dst", "uni.go")
	} else {
		r.run("exec", r.name, "irm", "ipcp", "bootstrap", "type", "unicast", "name", "uni.ref", "layer", "uni", "autobind")
		r.run("exec", r.name, "irm", "name", "register", "uni.ref", "layer", "udp")
		r.run("exec", r.name, "irm", "name", "register", "uni", "layer", "udp")
		retried["enroll"] = ourRefStep(t, r, in, explain, "ipcp", "enroll", "name", "uni.go", "layer", "uni", "autobind")
		in.WaitLog("Enrolled in layer uni through uni", 10*time.Second)
		retried["connect"] = ourRefStep(t, r, in, explain, "ipcp", "connect", "name", "uni.go", "dst", "uni.ref")
	}
	in.WaitLog("Data Transfer connection", 10*time.Second)

	// A reference server, found from our side.
	r.serveOping("uni", "oping.ref")
	var out, errOut string
	code := -1
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		out, errOut, code = in.Run("oping", "-n", "oping.ref", "-c", "10", "-i", "20ms")
		if code == 0 {
			break
		}
	}
	if code != 0 || !strings.Contains(out, "10 packets transmitted, 10 received") {
		t.Fatalf("our oping to the reference's server across the layer: exit %d\n%s%s\n%s", code, out, errOut, explain())
	}
	t.Logf("our oping to the reference's server: %s", lastLine(opingSummary.FindString(out)))

	// Our server, found from the reference's side.
	in.Irm("name", "register", "oping.go", "layer", "uni")
	opingServer(t, in, "oping.go")
	var rout string
	var err error
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		rout, err = r.try(time.Minute, "exec", r.name, "timeout", "-k", "2", "30", "stdbuf", "-oL", "oping", "-n", "oping.go",
			"-c", "10", "-i", "20")
		if err == nil {
			break
		}
	}
	if m := opingSummary.FindStringSubmatch(rout); err != nil || m == nil || m[2] != "10" {
		t.Fatalf("the reference's oping to our server across the layer: %v\n%s\n%s", err, rout, explain())
	}
	t.Logf("the reference's oping to our server: %s", lastLine(opingSummary.FindString(rout)))
	if errs := withoutRetried(t, unicastErrors(in.Log()), retried); len(errs) != 0 {
		t.Fatalf("our unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestReferenceUnicastMiddle: a unicast layer in a line of three, ours -
// reference - ours, each hop a udp4 layer of its own (10.99.0.0/24 on the
// left, 10.98.0.0/24 on the right, the reference node in both). Our left
// member bootstraps the layer, the reference enrolls through it and
// connects to it, our right member enrolls through the reference and
// connects to it. Our oping on the left then reaches a server on the
// right through the reference member, which forwards our packets (and
// relays the DHT traffic that finds the name).
func TestReferenceUnicastMiddle(t *testing.T) {
	r := startRefNode(t)
	right := r.ns + "r"
	if out, err := exec.Command("ip", "netns", "add", right).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", right, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", right).Run() })
	r.run("veth", r.name, right, "10.98.0.1/24", "10.98.0.2/24")

	left := rig.Start(t, rig.Options{NetNS: r.ns, NoDirect: true,
		Env: []string{udp.HostsEnv + "=" + writeHosts(t, map[string]string{"uni.ref": "10.99.0.1"})}})
	rightIn := rig.Start(t, rig.Options{NetNS: right, NoDirect: true,
		Env: []string{udp.HostsEnv + "=" + writeHosts(t, map[string]string{"uni.ref": "10.98.0.1"})}})
	left.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", "10.99.0.2")
	rightIn.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp2", "ip", "10.98.0.2")
	r.bootstrap("10.99.0.1")
	if out, err := r.try(time.Minute, "exec", r.name, "irm", "ipcp", "bootstrap", "type", "udp4",
		"name", "udp2", "layer", "udp2", "ip", "10.98.0.1"); err != nil {
		t.Fatalf("reference udp4 bootstrap on the right: %v\n%s", err, out)
	}
	for _, n := range []string{"uni", "uni.go"} {
		r.run("host", r.name, n, "10.99.0.2")
	}
	r.run("host", r.name, "uni.go2", "10.98.0.2")
	for _, n := range []string{"uni", "uni.go", "uni.go2", "uni.ref", "oping.right"} {
		r.run("exec", r.name, "irm", "name", "create", n)
	}
	// retried holds the steps tried again after the reference's own
	// failure (refStep, ourRefStep; withoutRetried).
	retried := map[string]bool{}
	explain := func() string {
		return fmt.Sprintf("left irmd log (tail):\n%s\nright irmd log (tail):\n%s\nreference irmd log (tail):\n%s",
			lastLines(left.Log(), 20), lastLines(rightIn.Log(), 20), r.logTail())
	}

	left.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.go", "layer", "uni", "autobind")
	left.Irm("name", "register", "uni.go", "layer", "udp")
	left.Irm("name", "register", "uni", "layer", "udp")
	for _, args := range [][]string{
		{"irm", "ipcp", "enroll", "name", "uni.ref", "layer", "uni", "autobind"},
		{"irm", "name", "register", "uni.ref", "layer", "udp2"},
		{"irm", "ipcp", "connect", "name", "uni.ref", "dst", "uni.go"},
	} {
		if r.refStep(t, explain, args...) {
			retried[stepVerb(args)] = true
		}
	}
	for _, args := range [][]string{
		{"ipcp", "enroll", "name", "uni.go2", "dst", "uni.ref", "autobind"},
		{"ipcp", "connect", "name", "uni.go2", "dst", "uni.ref"},
	} {
		if ourRefStep(t, r, rightIn, explain, args...) {
			retried[stepVerb(args)] = true
		}
	}
	rightIn.Irm("name", "register", "oping.right", "layer", "uni")
	opingServer(t, rightIn, "oping.right")
	var out, errOut string
	code := -1
	for end := time.Now().Add(40 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		out, errOut, code = left.Run("oping", "-n", "oping.right", "-c", "10", "-i", "20ms")
		if code == 0 {
			break
		}
	}
	if code != 0 || !strings.Contains(out, "10 packets transmitted, 10 received") {
		t.Fatalf("oping left to right through the reference: exit %d\n%s%s\n%s", code, out, errOut, explain())
	}
	t.Logf("through the reference member: %s", lastLine(opingSummary.FindString(out)))
	for _, in := range []*rig.Instance{left, rightIn} {
		if errs := withoutRetried(t, unicastErrors(in.Log()), retried); len(errs) != 0 {
			t.Fatalf("our unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}
