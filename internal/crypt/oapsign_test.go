package crypt_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/oap"
)

// How the pieces fit into an OAP exchange (irmd.md §4.10): the server loads
// its credentials, puts the DER certificate in the header, signs the
// encoded header and appends the signature; the client decodes it, checks
// the certificate against its trust store and the name it allocated to, and
// verifies the signature over the signed region (the message minus the
// signature). Flipping bytes 50–52 of the signed message (the reference's
// corrupted-response test) is refused.
func TestSignedOAPHeader(t *testing.T) {
	const name = "test-1.unittest.o7s"
	now := time.Now()
	sec := crypt.SecurityDir(t.TempDir())
	ca, im, leaf := issueChain(t, name, now)
	install(t, filepath.Join(sec.CADir(), "ca.pem"), crypt.CertificatePEM(ca.Cert), 0o644)
	install(t, filepath.Join(sec.IntermediateDir(), "im.pem"), crypt.CertificatePEM(im.Cert), 0o644)
	install(t, sec.CrtPath(crypt.Server, name), crypt.CertificatePEM(leaf.Cert), 0o644)
	key, _ := crypt.PrivateKeyPEM(leaf.Key)
	install(t, sec.KeyPath(crypt.Server, name), key, 0o600)

	// Server.
	creds, err := sec.LoadCredentials(crypt.Server, name)
	if err != nil {
		t.Fatal(err)
	}
	h := oap.Header{Timestamp: uint64(now.UnixNano()), MDNID: uint16(crypt.SHA384), Cert: creds.DER(),
		ReqHash: make([]byte, 48)}
	b, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := crypt.Sign(creds.Key, crypt.Digest(h.MDNID), b)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, sig...)

	// Client.
	store, err := sec.LoadTrustStore()
	if err != nil {
		t.Fatal(err)
	}
	verify := func(b []byte, want string) error {
		r, err := oap.DecodeResponse(b, 0)
		if err != nil {
			return err
		}
		peer, err := store.VerifyPeer(r.Cert, want, now)
		if err != nil {
			return err
		}
		return crypt.Verify(peer.Cert, crypt.Digest(r.MDNID), b[:len(b)-len(r.Signature)], r.Signature)
	}
	if err := verify(b, name); err != nil {
		t.Fatalf("signed response refused: %v", err)
	}
	if err := verify(b, "wrong.server.name"); !errors.Is(err, crypt.ErrCertificate) {
		t.Fatalf("wrong server name: %v", err)
	}
	bad := append([]byte(nil), b...)
	for i := 50; i <= 52; i++ {
		bad[i] ^= 0xff
	}
	if err := verify(bad, name); err == nil {
		t.Fatal("corrupted response accepted")
	}
	bad = append([]byte(nil), b...)
	bad[len(bad)-3] ^= 1
	if err := verify(bad, name); !errors.Is(err, crypt.ErrSignature) {
		t.Fatalf("tampered signature: %v", err)
	}
}

func issueChain(t *testing.T, name string, now time.Time) (ca, im, leaf *crypt.Credentials) {
	t.Helper()
	mk := func(role crypt.Role, cn string, issuer *crypt.Credentials) *crypt.Credentials {
		k, err := crypt.GenerateKey("p256")
		if err != nil {
			t.Fatal(err)
		}
		c, err := crypt.Issue(role, cn, k, issuer, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return &crypt.Credentials{Cert: c, Key: k}
	}
	ca = mk(crypt.RoleCA, "ca.unittest.o7s", nil)
	im = mk(crypt.RoleIntermediate, "im.unittest.o7s", ca)
	return ca, im, mk(crypt.RoleServer, name, im)
}

func install(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}
