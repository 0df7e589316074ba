package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// The eth-dix layer path: two hosts joined by a veth pair that the harness
// creates for the path and deletes afterwards. This process cannot move into
// a network namespace (its measurements run in it), so host A, whose
// application it is, stays in this process's namespace: its irmd and its
// eth-dix IPCP run here, the IPCP's raw socket bound to one end of the pair.
// Host B (its irmd, its eth-dix IPCP, the server) runs inside a new network
// namespace that holds the other end. The pair carries nothing but the
// harness's frames: no addresses, no other interface attached. It needs root
// (CAP_NET_ADMIN for the pair and the namespace, CAP_NET_RAW for the IPCPs'
// raw sockets) and the ip tool; without them the path is skipped (ethSkip).

// Names in the eth-dix layer.
const (
	ethLayerName = "obench-eth-dix"
	ethIPCPNameA = "obench-eth-a"
	ethIPCPNameB = "obench-eth-b"
)

// Names of the veth pair and of host B's namespace: ethNetPrefix, this
// process's pid, a role letter (a: host A's end, b: host B's end, n: the
// namespace) and a sequence number, such as o7sb48113a1. The pid
// tells the objects of another obench run from those of one that died
// without its cleanup (SIGKILL), which sweepStaleNets removes.
const ethNetPrefix = "o7sb"

var staleNetName = regexp.MustCompile(`^` + ethNetPrefix + `([0-9]+)([abn])([0-9]+)$`)

// ifNameMax is the longest interface name Linux takes, in bytes.
const ifNameMax = 15

// ethMTUStd is the MTU of standard Ethernet, and the default of a veth.
const ethMTUStd = 1500

// crcLen is the CRC-32 a flow with QoS BER 0 appends to each packet (the
// flow package forces it off on allocation today; counted to be safe).
const crcLen = 4

// ethMTU returns the MTU of the veth pair for plan: standard Ethernet's 1500
// bytes when the largest packet of the plan fits in an eth-dix frame with an
// FRCT header and a CRC (1400 + 12 + 4 bytes of SDU, at most 1496 with the
// eth-dix header of 4; the IPCP drops larger SDUs), else the smallest MTU
// that carries it (a jumbo frame).
func ethMTU(plan []Measure) int {
	largest := 0
	for _, m := range plan {
		largest = max(largest, m.Size)
	}
	return max(ethMTUStd, largest+wire.FRCTLen+crcLen+wire.EthDIXOverhead)
}

// Linux capabilities the path needs (linux/capability.h).
const (
	capNetAdmin = 12
	capNetRaw   = 13
	capSysAdmin = 21
)

// ethSkip returns why the eth-dix layer cannot run on this machine, or "".
func ethSkip() string {
	if os.Geteuid() != 0 {
		return "needs root for a veth pair and raw sockets"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "needs the ip tool (iproute2) for a veth pair and a network namespace"
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		if missing := missingCaps(status, map[int]string{
			capNetAdmin: "CAP_NET_ADMIN", capNetRaw: "CAP_NET_RAW", capSysAdmin: "CAP_SYS_ADMIN",
		}); len(missing) > 0 {
			return "needs " + strings.Join(missing, ", ") +
				" (root without them: a container?) for a veth pair, a network namespace and raw sockets"
		}
	}
	return ""
}

// missingCaps returns the names of the capabilities in want (by number) that
// the CapEff line of a /proc/<pid>/status lacks, in order of number; none if
// the line is missing or malformed (the attempt will then tell).
func missingCaps(status []byte, want map[int]string) []string {
	for _, line := range bytes.Split(status, []byte("\n")) {
		v, ok := bytes.CutPrefix(line, []byte("CapEff:"))
		if !ok {
			continue
		}
		eff, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
		if err != nil {
			return nil
		}
		var missing []string
		for bit := range 64 {
			if name, ok := want[bit]; ok && eff&(1<<bit) == 0 {
				missing = append(missing, name)
			}
		}
		return missing
	}
	return nil
}

// vethNet is a veth pair with host A's end in this process's namespace and
// host B's end in a new namespace.
type vethNet struct {
	ip         string // the ip tool
	ns         string // host B's network namespace
	devA, devB string // the ends of the pair
	mtu        int
}

// ipRun runs the ip tool with args.
func ipRun(ip string, args ...string) error {
	if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// remove deletes the pair (deleting one end deletes both, wherever the other
// is) and the namespace. Either may be gone already.
func (v *vethNet) remove() {
	exec.Command(v.ip, "link", "del", v.devA).Run()
	exec.Command(v.ip, "netns", "del", v.ns).Run()
}

// newVethNet creates host B's namespace and a veth pair of mtu joining it to
// this process's namespace, both ends up, without addresses. The returned
// func deletes them; h's cleanup does as well if it runs first (Ctrl-C). On
// error nothing is left.
func (h *Harness) newVethNet(mtu int) (*vethNet, func(), error) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		return nil, nil, err
	}
	h.sweepStaleNets(ip)
	seq := h.netSeq.Add(1)
	name := func(role byte) string { return fmt.Sprintf("%s%d%c%d", ethNetPrefix, os.Getpid(), role, seq) }
	v := &vethNet{ip: ip, ns: name('n'), devA: name('a'), devB: name('b'), mtu: mtu}
	if len(v.devA) > ifNameMax {
		return nil, nil, fmt.Errorf("interface name %s is longer than %d bytes", v.devA, ifNameMax)
	}
	// Registered before anything exists, so that a Ctrl-C halfway removes
	// what was made.
	remove, err := h.procs.onCleanup(v.remove)
	if err != nil {
		return nil, nil, err
	}
	m := strconv.Itoa(mtu)
	for _, args := range [][]string{
		{"netns", "add", v.ns},
		{"link", "add", v.devA, "mtu", m, "type", "veth", "peer", "name", v.devB, "mtu", m},
		{"link", "set", v.devB, "netns", v.ns},
	} {
		if err := ipRun(ip, args...); err != nil {
			remove()
			return nil, nil, err
		}
	}
	// No IPv6 link-local address, so no neighbour discovery, router
	// solicitation or MLD frames on the pair: it carries the layer's frames
	// alone. Not essential: an ip or kernel without it is fine.
	exec.Command(ip, "link", "set", v.devA, "addrgenmode", "none").Run()
	exec.Command(ip, "-n", v.ns, "link", "set", v.devB, "addrgenmode", "none").Run()
	for _, args := range [][]string{
		{"link", "set", v.devA, "up"},
		{"-n", v.ns, "link", "set", v.devB, "up"},
	} {
		if err := ipRun(ip, args...); err != nil {
			remove()
			return nil, nil, err
		}
	}
	return v, remove, nil
}

// sweepStaleNets deletes the namespaces and veth pairs named by an obench
// process that no longer exists (one killed before its cleanup could run).
// Those of live processes, this one's included, are left alone.
func (h *Harness) sweepStaleNets(ip string) {
	stale := func(name string) bool {
		m := staleNetName.FindStringSubmatch(name)
		if m == nil {
			return false
		}
		pid, err := strconv.ParseInt(m[1], 10, 32)
		if err != nil || pid <= 0 || int(pid) == os.Getpid() {
			return false
		}
		return syscall.Kill(int(pid), 0) == syscall.ESRCH
	}
	if out, err := exec.Command(ip, "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && stale(f[0]) {
				h.logf("eth-dix layer: deleting namespace %s left by a dead obench", f[0])
				exec.Command(ip, "netns", "del", f[0]).Run()
			}
		}
	}
	if out, err := exec.Command(ip, "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			// "7: o7sb48113a1@if6: <BROADCAST,...> ..."
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			dev, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if stale(dev) {
				h.logf("eth-dix layer: deleting interface %s left by a dead obench", dev)
				exec.Command(ip, "link", "del", dev).Run()
			}
		}
	}
}

// openEthDIXLayer is a flow with QoS spec from host A to a server on host B
// over an eth-dix layer on a veth pair of its own (ethInstance).
func openEthDIXLayer(ctx context.Context, h *Harness, spec qos.Spec) (*Session, error) {
	inst, remove, err := h.ethInstance()
	if err != nil {
		return nil, err
	}
	s, err := openOuroboros(ctx, h, inst, spec)
	if err != nil {
		remove()
		return nil, err
	}
	// The processes first (the namespace lives on while they are in it),
	// then the link.
	closeHosts := s.close
	s.close = func() { closeHosts(); remove() }
	return s, nil
}

// ethInstance creates a veth pair and a namespace (see above) and returns
// two hosts over an eth-dix layer on it, and the function that deletes the
// pair and the namespace, to call after the hosts stopped. Names are
// resolved by the layer's broadcast queries. A veth drops frames when the
// receiving side's queue is full: a raw flow sees the losses, a reliable one
// retransmits.
func (h *Harness) ethInstance() (instance, func(), error) {
	if why := ethSkip(); why != "" {
		return instance{}, nil, fmt.Errorf("eth-dix layer: %s", why)
	}
	v, remove, err := h.newVethNet(ethMTU(Plan()))
	if err != nil {
		return instance{}, nil, err
	}
	h.logf("eth-dix layer: veth pair %s (host A, this namespace) and %s (host B, namespace %s), MTU %d",
		v.devA, v.devB, v.ns, v.mtu)
	return instance{
		noDirect: true,
		ipcps:    []string{"ipcpd-eth-dix"},
		twoHosts: true,
		serverNS: v.ns,
		lossy:    true,
		layer: func(ctx context.Context, a, b *host) error {
			return bootstrapEthDIX(ctx, a, b, v.devA, v.devB)
		},
	}, remove, nil
}

// bootstrapEthDIX creates and bootstraps an eth-dix IPCP on host a over devA
// and on host b over devB, and registers serverName in b's.
func bootstrapEthDIX(ctx context.Context, a, b *host, devA, devB string) error {
	if _, err := startEthDIX(ctx, a, ethIPCPNameA, devA); err != nil {
		return err
	}
	pid, err := startEthDIX(ctx, b, ethIPCPNameB, devB)
	if err != nil {
		return err
	}
	return b.registerServer(ctx, pid)
}

// startEthDIX creates an eth-dix IPCP called name on host o and bootstraps
// it in the eth-dix layer over dev, with the default Ethertype. It returns
// its pid.
func startEthDIX(ctx context.Context, o *host, name, dev string) (int, error) {
	pid, err := o.createIPCP(ctx, name, irm.EthDIX)
	if err != nil {
		return 0, err
	}
	conf := irm.DefaultConfig(irm.EthDIX, ethLayerName)
	conf.Eth.Dev = dev
	if err := o.bootstrap(ctx, pid, conf); err != nil {
		return 0, fmt.Errorf("%s: bootstrap %s over %s: %w", o.name, name, dev, err)
	}
	return pid, nil
}
