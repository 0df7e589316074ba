package crypt

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// The test PKI has the shape of the reference's (irmd.md §4.6): root
// ca.unittest.o7s, intermediate im.unittest.o7s, server test-1.unittest.o7s.
const (
	caName  = "ca.unittest.o7s"
	imName  = "im.unittest.o7s"
	srvName = "test-1.unittest.o7s"
)

// t0 is the PKI's reference time: every certificate of testPKI is valid
// from t0-1h to t0+24h (leaf), longer for the CAs.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type testPKI struct {
	ca, im, leaf *Credentials
}

func mustKey(t testing.TB, alg string) crypto.Signer {
	t.Helper()
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustIssue(t testing.TB, role Role, cn string, alg string, issuer *Credentials, nb, na time.Time) *Credentials {
	t.Helper()
	k := mustKey(t, alg)
	c, err := Issue(role, cn, k, issuer, nb, na)
	if err != nil {
		t.Fatalf("issue %s: %v", cn, err)
	}
	return &Credentials{Cert: c, Key: k}
}

// newPKI makes ca → im → leaf with keys of type alg.
func newPKI(t testing.TB, alg string) testPKI {
	t.Helper()
	ca := mustIssue(t, RoleCA, caName, alg, nil, t0.Add(-time.Hour), t0.Add(10*24*time.Hour))
	im := mustIssue(t, RoleIntermediate, imName, alg, ca, t0.Add(-time.Hour), t0.Add(5*24*time.Hour))
	leaf := mustIssue(t, RoleServer, srvName, alg, im, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	return testPKI{ca, im, leaf}
}

// issueTemplate signs an arbitrary template (for the certificates Issue
// does not make: bad key usage, several CNs).
func issueTemplate(t testing.TB, tmpl *x509.Certificate, issuer *Credentials) *Credentials {
	t.Helper()
	k := mustKey(t, "p256")
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(42)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.Cert, k.Public(), issuer.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Credentials{Cert: c, Key: k}
}

func TestVerifyPeerChain(t *testing.T) {
	p := newPKI(t, "p256")
	other := newPKI(t, "p256") // an unrelated CA with the same names
	store := NewTrustStore(p.ca.Cert, p.im.Cert)

	direct := mustIssue(t, RoleServer, "direct.o7s", "p256", p.ca, t0.Add(-time.Hour), t0.Add(time.Hour))
	noSignIM := issueTemplate(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "nosign.o7s"}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}, p.ca)
	underNoSign := mustIssue(t, RoleServer, srvName, "p256", noSignIM, t0.Add(-time.Hour), t0.Add(time.Hour))
	underLeaf := mustIssue(t, RoleServer, "sub.o7s", "p256", p.leaf, t0.Add(-time.Hour), t0.Add(time.Hour))
	twoCN := issueTemplate(t, &x509.Certificate{
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidCommonName, Value: "a.o7s"}, {Type: oidCommonName, Value: "b.o7s"}}},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
	}, p.im)
	noCN := issueTemplate(t, &x509.Certificate{
		Subject: pkix.Name{Organization: []string{"o7s"}}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
	}, p.im)
	longLeaf := mustIssue(t, RoleServer, srvName, "p256", p.im, t0.Add(-time.Hour), t0.Add(30*24*time.Hour))
	selfLeaf := mustIssue(t, RoleCA, srvName, "p256", nil, t0.Add(-time.Hour), t0.Add(time.Hour))

	for _, tc := range []struct {
		name  string
		store *TrustStore
		der   []byte
		want  string
		now   time.Time
		err   string // "" = accepted
	}{
		{"good", store, p.leaf.DER(), srvName, t0, ""},
		{"good, server side (no name expected)", store, p.leaf.DER(), "", t0, ""},
		{"good, signed by the root", store, direct.DER(), "direct.o7s", t0, ""},
		{"good, store in reverse order", NewTrustStore(p.im.Cert, p.ca.Cert), p.leaf.DER(), srvName, t0, ""},
		{"wrong name", store, p.leaf.DER(), "wrong.server.name", t0, `certificate is for "test-1.unittest.o7s", not "wrong.server.name"`},
		{"name is a prefix", store, p.leaf.DER(), "test-1", t0, "not"},
		{"expired", store, p.leaf.DER(), srvName, t0.Add(25 * time.Hour), "its certificate expired (2026-01-02T00:00:00Z"},
		{"not yet valid", store, p.leaf.DER(), srvName, t0.Add(-2 * time.Hour), "its certificate is not yet valid (from 2025-12-31T23:00:00Z"},
		{"intermediate expired", store, longLeaf.DER(), "", t0.Add(6 * 24 * time.Hour), `the issuing CA "im.unittest.o7s"'s certificate expired`},
		{"untrusted root", NewTrustStore(other.ca.Cert, other.im.Cert), p.leaf.DER(), srvName, t0, `no chain to a trusted CA from its issuer "im.unittest.o7s"`},
		{"missing intermediate", NewTrustStore(p.ca.Cert), p.leaf.DER(), srvName, t0, "unknown authority"},
		{"only the intermediate", NewTrustStore(p.im.Cert), p.leaf.DER(), srvName, t0, "no trusted CA"},
		{"empty store", NewTrustStore(), p.leaf.DER(), srvName, t0, "no trusted CA"},
		{"nil store", nil, p.leaf.DER(), srvName, t0, "no trusted CA"},
		{"issuer without keyCertSign", NewTrustStore(p.ca.Cert, noSignIM.Cert), underNoSign.DER(), srvName, t0, "cannot sign"},
		{"issuer is no CA", NewTrustStore(p.ca.Cert, p.im.Cert, p.leaf.Cert), underLeaf.DER(), "sub.o7s", t0, "not"},
		{"two common names", store, twoCN.DER(), "", t0, "2 common names"},
		{"no common name", store, noCN.DER(), "", t0, "no common name"},
		{"self-signed, not in the store", store, selfLeaf.DER(), srvName, t0, "unknown authority"},
		{"self-signed, in the store", NewTrustStore(selfLeaf.Cert), selfLeaf.DER(), srvName, t0, ""},
		{"garbage", store, []byte{0x30, 0x03, 1, 2, 3}, srvName, t0, "x509"},
		{"empty", store, nil, srvName, t0, "empty certificate"},
		{"oversized", store, make([]byte, MaxCertLen+1), srvName, t0, "max 8192"},
		{"trailing bytes", store, append(append([]byte{}, p.leaf.DER()...), 0), srvName, t0, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer, err := tc.store.VerifyPeer(tc.der, tc.want, tc.now)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if peer.Name != srvName && peer.Name != tc.want {
					t.Fatalf("peer name %q", peer.Name)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted (peer %q), want error with %q", peer.Name, tc.err)
			}
			if !errors.Is(err, ErrCertificate) || Errno(err) != oerr.ECRYPT {
				t.Fatalf("error %v does not wrap ErrCertificate / map to ECRYPT", err)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %q does not say %q", err, tc.err)
			}
		})
	}
}

// Every key type, for the CA chain and the leaf, and mixed.
func TestVerifyPeerKeyTypes(t *testing.T) {
	for _, caAlg := range KeyAlgorithms {
		for _, leafAlg := range KeyAlgorithms {
			ca := mustIssue(t, RoleCA, caName, caAlg, nil, t0.Add(-time.Hour), t0.Add(time.Hour))
			im := mustIssue(t, RoleIntermediate, imName, caAlg, ca, t0.Add(-time.Hour), t0.Add(time.Hour))
			leaf := mustIssue(t, RoleClient, srvName, leafAlg, im, t0.Add(-time.Hour), t0.Add(time.Hour))
			peer, err := NewTrustStore(ca.Cert, im.Cert).VerifyPeer(leaf.DER(), srvName, t0)
			if err != nil {
				t.Fatalf("CA %s, leaf %s: %v", caAlg, leafAlg, err)
			}
			msg := []byte("signed region")
			sig, err := Sign(leaf.Key, 0, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(peer.Cert, 0, msg, sig); err != nil {
				t.Fatalf("CA %s, leaf %s: %v", caAlg, leafAlg, err)
			}
		}
	}
}

func TestIssueRefuses(t *testing.T) {
	k := mustKey(t, "p256")
	if _, err := Issue(RoleServer, "x", k, nil, t0, t0.Add(time.Hour)); err == nil {
		t.Error("self-signed server certificate issued")
	}
	if _, err := Issue(RoleCA, "", k, nil, t0, t0.Add(time.Hour)); err == nil {
		t.Error("certificate without name issued")
	}
	if _, err := GenerateKey("rsa"); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("GenerateKey(rsa): %v", err)
	}
}

// mldsaCertDER builds a certificate whose key and signature claim ML-DSA-65
// (random bytes of the right sizes), as the reference's ML-DSA test PKI
// would send one.
func mldsaCertDER(t testing.TB) []byte {
	t.Helper()
	return pqCertDER(t, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}, 1952, 3309)
}

// pqCertDER builds a self-issued certificate of algorithm oid (key and
// signature) with random key and signature bytes of the given sizes.
func pqCertDER(t testing.TB, oid asn1.ObjectIdentifier, pubLen, sigLen int) []byte {
	t.Helper()
	type algID struct{ Algorithm asn1.ObjectIdentifier }
	type validity struct{ NotBefore, NotAfter time.Time }
	type spki struct {
		Algorithm algID
		PublicKey asn1.BitString
	}
	type tbs struct {
		Version   int `asn1:"explicit,tag:0"`
		Serial    *big.Int
		SigAlg    algID
		Issuer    asn1.RawValue
		Validity  validity
		Subject   asn1.RawValue
		PublicKey spki
	}
	name, _ := asn1.Marshal(pkix.Name{CommonName: srvName}.ToRDNSequence())
	pub := make([]byte, pubLen)
	rand.Read(pub)
	tb, err := asn1.Marshal(tbs{2, big.NewInt(1), algID{oid}, asn1.RawValue{FullBytes: name},
		validity{t0, t0.Add(time.Hour)}, asn1.RawValue{FullBytes: name},
		spki{algID{oid}, asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}}})
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, sigLen)
	rand.Read(sig)
	der, err := asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg algID
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tb}, algID{oid}, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// A peer's ML-DSA certificate whose signature is random bytes is not
// trusted; SLH-DSA certificates are refused by name.
func TestPQCertificatesRefused(t *testing.T) {
	p := newPKI(t, "p256")
	_, err := NewTrustStore(p.ca.Cert).VerifyPeer(mldsaCertDER(t), srvName, t0)
	if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "is not trusted") {
		t.Fatalf("ML-DSA certificate with a random signature: %v", err)
	}
	_, err = ParseCertificate(pqCertDER(t, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}, 1951, 3309))
	if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "ML-DSA-65 public key of 15608 bits, want 1952 bytes") {
		t.Fatalf("ML-DSA certificate with a short key: %v", err)
	}
	_, err = NewTrustStore(p.ca.Cert).VerifyPeer(pqCertDER(t, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 20}, 32, 7856), srvName, t0)
	if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "SLH-DSA-SHA2-128s certificates are not supported") {
		t.Fatalf("SLH-DSA certificate: %v", err)
	}
}

func TestErrnoCertificates(t *testing.T) {
	for _, e := range []error{ErrCertificate, ErrSignature, ErrNoCredentials} {
		if Errno(e) != oerr.ECRYPT {
			t.Errorf("Errno(%v) = %v, want ECRYPT", e, Errno(e))
		}
	}
}

// One store serves every flow allocation at once (run with -race).
func TestVerifyPeerConcurrent(t *testing.T) {
	p := newPKI(t, "p256")
	store := NewTrustStore(p.ca.Cert, p.im.Cert)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				if _, err = store.VerifyPeer(p.leaf.DER(), srvName, t0); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
