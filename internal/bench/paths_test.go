package bench

import (
	"crypto/md5"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

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
		UDP4LayerID + "-reliable": UDP4LayerID,
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
