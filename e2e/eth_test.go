package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// Two hosts, A and B, in network namespaces on one Ethernet segment
// (rig.NewNet; root only, skipped otherwise), each with its own irmd and an
// eth-dix or eth-llc IPCP bootstrapped on its interface. Everything runs as
// processes inside the namespaces: oping, irm, and ethclient (e2e/ethclient,
// built here), whose modes are an echo server, N concurrent flows, an
// allocation loop, a flow held until it fails, and a frame flooder.

var ethTypes = []string{"eth-dix", "eth-llc"}

type ethHosts struct {
	net   *rig.Net
	a, b  *rig.Instance
	layer string
}

func newEthHosts(t *testing.T, typ string) *ethHosts {
	t.Helper()
	n := rig.NewNet(t, 2)
	h := &ethHosts{net: n, layer: typ + "-layer"}
	h.a = rig.Start(t, rig.Options{NetNS: n.NS(1), NoDirect: true})
	h.b = rig.Start(t, rig.Options{NetNS: n.NS(2), NoDirect: true})
	for _, in := range []*rig.Instance{h.a, h.b} {
		in.Irm("ipcp", "bootstrap", "type", typ, "name", "eth", "layer", h.layer, "dev", rig.Dev)
		in.WaitLog("Bootstrapped "+typ+" over "+rig.Dev, 5*time.Second)
	}
	return h
}

var (
	ethClientOnce sync.Once
	ethClientBin  string
	ethClientErr  error
)

// ethClient starts the ethclient helper with args as a process of in.
func ethClient(t *testing.T, in *rig.Instance, args ...string) *rig.Proc {
	t.Helper()
	ethClientOnce.Do(func() {
		ethClientBin = filepath.Join(in.Bin, "ethclient") // removed with the commands
		a := []string{"build", "-o", ethClientBin}
		if rig.Race() {
			a = append(a, "-race")
		}
		out, err := exec.Command("go", append(a, "./ethclient")...).CombinedOutput()
		if err != nil {
			ethClientErr = fmt.Errorf("go build ethclient: %v\n%s", err, out)
		}
	})
	if ethClientErr != nil {
		t.Fatal(ethClientErr)
	}
	cmd := exec.Command(ethClientBin, args...)
	cmd.Env = in.Env()
	return in.StartCmd(cmd)
}

// ethRun runs ethclient to completion and returns its output.
func ethRun(t *testing.T, in *rig.Instance, timeout time.Duration, args ...string) string {
	t.Helper()
	p := ethClient(t, in, args...)
	if !p.Wait(timeout) {
		p.Kill()
		t.Fatalf("ethclient %v still running after %v:\n%s\nirmd log:\n%s", args, timeout, p.Out.String(), in.Tail())
	}
	return p.Out.String()
}

// serveOn registers name in the layer on in and starts an echo server for it.
func (h *ethHosts) serveOn(t *testing.T, in *rig.Instance, name string) *rig.Proc {
	t.Helper()
	in.Irm("name", "register", name, "layer", h.layer)
	p := ethClient(t, in, "serve", name)
	p.WaitOutput(t, "ready", 10*time.Second)
	return p
}

// opingServer registers name in the layer on in and starts oping -l for it.
func (h *ethHosts) opingServer(t *testing.T, in *rig.Instance, name string) {
	t.Helper()
	in.Irm("name", "register", name, "layer", h.layer)
	srv := in.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	in.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", name)
}

// TestEthOping: oping from A to B and from B to A, over both framings.
func TestEthOping(t *testing.T) {
	for _, typ := range ethTypes {
		t.Run(typ, func(t *testing.T) {
			h := newEthHosts(t, typ)
			for _, c := range []struct {
				srv, cli *rig.Instance
				name     string
			}{{h.b, h.a, "oping.b"}, {h.a, h.b, "oping.a"}} {
				h.opingServer(t, c.srv, c.name)
				out, errOut, code := c.cli.Run("oping", "-n", c.name, "-c", "20", "-i", "10ms")
				if code != 0 || !strings.Contains(out, "20 packets transmitted, 20 received, 0 out-of-order, 0% packet loss") {
					t.Fatalf("oping %s: exit %d\n%s%s\nclient:\n%s\nserver:\n%s", c.name, code, out, errOut, c.cli.Tail(), c.srv.Tail())
				}
				t.Logf("%s oping %s: %s", typ, c.name, rig.Lines(out, "rtt")[0])
			}
			// The largest SDU on a 1500-byte MTU is 1496 bytes for DIX, 1497
			// for LLC. The IPCP tells its flows so (datapath.KindMTU): one
			// more fails in oping's write, at once, and reaches no IPCP.
			// (Before, the IPCP dropped it and counted it "too big to send";
			// the writer learnt nothing.)
			max := map[string]int{"eth-dix": 1496, "eth-llc": 1497}[typ]
			out, errOut, code := h.a.Run("oping", "-n", "oping.b", "-c", "5", "-i", "10ms", "-s", strconv.Itoa(max))
			if code != 0 || !strings.Contains(out, "5 packets transmitted, 5 received") {
				t.Fatalf("oping -s %d: exit %d\n%s%s", max, code, out, errOut)
			}
			out, errOut, code = h.a.Run("oping", "-n", "oping.b", "-c", "2", "-i", "10ms", "-s", strconv.Itoa(max+1))
			if !strings.Contains(out+errOut, "Failed to send packet.") {
				t.Fatalf("oping -s %d: exit %d\n%s%s", max+1, code, out, errOut)
			}
			h.a.Stop() // the IPCP logs its final drop counts
			if d := rig.Lines(h.a.Log(), "too big to send"); len(d) != 0 && !strings.Contains(d[len(d)-1], " 0 too big to send") {
				t.Fatalf("A's IPCP dropped packets as too big: %q", d)
			}
		})
	}
}

// TestEthManyFlows: concurrent flows from A to an echo server on B (100 for
// eth-dix; for eth-llc the 64 its SAPs allow, and a 65th is refused), then
// 1,000 allocations in a row, each with an echo.
func TestEthManyFlows(t *testing.T) {
	for _, typ := range ethTypes {
		t.Run(typ, func(t *testing.T) {
			h := newEthHosts(t, typ)
			h.serveOn(t, h.b, "echo.b")
			n, wantExtra := "100", "extra: ok"
			if typ == "eth-llc" {
				n, wantExtra = "64", "extra: allocate flow to echo.b"
			}
			out := ethRun(t, h.a, 2*time.Minute, "flows", "echo.b", n, "extra")
			if !strings.Contains(out, "flows ok "+n) || !strings.Contains(out, wantExtra) || !strings.Contains(out, "closed") {
				t.Fatalf("%s concurrent flows:\n%s\nA:\n%s\nB:\n%s", n, out, h.a.Tail(), h.b.Tail())
			}
			if typ == "eth-llc" && !strings.Contains(h.a.Log(), "all 64 LLC SAPs in use") {
				t.Errorf("A's log does not say why the 65th flow failed:\n%s", h.a.Tail())
			}
			t.Logf("%s: %s", typ, strings.Join(rig.Lines(out, "flows ok"), ""))
			loops := "1000"
			if testing.Short() {
				loops = "200"
			}
			out = ethRun(t, h.a, 4*time.Minute, "loop", "echo.b", loops)
			if !strings.Contains(out, "loop ok "+loops) {
				t.Fatalf("allocation loop:\n%s\nA:\n%s\nB:\n%s", out, h.a.Tail(), h.b.Tail())
			}
			t.Logf("%s: %s", typ, strings.TrimSpace(out))
		})
	}
}

var macRE = regexp.MustCompile(`link/ether ([0-9a-f:]{17})`)

// mac returns the MAC of host i's interface.
func (h *ethHosts) mac(t *testing.T, i int) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", h.net.NS(i), "link", "show", "dev", rig.Dev).Output()
	m := macRE.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("MAC of host %d: %v\n%s", i, err, out)
	}
	return string(m[1])
}

// TestEthFlood: A floods B's IPCP with runts, garbage management, flow
// requests and name queries for a name nobody has, stray flow replies and
// data for random endpoints (out-of-range SAPs included); B's IPCP survives,
// logs the drops, and then allocates a flow.
func TestEthFlood(t *testing.T) {
	for _, typ := range ethTypes {
		t.Run(typ, func(t *testing.T) {
			h := newEthHosts(t, typ)
			h.serveOn(t, h.b, "echo.b")
			format := strings.TrimPrefix(typ, "eth-")
			out := ethRun(t, h.a, time.Minute, "flood", rig.Dev, h.mac(t, 2), format, "30000")
			if !strings.Contains(out, "flood sent") {
				t.Fatalf("flood: %s", out)
			}
			t.Logf("%s: %s", typ, strings.TrimSpace(out))
			out = ethRun(t, h.a, time.Minute, "loop", "echo.b", "3")
			if !strings.Contains(out, "loop ok 3") {
				t.Fatalf("allocation after the flood:\n%s\nB:\n%s", out, h.b.Tail())
			}
			if !strings.Contains(h.b.Irm("ipcp", "list"), h.layer) {
				t.Fatalf("B's IPCP is gone after the flood:\n%s", h.b.Tail())
			}
			// The IPCP logs its drop counters once more when it exits.
			h.b.Stop()
			drops := rig.Lines(h.b.Log(), "Dropped so far")
			if len(drops) < 2 {
				t.Fatalf("B logged no final drop counts:\n%s", h.b.Tail())
			}
			last := drops[len(drops)-1]
			t.Logf("B: %s", last[strings.Index(last, "Dropped"):])
			for _, what := range []string{"malformed", "for no flow", "bad management", "management for nothing here"} {
				m := regexp.MustCompile(`(\d+) ` + what).FindStringSubmatch(last)
				if m == nil || m[1] == "0" {
					t.Errorf("B counted no drops %s: %s", what, last)
				}
			}
		})
	}
}

// TestEthPeerKilled: B's IPCP is killed mid-flow. B's irmd notices, and the
// client on A sees its flow fail through the peer timeout (deallocation is
// local: nothing tells A).
func TestEthPeerKilled(t *testing.T) {
	for _, typ := range ethTypes {
		t.Run(typ, func(t *testing.T) {
			h := newEthHosts(t, typ)
			h.serveOn(t, h.b, "echo.b")
			cli := ethClient(t, h.a, "hold", "echo.b")
			cli.WaitOutput(t, "echoing", 20*time.Second)
			pid := ipcpPIDOf(t, h.b, "eth")
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			h.b.WaitLog(fmt.Sprintf("IPCP %d died.", pid), 5*time.Second)
			cli.WaitOutput(t, "hold: ", 15*time.Second)
			if out := cli.Out.String(); !strings.Contains(out, "flow peer timed out") {
				t.Fatalf("client on A after B's IPCP died:\n%s", out)
			}
			if out := h.b.Irm("ipcp", "list"); strings.Contains(out, h.layer) {
				t.Fatalf("B still lists its dead IPCP:\n%s", out)
			}
		})
	}
}

// TestEthLinkDown: taking A's interface down marks A's flows down (the
// IPCP's link monitor); the client sees its flow fail.
func TestEthLinkDown(t *testing.T) {
	h := newEthHosts(t, "eth-dix")
	h.serveOn(t, h.b, "echo.b")
	cli := ethClient(t, h.a, "hold", "echo.b")
	cli.WaitOutput(t, "echoing", 20*time.Second)
	if out, err := exec.Command("ip", "-n", h.net.NS(1), "link", "set", rig.Dev, "down").CombinedOutput(); err != nil {
		t.Fatalf("link down: %v\n%s", err, out)
	}
	h.a.WaitLog("Interface "+rig.Dev+" is down; 1 flows marked down.", 5*time.Second)
	cli.WaitOutput(t, "hold: ", 10*time.Second)
	if out := cli.Out.String(); !strings.Contains(out, "flow is down") {
		t.Fatalf("client on A after its link went down:\n%s", out)
	}
}

// TestEthReliableLoss: a reliable flow (FRCT with retransmission) over
// eth-dix with 10 % of the frames lost leaving each host gets all 200
// replies. The loss is tc netem when the kernel has it, else a classic BPF
// egress filter that drops one frame in ten at random (ld rand; mod 10;
// drop on 0) in a clsact qdisc; either way the qdisc's drop counter proves
// frames were lost.
func TestEthReliableLoss(t *testing.T) {
	h := newEthHosts(t, "eth-dix")
	h.opingServer(t, h.b, "oping.b")
	// Resolve the name before the loss starts (answers are cached for good).
	if out, errOut, code := h.a.Run("oping", "-n", "oping.b", "-c", "1"); code != 0 {
		t.Fatalf("oping before the loss: exit %d\n%s%s", code, out, errOut)
	}
	how := ""
	for i := 1; i <= 2; i++ {
		how = h.loss(t, i)
	}
	// A run may fail without any fault of the layer, and is then tried
	// again (up to 8 runs, each failure logged):
	//  - allocation messages travel once, unacknowledged (as in the
	//    reference), so a lost FLOW_REQ or FLOW_REPLY fails the allocation;
	//  - with -i 0 all 200 requests leave before any RTT sample, under FRCT's
	//    initial 1 s RTO; when a retransmission or its ack is lost again the
	//    back-off (2 s more) outlasts oping's receive timeout ("Server timed
	//    out."). Seen about one run in six, over udp4 as well.
	var out, errOut string
	var code int
	for try := 1; try <= 8; try++ {
		out, errOut, code = h.a.Run("oping", "-n", "oping.b", "-c", "200", "-i", "0", "-q", "data", "-Q")
		if code == 0 && strings.Contains(out, "200 packets transmitted, 200 received") {
			t.Logf("run %d: %s", try, strings.Join(rig.Lines(out, "200 packets"), ""))
			break
		}
		if !strings.Contains(out+errOut, "Failed to allocate flow") && !strings.Contains(out, "Server timed out") {
			break // anything else fails the test
		}
		t.Logf("run %d failed (tried again): %s", try, strings.ReplaceAll(strings.TrimSpace(out+errOut), "\n", " | "))
	}
	if code != 0 || !strings.Contains(out, "200 packets transmitted, 200 received") {
		t.Fatalf("reliable oping over 10%% loss: exit %d\n%s%s\nA:\n%s\nB:\n%s", code, out, errOut, h.a.Tail(), h.b.Tail())
	}
	for i := 1; i <= 2; i++ {
		st, _ := exec.Command("ip", "netns", "exec", h.net.NS(i), "tc", "-s", "qdisc", "show", "dev", rig.Dev).Output()
		m := regexp.MustCompile(`dropped (\d+)`).FindAllSubmatch(st, -1)
		dropped := 0
		for _, d := range m {
			n, _ := strconv.Atoi(string(d[1]))
			dropped += n
		}
		if dropped == 0 {
			t.Fatalf("host %d lost no frames (%s):\n%s", i, how, st)
		}
		t.Logf("host %d: %d frames dropped by %s", i, dropped, how)
	}
	t.Logf("reliable oping over eth-dix with 10%% loss each way: %s", strings.Join(rig.Lines(out, "rtt"), ""))
}

// loss makes host i's interface drop 10 % of the frames it sends and says how.
func (h *ethHosts) loss(t *testing.T, i int) string {
	t.Helper()
	if h.net.Exec(i, "tc", "qdisc", "replace", "dev", rig.Dev, "root", "netem").Run() == nil {
		h.net.Netem(i, "loss", "10%")
		return "netem"
	}
	// No netem in this kernel: classic BPF, direct action. The program is
	// ld [rand]; A %= 10; if A == 0 return TC_ACT_SHOT (2) else TC_ACT_OK (0).
	const prog = "5,32 0 0 4294963256,148 0 0 10,21 0 1 0,6 0 0 2,6 0 0 0"
	for _, args := range [][]string{
		{"tc", "qdisc", "add", "dev", rig.Dev, "clsact"},
		{"tc", "filter", "add", "dev", rig.Dev, "egress", "bpf", "da", "bytecode", prog},
	} {
		if out, err := h.net.Exec(i, args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Skipf("neither netem nor a BPF dropper on this kernel: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return "a random-drop BPF filter (no netem in this kernel)"
}

// TestEthBulkOverLoss: 10 MB over a reliable stream across eth-dix with
// 10 % of the frames dropped each way, checked by SHA-256 at both ends.
func TestEthBulkOverLoss(t *testing.T) {
	h := newEthHosts(t, "eth-dix")
	h.b.Irm("name", "register", "bulk.b", "layer", h.layer)
	bulkAcross(t, h.a, h.b, "bulk.b", 10<<20, func() {
		t.Logf("host 1: %s; host 2: %s", h.loss(t, 1), h.loss(t, 2))
	})
}
