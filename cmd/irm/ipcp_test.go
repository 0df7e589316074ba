package main

import (
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

func TestBootstrapCreatesUDP4(t *testing.T) {
	leakcheck.Check(t)
	srv, f := system(t)
	code, _, stderr := irmRun(srv.Client(), strings.Fields(
		"i b t udp n u1 l udp ip 192.0.2.10 dns 192.0.2.1 port 4000 hash SHA3_384")...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// "t udp" is udp4: the first of the bootstrap type list it prefixes.
	want := []pb.IrmMsgCode{list, create, list, bootstrap}
	if got := srv.Codes(); !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	r := sent(srv, bootstrap)[0]
	wantConf := &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String("udp"), DirHashAlgo: proto.Uint32(2)},
		IpcpType:  proto.Uint32(5),
		Udp4: &pb.Udp4ConfigMsg{IpAddr: proto.Uint32(0x0A0200C0), Port: proto.Uint32(4000),
			DnsAddr: proto.Uint32(0x010200C0)},
	}
	if r.GetPid() != 100 || !proto.Equal(r.GetConf(), wantConf) {
		t.Errorf("bootstrap pid %d conf %v, want 100 %v", r.GetPid(), r.GetConf(), wantConf)
	}
	if got := f.IPCPs(); len(got) != 1 || got[0].Layer != "udp" || got[0].HashAlgo != irm.MD5 {
		t.Errorf("IPCPs after bootstrap: %+v", got)
	}
}

func TestBootstrapUDP6(t *testing.T) {
	leakcheck.Check(t)
	srv, _ := system(t, irm.IPCPInfo{PID: 9, Type: irm.UDP6, Name: "u6", Layer: irm.NotEnrolled})
	if code, _, stderr := irmRun(srv.Client(), strings.Fields("i b n u6 l udp ip 2001:db8::5")...); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	ip := netip.MustParseAddr("2001:db8::5").As16()
	u := sent(srv, bootstrap)[0].GetConf().GetUdp6()
	if !slices.Equal(u.GetIpAddr(), ip[:]) || u.GetPort() != 3435 || !slices.Equal(u.GetDnsAddr(), make([]byte, 16)) {
		t.Errorf("udp6 conf %v", u)
	}
}

func TestBootstrapUDPAddressChecks(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		typ    irm.IPCPType
		args   string
		stderr string
	}{
		{irm.UDP4, "", "Missing argument: ip <IP address>.\n" + ipcpBootstrapUsage},
		{irm.UDP4, "ip 999.1.1.1", "Invalid IP address: \"999.1.1.1\".\n"},
		{irm.UDP4, "ip 0.0.0.0", "Invalid IP address: \"0.0.0.0\".\n"},
		{irm.UDP4, "ip 2001:db8::1", "Invalid IP address: \"2001:db8::1\".\n"},
		{irm.UDP4, "ip 192.0.2.1 dns ::1", "Invalid DNS address: \"::1\".\n"},
		{irm.UDP6, "ip ::", "Invalid IP address: \"::\".\n"},
		{irm.UDP6, "ip 192.0.2.1", "Invalid IP address: \"192.0.2.1\".\n"},
		{irm.EthLLC, "", "Missing argument: dev <interface name>.\n" + ipcpBootstrapUsage},
	} {
		srv, _ := system(t, irm.IPCPInfo{PID: 9, Type: tc.typ, Name: "x", Layer: irm.NotEnrolled})
		code, _, stderr := irmRun(srv.Client(), append([]string{"i", "b", "n", "x", "l", "y"},
			strings.Fields(tc.args)...)...)
		if code != 1 || stderr != tc.stderr {
			t.Errorf("%s %q: exit %d, stderr %q, want %q", tc.typ, tc.args, code, stderr, tc.stderr)
		}
		if len(sent(srv, bootstrap)) != 0 {
			t.Errorf("%s %q: bootstrapped", tc.typ, tc.args)
		}
	}
}

func TestBootstrapUnicastOptions(t *testing.T) {
	leakcheck.Check(t)
	srv, _ := system(t, irm.IPCPInfo{PID: 4, Type: irm.Unicast, Name: "lan1", Layer: irm.NotEnrolled})
	code, _, stderr := irmRun(srv.Client(), strings.Fields("ipcp bootstrap name lan1 layer LAN "+
		"addr 2 eid 8 ttl 30 routing lfa ls_t_recalc 2 ls_t_update 10 ls_t_timeo 40 "+
		"congestion none directory DHT addr_auth flat dht_alpha 2 dht_k 20 dht_t_expire 100 "+
		"dht_t_refresh 30 dht_t_replicate 40 hash SHA3_224")...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	conf := irm.DefaultConfig(irm.Unicast, "LAN")
	conf.Hash = irm.SHA3_224
	u := &conf.Unicast
	u.AddrSize, u.MaxTTL = 2, 30
	u.LinkState = irm.LinkStateConfig{Policy: irm.LSLFA, Recalc: 2, Update: 10, Timeout: 40}
	u.Congestion = irm.CongestionNone
	u.DHT = irm.DHTConfig{Alpha: 2, K: 20, Expire: 100, Refresh: 30, Replicate: 40}
	if got := sent(srv, bootstrap)[0].GetConf(); !proto.Equal(got, conf.Message()) {
		t.Errorf("conf %v\nwant %v", got, conf.Message())
	}
}

func TestBootstrapMatching(t *testing.T) {
	leakcheck.Check(t)
	// No IPCP and no type: nothing to bootstrap.
	srv, _ := system(t)
	code, _, stderr := irmRun(srv.Client(), strings.Fields("i b n x l y")...)
	if code != 1 || stderr != "No IPCPs matching x found.\n" {
		t.Errorf("no IPCP: exit %d, stderr %q", code, stderr)
	}

	// The listed name is the pattern: "lan*" is selected by "lan9", and both
	// IPCPs called "b" are bootstrapped.
	srv, f := system(t,
		irm.IPCPInfo{PID: 1, Type: irm.Broadcast, Name: "lan*", Layer: irm.NotEnrolled},
		irm.IPCPInfo{PID: 2, Type: irm.Broadcast, Name: "b", Layer: irm.NotEnrolled},
		irm.IPCPInfo{PID: 3, Type: irm.Broadcast, Name: "b", Layer: irm.NotEnrolled})
	if code, _, _ := irmRun(srv.Client(), strings.Fields("i b n lan9 l L t broadcast")...); code != 0 {
		t.Errorf("lan9: exit %d", code)
	}
	if code, _, _ := irmRun(srv.Client(), strings.Fields("i b n b l B")...); code != 0 {
		t.Errorf("b: exit %d", code)
	}
	var pids []int32
	for _, r := range sent(srv, bootstrap) {
		pids = append(pids, r.GetPid())
	}
	if !slices.Equal(pids, []int32{1, 2, 3}) || len(f.IPCPs()) != 3 {
		t.Errorf("bootstrapped %v, IPCPs %v", pids, f.IPCPs())
	}

	// A given type must match the IPCP's.
	code, _, stderr = irmRun(srv.Client(), strings.Fields("i b n b l B t unicast")...)
	if code != 1 || stderr != "Types do not match.\n" {
		t.Errorf("type mismatch: exit %d, stderr %q", code, stderr)
	}
}

func TestBootstrapAutobind(t *testing.T) {
	leakcheck.Check(t)
	srv, f := system(t, irm.IPCPInfo{PID: 4, Type: irm.Unicast, Name: "lan1", Layer: irm.NotEnrolled})
	if code, _, _ := irmRun(srv.Client(), strings.Fields("i b n lan1 l LAN autobind")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := []pb.IrmMsgCode{list, bindProc, bindProc, bootstrap}
	if got := srv.Codes(); !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if b := sent(srv, bindProc); b[0].GetName() != "lan1" || b[1].GetName() != "LAN" || b[0].GetPid() != 4 {
		t.Errorf("bindings %v", b)
	}

	// A failed bootstrap undoes the bindings.
	srv, f = system(t, irm.IPCPInfo{PID: 4, Type: irm.Unicast, Name: "lan1", Layer: irm.NotEnrolled})
	f.Fail(bootstrap, irm.EIPCPSTATE)
	if code, _, _ := irmRun(srv.Client(), strings.Fields("i b n lan1 l LAN auto")...); code != 1 {
		t.Errorf("failed bootstrap: exit %d", code)
	}
	u := sent(srv, unbindPrc)
	if len(u) != 2 || u[0].GetName() != "LAN" || u[1].GetName() != "lan1" {
		t.Errorf("unbindings after failure: %v", u)
	}

	// Other types cannot be bound; bootstrap goes on without.
	srv, _ = system(t, irm.IPCPInfo{PID: 4, Type: irm.Local, Name: "l", Layer: irm.NotEnrolled})
	code, _, stderr := irmRun(srv.Client(), strings.Fields("i b n l l L autobind")...)
	if code != 0 || stderr != "Can not bind this IPCP type,autobind disabled.\n" ||
		len(sent(srv, bindProc)) != 0 || len(sent(srv, bootstrap)) != 1 {
		t.Errorf("local autobind: exit %d, stderr %q, requests %v", code, stderr, srv.Codes())
	}
}

func TestEnroll(t *testing.T) {
	leakcheck.Check(t)
	srv, f := system(t, lan1)
	code, _, stderr := irmRun(srv.Client(), strings.Fields("i e n lan2 l LAN autobind")...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := []pb.IrmMsgCode{list, create, list, enroll, list, bindProc, bindProc}
	if got := srv.Codes(); !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	c := sent(srv, create)[0].GetIpcpInfo()
	e := sent(srv, enroll)[0]
	if c.GetType() != uint32(irm.Unicast) || c.GetName() != "lan2" || e.GetDst() != "LAN" || e.GetPid() != 100 {
		t.Errorf("create %v enroll %v", c, e)
	}
	if b := sent(srv, bindProc); b[0].GetName() != "lan2" || b[1].GetName() != "LAN" {
		t.Errorf("bindings %v", b)
	}
	if got := f.IPCPs(); len(got) != 2 || got[1].Layer != "LAN" {
		t.Errorf("IPCPs %+v", got)
	}

	// Enrolling via a member that is in another layer than asked for.
	srv, _ = system(t, lan1, irm.IPCPInfo{PID: 12, Type: irm.Broadcast, Name: "bc", Layer: irm.NotEnrolled})
	code, _, stderr = irmRun(srv.Client(), strings.Fields("i e n bc t broadcast dst lan1 layer WAN")...)
	if code != 1 || stderr != "Enrollment destination does not match requested layer.\n" {
		t.Errorf("mismatch: exit %d, stderr %q", code, stderr)
	}
	if e := sent(srv, enroll); len(e) != 1 || e[0].GetPid() != 12 || e[0].GetDst() != "lan1" {
		t.Errorf("enroll requests %v", e)
	}

	srv, f = system(t, lan1)
	f.Fail(enroll, irm.EIPCP)
	code, _, stderr = irmRun(srv.Client(), strings.Fields("i e n lan1 d lan9")...)
	if code != 1 || !strings.HasPrefix(stderr, "Failed to enroll IPCP.\nirm: ") ||
		!strings.Contains(stderr, irm.EIPCP.Error()) {
		t.Errorf("failed enroll: exit %d, stderr %q", code, stderr)
	}
}

func TestConnect(t *testing.T) {
	leakcheck.Check(t)
	bc := irm.IPCPInfo{PID: 12, Type: irm.Broadcast, Name: "bc", Layer: "B"}
	type call struct {
		comp string
		q    qos.Spec
	}
	for _, tc := range []struct {
		args   string
		code   int
		stderr string
		calls  []call
	}{
		{"i conn n lan1 d lan2", 0, "", []call{{"Management", qos.Raw}, {"Data Transfer", qos.Raw}}},
		{"i conn n lan1 d lan2 q voice", 0, "", []call{{"Management", qos.Raw}, {"Data Transfer", qos.Voice}}},
		{"i conn n lan1 d lan2 c dt q data", 0, "", []call{{"Data Transfer", qos.Data}}},
		{"i conn n lan1 d lan2 c mgmt", 0, "", []call{{"Management", qos.Raw}}},
		{"i conn n lan1 d lan2 c *t", 0, "", []call{{"Management", qos.Raw}, {"Data Transfer", qos.Raw}}},
		{"i conn n lan1 d lan2 c none", 0, "", nil},
		{"i conn n lan1 d lan2 c dt q bogus", 0, "Unknown QoS cube, defaulting to raw.\n",
			[]call{{"Data Transfer", qos.Raw}}},
		{"i conn n bc d bc2", 0, "", []call{{"Data Transfer", qos.Raw}}},
		{"i conn n bc d bc2 c mgmt", 0, "", []call{{"Management", qos.Raw}}},
		{"i conn n nosuch d lan2", 1, "", nil},
	} {
		srv, _ := system(t, lan1, bc)
		code, _, stderr := irmRun(srv.Client(), strings.Fields(tc.args)...)
		var calls []call
		for _, r := range sent(srv, connect) {
			if r.GetDst() != strings.Fields(tc.args)[5] {
				t.Errorf("%s: dst %q", tc.args, r.GetDst())
			}
			calls = append(calls, call{r.GetComp(), ctrl.QoSFromPB(r.GetQosspec())})
		}
		if code != tc.code || stderr != tc.stderr || !slices.Equal(calls, tc.calls) {
			t.Errorf("irm %s: exit %d, stderr %q, calls %v; want %d, %q, %v",
				tc.args, code, stderr, calls, tc.code, tc.stderr, tc.calls)
		}
	}

	// A failed management connection stops before data transfer.
	srv, f := system(t, lan1)
	f.Fail(connect, irm.EPERM)
	if code, _, _ := irmRun(srv.Client(), strings.Fields("i conn n lan1 d lan2")...); code != 1 ||
		len(sent(srv, connect)) != 1 {
		t.Errorf("failed connect: exit %d, requests %v", code, srv.Codes())
	}
}

func TestDisconnect(t *testing.T) {
	leakcheck.Check(t)
	srv, _ := system(t, lan1)
	if code, _, _ := irmRun(srv.Client(), strings.Fields("i disc n lan1 d lan2")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var comps []string
	for _, r := range sent(srv, disc) {
		comps = append(comps, r.GetComp())
		if r.GetPid() != 11 || r.GetDst() != "lan2" {
			t.Errorf("disconnect %v", r)
		}
	}
	if !slices.Equal(comps, []string{"Data Transfer", "Management"}) {
		t.Errorf("disconnected %v, want dt then mgmt", comps)
	}
}

// TestBootstrapReason: the error numbers an IPCP answers a bootstrap with
// are said in words.
func TestBootstrapReason(t *testing.T) {
	eth := irm.Config{Type: irm.EthDIX}
	eth.Eth.Dev = "eth9"
	for _, tc := range []struct {
		err  error
		conf irm.Config
		want string
	}{
		{irm.Errno(syscall.ENODEV), eth, `no network device "eth9"`},
		{irm.Errno(syscall.EADDRINUSE), irm.Config{Type: irm.UDP4}, "the address or port is in use"},
		{irm.Errno(syscall.EPERM), eth, "the IPCP refused (a raw Ethernet layer needs root or CAP_NET_RAW); its reason is in the log of the irmd"},
		{irm.Errno(syscall.EPERM), irm.Config{Type: irm.UDP4}, "the IPCP refused; its reason is in the log of the irmd"},
		{irm.Errno(syscall.EINVAL), irm.Config{Type: irm.UDP4}, "invalid argument (the IPCP's reason is in the log of the irmd)"},
	} {
		if got := bootstrapReason(tc.err, tc.conf); got != tc.want {
			t.Errorf("bootstrapReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
