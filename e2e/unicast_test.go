package e2e

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// unicastErrors returns the error lines of the unicast IPCPs in a log.
func unicastErrors(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "ipcpd/unicast(EE)") || strings.Contains(l, "panic") {
			out = append(out, l)
		}
	}
	return out
}

// TestUnicastOneMember: a unicast layer of one member, bootstrapped with the
// irm tool, carries the flows of two applications on this host (the irmd
// makes no direct flows, so everything goes through the IPCP): oping over a
// raw flow, then a reliable (FRCT) flow echoing messages of many sizes. The
// IPCP logs no error.
func TestUnicastOneMember(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	e.Irm("ipcp", "bootstrap", "type", "unicast", "name", "u1", "layer", "uni-layer")
	e.WaitLog("Bootstrapped layer uni-layer as address", 10*time.Second)
	if l := rig.Lines(e.Irm("ipcp", "list"), "u1"); len(l) != 1 || !strings.Contains(l[0], "unicast") ||
		!strings.Contains(l[0], "uni-layer") {
		t.Fatalf("irm ipcp list: %q", l)
	}

	e.Irm("name", "register", "oping.uni", "layer", "uni-layer")
	opingServer(t, e.Instance, "oping.uni")
	out, errOut, code := e.Run("oping", "-n", "oping.uni", "-c", "20", "-i", "10ms")
	if code != 0 || !strings.Contains(out, "20 packets transmitted, 20 received, 0 out-of-order, 0% packet loss") {
		t.Fatalf("oping: exit %d\n%s%s\n%s", code, out, errOut, e.Tail())
	}
	t.Logf("oping over a one-member unicast layer: %s", rig.Lines(out, "rtt")[0])

	e.Irm("name", "register", "echo.uni", "layer", "uni-layer")
	e.serve("echo.uni")
	f := e.alloc("echo.uni", qos.Data)
	for i, n := range []int{1, 10, 100, 1000, 1400, 4000, 16000, 0x10000 - 64} {
		roundTrip(t, f, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	for i := range 100 {
		roundTrip(t, f, []byte(fmt.Sprintf("message %d", i)))
	}
	if err := f.Close(); err != nil {
		t.Errorf("dealloc: %v", err)
	}

	if errs := unicastErrors(e.Log()); len(errs) != 0 {
		t.Fatalf("the unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
	}

	// A connect that fails in the IPCP (no member answers to that name)
	// says so in words, not as a bare "operation not permitted", and the
	// irmd logs why.
	out, errOut, code = e.Run("irm", "ipcp", "connect", "name", "u1", "dst", "nobody.uni")
	if code != 1 || !strings.Contains(errOut, "the IPCP could not connect") {
		t.Fatalf("irm ipcp connect to no member: exit %d\n%s%s", code, out, errOut)
	}
	e.WaitLog("Could not connect Management of IPCP", 10*time.Second)
}

// TestUnicastOverUDP: a unicast layer of two members on two hosts joined
// by a udp4 layer. A bootstraps it with autobind and registers its IPCP's
// name and the layer's name in the udp4 layer; B enrolls by the layer's
// name, then connects to A. A name registered at B is found from A
// through the DHT: oping from A to a server on B, raw and a reliable
// ping (FRCT) of 1400-byte packets. Neither unicast IPCP logs an error.
func TestUnicastOverUDP(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"uni.a": "a", "uni": "a", "uni.b": "b"})
	a, b := u.a, u.b
	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.a", "layer", "uni", "autobind")
	a.WaitLog("Bootstrapped layer uni as address", 10*time.Second)
	b.Irm("ipcp", "enroll", "name", "uni.b", "layer", "uni", "autobind")
	b.WaitLog("Enrolled in layer uni through uni", 10*time.Second)
	a.WaitLog("Enrollment completed.", 10*time.Second)
	b.Irm("ipcp", "connect", "name", "uni.b", "dst", "uni.a")
	for _, in := range []*rig.Instance{a.Instance, b} {
		in.WaitLog("Data Transfer connection", 10*time.Second)
	}
	if l := rig.Lines(b.Irm("ipcp", "list"), "uni.b"); len(l) != 1 || !strings.Contains(l[0], "uni") {
		t.Fatalf("irm ipcp list on B: %q", l)
	}

	b.Irm("name", "register", "oping.uni", "layer", "uni")
	opingServer(t, b, "oping.uni")
	var out, errOut string
	code := -1
	// The name reaches A's directory once B's DHT bootstrap went through
	// A, which needs the routes the connection brings.
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		out, errOut, code = a.Run("oping", "-n", "oping.uni", "-c", "20", "-i", "10ms")
		if code == 0 {
			break
		}
	}
	if code != 0 || !strings.Contains(out, "20 packets transmitted, 20 received, 0 out-of-order, 0% packet loss") {
		t.Fatalf("oping A to B over the unicast layer: exit %d\n%s%s\nA:\n%s\nB:\n%s", code, out, errOut, a.Tail(), b.Tail())
	}
	t.Logf("oping over a unicast layer over udp4: %s", rig.Lines(out, "rtt")[0])

	// Paced within the hot window: the udp4 IPCPs' writers and the
	// unicast IPCPs' readers of the applications' flows wait on their
	// rings after a packet (datapath.Puller). A hot wait that left no
	// thread in the netpoller had the next doorbell read only when it
	// timed out, 10 ms later, at every hop (see TestLocalIPCPPacedNoStall;
	// without the Puller's goroutine for the netpoller every ping here took
	// more than 10 ms).
	// Not a speed test: the fastest of 20 pings must take less than half a
	// hot window.
	out, errOut, code = a.Run("oping", "-n", "oping.uni", "-c", "20", "-i", "5ms")
	if code != 0 {
		t.Fatalf("paced oping A to B: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("paced 5 ms: %s", rig.Lines(out, "rtt")[0])
	if best := fastestReply(t, out, 20); best >= 5*time.Millisecond {
		t.Errorf("the fastest of 20 pings 5 ms apart over the unicast layer took %v (a hot window is 10 ms):\n%s", best, out)
	}

	out, errOut, code = a.Run("oping", "-n", "oping.uni", "-c", "20", "-i", "10ms", "-q", "data", "-s", "1400")
	if code != 0 || !strings.Contains(out, "20 packets transmitted, 20 received, 0 out-of-order, 0% packet loss") {
		t.Fatalf("reliable oping A to B: exit %d\n%s%s\nA:\n%s\nB:\n%s", code, out, errOut, a.Tail(), b.Tail())
	}

	for _, in := range []*rig.Instance{a.Instance, b} {
		if errs := unicastErrors(in.Log()); len(errs) != 0 {
			t.Fatalf("a unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}

// TestUnicastBootstrapOptions: the irm tool's options for a unicast layer
// reach the IPCP (it logs what it was bootstrapped with); a value it cannot
// work with fails the bootstrap with the reason in its log.
func TestUnicastBootstrapOptions(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	e.Irm("ipcp", "bootstrap", "type", "unicast", "name", "u1", "layer", "opt-layer", "hash", "SHA3_512",
		"ttl", "9", "routing", "lfa", "congestion", "none", "dht_alpha", "2", "dht_k", "5",
		"dht_t_expire", "600", "dht_t_refresh", "60", "dht_t_replicate", "30")
	e.WaitLog("Bootstrapped layer opt-layer as address", 10*time.Second)
	want := "(hash SHA3_512, ttl 9, routing lfa, congestion none, dht alpha 2 k 5 expire 10m0s refresh 1m0s replicate 30s)."
	if l := rig.Lines(e.Log(), "Bootstrapped layer opt-layer"); len(l) != 1 || !strings.HasSuffix(l[0], want) {
		t.Fatalf("bootstrap log %q, want it to end with %q", l, want)
	}
	out, errOut, code := e.Run("irm", "ipcp", "bootstrap", "type", "unicast", "name", "u2", "layer", "bad-layer", "addr", "2")
	if code == 0 {
		t.Fatalf("bootstrap with 2-byte addresses succeeded:\n%s%s", out, errOut)
	}
	e.WaitLog("the flat address policy needs 4-byte addresses", 10*time.Second)
}

// opingServer starts oping -l at in and binds it to name, which must
// exist (registered).
func opingServer(t *testing.T, in *rig.Instance, name string) *rig.Proc {
	t.Helper()
	srv := in.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	in.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", name)
	return srv
}

// pingUntil runs oping from in to name until it gets every answer (a name
// reaches the directory of the other members once the DHT bootstrap went
// through, which needs the routes a connection brings), for at most 30 s.
func pingUntil(t *testing.T, in *rig.Instance, name string, args ...string) string {
	t.Helper()
	var out, errOut string
	code := -1
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		out, errOut, code = in.Run("oping", append([]string{"-n", name, "-c", "20", "-i", "10ms"}, args...)...)
		if code == 0 {
			break
		}
	}
	if code != 0 || !strings.Contains(out, "20 packets transmitted, 20 received, 0 out-of-order, 0% packet loss") {
		t.Fatalf("oping -n %s %v: exit %d\n%s%s\n%s", name, args, code, out, errOut, in.Tail())
	}
	return rig.Lines(out, "rtt")[0]
}

// TestUnicastOverLocal: two members of a unicast layer on one host, their
// N-1 flows through the local IPCP. The server's name is registered at the
// second member only, so the flow crosses the layer: the first member
// finds it in the DHT and its packets go over the Data Transfer flow.
func TestUnicastOverLocal(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	e.Irm("ipcp", "bootstrap", "type", "local", "name", "loc", "layer", "lo")
	e.Irm("ipcp", "bootstrap", "type", "unicast", "name", "u1", "layer", "uni", "autobind")
	e.Irm("name", "register", "u1", "layer", "lo")
	e.Irm("name", "register", "uni", "layer", "lo")
	e.Irm("ipcp", "enroll", "name", "u2", "layer", "uni", "autobind")
	e.Irm("name", "register", "u2", "layer", "lo")
	e.Irm("ipcp", "connect", "name", "u2", "dst", "u1")
	e.WaitLog("Data Transfer connection", 10*time.Second)

	e.Irm("name", "register", "oping.u2", "ipcp", "u2")
	opingServer(t, e.Instance, "oping.u2")
	t.Logf("oping across a unicast layer over the local IPCP: %s", pingUntil(t, e.Instance, "oping.u2"))
	if l := rig.Lines(e.Log(), "Allocating flow"); len(l) == 0 {
		t.Fatalf("no allocation in the log")
	}
	if errs := unicastErrors(e.Log()); len(errs) != 0 {
		t.Fatalf("a unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestUnicastTwoLevels: recursion. Hosts A and B share a udp4 layer; a
// unicast layer "uni" spans them over it, and a second unicast layer "top"
// spans them over "uni": top's members enroll and connect through flows of
// uni, whose members carry them over udp4. oping crosses both levels.
func TestUnicastTwoLevels(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"uni.a": "a", "uni": "a", "uni.b": "b"})
	a, b := u.a, u.b
	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.a", "layer", "uni", "autobind")
	b.Irm("ipcp", "enroll", "name", "uni.b", "layer", "uni", "autobind")
	b.Irm("ipcp", "connect", "name", "uni.b", "dst", "uni.a")

	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "top.a", "layer", "top", "autobind")
	a.Irm("name", "register", "top.a", "layer", "uni")
	a.Irm("name", "register", "top", "layer", "uni")
	// B's enrollment needs "top" in uni's directory at B's member: retry
	// while the DHT of uni settles.
	var out, errOut string
	code := -1
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if out, errOut, code = b.Run("irm", "ipcp", "enroll", "name", "top.b", "layer", "top", "autobind"); code == 0 {
			break
		}
	}
	if code != 0 {
		t.Fatalf("enrollment in top over uni: exit %d\n%s%s\nA:\n%s\nB:\n%s", code, out, errOut, a.Tail(), b.Tail())
	}
	b.Irm("ipcp", "connect", "name", "top.b", "dst", "top.a")

	b.Irm("name", "register", "oping.top", "layer", "top")
	opingServer(t, b, "oping.top")
	t.Logf("oping over top over uni over udp4: %s", pingUntil(t, a.Instance, "oping.top"))
	t.Logf("reliable, 1400 B: %s", pingUntil(t, a.Instance, "oping.top", "-q", "data", "-s", "1400"))
	for _, in := range []*rig.Instance{a.Instance, b} {
		if errs := unicastErrors(in.Log()); len(errs) != 0 {
			t.Fatalf("a unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}
