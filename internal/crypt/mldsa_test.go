package crypt

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests of the reference's auth_test_ml_dsa.c (library.md §9: ctx,
// load certificate and keys, chain verification, sign and verify, a bad
// signature) with ML-DSA-65, and more: the RFC 9881 example certificates,
// the three private key forms, mixed chains, refusals.

// mldsaPKI makes ca → im → leaf with the given key type per certificate.
func mldsaPKI(t testing.TB, caAlg, imAlg, leafAlg string) testPKI {
	t.Helper()
	ca := mustIssue(t, RoleCA, caName, caAlg, nil, t0.Add(-time.Hour), t0.Add(10*24*time.Hour))
	im := mustIssue(t, RoleIntermediate, imName, imAlg, ca, t0.Add(-time.Hour), t0.Add(5*24*time.Hour))
	leaf := mustIssue(t, RoleServer, srvName, leafAlg, im, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	return testPKI{ca, im, leaf}
}

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mldsa", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMLDSARFCVectors: the RFC 9881 example certificates parse, are
// self-signed (trust anchors whose ML-DSA signature verifies) and verify
// as peers; their keys are the ones the seed 00…1f makes, in each of the
// three PKCS#8 forms; the damaged expanded example key is refused.
func TestMLDSARFCVectors(t *testing.T) {
	for i, c := range []struct{ file, kind string }{{"ML-DSA-44.crt", "ML-DSA-44"}, {"ML-DSA-65.crt", "ML-DSA-65"}} {
		cert, err := ParseCertificatePEM(readVector(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if KeyType(cert.PublicKey) != c.kind || !cert.IsCA {
			t.Fatalf("%s: %s key, CA %v", c.file, KeyType(cert.PublicKey), cert.IsCA)
		}
		store := NewTrustStore(cert)
		if a, _ := store.Len(); a != 1 {
			t.Fatalf("%s: not a trust anchor (its self-signature does not verify)", c.file)
		}
		peer, err := store.VerifyPeer(cert.Raw, "LAMPS WG", t0)
		if err != nil || peer.Name != "LAMPS WG" {
			t.Fatalf("%s: %v", c.file, err)
		}
		// Tampered: one bit of the signature.
		bad := bytes.Clone(cert.Raw)
		bad[len(bad)-100] ^= 1
		if a, _ := NewTrustStore(mustParse(t, bad)).Len(); a != 0 {
			t.Errorf("%s: tampered certificate still self-signed", c.file)
		}
		// The key of seed 00…1f, in each form.
		p := mldsaSets[i]
		key := p.fromSeed(seq(32))
		if !publicKeysEqual(cert.PublicKey, key.Public()) {
			t.Fatalf("%s: the key of seed 00…1f is not the certificate's", c.file)
		}
		for _, form := range []KeyForm{FormSeed, FormExpanded, FormBoth} {
			inner, _ := marshalKeyChoice(form, seq(32), mldsaPrivateBytes(key))
			der, _ := asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: p.oid}, PrivateKey: inner})
			k, err := ParsePrivateKeyPEM(pemBlock("PRIVATE KEY", der))
			if err != nil || !publicKeysEqual(cert.PublicKey, k.Public()) {
				t.Errorf("%s form %d: %v", c.kind, form, err)
			}
		}
	}
	_, err := ParsePrivateKeyPEM(readVector(t, "bad-ML-DSA-44-2.priv"))
	if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "damaged key") {
		t.Errorf("bad-ML-DSA-44-2.priv: %v", err)
	}
}

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMLDSAAuth: auth_test_ml_dsa.c's scenarios with an ML-DSA-65 PKI.
func TestMLDSAAuth(t *testing.T) {
	p := mldsaPKI(t, "mldsa65", "mldsa65", "mldsa65")
	// ctx: a store, and loading certificates and keys from files.
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "crt.pem"), filepath.Join(dir, "key.pem")
	kp, err := PrivateKeyPEM(p.leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(crt, CertificatePEM(p.leaf.Cert), 0o644)
	os.WriteFile(key, kp, 0o600)
	creds, err := LoadCredentials(crt, key)
	if err != nil || creds.Name() != srvName || KeyType(creds.Cert.PublicKey) != "ML-DSA-65" {
		t.Fatalf("LoadCredentials: %v", err)
	}
	// The key is written in the seed form, 32 bytes.
	if !strings.Contains(string(kp), "PRIVATE KEY") || len(kp) > 200 {
		t.Errorf("ML-DSA key PEM of %d bytes", len(kp))
	}
	// The public key in the certificate is the private key's.
	if !publicKeysEqual(creds.Cert.PublicKey, creds.Key.Public()) {
		t.Error("certificate and key differ")
	}
	// A key that is not the certificate's.
	other := mustKey(t, "mldsa65")
	okp, _ := PrivateKeyPEM(other)
	os.WriteFile(key, okp, 0o600)
	if _, err := LoadCredentials(crt, key); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("another key: %v", err)
	}

	// Chain: root + intermediate verify the leaf; a self-signed leaf does
	// not.
	store := NewTrustStore(p.ca.Cert, p.im.Cert)
	if a, i := store.Len(); a != 1 || i != 1 {
		t.Fatalf("store: %d anchors, %d others", a, i)
	}
	if peer, err := store.VerifyPeer(p.leaf.DER(), srvName, t0); err != nil || peer.Name != srvName {
		t.Fatalf("chain: %v", err)
	}
	self := mustIssue(t, RoleCA, srvName, "mldsa65", nil, t0.Add(-time.Hour), t0.Add(time.Hour))
	if _, err := store.VerifyPeer(self.DER(), srvName, t0); !errors.Is(err, ErrCertificate) {
		t.Errorf("self-signed leaf: %v", err)
	}

	// Sign and verify 1500 random bytes, md 0 and a digest (ignored: ML-DSA
	// signs pure).
	msg := make([]byte, 1500)
	rand.Read(msg)
	for _, md := range []Digest{0, SHA256, SHA3_512} {
		sig, err := Sign(creds.Key, md, msg)
		if err != nil || len(sig) != 3309 {
			t.Fatalf("sign md %s: %d bytes, %v", mdName(md), len(sig), err)
		}
		if err := Verify(p.leaf.Cert, md, msg, sig); err != nil {
			t.Errorf("verify md %s: %v", mdName(md), err)
		}
		if err := Verify(p.leaf.Cert, 0, msg, sig); err != nil {
			t.Errorf("verify md %s as md 0: %v", mdName(md), err)
		}
	}
	// A bad signature: random bytes of the right length, one bit flipped,
	// cut, another message.
	sig, _ := Sign(creds.Key, 0, msg)
	random := make([]byte, len(sig))
	rand.Read(random)
	flipped := bytes.Clone(sig)
	flipped[100] ^= 0x10
	for name, c := range map[string]struct{ msg, sig []byte }{
		"random":    {msg, random},
		"flipped":   {msg, flipped},
		"short":     {msg, sig[:len(sig)-1]},
		"long":      {msg, append(bytes.Clone(sig), 0)},
		"other msg": {msg[1:], sig},
	} {
		if err := Verify(p.leaf.Cert, 0, c.msg, c.sig); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A signature by another ML-DSA-65 key, and by the ML-DSA-44 key size.
	if s2, _ := Sign(other, 0, msg); Verify(p.leaf.Cert, 0, msg, s2) == nil {
		t.Error("another key's signature verifies")
	}
	if s3, _ := Sign(mustKey(t, "mldsa44"), 0, msg); Verify(p.leaf.Cert, 0, msg, s3) == nil {
		t.Error("an ML-DSA-44 signature verifies under an ML-DSA-65 key")
	}
}

// TestMLDSAChains: every combination of ML-DSA and ECDSA along the chain
// verifies, as do ML-DSA-44 and -87; chains that are broken are refused
// with the reason.
func TestMLDSAChains(t *testing.T) {
	for _, algs := range [][3]string{
		{"mldsa65", "mldsa65", "mldsa65"},
		{"p256", "mldsa65", "p256"},
		{"mldsa65", "p384", "mldsa65"},
		{"p256", "p256", "mldsa44"},
		{"mldsa87", "ed25519", "mldsa87"},
		{"mldsa44", "mldsa87", "ed25519"},
	} {
		p := mldsaPKI(t, algs[0], algs[1], algs[2])
		store := NewTrustStore(p.ca.Cert, p.im.Cert)
		if a, i := store.Len(); a != 1 || i != 1 {
			t.Fatalf("%v: store %d anchors, %d others", algs, a, i)
		}
		if _, err := store.VerifyPeer(p.leaf.DER(), srvName, t0); err != nil {
			t.Errorf("%v: %v", algs, err)
		}
		// The extensions are those of the other key types.
		if !p.im.Cert.IsCA || !p.im.Cert.MaxPathLenZero || p.im.Cert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign ||
			p.leaf.Cert.IsCA || len(p.leaf.Cert.ExtKeyUsage) != 1 || !bytes.Equal(p.leaf.Cert.AuthorityKeyId, p.im.Cert.SubjectKeyId) ||
			len(p.im.Cert.SubjectKeyId) == 0 {
			t.Errorf("%v: extensions differ from the other key types'", algs)
		}
	}

	p := mldsaPKI(t, "mldsa65", "mldsa65", "mldsa65")
	store := NewTrustStore(p.ca.Cert, p.im.Cert)
	other := mldsaPKI(t, "mldsa65", "mldsa65", "mldsa65") // same names, other keys
	// The leaf's signature tampered with: its TBS changed.
	bad := bytes.Clone(p.leaf.DER())
	i := bytes.Index(bad, []byte(srvName))
	bad[i] ^= 0x20 // "Test-1..."
	expiredIM := mustIssue(t, RoleIntermediate, imName, "mldsa65", p.ca, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
	leafOfExpired := mustIssue(t, RoleServer, srvName, "mldsa65", expiredIM, t0.Add(-time.Hour), t0.Add(time.Hour))
	leafByLeaf := mustIssue(t, RoleServer, "x.o7s", "mldsa65", p.leaf, t0.Add(-time.Hour), t0.Add(time.Hour))
	imUnderIM := mustIssue(t, RoleIntermediate, "im2.o7s", "mldsa65", p.im, t0.Add(-time.Hour), t0.Add(time.Hour))
	leafUnderIM2 := mustIssue(t, RoleServer, srvName, "mldsa65", imUnderIM, t0.Add(-time.Hour), t0.Add(time.Hour))
	// A store with ML-DSA and classical chains: a classical chain
	// crypto/x509 refuses is refused for its reason.
	classical, stranger := newPKI(t, "p256"), newPKI(t, "p256")
	mixed := NewTrustStore(p.ca.Cert, p.im.Cert, classical.ca.Cert, classical.im.Cert)
	if _, err := mixed.VerifyPeer(classical.leaf.DER(), srvName, t0); err != nil {
		t.Errorf("classical chain in a store with ML-DSA: %v", err)
	}
	for _, c := range []struct {
		name  string
		der   []byte
		store *TrustStore
		now   time.Time
		why   string
	}{
		{"classical, unknown CA", stranger.leaf.DER(), mixed, t0, "x509: certificate signed by unknown authority"},
		{"classical, expired", classical.leaf.DER(), mixed, t0.Add(48 * time.Hour), "its certificate expired"},
		{"tampered leaf", bad, store, t0, "does not verify"},
		{"other CA", other.leaf.DER(), store, t0, "does not verify"},
		{"expired leaf", p.leaf.DER(), store, t0.Add(48 * time.Hour), "its certificate expired"},
		{"not yet valid", p.leaf.DER(), store, t0.Add(-2 * time.Hour), "not yet valid"},
		{"expired intermediate", leafOfExpired.DER(), NewTrustStore(p.ca.Cert, expiredIM.Cert), t0, `the issuing CA "im.unittest.o7s"'s certificate expired`},
		{"issuer not a CA", leafByLeaf.DER(), NewTrustStore(p.ca.Cert, p.im.Cert, p.leaf.Cert), t0, "is not a CA"},
		{"path length", leafUnderIM2.DER(), NewTrustStore(p.ca.Cert, p.im.Cert, imUnderIM.Cert), t0, "allows 0 intermediate CAs below it"},
		{"no intermediate", p.leaf.DER(), NewTrustStore(p.ca.Cert), t0, `no chain to a trusted CA from its issuer "im.unittest.o7s"`},
	} {
		_, err := c.store.VerifyPeer(c.der, srvName, c.now)
		if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: %v; want %q", c.name, err, c.why)
		}
	}
}

// TestMLDSAKeyForms: keys in each form load; forms that disagree, seeds
// and expanded keys of the wrong size, parameters and damaged expanded keys
// are refused with ErrInvalidKey; SLH-DSA keys with ErrUnsupported.
func TestMLDSAKeyForms(t *testing.T) {
	p := mldsaSets[1]
	seed := seq(32)
	key := p.fromSeed(seed)
	exp := mldsaPrivateBytes(key)
	other := mldsaPrivateBytes(p.fromSeed(make([]byte, 32)))
	mk := func(form KeyForm, s, e []byte) []byte {
		inner, err := marshalKeyChoice(form, s, e)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: p.oid}, PrivateKey: inner})
		return pemBlock("PRIVATE KEY", der)
	}
	damaged := func(i int) []byte { b := bytes.Clone(exp); b[i] ^= 1; return b }
	for _, c := range []struct {
		name string
		pem  []byte
		why  string
	}{
		{"both disagree", mk(FormBoth, seed, other), "its expanded key does not match its seed"},
		{"short seed", mk(FormSeed, seed[:31], nil), "seed of 31 bytes, want 32"},
		{"long expanded", mk(FormExpanded, nil, append(bytes.Clone(exp), 0)), "expanded private key of 4033 bytes, want 4032"},
		{"tr damaged", mk(FormExpanded, nil, damaged(70)), "tr is not the hash of its public key"},
		{"rho damaged", mk(FormExpanded, nil, damaged(3)), "tr is not the hash of its public key"},
		{"s1 damaged", mk(FormExpanded, nil, damaged(200)), "damaged key"},
		{"t0 destroyed", mk(FormExpanded, nil, append(bytes.Clone(exp[:len(exp)-2000]), bytes.Repeat([]byte{0x55}, 2000)...)), "its signatures do not verify"},
		{"garbage", mk(FormSeed, nil, nil)[:40], "no PEM private key block"},
	} {
		_, err := ParsePrivateKeyPEM(c.pem)
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: %v; want %q", c.name, err, c.why)
		}
	}
	// Parameters in the algorithm identifier.
	inner, _ := marshalKeyChoice(FormSeed, seed, nil)
	der, _ := asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: p.oid, Parameters: asn1.NullRawValue}, PrivateKey: inner})
	if _, err := ParsePrivateKeyPEM(pemBlock("PRIVATE KEY", der)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("parameters: %v", err)
	}
	// SLH-DSA stays unsupported, by name.
	der, _ = asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 20}}, PrivateKey: inner})
	if _, err := ParsePrivateKeyPEM(pemBlock("PRIVATE KEY", der)); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "SLH-DSA-SHA2-128s") {
		t.Errorf("SLH-DSA key: %v", err)
	}
	// A key loaded without its seed is written back in expanded form.
	k, err := ParsePrivateKeyPEM(mk(FormExpanded, nil, exp))
	if err != nil {
		t.Fatal(err)
	}
	b, err := PrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	if k2, err := ParsePrivateKeyPEM(b); err != nil || !publicKeysEqual(k2.Public(), key.Public()) {
		t.Errorf("expanded key written back: %v", err)
	}
}
