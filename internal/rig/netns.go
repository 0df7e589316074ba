package rig

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Net is a set of network namespaces, one per host, on one Ethernet
// segment: each host has a veth interface whose other end is attached to a
// bridge in a namespace of its own (the switch). Hosts get IPv4 10.77.0.i/24
// and IPv6 fd77::i/64 (i from 1). Only the namespaces it created carry
// traffic; Close (registered with t.Cleanup) deletes them all, and with them
// every interface, even when the test fails.
//
// It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the ip tool; NewNet
// skips the test with a message when either is missing.
type Net struct {
	t      testing.TB
	prefix string
	hosts  int
}

// Dev is the name of every host's interface on the segment, inside its
// namespace.
const Dev = "o7s0"

// NewNet creates n host namespaces and the switch.
func NewNet(t testing.TB, n int) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip tool (iproute2) for network namespaces")
	}
	nt := &Net{t: t, prefix: fmt.Sprintf("o7s%05x", rand.IntN(1<<20)), hosts: n}
	t.Cleanup(nt.Close)
	sw := nt.prefix + "-sw"
	nt.ip("netns", "add", sw)
	nt.ip("-n", sw, "link", "add", "br0", "type", "bridge")
	nt.ip("-n", sw, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		ns := nt.NS(i)
		// Short names: interface names have at most 15 bytes.
		host, port := fmt.Sprintf("%sh%d", nt.prefix, i), fmt.Sprintf("%sp%d", nt.prefix, i)
		nt.ip("netns", "add", ns)
		nt.ip("-n", ns, "link", "set", "lo", "up")
		nt.ip("link", "add", host, "type", "veth", "peer", "name", port)
		nt.ip("link", "set", host, "netns", ns)
		nt.ip("link", "set", port, "netns", sw)
		nt.ip("-n", ns, "link", "set", host, "name", Dev)
		nt.ip("-n", ns, "addr", "add", nt.IP4(i)+"/24", "dev", Dev)
		nt.ip("-n", ns, "addr", "add", nt.IP6(i)+"/64", "dev", Dev, "nodad")
		nt.ip("-n", ns, "link", "set", Dev, "up")
		nt.ip("-n", sw, "link", "set", port, "master", "br0")
		nt.ip("-n", sw, "link", "set", port, "up")
	}
	return nt
}

// NS returns the namespace of host i (1-based).
func (n *Net) NS(i int) string { return fmt.Sprintf("%s-%d", n.prefix, i) }

// IP4 returns host i's IPv4 address.
func (n *Net) IP4(i int) string { return fmt.Sprintf("10.77.0.%d", i) }

// IP6 returns host i's IPv6 address.
func (n *Net) IP6(i int) string { return fmt.Sprintf("fd77::%d", i) }

// Impairment is what Impair does to the frames a host sends.
type Impairment struct {
	Loss    float64       // fraction of frames dropped, 0..1
	Delay   time.Duration // added to every frame (netem only)
	Reorder float64       // fraction of frames sent at once, ahead of delayed ones (netem only)
}

// Impair degrades host i's egress with tc netem. Kernels without netem
// (sch_netem) get the loss alone, from an nftables rule on the switch's
// bridge port; Impair reports in the test log which it used, and returns
// false when delay and reordering could not be applied.
func (n *Net) Impair(i int, im Impairment) (full bool) {
	n.t.Helper()
	args := []string{"netns", "exec", n.NS(i), "tc", "qdisc", "replace", "dev", Dev, "root", "netem"}
	if im.Delay > 0 {
		args = append(args, "delay", fmt.Sprintf("%dus", im.Delay.Microseconds()))
		if im.Reorder > 0 {
			args = append(args, "reorder", fmt.Sprintf("%.2f%%", im.Reorder*100), "50%")
		}
	}
	if im.Loss > 0 {
		args = append(args, "loss", fmt.Sprintf("%.2f%%", im.Loss*100))
	}
	if err := exec.Command("ip", args...).Run(); err == nil {
		n.t.Logf("host %d: netem %v", i, args[9:])
		return true
	}
	if im.Loss > 0 {
		if _, err := exec.LookPath("nft"); err != nil {
			n.t.Skip("no tc netem in this kernel and no nft to emulate loss")
		}
		rule := fmt.Sprintf(`table bridge o7s%d {
	chain lossy {
		type filter hook forward priority 0; policy accept;
		iifname "%sp%d" numgen random mod 10000 < %d drop
	}
}
`, i, n.prefix, i, int(im.Loss*10000))
		cmd := exec.Command("ip", "netns", "exec", n.prefix+"-sw", "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rule)
		if out, err := cmd.CombinedOutput(); err != nil {
			n.t.Fatalf("nft: %v\n%s", err, out)
		}
		n.t.Logf("host %d: no netem in this kernel; %.0f%% loss from nftables on the bridge", i, im.Loss*100)
	}
	return im.Delay == 0 && im.Reorder == 0
}

// Netem applies tc netem with the given arguments to host i's egress, for
// example Netem(1, "loss", "10%"). Without netem in the kernel only a
// "loss N%" argument is honoured (see Impair).
func (n *Net) Netem(i int, args ...string) {
	n.t.Helper()
	a := append([]string{"netns", "exec", n.NS(i), "tc", "qdisc", "replace", "dev", Dev, "root", "netem"}, args...)
	if exec.Command("ip", a...).Run() == nil {
		return
	}
	for k := 0; k+1 < len(args); k++ {
		if args[k] == "loss" {
			var pct float64
			fmt.Sscanf(strings.TrimSuffix(args[k+1], "%"), "%g", &pct)
			n.Impair(i, Impairment{Loss: pct / 100})
		}
	}
}

// Exec returns a command that runs name with args inside host i's namespace.
func (n *Net) Exec(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.NS(i), name}, args...)...)
}

// Close deletes every namespace of the net (their interfaces go with them).
func (n *Net) Close() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], n.prefix+"-") {
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

func (n *Net) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
