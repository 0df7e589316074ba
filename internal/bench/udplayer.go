package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// The udp4 layer path: two hosts on this machine, A (this process's irmd)
// and B (the server's irmd), each with a udp4 IPCP, joined over loopback.
var (
	udpAddrA = netip.MustParseAddr("127.0.0.1")
	udpAddrB = netip.MustParseAddr("127.0.0.2")
)

// Names in the udp4 layer.
const (
	udpLayerName = "obench-udp4"
	udpIPCPNameA = "obench-udp-a"
	udpIPCPNameB = "obench-udp-b"
)

// openUDP4Layer is a flow with QoS spec from host A to a server on host B
// over a udp4 layer (udp4Instance).
func openUDP4Layer(ctx context.Context, h *Harness, spec qos.Spec) (*Session, error) {
	inst, err := udp4Instance()
	if err != nil {
		return nil, err
	}
	return openOuroboros(ctx, h, inst, spec)
}

// udp4Instance is two hosts, A and B, over a udp4 layer: both IPCPs on the
// same free port of their address, names resolved through a private hosts
// file. UDP on loopback may lose packets under a flood: a raw flow sees the
// losses, a reliable one retransmits.
func udp4Instance() (instance, error) {
	port, err := freeUDPPort(udpAddrA, udpAddrB)
	if err != nil {
		return instance{}, err
	}
	return instance{
		noDirect: true,
		ipcps:    []string{"ipcpd-udp4"},
		twoHosts: true,
		lossy:    true,
		hosts:    map[string]netip.Addr{serverName: udpAddrB},
		layer: func(ctx context.Context, a, b *host) error {
			return bootstrapUDP4(ctx, a, b, port)
		},
	}, nil
}

// bootstrapUDP4 creates and bootstraps a udp4 IPCP on host a (bound to
// udpAddrA) and on host b (udpAddrB), both on port, and registers serverName
// in b's.
func bootstrapUDP4(ctx context.Context, a, b *host, port uint16) error {
	if _, err := startUDP4(ctx, a, udpIPCPNameA, udpAddrA, port); err != nil {
		return err
	}
	pid, err := startUDP4(ctx, b, udpIPCPNameB, udpAddrB, port)
	if err != nil {
		return err
	}
	return b.registerServer(ctx, pid)
}

// startUDP4 creates a udp4 IPCP called name on host o and bootstraps it in
// the udp4 layer, bound to ip and port. It returns its pid.
func startUDP4(ctx context.Context, o *host, name string, ip netip.Addr, port uint16) (int, error) {
	pid, err := o.createIPCP(ctx, name, irm.UDP4)
	if err != nil {
		return 0, err
	}
	conf := irm.DefaultConfig(irm.UDP4, udpLayerName)
	conf.UDP4.IP, conf.UDP4.Port = ip, port
	if err := o.bootstrap(ctx, pid, conf); err != nil {
		return 0, fmt.Errorf("%s: bootstrap %s on %v port %d: %w", o.name, name, ip, port, err)
	}
	return pid, nil
}

// freeUDPPort returns a UDP port free on every address in addrs: the
// kernel's choice of an ephemeral port on the first, if the others have it
// free as well. (Another process may take it before the IPCPs bind it; the
// path then fails to bootstrap.)
func freeUDPPort(addrs ...netip.Addr) (uint16, error) {
	if len(addrs) == 0 {
		return 0, errors.New("freeUDPPort: no address")
	}
	for range 100 {
		var conns []*net.UDPConn
		var port uint16
		ok := true
		for _, a := range addrs {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, port)))
			if err != nil {
				if port == 0 {
					return 0, fmt.Errorf("bind %v: %w", a, err)
				}
				ok = false
				break
			}
			conns = append(conns, c)
			port = uint16(c.LocalAddr().(*net.UDPAddr).Port)
		}
		for _, c := range conns {
			c.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no UDP port free on all of %v", addrs)
}

// writeHosts writes a hosts file (/etc/hosts syntax, udp.HostsEnv) at path
// that maps each name, by the hex of its MD5 hash, to its address.
func writeHosts(path string, names map[string]netip.Addr) error {
	var lines []string
	for name, addr := range names {
		h, err := hash.Sum(hash.MD5, name)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%v %s # %s\n", addr, udp.DNSName(h), name))
	}
	sort.Strings(lines)
	return os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644)
}
