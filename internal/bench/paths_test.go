package bench

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestDefaultPaths checks the table of paths: unique identifiers and labels,
// known QoS names, kernel baselines for raw flows and the raw flow of the
// same path for the others, and the rows of every path.
func TestDefaultPaths(t *testing.T) {
	paths := DefaultPaths()
	byID := map[string]Path{}
	labels := map[string]bool{}
	for _, p := range paths {
		if _, dup := byID[p.ID]; dup || labels[p.Label] || p.ID == "" || p.Label == "" || p.Open == nil {
			t.Errorf("path %+v: empty or duplicate", p)
		}
		byID[p.ID] = p
		labels[p.Label] = true
	}
	for _, p := range paths {
		if p.Kernel {
			if p.Baseline != "" || p.QoS != "" {
				t.Errorf("kernel path %s has a baseline or a QoS", p.ID)
			}
			continue
		}
		spec, err := qos.ByName(p.QoS)
		if err != nil {
			t.Errorf("%s: %v", p.ID, err)
			continue
		}
		b, ok := byID[p.Baseline]
		switch {
		case !ok:
			t.Errorf("%s: unknown baseline %q", p.ID, p.Baseline)
		case p.QoS == "raw" && !b.Kernel:
			t.Errorf("%s: a raw flow's baseline %s is not a kernel path", p.ID, b.ID)
		case p.QoS != "raw" && (b.Kernel || b.QoS != "raw" ||
			reflect.ValueOf(b.Open).Pointer() != reflect.ValueOf(p.Open).Pointer()):
			t.Errorf("%s: baseline %s is not the raw flow of the same path", p.ID, b.ID)
		case p.QoS == "data" && !spec.Reliable():
			t.Errorf("%s: QoS data is not reliable", p.ID)
		}
	}
	for id, baseline := range map[string]string{
		DirectID: UnixID, LocalIPCPID: UnixID, UDP4LayerID: UDPID,
		DirectID + "-reliable": DirectID, LocalIPCPID + "-reliable": LocalIPCPID,
		UDP4LayerID + "-reliable": UDP4LayerID, EthDIXID: UDPID, EthDIXID + "-reliable": EthDIXID,
	} {
		if p, ok := byID[id]; !ok || p.Baseline != baseline {
			t.Errorf("path %s: %+v, want one with baseline %s", id, p, baseline)
		}
	}
}

func TestWriteHosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	err := writeHosts(path, map[string]netip.Addr{
		serverName: udpAddrB, "other": netip.MustParseAddr("127.0.0.1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	want := "127.0.0.1 " + sum("other") + " # other\n" + "127.0.0.2 " + sum(serverName) + " # " + serverName + "\n"
	if string(b) != want {
		t.Errorf("hosts file:\n%s\nwant:\n%s", b, want)
	}
}

func TestFreeUDPPort(t *testing.T) {
	port, err := freeUDPPort(udpAddrA, udpAddrB)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{udpAddrA, udpAddrB} {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, port)))
		if err != nil {
			t.Fatalf("port %d on %v: %v", port, a, err)
		}
		c.Close()
	}
}

// TestEthPaths checks that the eth-dix layer rows are skipped, with the
// reason, exactly when the machine cannot run them, and that only they may
// be skipped.
func TestEthPaths(t *testing.T) {
	why := ethSkip()
	if (os.Geteuid() != 0) != (why == "needs root for a veth pair and raw sockets") {
		t.Errorf("euid %d: ethSkip() = %q", os.Geteuid(), why)
	}
	n := 0
	for _, p := range DefaultPaths() {
		if strings.HasPrefix(p.ID, EthDIXID) {
			n++
			if p.Skip == nil || p.Skip() != why {
				t.Errorf("%s: Skip is not ethSkip", p.ID)
			}
		} else if p.Skip != nil {
			t.Errorf("%s can be skipped", p.ID)
		}
	}
	if n != 2 {
		t.Errorf("%d eth-dix layer paths, want 2 (raw and reliable)", n)
	}
}

// TestEthMTU checks that every packet of the plan, with an FRCT header and a
// CRC, fits in an eth-dix frame on standard Ethernet (the IPCP drops larger
// SDUs), and that a plan with larger packets gets a veth MTU that carries
// them.
func TestEthMTU(t *testing.T) {
	for _, m := range Plan() {
		if sdu := m.Size + wire.FRCTLen + crcLen; sdu > ethMTUStd-wire.EthDIXOverhead {
			t.Errorf("%v: an SDU of %d bytes does not fit in %d", m, sdu, ethMTUStd-wire.EthDIXOverhead)
		}
	}
	if got := ethMTU(Plan()); got != ethMTUStd {
		t.Errorf("ethMTU(Plan()) = %d, want %d", got, ethMTUStd)
	}
	if got := ethMTU([]Measure{{PingPong, 64}, {PingPong, 1490}}); got != 1490+12+4+4 {
		t.Errorf("ethMTU for 1490 bytes = %d, want %d", got, 1490+12+4+4)
	}
}

func TestMissingCaps(t *testing.T) {
	want := map[int]string{capNetAdmin: "CAP_NET_ADMIN", capNetRaw: "CAP_NET_RAW", capSysAdmin: "CAP_SYS_ADMIN"}
	for _, c := range []struct {
		status string
		want   []string
	}{
		{"Name:\tobench\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n", nil},
		{"CapEff:\t0000000000000000\n", []string{"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN"}},
		// Docker's default set: no NET_ADMIN, no SYS_ADMIN.
		{"CapEff:\ta80425fb\n", []string{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"}},
		{"CapEff:\t0000000000203000\n", nil},
		{"no such line\n", nil},
		{"CapEff:\tzz\n", nil},
	} {
		if got := missingCaps([]byte(c.status), want); !reflect.DeepEqual(got, c.want) {
			t.Errorf("missingCaps(%q) = %v, want %v", c.status, got, c.want)
		}
	}
}

// TestStaleNetName checks the names that sweepStaleNets may delete: the
// harness's own, and never those of the e2e rig (o7s + 5 hex digits).
func TestStaleNetName(t *testing.T) {
	for name, pid := range map[string]string{
		"o7sb48113n1": "48113", "o7sb48113a12": "48113", "o7sb7b1": "7",
		"o7sb4bc6-1": "", "o7sb4bc6-sw": "", "o7sbab12h1": "", "o7sb12345p2": "", "o7sb48113n": "",
		"xo7sb1n1": "", "o7sb1n1@if5": "",
	} {
		m := staleNetName.FindStringSubmatch(name)
		if (m == nil) != (pid == "") || (m != nil && m[1] != pid) {
			t.Errorf("%s: match %q, want pid %q", name, m, pid)
		}
	}
	// Every name the harness makes matches, with this process's pid, and
	// fits in an interface name.
	for _, role := range []byte{'a', 'b', 'n'} {
		name := fmt.Sprintf("%s%d%c%d", ethNetPrefix, 4194303, role, 999)
		if m := staleNetName.FindStringSubmatch(name); m == nil || m[1] != "4194303" || len(name) > ifNameMax {
			t.Errorf("%s: match %q (%d bytes)", name, m, len(name))
		}
	}
}
