package e2e

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Secure flows between two irmds over udp4 on loopback. Host A
// (127.0.0.1, this test process) reaches the names of host B (127.0.0.2)
// through a UDP relay on 127.0.0.3 that keeps a copy of every payload it
// forwards and can tamper with them: the test sees what the layer carries
// without a packet capture. Each host has its own security directory.

// udpRelay forwards datagrams between two udp4 IPCPs that both use port:
// what comes from a goes to b and the other way round, from the relay's
// own address, so each IPCP sees the relay as its peer.
type udpRelay struct {
	conn   *net.UDPConn
	a, b   *net.UDPAddr
	mu     sync.Mutex
	seen   [][]byte                          // payloads forwarded, in order
	tamper atomic.Pointer[func([]byte) bool] // b→a data: true if it changed the payload
	// tamperMgmt sees b→a management datagrams (flow replies with their
	// OAP response at the end) after the zero EID.
	tamperMgmt atomic.Pointer[func([]byte) bool]
	done       chan struct{}
}

func startRelay(t *testing.T, ip, ipA, ipB string, port int) *udpRelay {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	r := &udpRelay{conn: c, a: &net.UDPAddr{IP: net.ParseIP(ipA), Port: port},
		b: &net.UDPAddr{IP: net.ParseIP(ipB), Port: port}, done: make(chan struct{})}
	go r.run()
	t.Cleanup(func() { c.Close(); <-r.done })
	return r
}

func (r *udpRelay) run() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		r.seen = append(r.seen, append([]byte(nil), p...))
		r.mu.Unlock()
		to := r.b
		if from.IP.Equal(r.b.IP) {
			to = r.a
			// Data packets start with a non-zero endpoint id.
			if f := r.tamper.Load(); f != nil && n > 4 && !bytes.Equal(p[:4], []byte{0, 0, 0, 0}) {
				(*f)(p[4:])
			}
			if f := r.tamperMgmt.Load(); f != nil && n > 4 && bytes.Equal(p[:4], []byte{0, 0, 0, 0}) {
				(*f)(p[4:])
			}
		}
		r.conn.WriteToUDP(p, to)
	}
}

// contains reports whether any forwarded payload contains s.
func (r *udpRelay) contains(s []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.seen {
		if bytes.Contains(p, s) {
			return true
		}
	}
	return false
}

func (r *udpRelay) bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.seen {
		n += len(p)
	}
	return n
}

type secureHosts struct {
	a          *env
	b          *rig.Instance
	relay      *udpRelay
	secA, secB string
}

// newSecureHosts starts hosts A and B with a udp4 layer through the relay;
// names are registered on B.
func newSecureHosts(t *testing.T, names ...string) *secureHosts {
	t.Helper()
	return newSecureHostsWith(t, nil, names...)
}

// newSecureHostsWith is newSecureHosts with prep called on the two
// security directories before the irmds start (they read the CA and
// intermediate certificates at start).
func newSecureHostsWith(t *testing.T, prep func(secA, secB string), names ...string) *secureHosts {
	t.Helper()
	const ipA, ipB, ipR = "127.0.0.1", "127.0.0.2", "127.0.0.3"
	entries := map[string]string{}
	for _, n := range names {
		entries[n] = ipR
	}
	hosts := writeHosts(t, entries)
	s := &secureHosts{secA: t.TempDir(), secB: t.TempDir()}
	if prep != nil {
		prep(s.secA, s.secB)
	}
	s.a = setup(t, rig.Options{NoDirect: true, SecurityDir: s.secA, Env: []string{udp.HostsEnv + "=" + hosts}})
	s.b = rig.Start(t, rig.Options{NoDirect: true, SecurityDir: s.secB, Env: []string{udp.HostsEnv + "=" + hosts}})
	port := freeUDPPort(t, ipA, ipB, ipR)
	s.relay = startRelay(t, ipR, ipA, ipB, port)
	p := strconv.Itoa(port)
	s.a.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp-a", "layer", "udp-layer", "ip", ipA, "port", p)
	s.b.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp-b", "layer", "udp-layer", "ip", ipB, "port", p)
	for _, n := range names {
		s.b.Irm("name", "register", n, "layer", "udp-layer")
	}
	return s
}

// encConf writes an enc.conf for name on side ("server" or "client") in
// the security directory dir.
func encConf(t *testing.T, dir, side, name, conf string) {
	t.Helper()
	d := filepath.Join(dir, side, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "enc.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSecureUDPOpingAndBulk: an encrypted oping (a client enc.conf that
// names nothing, so it proposes the post-quantum default, X25519MLKEM768,
// which a server whose floor is P-256 takes, and AES-256-GCM), then a reliable 10 MB
// transfer from this process to a hash sink on B, checked by SHA-256, with
// a known marker in the plaintext that never shows in what the layer
// carries. A plaintext flow through the same relay shows that the check
// sees plaintext when there is some.
func TestSecureUDPOpingAndBulk(t *testing.T) {
	s := newSecureHosts(t, "oping.sec", "bulk.sec", "plain.sec")
	encConf(t, s.secA, "client", "oping.sec", "# defaults\n")
	encConf(t, s.secB, "server", "oping.sec", "kex = prime256v1\ncipher = aes-256-gcm\n")
	encConf(t, s.secA, "client", "bulk.sec", "kex = X25519MLKEM768\ncipher = chacha20-poly1305\nkdf = sha384\n")
	encConf(t, s.secB, "server", "bulk.sec", "kex = X25519\n")

	srv := s.b.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	s.b.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "oping.sec")
	out, errOut, code := s.a.Run("oping", "-n", "oping.sec", "-c", "5", "-i", "20ms")
	if code != 0 || !strings.Contains(out, "5 packets transmitted, 5 received") {
		t.Fatalf("oping: exit %d\n%s%s\nA:\n%s\nB:\n%s", code, out, errOut, s.a.Tail(), s.b.Tail())
	}
	eventually(t, "both irmds to log an encrypted flow", func() bool {
		return strings.Contains(s.b.Log(), "Flow for oping.sec encrypted: X25519MLKEM768, aes-256-gcm") &&
			strings.Contains(s.a.Log(), "Flow to oping.sec encrypted: X25519MLKEM768, aes-256-gcm")
	})
	if strings.Contains(s.a.Log(), "trying prime256v1") {
		t.Errorf("the client fell back from the post-quantum default with a server of ours:\n%s", s.a.Tail())
	}

	// A plaintext flow: the relay sees the marker.
	plain := roleIn(t, s.b, "echo-server", "plain.sec")
	plain.WaitOutput(t, "ready", 10*time.Second)
	f, err := flow.Alloc(s.a.ctx(), "plain.sec", qos.Raw)
	if err != nil {
		t.Fatalf("alloc plain.sec: %v\n%s", err, s.a.Tail())
	}
	roundTrip(t, f, []byte("visible-marker-0123456789"))
	f.Close()
	if !s.relay.contains([]byte("visible-marker-0123456789")) {
		t.Fatal("the relay does not see a plaintext flow's payload")
	}

	const size = 10 << 20
	sink := roleIn(t, s.b, "hash-sink", "bulk.sec", "O7S_E2E_BYTES="+strconv.Itoa(size))
	sink.WaitOutput(t, "ready", 10*time.Second)
	c, err := flow.Dial(s.a.ctx(), "bulk.sec")
	if err != nil {
		t.Fatalf("dial bulk.sec: %v\nA:\n%s\nB:\n%s", err, s.a.Tail(), s.b.Tail())
	}
	defer c.Close()
	if got := c.Flow().Encryption(); got != "chacha20-poly1305" {
		t.Fatalf("flow encryption %q, want chacha20-poly1305", got)
	}
	marker := []byte("secret-plaintext-marker:")
	h := sha256.New()
	block := make([]byte, 0, 64<<10)
	for sent := 0; sent < size; {
		block = block[:0]
		for len(block) < cap(block)-64 && sent+len(block) < size {
			block = fmt.Appendf(block, "%s%09d|", marker, sent+len(block))
		}
		block = block[:min(len(block), size-sent)]
		h.Write(block)
		c.SetWriteDeadline(time.Now().Add(60 * time.Second))
		if _, err := c.Write(block); err != nil {
			t.Fatalf("write after %d bytes: %v\nB: %s", sent, err, sink.Out.String())
		}
		sent += len(block)
	}
	if !sink.Wait(120 * time.Second) {
		t.Fatalf("sink did not finish: %s", sink.Out.String())
	}
	want := fmt.Sprintf("received %d bytes sha256 %x err <nil>", size, h.Sum(nil))
	if !strings.Contains(sink.Out.String(), want) {
		t.Fatalf("sink says:\n%s\nwant %s", sink.Out.String(), want)
	}
	if s.relay.bytes() < size {
		t.Fatalf("the relay forwarded %d bytes, less than the transfer", s.relay.bytes())
	}
	if s.relay.contains(marker[:16]) {
		t.Fatal("plaintext of the encrypted transfer crossed the layer")
	}
	eventually(t, "B to log the encrypted transfer", func() bool {
		return strings.Contains(s.b.Log(), "Flow for bulk.sec encrypted: X25519MLKEM768, chacha20-poly1305, kdf sha384")
	})
}

// TestSecureUDPRefusals: a server that requires encryption refuses a client
// that asks for none (ECRYPT, with a log line naming the name and the
// reason); a server whose own cipher is weaker agrees to the client's
// stronger one (the client's downgrade check is in package oap); an
// enc.conf naming an algorithm this build does not run fails the
// allocation with ENOTSUP.
func TestSecureUDPRefusals(t *testing.T) {
	s := newSecureHosts(t, "strict.sec", "weak.sec", "bad.sec")
	encConf(t, s.secB, "server", "strict.sec", "kex = X25519\n")
	encConf(t, s.secA, "client", "weak.sec", "cipher = chacha20-poly1305\n")
	encConf(t, s.secB, "server", "weak.sec", "cipher = aes-128-gcm\n")
	encConf(t, s.secA, "client", "bad.sec", "kex = X448\n")
	for _, n := range []string{"strict.sec", "weak.sec", "bad.sec"} {
		srv := roleIn(t, s.b, "echo-server", n)
		srv.WaitOutput(t, "ready", 10*time.Second)
	}

	_, err := flow.Alloc(s.a.ctx(), "strict.sec", qos.Raw)
	if !errors.Is(err, oerr.ECRYPT) {
		t.Errorf("no encryption to a strict server: %v", err)
	}
	eventually(t, "B's refusal log line", func() bool {
		return strings.Contains(s.b.Log(), "Flow request for strict.sec refused (encryption error)") &&
			strings.Contains(s.b.Log(), "client sent no key exchange data but X25519 is required")
	})

	// weak.sec: the server's own choice would be weaker, but negotiation
	// keeps the client's stronger cipher: not a downgrade.
	f, err := flow.Alloc(s.a.ctx(), "weak.sec", qos.Raw)
	if err != nil {
		t.Fatalf("weak.sec: %v\n%s", err, s.a.Tail())
	}
	if f.Encryption() != "chacha20-poly1305" {
		t.Errorf("weak.sec encryption %q", f.Encryption())
	}
	roundTrip(t, f, []byte("negotiated up"))
	f.Close()

	_, err = flow.Alloc(s.a.ctx(), "bad.sec", qos.Raw)
	if !errors.Is(err, oerr.ENOTSUP) {
		t.Errorf("X448: %v", err)
	}
	eventually(t, "A's refusal log line", func() bool {
		return strings.Contains(s.a.Log(), "Flow allocation to bad.sec refused: client enc.conf")
	})
}

// TestSecureUDPTamper: packets from B changed on the way are dropped by
// this end of an encrypted flow and counted; the flow goes on.
func TestSecureUDPTamper(t *testing.T) {
	s := newSecureHosts(t, "tamper.sec")
	encConf(t, s.secA, "client", "tamper.sec", "cipher = aes-256-gcm\n")
	encConf(t, s.secB, "server", "tamper.sec", "cipher = aes-256-gcm\n")
	srv := roleIn(t, s.b, "echo-server", "tamper.sec")
	srv.WaitOutput(t, "ready", 10*time.Second)
	f, err := flow.Alloc(s.a.ctx(), "tamper.sec", qos.Raw)
	if err != nil {
		t.Fatalf("alloc: %v\n%s", err, s.a.Tail())
	}
	defer f.Close()
	roundTrip(t, f, []byte("before"))
	var left atomic.Int32
	left.Store(1)
	flip := func(p []byte) bool {
		if left.Add(-1) < 0 {
			return false
		}
		p[len(p)/2] ^= 0x01
		return true
	}
	s.relay.tamper.Store(&flip)
	if _, err := f.Write([]byte("tampered")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the drop to be counted", func() bool { return f.Drops().Unauthenticated == 1 })
	// Had the tampered echo been delivered, this read would return it.
	roundTrip(t, f, []byte("after"))
	if d := f.Drops(); d.Unauthenticated != 1 || d.Malformed != 0 {
		t.Errorf("drops %+v", d)
	}
}

// TestSecureDirect: a direct flow between two local processes (here one,
// at both ends) is encrypted as a flow through a layer is: the irmd runs
// the exchange for both sides with the client's and the server's policy;
// a server that requires encryption refuses a client that has none.
func TestSecureDirect(t *testing.T) {
	sec := t.TempDir()
	e := setup(t, rig.Options{SecurityDir: sec})
	encConf(t, sec, "client", "direct.sec", "kex = secp384r1\ncipher = aes-128-gcm\n")
	encConf(t, sec, "server", "direct.sec", "kex = X25519\ncipher = aes-256-gcm\nkdf = sha512\n")
	encConf(t, sec, "server", "strict.direct", "\n")
	e.serve("direct.sec") // accepts for every name this process is bound to
	if err := e.irm.BindProcess(e.ctx(), os.Getpid(), "strict.direct"); err != nil {
		t.Fatal(err)
	}
	f := e.alloc("direct.sec", qos.Raw)
	if f.Encryption() != "aes-256-gcm" {
		t.Errorf("direct flow encryption %q, want aes-256-gcm", f.Encryption())
	}
	roundTrip(t, f, []byte("direct and encrypted"))
	eventually(t, "the irmd to log the encrypted direct flow", func() bool {
		return strings.Contains(e.Log(), "Flow for direct.sec encrypted: secp384r1, aes-256-gcm, kdf sha512")
	})
	if _, err := flow.Alloc(e.ctx(), "strict.direct", qos.Raw); !errors.Is(err, oerr.ECRYPT) {
		t.Errorf("no encryption to a strict server: %v", err)
	}
	// The refusal took no accept: a flow with a policy goes through.
	encConf(t, sec, "client", "strict.direct", "\n")
	g := e.alloc("strict.direct", qos.Raw)
	if g.Encryption() != "aes-256-gcm" {
		t.Errorf("strict.direct encryption %q", g.Encryption())
	}
	roundTrip(t, g, []byte("now with a policy"))
	// Neither file names a kex: the client proposed the post-quantum
	// default and the server, whose floor is P-256, took it.
	eventually(t, "the irmd to log the post-quantum default", func() bool {
		return strings.Contains(e.Log(), "Flow for strict.direct encrypted: X25519MLKEM768, aes-256-gcm, kdf sha256")
	})
}
