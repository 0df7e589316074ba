package crypt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"
)

// FuzzVerifyPeer: certificates from the wire never panic the parser or the
// chain check; a refusal wraps ErrCertificate; what parses re-encodes to
// the same DER and is accepted only under the test PKI's names.
func FuzzVerifyPeer(f *testing.F) {
	p := newPKI(f, "p256")
	e := newPKI(f, "ed25519")
	m := mldsaPKI(f, "mldsa44", "p256", "mldsa65") // a mixed chain
	store := NewTrustStore(p.ca.Cert, p.im.Cert, e.ca.Cert, e.im.Cert, m.ca.Cert, m.im.Cert)
	for _, der := range [][]byte{p.leaf.DER(), e.leaf.DER(), p.im.DER(), p.ca.DER(), mldsaCertDER(f), m.leaf.DER(), m.im.DER(), m.ca.DER(), {0x30, 0x80}, nil} {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		peer, err := store.VerifyPeer(der, "", t0)
		if err != nil {
			if !errors.Is(err, ErrCertificate) {
				t.Fatalf("refusal %v does not wrap ErrCertificate", err)
			}
			return
		}
		if !bytes.Equal(peer.Cert.Raw, der) {
			t.Fatal("accepted certificate is not the input")
		}
		if _, err := store.VerifyPeer(der, peer.Name+"x", t0); err == nil {
			t.Fatalf("accepted for a name other than its CN %q", peer.Name)
		}
	})
}

// FuzzVerifySignature: signatures from the wire never panic Verify, for
// every key type and digest; an Ed25519 signature that verifies is the one
// signature of the message (Ed25519 is deterministic), and no signature
// verifies over a message it was not made for.
func FuzzVerifySignature(f *testing.F) {
	keys := signers(f)
	keys["mldsa44"], keys["mldsa65"] = mustKey(f, "mldsa44"), mustKey(f, "mldsa65")
	names := []string{"p256", "p384", "p521", "ed25519", "rsa2048", "mldsa44", "mldsa65"}
	msg := []byte("OAP signed region")
	for i, n := range names {
		for j, md := range allMD {
			if sig, err := Sign(keys[n], md, msg); err == nil {
				f.Add(uint8(i), uint8(j), sig, false)
			}
		}
	}
	f.Add(uint8(0), uint8(0), []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, true)
	f.Fuzz(func(t *testing.T, ki, mi uint8, sig []byte, other bool) {
		key := keys[names[int(ki)%len(names)]]
		md := allMD[int(mi)%len(allMD)]
		m := msg
		if other {
			m = []byte("another message")
		}
		err := VerifyKey(key.Public(), md, m, sig)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("refusal %v does not wrap ErrSignature", err)
			}
			return
		}
		if other {
			t.Fatal("signature of msg verified over another message")
		}
		if ed, ok := key.(ed25519.PrivateKey); ok && !bytes.Equal(sig, ed25519.Sign(ed, m)) {
			t.Fatal("a second Ed25519 signature verified")
		}
	})
}

// FuzzParseCertificatePEM: crt.pem and CA files never panic the loader.
func FuzzParseCertificatePEM(f *testing.F) {
	p := newPKI(f, "p384")
	f.Add(CertificatePEM(p.leaf.Cert))
	f.Add(append([]byte("junk\n"), CertificatePEM(p.ca.Cert)...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add(readVector(f, "ML-DSA-44.crt"))
	f.Add(readVector(f, "ML-DSA-65.crt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCertificatePEM(b)
		if err != nil {
			if !errors.Is(err, ErrCertificate) {
				t.Fatalf("refusal %v does not wrap ErrCertificate", err)
			}
			return
		}
		if _, err := ParseCertificate(c.Raw); err != nil {
			t.Fatalf("parsed certificate does not parse again: %v", err)
		}
		_, _ = CommonName(c)
	})
}

// FuzzParsePrivateKeyPEM: key.pem never panics the loader (ML-DSA's three
// forms and their checks included); a refusal wraps ErrInvalidKey or
// ErrUnsupported; a key that loads signs what its public key verifies.
func FuzzParsePrivateKeyPEM(f *testing.F) {
	for _, alg := range []string{"p256", "ed25519", "mldsa44"} {
		b, err := PrivateKeyPEM(mustKey(f, alg))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	key := mldsaSets[0].fromSeed(seq(32))
	for _, form := range []KeyForm{FormExpanded, FormBoth} {
		inner, _ := marshalKeyChoice(form, seq(32), mldsaPrivateBytes(key))
		der, _ := asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidMLDSA44}, PrivateKey: inner})
		f.Add(pemBlock("PRIVATE KEY", der))
	}
	f.Add(readVector(f, "bad-ML-DSA-44-2.priv"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePrivateKeyPEM(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("refusal %v wraps neither ErrInvalidKey nor ErrUnsupported", err)
			}
			return
		}
		msg := []byte("OAP signed region")
		sig, err := Sign(k, 0, msg)
		if err != nil {
			if _, rsa := k.Public().(*rsa.PublicKey); rsa {
				return
			}
			t.Fatalf("a loaded %s key does not sign: %v", KeyType(k.Public()), err)
		}
		if err := VerifyKey(k.Public(), 0, msg, sig); err != nil {
			t.Fatalf("a loaded %s key's signature does not verify: %v", KeyType(k.Public()), err)
		}
	})
}
