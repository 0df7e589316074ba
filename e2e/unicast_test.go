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
	srv := e.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	e.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "oping.uni")
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
}

// TestUnicastNotYet: what needs N-1 flows fails with a clear error, and a
// name registered nowhere is not found.
func TestUnicastNotYet(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	e.Irm("ipcp", "bootstrap", "type", "unicast", "name", "u1", "layer", "uni-layer")
	_, _, code := e.Run("irm", "ipcp", "enroll", "name", "u2", "type", "unicast", "layer", "uni-layer")
	if code == 0 {
		t.Fatalf("enroll succeeded\n%s", e.Tail())
	}
	e.WaitLog("enrollment is not implemented yet", 10*time.Second)
	out, _, code := e.Run("oping", "-n", "nobody.uni", "-c", "1")
	if code == 0 {
		t.Fatalf("oping to an unregistered name succeeded:\n%s", out)
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
