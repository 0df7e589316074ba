package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// TestAuthEthPostQuantumFallback: over eth-dix (1500-byte frames), an
// authenticated server's answer to the post-quantum default (its
// certificate, its signature and the 1,120-byte KEM ciphertext) does not
// fit a frame. The server's IPCP refuses the flow with EMSGSIZE in a frame
// that fits, at once, and the client, whose enc.conf names no kex, tries
// prime256v1: the flow is authenticated and encrypted with it, in well
// under the allocation timeout. A client with a certificate of its own
// makes a request with the hybrid's key that its own IPCP cannot send: the
// IPCP refuses it at once and the client tries prime256v1 too. Over udp4
// (TestAuthUDP) the same files give X25519MLKEM768.
func TestAuthEthPostQuantumFallback(t *testing.T) {
	secA, secB, ours := pqSecurityDirs(t, "pq.eth")
	ours.issue(t, secB, crypt.Server, "pqc.eth", "pqc.eth", "p256")
	ours.issue(t, secA, crypt.Client, "pqc.eth", "client-a.o7s", "p256")
	encConf(t, secA, "client", "pqc.eth", "\n")
	a, b := pqEthHosts(t, secA, secB)
	b.Irm("name", "register", "pq.eth", "layer", "eth")
	srv := b.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	b.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "pq.eth")
	b.Irm("name", "register", "pqc.eth", "layer", "eth")
	b.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "pqc.eth")

	// opingQuick runs 3 pings to name from A; the refusal and the second
	// try must come well under the allocation timeout.
	opingQuick := func(name string) {
		t.Helper()
		start := time.Now()
		out, errOut, code := a.Run("oping", "-n", name, "-c", "3", "-i", "20ms")
		took := time.Since(start)
		if code != 0 || !strings.Contains(out, "3 packets transmitted, 3 received") {
			t.Fatalf("oping %s: exit %d\n%s%s\nA:\n%s\nB:\n%s", name, code, out, errOut, a.Tail(), b.Tail())
		}
		t.Logf("oping %s took %v", name, took)
		if took > 10*time.Second {
			t.Errorf("oping %s took %v: the refusal did not come at once", name, took)
		}
	}

	opingQuick("pq.eth")
	eventually(t, "the refusal, the second try and the flow in the logs", func() bool {
		return strings.Contains(b.Log(), "does not fit a frame of this layer") &&
			strings.Contains(a.Log(), "The server of pq.eth or the layer refused X25519MLKEM768 (message too long), proposed because the client's enc.conf names no kex; trying prime256v1.") &&
			strings.Contains(a.Log(), "Flow to pq.eth authenticated: the server's certificate is for pq.eth.") &&
			strings.Contains(a.Log(), "Flow to pq.eth encrypted: prime256v1, aes-256-gcm")
	})

	// The client's own request does not fit.
	opingQuick("pqc.eth")
	eventually(t, "the client's fallback and the flow authenticated both ways", func() bool {
		return strings.Contains(a.Log(), "The server of pqc.eth or the layer refused X25519MLKEM768 (message too long)") &&
			strings.Contains(a.Log(), "Flow to pqc.eth encrypted: prime256v1, aes-256-gcm") &&
			strings.Contains(b.Log(), "Flow request for pqc.eth authenticated: the client's certificate is for client-a.o7s.")
	})
}

// TestAuthUnicastEthPostQuantumFallback: the same over a unicast layer over
// eth-dix. The server's answer to the post-quantum default is too big for
// the Ethernet flow below the layer; the eth-dix IPCP told the unicast
// IPCP's flow its largest SDU (1,496 bytes), so the flow allocator's write
// of the answer fails at once and it refuses the flow with EMSGSIZE in a
// message that fits; the client tries prime256v1. (Before, the eth-dix IPCP
// dropped the answer, counted "too big to send", and the allocation timed
// out.)
func TestAuthUnicastEthPostQuantumFallback(t *testing.T) {
	secA, secB, _ := pqSecurityDirs(t, "pq.uni")
	a, b := pqEthHosts(t, secA, secB)
	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.a", "layer", "uni", "autobind")
	a.Irm("name", "register", "uni.a", "layer", "eth")
	a.Irm("name", "register", "uni", "layer", "eth")
	b.Irm("ipcp", "enroll", "name", "uni.b", "layer", "uni", "autobind")
	b.Irm("ipcp", "connect", "name", "uni.b", "dst", "uni.a")
	b.Irm("name", "register", "pq.uni", "layer", "uni")
	srv := b.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	b.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "pq.uni")

	start := time.Now()
	out := pingUntil(t, a, "pq.uni")
	t.Logf("oping pq.uni over uni over eth-dix: %s (first success after %v)", out, time.Since(start))
	eventually(t, "the refusal, the second try and the flow in the logs", func() bool {
		return strings.Contains(a.Log(), "The server of pq.uni or the layer refused X25519MLKEM768 (message too long)") &&
			strings.Contains(a.Log(), "Flow to pq.uni authenticated: the server's certificate is for pq.uni.") &&
			strings.Contains(a.Log(), "Flow to pq.uni encrypted: prime256v1, aes-256-gcm")
	})
	for _, in := range []*rig.Instance{a, b} {
		if d := rig.Lines(in.Log(), "too big to send"); len(d) != 0 && !strings.Contains(d[len(d)-1], " 0 too big to send") {
			t.Errorf("an eth-dix IPCP dropped packets as too big to send: %q", d)
		}
	}
}

// pqSecurityDirs returns the security directories of a client host and a
// server host that trust one test CA (also returned), with a P-256 server
// certificate for name at the server and enc.conf files for name at both
// that name AES-256-GCM and no kex (so the client proposes the
// post-quantum default).
func pqSecurityDirs(t *testing.T, name string) (client, server string, ca *testCA) {
	t.Helper()
	client, server = t.TempDir(), t.TempDir()
	ca = newTestCA(t, "o7s")
	ca.install(t, client)
	ca.install(t, server)
	ca.issue(t, server, crypt.Server, name, name, "p256")
	encConf(t, client, "client", name, "cipher = aes-256-gcm\n")
	encConf(t, server, "server", name, "cipher = aes-256-gcm\n")
	return client, server, ca
}

// pqEthHosts starts two hosts in namespaces on one Ethernet segment with
// the given security directories, each with an eth-dix IPCP in layer eth.
func pqEthHosts(t *testing.T, secA, secB string) (a, b *rig.Instance) {
	t.Helper()
	n := rig.NewNet(t, 2)
	a = rig.Start(t, rig.Options{NetNS: n.NS(1), NoDirect: true, SecurityDir: secA})
	b = rig.Start(t, rig.Options{NetNS: n.NS(2), NoDirect: true, SecurityDir: secB})
	for _, in := range []*rig.Instance{a, b} {
		in.Irm("ipcp", "bootstrap", "type", "eth-dix", "name", "eth", "layer", "eth", "dev", rig.Dev)
		in.WaitLog("Bootstrapped eth-dix over "+rig.Dev, 5*time.Second)
	}
	return a, b
}
