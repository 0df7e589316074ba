package irm

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Config is what an IPCP is bootstrapped with: the layer it founds and the
// parameters of its type. Only the
// part for Type is sent: Unicast for unicast IPCPs, Eth for both Ethernet
// types, UDP4 or UDP6 for the UDP types; local and broadcast IPCPs take only
// the layer. Start from DefaultConfig: the zero values of several fields are
// not the defaults.
type Config struct {
	Type  IPCPType
	Layer string   // at most MaxNameLen bytes
	Hash  HashAlgo // forced to MD5 for UDP and SHA3-256 for broadcast by the IPCP

	Unicast UnicastConfig
	Eth     EthConfig
	UDP4    UDP4Config
	UDP6    UDP6Config
}

// UnicastConfig holds the parameters of a unicast layer. Every member of the
// layer receives them at enrollment, so they are fixed for the layer's life.
type UnicastConfig struct {
	AddrSize uint8 // bytes; the flat address authority needs 4
	EIDSize  uint8 // bytes; only 8 is supported
	MaxTTL   uint8

	Routing   RoutingPolicy
	LinkState LinkStateConfig // used when Routing is RoutingLinkState

	Directory DirPolicy
	DHT       DHTConfig // used when Directory is DirDHT

	AddrAuth   AddrAuthPolicy
	Congestion CongestionPolicy
}

// LinkStateConfig tunes link-state routing. Times are in seconds.
type LinkStateConfig struct {
	Policy  LSPolicy
	Recalc  uint32 // forwarding table recalculation interval
	Update  uint32 // link-state advertisement interval
	Timeout uint32 // a link not advertised for this long is removed
}

// DHTConfig tunes the Kademlia directory. Times are in seconds.
type DHTConfig struct {
	Alpha     uint32 // parallel lookups, 1..10
	K         uint32 // bucket size, 1..20
	Expire    uint32 // 10..86400
	Refresh   uint32 // 3..3600
	Replicate uint32 // 3..3600
	Peer      uint64 // address of a known peer; 0 = none
}

// EthConfig holds the parameters of eth-llc and eth-dix IPCPs.
type EthConfig struct {
	Dev       string // interface name
	Ethertype uint16 // eth-dix only; sent for both
}

// UDP4Config holds the parameters of a udp4 IPCP. The zero DNS address means
// no dynamic DNS.
type UDP4Config struct {
	IP   netip.Addr
	Port uint16
	DNS  netip.Addr
}

// UDP6Config holds the parameters of a udp6 IPCP. The zero DNS address means
// no dynamic DNS.
type UDP6Config struct {
	IP   netip.Addr
	Port uint16
	DNS  netip.Addr
}

// RoutingPolicy selects the routing component of a unicast layer.
type RoutingPolicy uint32

// Routing policies.
const RoutingLinkState RoutingPolicy = 0

// LSPolicy selects how link-state routing computes its forwarding table.
type LSPolicy uint32

// Link-state policies.
const (
	LSSimple LSPolicy = 0 // shortest paths
	LSLFA    LSPolicy = 1 // shortest paths plus loop-free alternates
	LSECMP   LSPolicy = 2 // equal-cost multipath
)

// DirPolicy selects the directory of a unicast layer.
type DirPolicy uint32

// Directory policies.
const DirDHT DirPolicy = 0

// AddrAuthPolicy selects how members of a unicast layer get addresses.
type AddrAuthPolicy uint32

// Address authority policies.
const AddrAuthFlat AddrAuthPolicy = 0 // random flat addresses

// CongestionPolicy selects congestion avoidance in a unicast layer.
type CongestionPolicy uint32

// Congestion avoidance policies.
const (
	CongestionNone  CongestionPolicy = 0
	CongestionMBECN CongestionPolicy = 1 // multi-bit explicit congestion notification
)

// Reference defaults.
const (
	DefaultEthertype = 0xA000
	DefaultUDPPort   = 3435
)

// DefaultConfig returns the reference defaults for bootstrapping an IPCP of
// type t as the first member of layer.
func DefaultConfig(t IPCPType, layer string) Config {
	return Config{
		Type:  t,
		Layer: layer,
		Hash:  SHA3_256,
		Unicast: UnicastConfig{
			AddrSize: 4,
			EIDSize:  8,
			MaxTTL:   60,
			Routing:  RoutingLinkState,
			LinkState: LinkStateConfig{
				Policy: LSSimple, Recalc: 4, Update: 15, Timeout: 60,
			},
			Directory: DirDHT,
			DHT: DHTConfig{
				Alpha: 3, K: 8, Expire: 86400, Refresh: 900, Replicate: 900,
			},
			AddrAuth:   AddrAuthFlat,
			Congestion: CongestionMBECN,
		},
		Eth:  EthConfig{Ethertype: DefaultEthertype},
		UDP4: UDP4Config{Port: DefaultUDPPort},
		UDP6: UDP6Config{Port: DefaultUDPPort},
	}
}

// Validate checks what the message cannot express: a known type, a layer name
// that fits, and UDP addresses of the right family. Errors wrap EINVAL. The
// IPCP checks the values themselves (ranges, interface names) when it
// bootstraps.
func (c Config) Validate() error {
	if !c.Type.Valid() {
		return fmt.Errorf("IPCP type %d is unknown: %w", uint32(c.Type), oerr.EINVAL)
	}
	if c.Layer == "" || len(c.Layer) > MaxNameLen {
		return fmt.Errorf("layer name must be 1 to %d bytes: %w", MaxNameLen, oerr.EINVAL)
	}
	if c.Type == UDP4 {
		for _, a := range []netip.Addr{c.UDP4.IP, c.UDP4.DNS} {
			if a.IsValid() && !a.Unmap().Is4() {
				return fmt.Errorf("%s is not an IPv4 address: %w", a, oerr.EINVAL)
			}
		}
	}
	return nil
}

// Message builds the ipcp_config_msg the IRMd forwards to the IPCP, with every
// required field set. It does not validate; BootstrapIPCP calls Validate first.
func (c Config) Message() *pb.IpcpConfigMsg {
	m := &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{
			Name:        proto.String(c.Layer),
			DirHashAlgo: proto.Uint32(uint32(c.Hash)),
		},
		IpcpType: proto.Uint32(uint32(c.Type)),
	}
	switch c.Type {
	case Unicast:
		m.Unicast = c.Unicast.message()
	case EthLLC, EthDIX:
		m.Eth = &pb.EthConfigMsg{
			Dev:       proto.String(c.Eth.Dev),
			Ethertype: proto.Uint32(uint32(c.Eth.Ethertype)),
		}
	case UDP4:
		m.Udp4 = &pb.Udp4ConfigMsg{
			IpAddr:  proto.Uint32(sAddr(c.UDP4.IP)),
			Port:    proto.Uint32(uint32(c.UDP4.Port)),
			DnsAddr: proto.Uint32(sAddr(c.UDP4.DNS)),
		}
	case UDP6:
		m.Udp6 = &pb.Udp6ConfigMsg{
			IpAddr:  in6Addr(c.UDP6.IP),
			Port:    proto.Uint32(uint32(c.UDP6.Port)),
			DnsAddr: in6Addr(c.UDP6.DNS),
		}
	}
	return m
}

func (u UnicastConfig) message() *pb.UniConfigMsg {
	routing := &pb.RoutingConfigMsg{Pol: proto.Uint32(uint32(u.Routing))}
	if u.Routing == RoutingLinkState {
		routing.Ls = &pb.LsConfigMsg{
			Pol:     proto.Uint32(uint32(u.LinkState.Policy)),
			TRecalc: proto.Uint32(u.LinkState.Recalc),
			TUpdate: proto.Uint32(u.LinkState.Update),
			TTimeo:  proto.Uint32(u.LinkState.Timeout),
		}
	}
	dir := &pb.DirConfigMsg{Pol: proto.Uint32(uint32(u.Directory))}
	if u.Directory == DirDHT {
		dir.Dht = &pb.DirDhtConfigMsg{
			Alpha:      proto.Uint32(u.DHT.Alpha),
			K:          proto.Uint32(u.DHT.K),
			TExpire:    proto.Uint32(u.DHT.Expire),
			TRefresh:   proto.Uint32(u.DHT.Refresh),
			TReplicate: proto.Uint32(u.DHT.Replicate),
			Peer:       proto.Uint64(u.DHT.Peer),
		}
	}
	return &pb.UniConfigMsg{
		Dt: &pb.DtConfigMsg{
			AddrSize: proto.Uint32(uint32(u.AddrSize)),
			EidSize:  proto.Uint32(uint32(u.EIDSize)),
			MaxTtl:   proto.Uint32(uint32(u.MaxTTL)),
			Routing:  routing,
		},
		Dir:          dir,
		AddrAuthType: proto.Uint32(uint32(u.AddrAuth)),
		CongAvoid:    proto.Uint32(uint32(u.Congestion)),
	}
}

// sAddr encodes an IPv4 address the way the reference does: its in-memory
// s_addr (network byte order) read as a native uint32 on a little-endian host,
// so a.b.c.d becomes a | b<<8 | c<<16 | d<<24 whatever our own byte order
// (a quirk of the reference). The zero Addr, and any address Validate
// rejects, encodes as 0 (INADDR_ANY).
func sAddr(a netip.Addr) uint32 {
	a = a.Unmap()
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return binary.LittleEndian.Uint32(b[:])
}

// in6Addr is the 16 bytes of an IPv6 address in network order; the zero Addr
// gives :: (all zeros).
func in6Addr(a netip.Addr) []byte {
	if !a.IsValid() {
		return make([]byte, 16)
	}
	b := a.As16()
	return b[:]
}
