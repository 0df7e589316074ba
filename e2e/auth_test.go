package e2e

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Authenticated flows between two irmds over udp4 (the hosts of
// secure_test.go): certificates made with crypt.Issue in the layout of
// the security directory, the CA and the intermediate installed on both
// hosts before their irmds start.

// testCA is a CA and an intermediate it signed.
type testCA struct {
	ca, im *crypt.Credentials
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	now := time.Now()
	mk := func(role crypt.Role, cn string, issuer *crypt.Credentials) *crypt.Credentials {
		k, err := crypt.GenerateKey("p256")
		if err != nil {
			t.Fatal(err)
		}
		c, err := crypt.Issue(role, cn, k, issuer, now.Add(-time.Hour), now.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return &crypt.Credentials{Cert: c, Key: k}
	}
	ca := mk(crypt.RoleCA, "ca."+cn, nil)
	return &testCA{ca: ca, im: mk(crypt.RoleIntermediate, "im."+cn, ca)}
}

// install puts the CA in cacert/ and the intermediate in untrusted/ of dir.
func (c *testCA) install(t *testing.T, dir string) {
	t.Helper()
	d := crypt.SecurityDir(dir)
	writeFile(t, filepath.Join(d.CADir(), c.ca.Name()+".crt.pem"), crypt.CertificatePEM(c.ca.Cert), 0o644)
	writeFile(t, filepath.Join(d.IntermediateDir(), c.im.Name()+".crt.pem"), crypt.CertificatePEM(c.im.Cert), 0o644)
}

// issue writes a certificate with CN cn (key type alg) and its key as the
// credentials of name on side in the security directory dir.
func (c *testCA) issue(t *testing.T, dir string, side crypt.Side, name, cn, alg string) {
	t.Helper()
	k, err := crypt.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	role := crypt.RoleServer
	if side == crypt.Client {
		role = crypt.RoleClient
	}
	cert, err := crypt.Issue(role, cn, k, c.im, time.Now().Add(-time.Hour), time.Now().Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	writeCreds(t, dir, side, name, cert, k)
}

func writeCreds(t *testing.T, dir string, side crypt.Side, name string, cert *x509.Certificate, k crypto.Signer) {
	t.Helper()
	d := crypt.SecurityDir(dir)
	key, err := crypt.PrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, d.CrtPath(side, name), crypt.CertificatePEM(cert), 0o644)
	writeFile(t, d.KeyPath(side, name), key, 0o600)
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

// TestAuthUDP: an authenticated, encrypted oping (the server's name has a
// P-256 certificate, the client an Ed25519 one, both with an enc.conf);
// both applications of an authenticated flow see the other's name; a
// client refuses a server presenting another name's certificate and one
// from a CA it does not trust (ECRYPT), and a server refuses a client
// whose certificate it cannot trust (EAUTH), each with a log line naming
// the name and the reason.
func TestAuthUDP(t *testing.T) {
	ours, other := newTestCA(t, "o7s"), newTestCA(t, "other.o7s")
	const conf = "kex = prime256v1\ncipher = aes-256-gcm\n"
	names := []string{"auth.sec", "peer.sec", "wrongcn.sec", "untrusted.sec", "badclient.sec"}
	s := newSecureHostsWith(t, func(secA, secB string) {
		ours.install(t, secA)
		ours.install(t, secB)
		ours.issue(t, secB, crypt.Server, "auth.sec", "auth.sec", "p256")
		ours.issue(t, secA, crypt.Client, "auth.sec", "client-a.o7s", "ed25519")
		encConf(t, secA, "client", "auth.sec", "# defaults: the post-quantum kex, digest sha256, Ed25519 signs with md 0\n")
		encConf(t, secB, "server", "auth.sec", conf)
		ours.issue(t, secB, crypt.Server, "peer.sec", "peer.sec", "p384")
		ours.issue(t, secA, crypt.Client, "peer.sec", "client-a.o7s", "p256")
		encConf(t, secA, "client", "peer.sec", conf)
		ours.issue(t, secB, crypt.Server, "wrongcn.sec", "other.sec", "p256")
		other.issue(t, secB, crypt.Server, "untrusted.sec", "untrusted.sec", "p256")
		other.issue(t, secA, crypt.Client, "badclient.sec", "mallory.o7s", "p256")
	}, names...)

	srv := s.b.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	s.b.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "auth.sec")
	out, errOut, code := s.a.Run("oping", "-n", "auth.sec", "-c", "5", "-i", "20ms")
	if code != 0 || !strings.Contains(out, "5 packets transmitted, 5 received") {
		t.Fatalf("oping: exit %d\n%s%s\nA:\n%s\nB:\n%s", code, out, errOut, s.a.Tail(), s.b.Tail())
	}
	eventually(t, "both irmds to log the authenticated, encrypted flow", func() bool {
		return strings.Contains(s.a.Log(), "Flow to auth.sec authenticated: the server's certificate is for auth.sec.") &&
			strings.Contains(s.a.Log(), "Flow to auth.sec encrypted: X25519MLKEM768, aes-256-gcm") &&
			strings.Contains(s.b.Log(), "Flow request for auth.sec authenticated: the client's certificate is for client-a.o7s.") &&
			strings.Contains(s.b.Log(), "Flow for auth.sec encrypted: X25519MLKEM768, aes-256-gcm")
	})

	// The names reach the applications.
	echoSrv := roleIn(t, s.b, "echo-server", "peer.sec")
	echoSrv.WaitOutput(t, "ready", 10*time.Second)
	f, err := flow.Alloc(s.a.ctx(), "peer.sec", qos.Raw)
	if err != nil {
		t.Fatalf("alloc peer.sec: %v\nA:\n%s\nB:\n%s", err, s.a.Tail(), s.b.Tail())
	}
	if f.PeerName() != "peer.sec" || f.Encryption() != "aes-256-gcm" {
		t.Errorf("client side: peer %q, encryption %q; want peer.sec, aes-256-gcm", f.PeerName(), f.Encryption())
	}
	roundTrip(t, f, []byte("authenticated both ways"))
	f.Close()
	echoSrv.WaitOutput(t, "client-a.o7s", 20*time.Second) // "peer <id> client-a.o7s"

	for _, c := range []struct {
		name, why string
	}{
		{"wrongcn.sec", `certificate is for "other.sec", not "wrongcn.sec"`},
		{"untrusted.sec", `no chain to a trusted CA from its issuer "im.other.o7s"`},
	} {
		srv := roleIn(t, s.b, "echo-server", c.name)
		srv.WaitOutput(t, "ready", 10*time.Second)
		if _, err := flow.Alloc(s.a.ctx(), c.name, qos.Raw); !errors.Is(err, oerr.ECRYPT) {
			t.Errorf("%s: %v, want ECRYPT", c.name, err)
		}
		eventually(t, "A's refusal of "+c.name, func() bool {
			return strings.Contains(s.a.Log(), "Flow allocation to "+c.name+" refused: OAP response: oap: authentication failed: server certificate") &&
				strings.Contains(s.a.Log(), c.why)
		})
	}

	bad := roleIn(t, s.b, "echo-server", "badclient.sec")
	bad.WaitOutput(t, "ready", 10*time.Second)
	if _, err := flow.Alloc(s.a.ctx(), "badclient.sec", qos.Raw); !errors.Is(err, oerr.EAUTH) {
		t.Errorf("badclient.sec: %v, want EAUTH", err)
	}
	eventually(t, "B's refusal of the untrusted client", func() bool {
		return strings.Contains(s.b.Log(), "Flow request for badclient.sec refused (authentication error)") &&
			strings.Contains(s.b.Log(), `"mallory.o7s" is not trusted`)
	})
	if strings.Contains(bad.Out.String(), "accepted") {
		t.Error("the refused client's flow reached the application")
	}
}

// TestAuthBadTrustStore: an irmd whose CA directory holds a file that is
// not a PEM certificate does not start, and says which file.
func TestAuthBadTrustStore(t *testing.T) {
	sec := t.TempDir()
	writeFile(t, filepath.Join(sec, "cacert", "junk.pem"), []byte("not a certificate\n"), 0o644)
	cmd := exec.Command(filepath.Join(rig.Bin(t), "irmd"), "--stdout", "--run-dir", t.TempDir(), "--security-dir", sec)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("irmd with a bad CA file: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "failed to load the CA and intermediate certificates of "+sec) ||
		!strings.Contains(string(out), "junk.pem: no PEM CERTIFICATE block") {
		t.Fatalf("irmd's message does not say what is wrong:\n%s", out)
	}
}

// TestAuthDirect: a direct flow between two local processes (here one, at
// both ends) is authenticated as a flow through a layer is: the irmd runs
// the exchange with the name's server and client files, both ends learn
// the other's name, and a server certificate for another name fails the
// allocation without taking the accept.
func TestAuthDirect(t *testing.T) {
	pki := newTestCA(t, "o7s")
	sec := t.TempDir()
	pki.install(t, sec)
	pki.issue(t, sec, crypt.Server, "direct.auth", "direct.auth", "p384")
	pki.issue(t, sec, crypt.Client, "direct.auth", "local-client.o7s", "p256")
	pki.issue(t, sec, crypt.Server, "direct.wrongcn", "someone.else", "p256")
	e := setup(t, rig.Options{SecurityDir: sec})
	for _, n := range []string{"direct.auth", "direct.wrongcn"} {
		if err := e.irm.BindProcess(e.ctx(), os.Getpid(), n); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	peers := make(chan string, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			f, err := flow.Accept(ctx)
			if err != nil {
				return
			}
			peers <- f.PeerName()
			go echo(f)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	if _, err := flow.Alloc(e.ctx(), "direct.wrongcn", qos.Raw); !errors.Is(err, oerr.ECRYPT) {
		t.Errorf("direct.wrongcn: %v, want ECRYPT", err)
	}
	f := e.alloc("direct.auth", qos.Raw)
	if f.PeerName() != "direct.auth" {
		t.Errorf("client side: peer %q, want direct.auth", f.PeerName())
	}
	roundTrip(t, f, []byte("direct and authenticated"))
	select {
	case p := <-peers:
		if p != "local-client.o7s" {
			t.Errorf("server side: peer %q, want local-client.o7s", p)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no accept")
	}
	eventually(t, "the irmd's refusal of direct.wrongcn", func() bool {
		return strings.Contains(e.Log(), `certificate is for "someone.else", not "direct.wrongcn"`)
	})
}
