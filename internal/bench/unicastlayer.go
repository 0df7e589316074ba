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

// The probe of a unicast layer path: a ping from the client's host to an
// oping server on the server's, uniProbeWait after the previous one, until
// one comes back; for at most uniProbeLimit in all, each ping at most
// uniPingLimit.
const (
	uniProbeWait  = 250 * time.Millisecond
	uniProbeLimit = time.Minute
	uniPingLimit  = 5 * time.Second
)

// openUnicastUDP4 starts the unicast-over-udp4 path and probes it.
func openUnicastUDP4(ctx context.Context, h *Harness) (*hostSet, error) {
	inst, err := unicastInstance()
	if err != nil {
		return nil, err
	}
	hs, err := h.startHosts(ctx, inst)
	if err != nil {
		return nil, err
	}
	if err := h.probeServer(ctx, hs); err != nil {
		hs.close()
		return nil, err
	}
	return hs, nil
}

// probeServer waits until a ping from hs's client host reaches an oping
// server on its server host, bound to serverName: until the later members'
// directories joined the first's (a member's bootstrap goes out once its
// routes are there), the server's name is in the directory and the routes
// lead to it, so that the clients of the measurements find the server at
// once. A fixed pause would do on an idle machine, not on a busy one.
func (h *Harness) probeServer(ctx context.Context, hs *hostSet) error {
	srv, err := h.startToolServer(ctx, hs, "oping", "Ouroboros ping server started.", "-Q")
	if err != nil {
		return fmt.Errorf("probe: %w%s", err, hs.logs())
	}
	defer h.stopToolServer(hs, srv)
	path, err := findCommand(h.self, "oping")
	if err != nil {
		return err
	}
	var last string
	deadline := time.Now().Add(uniProbeLimit)
	for try := 1; ; try++ {
		cmd, err := nsCommand(hs.client.netns, path, "-n", serverName, "-c", "1", "-Q")
		if err != nil {
			return err
		}
		cmd.Env = hs.client.env
		out, _, err := h.runClient(ctx, "oping probe", cmd, uniPingLimit)
		if err == nil {
			if st, perr := ParseOping(out); perr == nil && st.Received == 1 {
				if try > 1 {
					h.logf("probe: %s reached after %d pings", serverName, try)
				}
				return nil
			}
			last = cellText(out, 300)
		} else {
			last = err.Error()
		}
		if time.Now().Add(uniProbeWait).After(deadline) {
			return fmt.Errorf("probe: none of %d pings to %s in %v came back; the last: %s%s",
				try, serverName, uniProbeLimit, last, hs.logs())
		}
		select {
		case <-time.After(uniProbeWait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// unicastInstance is the unicast-over-udp4 path, not probed.
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
// (see above), and registers serverName in it at the last. Every member but
// the last binds its name and registers it in its lower layer (the next
// enrolls through it and connects to it); the first registers the layer's
// name as well.
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
	return line[len(line)-1].o.registerServer(ctx, pid)
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
	if err := h.probeServer(ctx, hs); err != nil {
		hs.close()
		return nil, err
	}
	return hs, nil
}

// openUnicastTwoHops starts the two-hop path: hosts A, B and C (irmds A, B
// and C, in this process's namespace), each with a udp4 IPCP on its own
// loopback address, all on one port, and the unicast layer A - B - C over
// them; the clients run on A, the server on C. On failure it tears down
// what it started.
func openUnicastTwoHops(ctx context.Context, h *Harness) (_ *hostSet, err error) {
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
	hs, err := h.startNamedHosts(inst, []string{"irmd A", "irmd B", "irmd C"}, func(int) string { return "" })
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			hs.close()
		}
	}()
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
	if err := h.probeServer(ctx, hs); err != nil {
		return nil, err
	}
	return hs, nil
}
