package unicast

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/addr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dir"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Layer is a unicast layer's configuration: what the first member is
// bootstrapped with, and what enrollment will hand to every later member.
type Layer struct {
	Name     string
	Hash     hash.Algo // directory hash: SHA3_224 .. SHA3_512
	AddrSize int       // bytes; the flat address policy needs 4
	EIDSize  int       // bytes; always 8
	MaxTTL   uint8     // TTL of the packets a member originates, 1..255
	AddrAuth addr.Policy
	CA       ca.Policy

	Routing routing.Algorithm // the link-state policy
	TRecalc time.Duration     // forwarding table recalculation interval
	TUpdate time.Duration     // LSU refresh interval
	TTimeo  time.Duration     // an adjacency not refreshed for this long is removed

	DHT dir.Config // IDLen is the hash length; Peer the member to bootstrap through
}

// The reference's defaults for the parts a bootstrap message may leave out
// (the link-state and DHT sections are optional in the protobuf).
const (
	defaultTRecalc = 4 * time.Second
	defaultTUpdate = 15 * time.Second
	defaultTTimeo  = 60 * time.Second
)

// eidSize is the only EID size: the PCI carries 8 bytes.
const eidSize = 8

// parseConfig turns a bootstrap message into a Layer, checking what the
// IPCP checks. Every error wraps EINVAL, or ENOTSUP for a routing or
// directory policy that does not exist. A DHT time of 0 (or a missing DHT
// section) takes the default.
func parseConfig(conf *pb.IpcpConfigMsg) (Layer, error) {
	li := conf.GetLayerInfo()
	l := Layer{Name: li.GetName(), Hash: hash.Algo(li.GetDirHashAlgo())}
	if l.Name == "" {
		return l, fmt.Errorf("no layer name: %w", oerr.EINVAL)
	}
	if l.Hash > hash.SHA3_512 {
		return l, fmt.Errorf("directory hash algorithm %d is not SHA3: %w", uint32(l.Hash), oerr.EINVAL)
	}
	u := conf.GetUnicast()
	if u == nil || u.GetDt() == nil || u.GetDir() == nil {
		return l, fmt.Errorf("bootstrap without the unicast configuration: %w", oerr.EINVAL)
	}
	d := u.GetDt()
	l.AddrSize = int(d.GetAddrSize())
	l.EIDSize = int(d.GetEidSize())
	if ttl := d.GetMaxTtl(); ttl == 0 || ttl > 255 {
		return l, fmt.Errorf("max TTL %d is not 1..255: %w", ttl, oerr.EINVAL)
	} else {
		l.MaxTTL = uint8(ttl)
	}
	l.AddrAuth = addr.Policy(u.GetAddrAuthType())
	if l.AddrAuth != addr.FlatRandom {
		return l, fmt.Errorf("address policy %d is unknown: %w", uint32(l.AddrAuth), oerr.EINVAL)
	}
	if l.AddrSize != addr.FlatAddrSize {
		return l, fmt.Errorf("the flat address policy needs 4-byte addresses, not %d: %w", l.AddrSize, oerr.EINVAL)
	}
	l.CA = ca.Policy(u.GetCongAvoid())
	if !l.CA.Valid() {
		return l, fmt.Errorf("congestion avoidance %d is unknown: %w", uint32(l.CA), oerr.EINVAL)
	}

	r := d.GetRouting()
	if r.GetPol() != 0 {
		return l, fmt.Errorf("routing policy %d is not link state: %w", r.GetPol(), oerr.ENOTSUP)
	}
	l.TRecalc, l.TUpdate, l.TTimeo = defaultTRecalc, defaultTUpdate, defaultTTimeo
	if ls := r.GetLs(); ls != nil {
		l.Routing = routing.Algorithm(ls.GetPol())
		if l.Routing > routing.ECMP {
			return l, fmt.Errorf("link-state policy %d is unknown: %w", ls.GetPol(), oerr.EINVAL)
		}
		for _, t := range []struct {
			v   uint32
			dst *time.Duration
		}{{ls.GetTRecalc(), &l.TRecalc}, {ls.GetTUpdate(), &l.TUpdate}, {ls.GetTTimeo(), &l.TTimeo}} {
			if t.v > 0 {
				*t.dst = time.Duration(t.v) * time.Second
			}
		}
	}

	if u.GetDir().GetPol() != 0 {
		return l, fmt.Errorf("directory policy %d is not the DHT: %w", u.GetDir().GetPol(), oerr.EINVAL)
	}
	l.DHT = dir.Config{IDLen: l.Hash.Len(), Alpha: dir.DefaultAlpha, K: dir.DefaultK,
		TExpire: dir.DefaultTExpire, TRefresh: dir.DefaultTRefresh, TReplicate: dir.DefaultTReplicate}
	if h := u.GetDir().GetDht(); h != nil {
		for _, p := range []struct {
			name     string
			v        uint32
			min, max uint32
			set      func(uint32)
		}{
			{"dht_alpha", h.GetAlpha(), 1, 10, func(v uint32) { l.DHT.Alpha = int(v) }},
			{"dht_k", h.GetK(), 1, 20, func(v uint32) { l.DHT.K = int(v) }},
			{"dht_t_expire", h.GetTExpire(), 10, 86400, func(v uint32) { l.DHT.TExpire = time.Duration(v) * time.Second }},
			{"dht_t_refresh", h.GetTRefresh(), 3, 3600, func(v uint32) { l.DHT.TRefresh = time.Duration(v) * time.Second }},
			{"dht_t_replicate", h.GetTReplicate(), 3, 3600, func(v uint32) { l.DHT.TReplicate = time.Duration(v) * time.Second }},
		} {
			if p.v == 0 {
				continue
			}
			if p.v < p.min || p.v > p.max {
				return l, fmt.Errorf("%s %d is not %d..%d: %w", p.name, p.v, p.min, p.max, oerr.EINVAL)
			}
			p.set(p.v)
		}
		l.DHT.Peer = h.GetPeer()
	}
	return l, nil
}

// typeUnicast is the IPCP type of a unicast layer in a configuration.
const typeUnicast = 1

// message is the configuration an enroller hands out: every field
// present (the reference refuses a message without a required one), times
// in whole seconds, and as the directory's bootstrap peer the member
// peer, which is the enroller itself.
func (l Layer) message(peer uint64) *pb.IpcpConfigMsg {
	u32 := proto.Uint32
	secs := func(d time.Duration) *uint32 { return u32(uint32(d / time.Second)) }
	return &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String(l.Name), DirHashAlgo: u32(uint32(l.Hash))},
		IpcpType:  u32(typeUnicast),
		Unicast: &pb.UniConfigMsg{
			Dt: &pb.DtConfigMsg{
				AddrSize: u32(uint32(l.AddrSize)),
				EidSize:  u32(uint32(l.EIDSize)),
				MaxTtl:   u32(uint32(l.MaxTTL)),
				Routing: &pb.RoutingConfigMsg{Pol: u32(0), Ls: &pb.LsConfigMsg{
					Pol: u32(uint32(l.Routing)), TRecalc: secs(l.TRecalc), TUpdate: secs(l.TUpdate), TTimeo: secs(l.TTimeo),
				}},
			},
			Dir: &pb.DirConfigMsg{Pol: u32(0), Dht: &pb.DirDhtConfigMsg{
				Alpha: u32(uint32(l.DHT.Alpha)), K: u32(uint32(l.DHT.K)),
				TExpire: secs(l.DHT.TExpire), TRefresh: secs(l.DHT.TRefresh), TReplicate: secs(l.DHT.TReplicate),
				Peer: proto.Uint64(peer),
			}},
			AddrAuthType: u32(uint32(l.AddrAuth)),
			CongAvoid:    u32(uint32(l.CA)),
		},
	}
}
