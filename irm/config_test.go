package irm_test

import (
	"net/netip"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/irm"
)

func layer(name string, h uint32) *pb.LayerInfoMsg {
	return &pb.LayerInfoMsg{Name: proto.String(name), DirHashAlgo: proto.Uint32(h)}
}

// TestConfigMessage checks the reference's defaults and which sub-message
// each type carries.
func TestConfigMessage(t *testing.T) {
	leakcheck.Check(t)
	u6 := irm.DefaultConfig(irm.UDP6, "u6")
	u6.UDP6.IP = netip.MustParseAddr("2001:db8::1")
	eth := irm.DefaultConfig(irm.EthLLC, "llc")
	eth.Eth.Dev = "lo"
	eth.Hash = irm.SHA3_512
	uni := irm.DefaultConfig(irm.Unicast, "LAN")
	lfa := uni
	lfa.Unicast.LinkState.Policy = irm.LSLFA
	lfa.Unicast.Congestion = irm.CongestionNone
	lfa.Unicast.AddrSize = 2

	ipv6 := netip.MustParseAddr("2001:db8::1").As16()
	uniMsg := func(addr, ls, cong uint32) *pb.UniConfigMsg {
		return &pb.UniConfigMsg{
			Dt: &pb.DtConfigMsg{
				AddrSize: proto.Uint32(addr), EidSize: proto.Uint32(8), MaxTtl: proto.Uint32(60),
				Routing: &pb.RoutingConfigMsg{Pol: proto.Uint32(0), Ls: &pb.LsConfigMsg{
					Pol: proto.Uint32(ls), TRecalc: proto.Uint32(4), TUpdate: proto.Uint32(15),
					TTimeo: proto.Uint32(60)}},
			},
			Dir: &pb.DirConfigMsg{Pol: proto.Uint32(0), Dht: &pb.DirDhtConfigMsg{
				Alpha: proto.Uint32(3), K: proto.Uint32(8), TExpire: proto.Uint32(86400),
				TRefresh: proto.Uint32(900), TReplicate: proto.Uint32(900), Peer: proto.Uint64(0)}},
			AddrAuthType: proto.Uint32(0),
			CongAvoid:    proto.Uint32(cong),
		}
	}
	cases := []struct {
		name string
		conf irm.Config
		want *pb.IpcpConfigMsg
	}{
		{"local", irm.DefaultConfig(irm.Local, "l"),
			&pb.IpcpConfigMsg{LayerInfo: layer("l", 1), IpcpType: proto.Uint32(0)}},
		{"broadcast", irm.DefaultConfig(irm.Broadcast, "b"),
			&pb.IpcpConfigMsg{LayerInfo: layer("b", 1), IpcpType: proto.Uint32(2)}},
		{"unicast defaults", uni,
			&pb.IpcpConfigMsg{LayerInfo: layer("LAN", 1), IpcpType: proto.Uint32(1),
				Unicast: uniMsg(4, 0, 1)}},
		{"unicast lfa", lfa,
			&pb.IpcpConfigMsg{LayerInfo: layer("LAN", 1), IpcpType: proto.Uint32(1),
				Unicast: uniMsg(2, 1, 0)}},
		{"eth-llc", eth,
			&pb.IpcpConfigMsg{LayerInfo: layer("llc", 3), IpcpType: proto.Uint32(3),
				Eth: &pb.EthConfigMsg{Dev: proto.String("lo"), Ethertype: proto.Uint32(0xA000)}}},
		{"udp4 unset", irm.DefaultConfig(irm.UDP4, "u"),
			&pb.IpcpConfigMsg{LayerInfo: layer("u", 1), IpcpType: proto.Uint32(5),
				Udp4: &pb.Udp4ConfigMsg{IpAddr: proto.Uint32(0), Port: proto.Uint32(3435),
					DnsAddr: proto.Uint32(0)}}},
		{"udp6", u6,
			&pb.IpcpConfigMsg{LayerInfo: layer("u6", 1), IpcpType: proto.Uint32(6),
				Udp6: &pb.Udp6ConfigMsg{IpAddr: ipv6[:], Port: proto.Uint32(3435),
					DnsAddr: make([]byte, 16)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.conf.Validate(); err != nil {
				t.Fatal(err)
			}
			got := tc.conf.Message()
			if !proto.Equal(got, tc.want) {
				t.Errorf("Message():\n%s\nwant:\n%s", prototext.Format(got), prototext.Format(tc.want))
			}
			// Marshal refuses a message missing a required field.
			if _, err := proto.Marshal(got); err != nil {
				t.Errorf("Marshal: %v", err)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	leakcheck.Check(t)
	// Values are on the wire; strings are the CLI's.
	for _, tc := range []struct {
		t    irm.IPCPType
		v    uint32
		name string
	}{
		{irm.Local, 0, "local"}, {irm.Unicast, 1, "unicast"}, {irm.Broadcast, 2, "broadcast"},
		{irm.EthLLC, 3, "eth-llc"}, {irm.EthDIX, 4, "eth-dix"}, {irm.UDP4, 5, "udp4"},
		{irm.UDP6, 6, "udp6"},
	} {
		if uint32(tc.t) != tc.v || tc.t.String() != tc.name {
			t.Errorf("%s = %d, want %s = %d", tc.t, uint32(tc.t), tc.name, tc.v)
		}
		if got, err := irm.ParseIPCPType(tc.name); got != tc.t || err != nil {
			t.Errorf("ParseIPCPType(%q) = %v, %v", tc.name, got, err)
		}
	}
	if s := irm.IPCPType(7).String(); s != "UNKNOWN" {
		t.Errorf("IPCPType(7) = %q", s)
	}
	for _, bad := range []string{"", "uni", "UDP4", "eth"} {
		if _, err := irm.ParseIPCPType(bad); err == nil {
			t.Errorf("ParseIPCPType(%q) succeeded", bad)
		}
	}
	if irm.RoundRobin.String() != "round-robin" || irm.Spill.String() != "spillover" ||
		irm.LBPolicy(2).String() != "UNKNOWN" || uint32(irm.Spill) != 1 {
		t.Error("LBPolicy strings or values wrong")
	}
	if p, err := irm.ParseLBPolicy("spillover"); p != irm.Spill || err != nil {
		t.Errorf("ParseLBPolicy(spillover) = %v, %v", p, err)
	}
	if _, err := irm.ParseLBPolicy("spill"); err == nil {
		t.Error("ParseLBPolicy(spill) succeeded")
	}
}
