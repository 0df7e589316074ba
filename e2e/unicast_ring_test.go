package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

var streamLine = regexp.MustCompile(`stream sent \d+ received (\d+) last (\d+) gap \S+`)

// TestUnicastRingOverEth: five hosts in network namespaces on one Ethernet
// segment (root only), each with an eth-dix IPCP and a member of a unicast
// layer with loop-free alternates. The members are connected in a ring,
// r1-r2-r3-r4-r5-r1, so r1 reaches r3 in two hops through r2, or in three
// the other way. oping from r1 reaches a server at r3. Then, while a
// stream of echoes runs from r1 to r3 (10 s, one every 10 ms), host 2's
// eth-dix IPCP is destroyed: the connections through it fall silent, time
// out (the N-1 flows' peer timeout, 4 s), and traffic moves to the other
// side of the ring. The flow itself survives: echoes stop for a few
// seconds and come again until the end of the stream. (oping would give up
// on its own: its client stops after 2 s without an answer.)
func TestUnicastRingOverEth(t *testing.T) {
	const hosts = 5
	n := rig.NewNet(t, hosts)
	h := make([]*rig.Instance, hosts+1)
	for i := 1; i <= hosts; i++ {
		h[i] = rig.Start(t, rig.Options{NetNS: n.NS(i), NoDirect: true})
		h[i].Irm("ipcp", "bootstrap", "type", "eth-dix", "name", "eth", "layer", "eth", "dev", rig.Dev)
	}
	h[1].Irm("ipcp", "bootstrap", "type", "unicast", "name", "r1", "layer", "ring", "routing", "lfa",
		"ls_t_update", "1", "ls_t_timeo", "3", "ls_t_recalc", "1", "autobind")
	h[1].Irm("name", "register", "r1", "layer", "eth")
	h[1].Irm("name", "register", "ring", "layer", "eth")
	for i := 2; i <= hosts; i++ {
		r := fmt.Sprintf("r%d", i)
		h[i].Irm("ipcp", "enroll", "name", r, "layer", "ring", "autobind")
		h[i].Irm("name", "register", r, "layer", "eth")
	}
	for i := 1; i <= hosts; i++ {
		h[i].Irm("ipcp", "connect", "name", fmt.Sprintf("r%d", i), "dst", fmt.Sprintf("r%d", i%hosts+1))
	}
	h[3].Irm("name", "register", "oping.r3", "layer", "ring")
	opingServer(t, h[3], "oping.r3")
	t.Logf("r1 to r3: %s", pingUntil(t, h[1], "oping.r3"))

	h[3].Irm("name", "register", "echo.r3", "layer", "ring")
	ethClient(t, h[3], "serve", "echo.r3").WaitOutput(t, "ready", 10*time.Second)
	const count = 1000 // 10 s at 10 ms
	cli := ethClient(t, h[1], "stream", "echo.r3", strconv.Itoa(count))
	time.Sleep(2 * time.Second) // a part of the stream before the cut
	h[2].Irm("ipcp", "destroy", "name", "eth")
	if !cli.Wait(60 * time.Second) {
		t.Fatalf("the stream did not end\n%s", cli.Tail())
	}
	m := streamLine.FindStringSubmatch(cli.Out.String())
	if m == nil {
		t.Fatalf("stream: %s", cli.Out.String())
	}
	received, _ := strconv.Atoi(m[1])
	last, _ := strconv.Atoi(m[2])
	if last < count-50 || received < count/2 {
		t.Fatalf("the flow did not survive the cut: %s\nr1:\n%s", m[0], h[1].Tail())
	}
	if received == count {
		t.Fatalf("nothing was lost: the cut was not on the path (%s)", m[0])
	}
	t.Logf("across the cut: %s", m[0])
	for i := 1; i <= hosts; i++ {
		if errs := unicastErrors(h[i].Log()); len(errs) != 0 {
			t.Fatalf("unicast IPCP r%d logged errors:\n%s", i, strings.Join(errs, "\n"))
		}
	}
}

// TestUnicastTwoLowerLayers: a member with two lower layers of different
// kinds. Three hosts in namespaces (root only): A and B share a udp4
// layer, B and C an eth-dix layer (C has no udp4 IPCP, A no Ethernet
// one). The unicast layer's member at B is connected to A over udp4 and to
// C over Ethernet, so oping from A to a server at C crosses both, relayed
// by B.
func TestUnicastTwoLowerLayers(t *testing.T) {
	n := rig.NewNet(t, 3)
	hostsA := writeHosts(t, map[string]string{"uni.b": n.IP4(2)})
	hostsB := writeHosts(t, map[string]string{"uni.a": n.IP4(1), "uni": n.IP4(1)})
	a := rig.Start(t, rig.Options{NetNS: n.NS(1), NoDirect: true, Env: []string{udp.HostsEnv + "=" + hostsA}})
	b := rig.Start(t, rig.Options{NetNS: n.NS(2), NoDirect: true, Env: []string{udp.HostsEnv + "=" + hostsB}})
	c := rig.Start(t, rig.Options{NetNS: n.NS(3), NoDirect: true})
	a.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", n.IP4(1))
	b.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", n.IP4(2))
	b.Irm("ipcp", "bootstrap", "type", "eth-dix", "name", "eth", "layer", "eth", "dev", rig.Dev)
	c.Irm("ipcp", "bootstrap", "type", "eth-dix", "name", "eth", "layer", "eth", "dev", rig.Dev)

	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.a", "layer", "uni", "autobind")
	a.Irm("name", "register", "uni.a", "layer", "udp")
	a.Irm("name", "register", "uni", "layer", "udp")
	b.Irm("ipcp", "enroll", "name", "uni.b", "layer", "uni", "autobind")
	b.Irm("name", "register", "uni.b", "layer", "udp")
	b.Irm("name", "register", "uni.b", "layer", "eth")
	b.Irm("ipcp", "connect", "name", "uni.b", "dst", "uni.a")
	c.Irm("ipcp", "enroll", "name", "uni.c", "dst", "uni.b", "autobind")
	c.Irm("ipcp", "connect", "name", "uni.c", "dst", "uni.b")

	c.Irm("name", "register", "oping.c", "layer", "uni")
	opingServer(t, c, "oping.c")
	t.Logf("A to C over udp4 and Ethernet: %s", pingUntil(t, a, "oping.c"))
	for _, in := range []*rig.Instance{a, b, c} {
		if errs := unicastErrors(in.Log()); len(errs) != 0 {
			t.Fatalf("a unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}

// TestUnicastStackOverEthLossy: two hosts in namespaces on one Ethernet
// segment (root only): a unicast layer "uni" over eth-dix, and a second
// unicast layer "top" over "uni". oping crosses both levels; then, with 5 %
// of the frames each host sends dropped, 4 MB over a reliable stream in
// "top" arrive whole (SHA-256 at both ends): FRCT of the application's
// flow recovers the loss of the two unicast layers below it, which
// retransmit nothing.
func TestUnicastStackOverEthLossy(t *testing.T) {
	n := rig.NewNet(t, 2)
	a := rig.Start(t, rig.Options{NetNS: n.NS(1), NoDirect: true})
	b := rig.Start(t, rig.Options{NetNS: n.NS(2), NoDirect: true})
	for _, in := range []*rig.Instance{a, b} {
		in.Irm("ipcp", "bootstrap", "type", "eth-dix", "name", "eth", "layer", "eth", "dev", rig.Dev)
	}
	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.a", "layer", "uni", "autobind")
	a.Irm("name", "register", "uni.a", "layer", "eth")
	a.Irm("name", "register", "uni", "layer", "eth")
	b.Irm("ipcp", "enroll", "name", "uni.b", "layer", "uni", "autobind")
	b.Irm("ipcp", "connect", "name", "uni.b", "dst", "uni.a")

	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "top.a", "layer", "top", "autobind")
	a.Irm("name", "register", "top.a", "layer", "uni")
	a.Irm("name", "register", "top", "layer", "uni")
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
	t.Logf("oping over top over uni over eth-dix: %s", pingUntil(t, a, "oping.top"))

	// Each level tells the next the largest SDU it carries: eth-dix 1,496
	// bytes at a 1500-byte MTU, less a DT PCI of 15 in uni and again in
	// top. One byte more fails in oping's write, at once; nothing is
	// dropped below for being too long.
	for _, in := range []*rig.Instance{a, b} {
		in.WaitLog("Flows of this layer carry SDUs of at most 1481 bytes", 5*time.Second)
		in.WaitLog("Flows of this layer carry SDUs of at most 1466 bytes", 5*time.Second)
	}
	t.Logf("oping -s 1466 over top: %s", pingUntil(t, a, "oping.top", "-s", "1466"))
	out, errOut, code = a.Run("oping", "-n", "oping.top", "-c", "2", "-i", "10ms", "-s", "1467")
	if !strings.Contains(out+errOut, "Failed to send packet.") {
		t.Fatalf("oping -s 1467 over top: exit %d\n%s%s", code, out, errOut)
	}

	b.Irm("name", "register", "bulk.top", "layer", "top")
	bulkAcross(t, a, b, "bulk.top", 4<<20, func() {
		for i := 1; i <= 2; i++ {
			n.Impair(i, rig.Impairment{Loss: 0.05})
		}
	})
}
