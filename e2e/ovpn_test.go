package e2e

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// The roles of this file run inside a host's namespace (roleIn): a ping
// (ICMP echo on a raw socket, as root) and both ends of a TCP transfer, so
// the test needs neither ping nor nc on the machine.
func init() {
	moreRoles["icmp-ping"] = icmpPing
	moreRoles["tcp-sink"] = tcpSink
	moreRoles["tcp-source"] = tcpSource
	moreRoles["icmp-send"] = icmpSend
}

// icmpSend sends one ICMP echo request with O7S_E2E_BYTES bytes of data to
// the address name and exits.
func icmpSend(name string) int {
	size, _ := strconv.Atoi(os.Getenv("O7S_E2E_BYTES"))
	c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	defer c.Close()
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: os.Getpid() & 0xffff, Data: make([]byte, size)}}
	b, _ := msg.Marshal(nil)
	if _, err := c.WriteTo(b, &net.IPAddr{IP: net.ParseIP(name)}); err != nil {
		fmt.Println("send:", err)
		return 1
	}
	fmt.Println("sent")
	return 0
}

// icmpPing sends ICMP echo requests to the address name, one every 200 ms,
// until 5 replies came back (prints "ping ok 5") or 30 s passed (exit 1).
func icmpPing(name string) int {
	c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	defer c.Close()
	dst := &net.IPAddr{IP: net.ParseIP(name)}
	id := os.Getpid() & 0xffff
	replies := 0
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 1500)
	for seq := 0; replies < 5 && time.Now().Before(deadline); seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("ovpn test")}}
		b, _ := msg.Marshal(nil)
		if _, err := c.WriteTo(b, dst); err != nil {
			fmt.Println("send:", err)
			return 1
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				break // next request
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply || from.String() != name {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq == seq {
				replies++
				break
			}
		}
	}
	fmt.Printf("ping ok %d\n", replies)
	if replies < 5 {
		return 1
	}
	return 0
}

// tcpSink accepts one TCP connection on the address name, hashes what it
// receives until EOF and prints the count and the SHA-256.
func tcpSink(name string) int {
	l, err := net.Listen("tcp4", name)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	defer l.Close()
	fmt.Println("ready")
	c, err := l.Accept()
	if err != nil {
		fmt.Println("accept:", err)
		return 1
	}
	defer c.Close()
	h := sha256.New()
	n, err := io.Copy(h, c)
	fmt.Printf("received %d bytes sha256 %x err %v\n", n, h.Sum(nil), err)
	return 0
}

// tcpSource connects to the address name, sends O7S_E2E_BYTES pseudo-random
// bytes and prints their count and SHA-256.
func tcpSource(name string) int {
	size, _ := strconv.Atoi(os.Getenv("O7S_E2E_BYTES"))
	c, err := net.DialTimeout("tcp4", name, 30*time.Second)
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	h := sha256.New()
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 64<<10)
	for sent := 0; sent < size; sent += len(buf) {
		b := buf[:min(len(buf), size-sent)]
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		h.Write(b)
		if _, err := c.Write(b); err != nil {
			fmt.Println("write:", err)
			return 1
		}
	}
	if err := c.Close(); err != nil {
		fmt.Println("close:", err)
		return 1
	}
	fmt.Printf("sent %d bytes sha256 %x\n", size, h.Sum(nil))
	return 0
}

var tunLine = regexp.MustCompile(`Tunnel device name is (\S+)\.`)

// tunDevice returns the device an ovpn said it created.
func tunDevice(t *testing.T, p *rig.Proc) string {
	t.Helper()
	m := tunLine.FindStringSubmatch(p.Out.String())
	if m == nil {
		t.Fatalf("ovpn named no device:\n%s", p.Out.String())
	}
	return m[1]
}

// linkExists reports whether host i of n has the interface dev.
func linkExists(n *rig.Net, i int, dev string) bool {
	return n.Exec(i, "ip", "link", "show", "dev", dev).Run() == nil
}

// TestOvpnNamespaces: ovpn between two network namespaces over a udp4
// layer. Each side's TUN device gets its address, netmask and MTU; ping and
// an 8 MB TCP transfer (checked by SHA-256) cross the tunnel; when the
// client is killed its device disappears, and the server notices the dead
// peer (the client asked for a 5 s peer timeout), says so, removes its
// device and exits 1.
func TestOvpnNamespaces(t *testing.T) {
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	net, in := nsHosts(t, 2, false, map[string]int{"ovpn.2": 2})
	for i, h := range in {
		h.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp4", "layer", "udp4-layer", "ip", net.IP4(i+1))
	}
	in[1].Irm("name", "register", "ovpn.2", "layer", "udp4-layer")
	srv := in[1].Start("ovpn", "-i", "10.99.0.2", "-m", "255.255.255.0")
	srv.WaitOutput(t, "Waiting for a new flow...", 20*time.Second)
	in[1].Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "ovpn.2")
	cli := in[0].Start("ovpn", "-i", "10.99.0.1", "-m", "255.255.255.0", "-n", "ovpn.2", "-t", "5")
	cli.WaitOutput(t, "Starting read/write threads.", 30*time.Second)
	srv.WaitOutput(t, "Starting read/write threads.", 30*time.Second)
	devA, devB := tunDevice(t, cli), tunDevice(t, srv)
	if !strings.Contains(cli.Out.String(), "Allocating a flow to ovpn.2.\nFlow allocated.\n") {
		t.Errorf("client output:\n%s", cli.Out.String())
	}
	for i, c := range []struct{ dev, addr string }{{devA, "10.99.0.1/24"}, {devB, "10.99.0.2/24"}} {
		out, err := net.Exec(i+1, "ip", "-o", "addr", "show", "dev", c.dev).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "inet "+c.addr) {
			t.Errorf("host %d: %s: %v\n%s", i+1, c.dev, err, out)
		}
		out, err = net.Exec(i+1, "ip", "-o", "link", "show", "dev", c.dev).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "mtu 1400") || !strings.Contains(string(out), ",UP") {
			t.Errorf("host %d: %s is not up with MTU 1400: %v\n%s", i+1, c.dev, err, out)
		}
	}

	ping := roleIn(t, in[0], "icmp-ping", "10.99.0.2")
	if !ping.Wait(60*time.Second) || ping.Cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("ping through the tunnel:\n%s\nclient:\n%s\nserver:\n%s", ping.Out.String(), cli.Out.String(), srv.Out.String())
	}
	t.Logf("ping 10.99.0.1 -> 10.99.0.2: %s", strings.TrimSpace(ping.Out.String()))

	// A packet longer than the tunnel's MTU (someone raised the device's
	// MTU behind ovpn's back) is dropped and logged, never sent.
	if out, err := net.Exec(1, "ip", "link", "set", "dev", devA, "mtu", "2000").CombinedOutput(); err != nil {
		t.Fatalf("raise the MTU of %s: %v\n%s", devA, err, out)
	}
	big := roleIn(t, in[0], "icmp-send", "10.99.0.2", "O7S_E2E_BYTES=1600")
	if !big.Wait(30*time.Second) || big.Cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("icmp-send: %s", big.Out.String())
	}
	cli.WaitOutput(t, fmt.Sprintf("ovpn: dropped a packet of 1628 bytes from %s: longer than the MTU of 1400 bytes (1 so far)", devA), 20*time.Second)
	if out, err := net.Exec(1, "ip", "link", "set", "dev", devA, "mtu", "1400").CombinedOutput(); err != nil {
		t.Fatalf("restore the MTU of %s: %v\n%s", devA, err, out)
	}

	const size = 8 << 20
	sink := roleIn(t, in[1], "tcp-sink", "10.99.0.2:5001")
	sink.WaitOutput(t, "ready", 20*time.Second)
	start := time.Now()
	src := roleIn(t, in[0], "tcp-source", "10.99.0.2:5001", "O7S_E2E_BYTES="+strconv.Itoa(size))
	if !src.Wait(3*time.Minute) || !sink.Wait(time.Minute) {
		t.Fatalf("TCP transfer did not finish:\nsource: %s\nsink: %s", src.Out.String(), sink.Out.String())
	}
	sent := strings.TrimSpace(src.Out.String())
	if !strings.HasPrefix(sent, "sent ") || !strings.Contains(sink.Out.String(), "received "+strings.TrimPrefix(sent, "sent ")+" err <nil>") {
		t.Fatalf("TCP transfer:\nsource: %s\nsink: %s", src.Out.String(), sink.Out.String())
	}
	t.Logf("TCP 10.99.0.1 -> 10.99.0.2: %d MB in %v, SHA-256 matches", size>>20, time.Since(start).Round(time.Millisecond))

	// The client dies: its device goes with its file descriptor.
	cli.Kill()
	killed := time.Now()
	if linkExists(net, 1, devA) {
		t.Errorf("host 1: %s outlived the ovpn that made it", devA)
	}
	// The server notices through the flow's keepalive.
	if !srv.Wait(2 * time.Minute) {
		t.Fatalf("server still running after its peer died:\n%s", srv.Out.String())
	}
	out := srv.Out.String()
	if code := srv.Cmd.ProcessState.ExitCode(); code != 1 ||
		!strings.Contains(out, "Flow ended: the peer left or died.\nShutting down...\n") {
		t.Errorf("server after its peer died: exit %d\n%s", code, out)
	}
	if linkExists(net, 2, devB) {
		t.Errorf("host 2: %s outlived its ovpn", devB)
	}
	t.Logf("server went down %v after the client died: %s", time.Since(killed).Round(100*time.Millisecond), lastLine(out))
}
