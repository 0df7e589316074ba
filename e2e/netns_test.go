package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// Hosts in network namespaces (root; skipped otherwise): each host runs
// its own irmd inside its namespace, and the hosts share one Ethernet
// segment (rig.Net). Traffic stays inside the namespaces the test created.

// nsHosts starts an irmd in each of n namespaces, with a hosts file that
// maps each name to the address of its host (1-based).
func nsHosts(t *testing.T, n int, v6 bool, names map[string]int) (*rig.Net, []*rig.Instance) {
	t.Helper()
	net := rig.NewNet(t, n)
	entries := map[string]string{}
	for name, h := range names {
		entries[name] = net.IP4(h)
		if v6 {
			entries[name] = net.IP6(h)
		}
	}
	hosts := writeHosts(t, entries)
	var ins []*rig.Instance
	for i := 1; i <= n; i++ {
		ins = append(ins, rig.Start(t, rig.Options{NetNS: net.NS(i), NoDirect: true,
			Env: []string{udp.HostsEnv + "=" + hosts}}))
	}
	return net, ins
}

// TestUDP6Namespaces: udp6 between two hosts (fd77::1, fd77::2) on the
// default port, oping both ways; then 10 % loss and 2 ms delay with
// reordering on both hosts (loss alone where the kernel has no netem): a
// reliable oping flow still gets every reply.
func TestUDP6Namespaces(t *testing.T) {
	net, in := nsHosts(t, 2, true, map[string]int{"oping.1": 1, "oping.2": 2})
	for i, h := range in {
		h.Irm("ipcp", "bootstrap", "type", "udp6", "name", "udp6", "layer", "udp6-layer", "ip", net.IP6(i+1))
	}
	servers := map[string]*rig.Instance{"oping.1": in[0], "oping.2": in[1]}
	clients := map[string]*rig.Instance{"oping.1": in[1], "oping.2": in[0]}
	for name, srvHost := range servers {
		srvHost.Irm("name", "register", name, "layer", "udp6-layer")
		srv := srvHost.Start("oping", "-l")
		srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
		srvHost.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", name)
		out, errOut, code := clients[name].Run("oping", "-n", name, "-c", "5", "-i", "20ms")
		if code != 0 || !strings.Contains(out, "5 packets transmitted, 5 received") {
			t.Fatalf("oping %s over udp6: exit %d\n%s%s\nserver host:\n%s", name, code, out, errOut, srvHost.Tail())
		}
	}
	for i := 1; i <= 2; i++ {
		net.Impair(i, rig.Impairment{Loss: 0.10, Delay: 2 * time.Millisecond, Reorder: 0.25})
	}
	// oping gives up on replies after its own timeout (as the reference's
	// does), and a packet lost several times in a row can outlast it: a
	// run may miss replies without the flow losing anything. Up to three
	// runs; one must get every reply.
	for try := 1; ; try++ {
		out, errOut, code := in[0].Run("oping", "-n", "oping.2", "-c", "200", "-i", "0", "-q", "data", "-Q")
		if code == 0 && strings.Contains(out, "200 packets transmitted, 200 received") {
			t.Logf("reliable oping over udp6 with 10%% loss each way: %s", lastLine(out))
			break
		}
		if try == 3 {
			t.Fatalf("reliable oping over 10%% loss: exit %d\n%s%s", code, out, errOut)
		}
		t.Logf("run %d: exit %d: %s", try, code, strings.Join(rig.Lines(out, "transmitted"), ""))
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}

// roleIn starts this test binary in a role as an application of in, with
// extra environment.
func roleIn(t testing.TB, in *rig.Instance, role, name string, env ...string) *rig.Proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(in.Env(), roleEnv+"="+role, "O7S_E2E_NAME="+name), env...)
	return in.StartCmd(cmd)
}

// bulkAcross sends size bytes over a reliable stream from host src to a
// hash-sink on host dst bound to name, and checks the SHA-256 at both ends.
// degrade runs between the allocation and the transfer: allocation
// requests are single datagrams that a lossy link may drop, as in the
// reference; the test is about the flow.
func bulkAcross(t *testing.T, src, dst *rig.Instance, name string, size int, degrade func()) {
	t.Helper()
	sink := roleIn(t, dst, "hash-sink", name, "O7S_E2E_BYTES="+strconv.Itoa(size))
	sink.WaitOutput(t, "ready", 10*time.Second)
	goFile := filepath.Join(t.TempDir(), "go")
	source := roleIn(t, src, "stream-source", name, "O7S_E2E_BYTES="+strconv.Itoa(size), "O7S_E2E_GO="+goFile)
	source.WaitOutput(t, "connected", 30*time.Second)
	degrade()
	start := time.Now()
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !source.Wait(120*time.Second) || !sink.Wait(30*time.Second) {
		t.Fatalf("transfer did not finish:\nsource (%v): %s\nsink: %s", source.Cmd.ProcessState, source.Out.String(), sink.Out.String())
	}
	lines := strings.Split(strings.TrimSpace(source.Out.String()), "\n")
	sent := lines[len(lines)-1]
	if !strings.HasPrefix(sent, "sent ") {
		t.Fatalf("source: %s", sent)
	}
	want := "received " + strings.TrimPrefix(sent, "sent ") + " err <nil>"
	if !strings.Contains(sink.Out.String(), want) {
		t.Fatalf("sink says:\n%s\nwant %s", sink.Out.String(), want)
	}
	t.Logf("%d MB in %v", size>>20, time.Since(start).Round(time.Millisecond))
}

// TestUDP4BulkOverLoss: 10 MB over a reliable stream between namespaces
// over udp4 with 10 % loss each way, checked by SHA-256.
func TestUDP4BulkOverLoss(t *testing.T) {
	net, in := nsHosts(t, 2, false, map[string]int{"bulk.2": 2})
	for i, h := range in {
		h.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp4", "layer", "udp4-layer", "ip", net.IP4(i+1))
	}
	in[1].Irm("name", "register", "bulk.2", "layer", "udp4-layer")
	bulkAcross(t, in[0], in[1], "bulk.2", 10<<20, func() {
		for i := 1; i <= 2; i++ {
			net.Impair(i, rig.Impairment{Loss: 0.10})
		}
	})
}

// udp6Hosts is two namespaces joined by a udp6 layer on fd77::1 and
// fd77::2, with names resolved through a hosts file.
func udp6Hosts(t *testing.T, names map[string]int) (*rig.Net, []*rig.Instance) {
	t.Helper()
	net, in := nsHosts(t, 2, true, names)
	for i, h := range in {
		h.Irm("ipcp", "bootstrap", "type", "udp6", "name", "udp6", "layer", "udp6-layer", "ip", net.IP6(i+1))
	}
	for name, i := range names {
		in[i-1].Irm("name", "register", name, "layer", "udp6-layer")
	}
	return net, in
}

// TestUDP6ManyFlows: over udp6 between namespaces, 100 concurrent flows
// from A to an echo server on B, then 1,000 allocations in a row, each
// with an echo (the ethclient helper runs inside A's namespace).
func TestUDP6ManyFlows(t *testing.T) {
	_, in := udp6Hosts(t, map[string]int{"echo.2": 2})
	srv := ethClient(t, in[1], "serve", "echo.2")
	srv.WaitOutput(t, "ready", 10*time.Second)
	out := ethRun(t, in[0], 2*time.Minute, "flows", "echo.2", "100")
	if !strings.Contains(out, "flows ok 100") {
		t.Fatalf("100 concurrent flows over udp6:\n%s\nA:\n%s\nB:\n%s", out, in[0].Tail(), in[1].Tail())
	}
	loops := "1000"
	if testing.Short() {
		loops = "200"
	}
	out = ethRun(t, in[0], 4*time.Minute, "loop", "echo.2", loops)
	if !strings.Contains(out, "loop ok "+loops) {
		t.Fatalf("allocation loop over udp6:\n%s\nA:\n%s\nB:\n%s", out, in[0].Tail(), in[1].Tail())
	}
	t.Logf("udp6: %s", strings.TrimSpace(out))
}

// TestUDP6PeerKilled: B's udp6 IPCP is killed mid-flow; B's irmd notices,
// and the client on A sees its flow fail through the peer timeout.
func TestUDP6PeerKilled(t *testing.T) {
	_, in := udp6Hosts(t, map[string]int{"echo.2": 2})
	srv := ethClient(t, in[1], "serve", "echo.2")
	srv.WaitOutput(t, "ready", 10*time.Second)
	cli := ethClient(t, in[0], "hold", "echo.2")
	cli.WaitOutput(t, "echoing", 20*time.Second)
	pid := ipcpPIDOf(t, in[1], "udp6")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	in[1].WaitLog(fmt.Sprintf("IPCP %d died.", pid), 5*time.Second)
	cli.WaitOutput(t, "hold: ", 15*time.Second)
	if out := cli.Out.String(); !strings.Contains(out, "flow peer timed out") {
		t.Fatalf("client on A after B's IPCP died:\n%s", out)
	}
}
