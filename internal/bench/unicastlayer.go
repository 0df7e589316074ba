package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// The unicast layer paths of the tools tables: a unicast layer whose
// members are the unicast IPCPs of the hosts, over a lower layer that joins
// neighbouring hosts. The first host's member (A) bootstraps the layer and
// answers to the layer's name in the lower layer; each next member enrolls
// through its neighbour and connects to it (management and data transfer), so
// the layer is a line A - B (- C). The server's name is registered in the
// unicast layer at the last host, so each packet crosses both layers: the
// unicast layer's data transfer over the lower layer's flows, relayed by the
// unicast IPCP of every host in between.
//
//   - unicast over udp4: hosts A and B of the udp4 path, one hop;
//   - unicast over eth-dix: hosts A and B of the eth-dix path (a veth pair,
//     B in a namespace of its own; root only), one hop;
//   - unicast, two hops over udp4: hosts A, B and C on 127.0.0.1, .2 and
//     .3, client on A, server on C, every packet relayed by B.

// Path identifiers of the unicast layer paths other than UnicastID.
const (
	UnicastEthID    = "unicast-eth-dix"   // a unicast layer over the eth-dix layer
	UnicastTwoHopID = "unicast-udp4-2hop" // a line of three members over the udp4 layer
)

// Names of the unicast layer and its members.
const (
	uniLayerName = "obench-uni"
	uniNameA     = "obench-uni-a"
	uniNameB     = "obench-uni-b"
	uniNameC     = "obench-uni-c"
	udpIPCPNameC = "obench-udp-c"
)

// udpAddrC is host C's address on the two-hop path.
var udpAddrC = netip.MustParseAddr("127.0.0.3")

// uniSettle is the pause after the last connection for the directories of
// the later members to join the first's (a member's bootstrap goes out once
// its routes are there, within milliseconds), so that the clients find the
// server's name at once. A second per hop.
const uniSettle = time.Second

// unicastInstance is the unicast-over-udp4 path.
func unicastInstance() (instance, error) {
	port, err := freeUDPPort(udpAddrA, udpAddrB)
	if err != nil {
		return instance{}, err
	}
	return instance{
		noDirect: true,
		ipcps:    []string{"ipcpd-udp4", "ipcpd-unicast"},
		twoHosts: true,
		lossy:    true,
		hosts:    map[string]netip.Addr{uniNameA: udpAddrA, uniLayerName: udpAddrA},
		layer: func(ctx context.Context, a, b *host) error {
			lowerA, err := startUDP4(ctx, a, udpIPCPNameA, udpAddrA, port)
			if err != nil {
				return err
			}
			lowerB, err := startUDP4(ctx, b, udpIPCPNameB, udpAddrB, port)
			if err != nil {
				return err
			}
			return buildUnicastLine(ctx, []uniMember{{a, uniNameA, lowerA}, {b, uniNameB, lowerB}})
		},
	}, nil
}

// uniMember is a member of a unicast layer path: its host, its name, and the
// pid of the IPCP of the lower layer it rides on there.
type uniMember struct {
	o     *host
	name  string
	lower int
}

// buildUnicastLine builds the unicast layer on a line of members, in order
// (see above), registers serverName in it at the last, and waits uniSettle
// per hop. Every member binds its name and registers it in its lower layer
// (the next enrolls through it and connects to it); the first registers
// the layer's name as well.
func buildUnicastLine(ctx context.Context, line []uniMember) error {
	var pid int
	for i, m := range line {
		c := m.o.client()
		var err error
		if pid, err = m.o.createIPCP(ctx, m.name, irm.Unicast); err != nil {
			return err
		}
		names := []string{m.name}
		if i == 0 {
			if err := m.o.bootstrap(ctx, pid, irm.DefaultConfig(irm.Unicast, uniLayerName)); err != nil {
				return fmt.Errorf("%s: bootstrap %s: %w", m.o.name, m.name, err)
			}
			names = append(names, uniLayerName)
		} else {
			// The second member enrolls by the layer's name, as a
			// newcomer knowing only the layer would; the later ones
			// through their neighbour.
			dst := uniLayerName
			if i > 1 {
				dst = line[i-1].name
			}
			if err := c.EnrollIPCP(ctx, pid, dst); err != nil {
				return fmt.Errorf("%s: enroll %s through %s: %w", m.o.name, m.name, dst, err)
			}
			for _, comp := range []string{irm.MgmtComponent, irm.DTComponent} {
				if err := c.ConnectIPCP(ctx, pid, line[i-1].name, comp, qos.Raw); err != nil {
					return fmt.Errorf("%s: connect %s to %s (%s): %w", m.o.name, m.name, line[i-1].name, comp, err)
				}
			}
		}
		if i == len(line)-1 {
			break // the last member: nobody enrolls through it
		}
		for _, n := range names {
			if err := c.BindProcess(ctx, pid, n); err != nil {
				return fmt.Errorf("%s: bind %s: %w", m.o.name, n, err)
			}
			if err := c.RegName(ctx, n, m.lower); err != nil {
				return fmt.Errorf("%s: register %s in the lower layer: %w", m.o.name, n, err)
			}
		}
	}
	if err := line[len(line)-1].o.registerServer(ctx, pid); err != nil {
		return err
	}
	select {
	case <-time.After(time.Duration(len(line)-1) * uniSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// uniEthMTU is the MTU of the veth pair of the unicast-over-eth-dix path:
// standard Ethernet's, unless the largest packet of the tools' plan with an
// FRCT header, a CRC, the unicast layer's data-transfer header and the
// eth-dix header needs more.
func uniEthMTU() int {
	largest := 0
	for _, m := range ToolPlan() {
		largest = max(largest, m.Size)
	}
	return max(ethMTUStd, largest+wire.FRCTLen+crcLen+wire.DTPCILen+wire.EthDIXOverhead)
}

// openUnicastEth starts the unicast-over-eth-dix path: a veth pair and a
// namespace for host B as for the eth-dix path (newVethNet), an eth-dix
// IPCP on each end, and the unicast layer over them. Closing the hosts
// deletes the pair and the namespace after the processes stopped.
func openUnicastEth(ctx context.Context, h *Harness) (*hostSet, error) {
	if why := ethSkip(); why != "" {
		return nil, fmt.Errorf("eth-dix layer: %s", why)
	}
	v, remove, err := h.newVethNet(uniEthMTU())
	if err != nil {
		return nil, err
	}
	h.logf("unicast over eth-dix: veth pair %s (host A, this namespace) and %s (host B, namespace %s), MTU %d",
		v.devA, v.devB, v.ns, v.mtu)
	hs, err := h.startHosts(ctx, instance{
		noDirect: true,
		ipcps:    []string{"ipcpd-eth-dix", "ipcpd-unicast"},
		twoHosts: true,
		serverNS: v.ns,
		lossy:    true,
		layer: func(ctx context.Context, a, b *host) error {
			lowerA, err := startEthDIX(ctx, a, ethIPCPNameA, v.devA)
			if err != nil {
				return err
			}
			lowerB, err := startEthDIX(ctx, b, ethIPCPNameB, v.devB)
			if err != nil {
				return err
			}
			return buildUnicastLine(ctx, []uniMember{{a, uniNameA, lowerA}, {b, uniNameB, lowerB}})
		},
	})
	if err != nil {
		remove()
		return nil, err
	}
	// Run last: the processes first, then the link.
	hs.stops = append(hs.stops, remove)
	return hs, nil
}

// openUnicastTwoHops starts the two-hop path: hosts A, B and C (irmds A, B
// and C, in this process's namespace), each with a udp4 IPCP on its own
// loopback address, all on one port, and the unicast layer A - B - C over
// them; the clients run on A, the server on C. On failure it tears down
// what it started.
func openUnicastTwoHops(ctx context.Context, h *Harness) (hs *hostSet, err error) {
	addrs := []netip.Addr{udpAddrA, udpAddrB, udpAddrC}
	port, err := freeUDPPort(addrs...)
	if err != nil {
		return nil, err
	}
	inst := instance{
		noDirect: true,
		ipcps:    []string{"ipcpd-udp4", "ipcpd-unicast"},
		lossy:    true,
		// The names the members enroll through and connect to.
		hosts: map[string]netip.Addr{uniLayerName: udpAddrA, uniNameA: udpAddrA, uniNameB: udpAddrB},
	}
	irmdPath, err := findCommand(h.self, "irmd")
	if err != nil {
		return nil, err
	}
	for _, prog := range inst.ipcps {
		if _, err := findCommand(irmdPath, prog); err != nil {
			return nil, err
		}
	}
	hs = &hostSet{}
	defer func() {
		if err != nil {
			hs.close()
		}
	}()
	for _, name := range []string{"irmd A", "irmd B", "irmd C"} {
		o, err := h.startHost(name, irmdPath, "", inst, hs.push)
		if err != nil {
			return nil, err
		}
		hs.hosts = append(hs.hosts, o)
	}
	hs.client, hs.server = hs.hosts[0], hs.hosts[2]
	lctx, cancel := context.WithTimeout(ctx, 3*readyWait)
	defer cancel()
	var line []uniMember
	for i, o := range hs.hosts {
		name := []string{udpIPCPNameA, udpIPCPNameB, udpIPCPNameC}[i]
		lower, err := startUDP4(lctx, o, name, addrs[i], port)
		if err != nil {
			return nil, fmt.Errorf("%w%s", err, hs.logs())
		}
		line = append(line, uniMember{o, []string{uniNameA, uniNameB, uniNameC}[i], lower})
	}
	if err := buildUnicastLine(lctx, line); err != nil {
		return nil, fmt.Errorf("%w%s", err, hs.logs())
	}
	return hs, nil
}
