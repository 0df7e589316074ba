package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Post-quantum authentication between two irmds over udp4 (the hosts of
// secure_test.go), with certificates ocert makes: an ML-DSA-65 root CA,
// a P-256 intermediate it signs, an ML-DSA-65 server certificate and an
// ML-DSA-44 client certificate the intermediate signs, so both chains mix
// ML-DSA and ECDSA both ways and both OAP messages carry ML-DSA
// signatures. The intermediate is ECDSA so that the OAP messages (about
// 6 KB) would also fit the reference's udp4 receive buffer (8980 bytes):
// an ML-DSA-65 certificate signed with ML-DSA-65 (5.5 KB) plus the
// message's ML-DSA-65 signature (3309 B) and kex data make about 9 KB,
// which our udp4 IPCPs carry but the reference's would cut.

// ocertIn runs ocert in dir (as the security directory) and returns a
// helper that runs it with more arguments.
func ocertIn(t *testing.T, dir string) func(args ...string) {
	bin := rig.Bin(t)
	return func(args ...string) {
		t.Helper()
		if out, err := exec.Command(filepath.Join(bin, "ocert"), append(args, "-d", dir)...).CombinedOutput(); err != nil {
			t.Fatalf("ocert %v: %v\n%s", args, err, out)
		}
	}
}

// copyTree copies the regular files under src to dst, keeping modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dst, rel), b, info.Mode().Perm())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuthUDPMLDSA: an authenticated, encrypted flow with ML-DSA
// certificates made by ocert: both irmds log the peer's name, both
// applications see it; a client refuses a server whose ML-DSA signature
// was changed on the way (ECRYPT, "does not verify") and one whose ML-DSA
// chain ends at a CA it does not trust.
func TestAuthUDPMLDSA(t *testing.T) {
	pki, other := t.TempDir(), t.TempDir()
	ocert, ocertOther := ocertIn(t, pki), ocertIn(t, other)
	ocert("ca", "-k", "mldsa65")
	ocert("im", "-k", "p256")
	ocert("name", "pq.sec", "--server", "-k", "mldsa65")
	ocert("name", "pq.sec", "--client", "-k", "mldsa44")
	ocert("name", "pqtamper.sec", "--server", "-k", "mldsa65")
	ocertOther("ca", "-k", "mldsa65") // same CN, another key
	ocertOther("name", "pquntrusted.sec", "--server", "-k", "mldsa65", "--issuer", "ca.o7s")

	const conf = "kex = X25519\ncipher = aes-256-gcm\n"
	names := []string{"pq.sec", "pqtamper.sec", "pquntrusted.sec"}
	s := newSecureHostsWith(t, func(secA, secB string) {
		for _, sec := range []string{secA, secB} {
			copyTree(t, filepath.Join(pki, "cacert"), filepath.Join(sec, "cacert"))
			copyTree(t, filepath.Join(pki, "untrusted"), filepath.Join(sec, "untrusted"))
		}
		copyTree(t, filepath.Join(pki, "server"), filepath.Join(secB, "server"))
		copyTree(t, filepath.Join(other, "server"), filepath.Join(secB, "server"))
		copyTree(t, filepath.Join(pki, "client"), filepath.Join(secA, "client"))
		encConf(t, secA, "client", "pq.sec", conf)
		encConf(t, secB, "server", "pq.sec", conf)
	}, names...)

	srv := roleIn(t, s.b, "echo-server", "pq.sec")
	srv.WaitOutput(t, "ready", 20*time.Second)
	f, err := flow.Alloc(s.a.ctx(), "pq.sec", qos.Raw)
	if err != nil {
		t.Fatalf("alloc pq.sec: %v\nA:\n%s\nB:\n%s", err, s.a.Tail(), s.b.Tail())
	}
	if f.PeerName() != "pq.sec" || f.Encryption() != "aes-256-gcm" {
		t.Errorf("client side: peer %q, encryption %q; want pq.sec, aes-256-gcm", f.PeerName(), f.Encryption())
	}
	roundTrip(t, f, []byte("signed with ML-DSA both ways"))
	f.Close()
	srv.WaitOutput(t, " pq.sec\n", 20*time.Second) // "peer <id> pq.sec": ocert's client certificate has the name as CN
	eventually(t, "both irmds to log the authenticated flow", func() bool {
		return strings.Contains(s.a.Log(), "Flow to pq.sec authenticated: the server's certificate is for pq.sec.") &&
			strings.Contains(s.b.Log(), "Flow request for pq.sec authenticated: the client's certificate is for pq.sec.")
	})

	// The server's response changed on the way: one byte of its signature,
	// the last bytes of the flow reply.
	tampered := roleIn(t, s.b, "echo-server", "pqtamper.sec")
	tampered.WaitOutput(t, "ready", 20*time.Second)
	var once atomic.Bool
	flip := func(p []byte) bool {
		if len(p) < 3000 || !once.CompareAndSwap(false, true) {
			return false
		}
		p[len(p)-10] ^= 0x01
		return true
	}
	s.relay.tamperMgmt.Store(&flip)
	_, err = flow.Alloc(s.a.ctx(), "pqtamper.sec", qos.Raw)
	s.relay.tamperMgmt.Store(nil)
	if !errors.Is(err, oerr.ECRYPT) || !once.Load() {
		t.Errorf("tampered ML-DSA signature: %v (tampered: %v), want ECRYPT", err, once.Load())
	}
	eventually(t, "A's refusal of the tampered response", func() bool {
		return strings.Contains(s.a.Log(), "Flow allocation to pqtamper.sec refused") &&
			strings.Contains(s.a.Log(), "does not verify (ML-DSA-65 key")
	})

	untrusted := roleIn(t, s.b, "echo-server", "pquntrusted.sec")
	untrusted.WaitOutput(t, "ready", 20*time.Second)
	if _, err := flow.Alloc(s.a.ctx(), "pquntrusted.sec", qos.Raw); !errors.Is(err, oerr.ECRYPT) {
		t.Errorf("untrusted ML-DSA chain: %v, want ECRYPT", err)
	}
	eventually(t, "A's refusal of the untrusted chain", func() bool {
		return strings.Contains(s.a.Log(), "Flow allocation to pquntrusted.sec refused") &&
			strings.Contains(s.a.Log(), `"pquntrusted.sec" is not trusted`)
	})
}
