package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Two hosts over udp4 on one machine: host A is 127.0.0.1 and this test
// process is one of its applications; host B is 127.0.0.2. Each has its own
// irmd and run directory; a private hosts file (OUROBOROS_HOSTS) maps the
// names used in a test to the host that has them.

type udpHosts struct {
	a    *env
	b    *rig.Instance
	port int
	ipA  string
	ipB  string
}

// writeHosts writes a hosts file mapping each name to an address.
func writeHosts(t *testing.T, entries map[string]string) string {
	t.Helper()
	var sb strings.Builder
	for name, ip := range entries {
		h, err := hash.Sum(hash.MD5, name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s %s # %s\n", ip, udp.DNSName(h), name)
	}
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeUDPPort finds a port free on all the given addresses.
func freeUDPPort(t *testing.T, ips ...string) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(40000)
		var conns []*net.UDPConn
		ok := true
		for _, ip := range ips {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
			if err != nil {
				ok = false
				break
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

// newUDPHosts starts hosts A and B with a udp4 layer between them; names
// maps application names to "a" or "b".
func newUDPHosts(t *testing.T, names map[string]string) *udpHosts {
	t.Helper()
	u := &udpHosts{ipA: "127.0.0.1", ipB: "127.0.0.2"}
	entries := map[string]string{}
	for n, h := range names {
		entries[n] = map[string]string{"a": u.ipA, "b": u.ipB}[h]
	}
	opt := rig.Options{NoDirect: true, Env: []string{udp.HostsEnv + "=" + writeHosts(t, entries)}}
	u.a = setup(t, opt)
	u.b = rig.Start(t, opt)
	u.port = freeUDPPort(t, u.ipA, u.ipB)
	p := strconv.Itoa(u.port)
	u.a.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp-a", "layer", "udp-layer", "ip", u.ipA, "port", p)
	u.b.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp-b", "layer", "udp-layer", "ip", u.ipB, "port", p)
	for n, h := range names {
		in := u.a.Instance
		if h == "b" {
			in = u.b
		}
		in.Irm("name", "register", n, "layer", "udp-layer")
	}
	return u
}

// TestUDPOping: oping from A to a server on B and from B to a server on A.
func TestUDPOping(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"oping.b": "b", "oping.a": "a"})
	for _, c := range []struct {
		srv, cli *rig.Instance
		name     string
	}{{u.b, u.a.Instance, "oping.b"}, {u.a.Instance, u.b, "oping.a"}} {
		srv := c.srv.Start("oping", "-l")
		srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
		c.srv.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", c.name)
		out, errOut, code := c.cli.Run("oping", "-n", c.name, "-c", "5", "-i", "20ms")
		if code != 0 || !strings.Contains(out, "5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss") {
			t.Fatalf("oping %s: exit %d\n%s%s\nA:\n%s\nB:\n%s", c.name, code, out, errOut, u.a.Tail(), u.b.Tail())
		}
		// FRCT over UDP: a reliable flow.
		out, errOut, code = c.cli.Run("oping", "-n", c.name, "-c", "200", "-i", "0", "-q", "data", "-Q")
		if code != 0 || !strings.Contains(out, "200 packets transmitted, 200 received") {
			t.Fatalf("oping -q data %s: exit %d\n%s%s", c.name, code, out, errOut)
		}
	}
	if !strings.Contains(u.b.Log(), "Bound to 127.0.0.2 port") {
		t.Errorf("B's IPCP log:\n%s", u.b.Tail())
	}
}

// TestUDPManyFlows: 100 concurrent flows from A to an echo server on B,
// then 1,000 allocations and deallocations in a row, then one more flow.
func TestUDPManyFlows(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"echo.b": "b"})
	srv := roleIn(t, u.b, "echo-server", "echo.b")
	srv.WaitOutput(t, "ready", 10*time.Second)
	// A short peer timeout: flows this side drops without telling (UDP
	// deallocation is local) end on B within seconds. Three processes on
	// each side carry a packet; on a busy CI machine one of them may not run
	// for a second or two, so the timeout leaves room for that.
	q := qos.Raw
	q.Timeout = 5000
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := flow.Alloc(u.a.ctx(), "echo.b", q)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			f.SetReadTimeout(10 * time.Second)
			msg := []byte("flow " + strconv.Itoa(i))
			buf := make([]byte, 64)
			for range 10 {
				if _, err := f.Write(msg); err != nil {
					errs <- err
					return
				}
				n, err := f.Read(buf)
				if err != nil || string(buf[:n]) != string(msg) {
					errs <- fmt.Errorf("flow %d echo %q: %v", i, buf[:n], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent flows: %v\nA:\n%s\nB:\n%s", err, u.a.Tail(), u.b.Tail())
	}
	n := 1000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		f, err := flow.Alloc(u.a.ctx(), "echo.b", q)
		if err != nil {
			t.Fatalf("allocation %d: %v\n%s", i, err, u.a.Tail())
		}
		if err := f.Close(); err != nil {
			t.Fatalf("deallocation %d: %v", i, err)
		}
	}
	f := u.a.alloc("echo.b", q)
	roundTrip(t, f, []byte("still there"))
}

// TestUDPFlood: a flood of garbage, bogus flow requests and data for
// unknown endpoints at B's IPCP, and a flood on a flow whose reader does not
// read; B keeps allocating flows afterwards.
func TestUDPFlood(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"echo.b": "b", "sink.b": "b"})
	srv := roleIn(t, u.b, "echo-server", "echo.b")
	srv.WaitOutput(t, "ready", 10*time.Second)

	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.ParseIP(u.ipB), Port: u.port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, _ := hash.Sum(hash.MD5, "nobody")
	req := wire.UDPMgmt{Code: wire.UDPFlowReq, SEID: 99, Hash: [16]byte(h)}.Append(nil)
	rng := rand.New(rand.NewPCG(5, 6))
	junk := make([]byte, 1200)
	for i := range 20000 {
		switch i % 4 {
		case 0:
			c.Write(req) // a flow request for a name nobody has
		case 1:
			c.Write([]byte{0, 0, 0}) // runt
		case 2:
			for j := range junk {
				junk[j] = byte(rng.Uint32())
			}
			c.Write(junk) // data for a random endpoint
		case 3:
			c.Write(append([]byte{0, 0, 0, 0}, junk[:20]...)) // malformed management
		}
	}
	// A raw flow flooded while the far end reads slowly: the IPCP drops.
	// (Allocation requests travel in single datagrams, and one that meets
	// a receive buffer still full of flood is lost, as in the reference:
	// the application tries again.)
	sink := allocRetry(t, "echo.b")
	defer sink.Close()
	sink.SetFlags(flow.FlagRdWr | flow.FlagWNoBlock)
	for range 50000 {
		sink.Write(junk[:1000])
	}
	// And B still allocates.
	f := allocRetry(t, "echo.b")
	defer f.Close()
	roundTrip(t, f, []byte("after the flood"))
	if !strings.Contains(u.b.Log(), "Dropped") {
		t.Errorf("B logged no drops:\n%s", u.b.Tail())
	}
}

// TestUDPPeerKilled: B's IPCP is killed mid-flow. On B the server's flow
// goes down and B's irmd notices; on A the client's flow goes down through
// its peer timeout, and A's irmd releases it when the client closes.
func TestUDPPeerKilled(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"echo.b": "b"})
	srv := roleIn(t, u.b, "echo-server", "echo.b")
	srv.WaitOutput(t, "ready", 10*time.Second)
	q := qos.Raw
	q.Timeout = 1000
	f := u.a.alloc("echo.b", q)
	roundTrip(t, f, []byte("before"))
	pid := ipcpPIDOf(t, u.b, "udp-b")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	u.b.WaitLog(fmt.Sprintf("IPCP %d died.", pid), 5*time.Second)

	f.SetReadTimeout(10 * time.Second)
	_, err := f.Read(make([]byte, 64))
	if !errors.Is(err, flow.EFLOWPEER) && !errors.Is(err, flow.EFLOWDOWN) {
		t.Fatalf("read on A after B's IPCP died: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if out := u.b.Irm("ipcp", "list"); strings.Contains(out, "udp-b") {
		t.Fatalf("B still lists its dead IPCP:\n%s", out)
	}
}

// ipcpPIDOf returns the pid of the IPCP called name in instance in.
func ipcpPIDOf(t *testing.T, in *rig.Instance, name string) int {
	t.Helper()
	c := irm.Client{Dir: in.Dir}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := c.ListIPCPs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range l {
		if i.Name == name {
			return i.PID
		}
	}
	t.Fatalf("no IPCP %s", name)
	return 0
}

// allocRetry allocates a raw flow to name, trying again (up to five times,
// 3 s each) when a request is lost.
func allocRetry(t *testing.T, name string) *flow.Flow {
	t.Helper()
	var err error
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		var f *flow.Flow
		f, err = flow.Alloc(ctx, name, qos.Raw)
		cancel()
		if err == nil {
			return f
		}
	}
	t.Fatalf("allocation to %s: %v", name, err)
	return nil
}

// TestUDPHTTP: net/http over a reliable stream across the udp4 layer: the
// httpflow command serves a 1 MB file on host B, and its client on A
// fetches it intact (streams are split into messages that fit the layer).
func TestUDPHTTP(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"web.b": "b"})
	dir := t.TempDir()
	body := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "file.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := u.b.Start("httpflow", "serve", "-n", "web.b", "-d", dir)
	srv.WaitOutput(t, "Serving HTTP on web.b.", 10*time.Second)
	out, errOut, code := u.a.Run("httpflow", "get", "http://web.b/file.bin")
	if code != 0 || out != string(body) {
		t.Fatalf("httpflow get over udp4: exit %d, %d bytes (want %d)\n%s\nB:\n%s", code, len(out), len(body), errOut, u.b.Tail())
	}
}
