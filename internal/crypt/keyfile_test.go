package crypt

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"testing"
)

// PEM files written by an independent implementation (OpenSSL via Python):
// the RFC 7748 Alice X25519 key, the P-256 key 01…01 (SEC 1), and the
// ML-KEM-1024 key of seed 00…3f (PKCS#8, seed-only form).
const (
	x25519PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIHcHbQpzGKV9PBbBclGyZkXfTC+H68CZKrF3+6UduSwq
-----END PRIVATE KEY-----
`
	p256PEM = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBoAoGCCqGSM49
AwEHoUQDQgAEb/A7lJJBzh2t1DUZ5pYOCoW0GmmgXDKBA6orzhWUyhY8T3U6Vb8B
3FP2wLDH7ueLQMb/fSWpbiKCuYnO9xwUSg==
-----END EC PRIVATE KEY-----
`
	mlkem1024PEM = `-----BEGIN PRIVATE KEY-----
MFQCAQAwCwYJYIZIAWUDBAQDBEKAQAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZ
GhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=
-----END PRIVATE KEY-----
`
)

func TestParseKeyPairPEM(t *testing.T) {
	for _, c := range []struct {
		pem    string
		kex    Kex
		pubHex string // expected public key (hex), or its SHA-256 for ML-KEM
	}{
		{x25519PEM, X25519, dheVectors[0].pubA},
		{p256PEM, Prime256v1, dheVectors[1].pubA},
		{mlkem1024PEM, MLKEM1024, mlkem1024SPKISHA},
	} {
		kp, err := ParseKeyPairPEM([]byte(c.pem))
		if err != nil || kp.Kex() != c.kex {
			t.Fatalf("%s: %v", c.kex, err)
		}
		got := kp.PublicKey().Bytes()
		if c.kex.IsKEM() {
			if sha(got) != c.pubHex {
				t.Errorf("%s: public key SHA-256 %s", c.kex, sha(got))
			}
		} else if !bytes.Equal(got, unhex(t, c.pubHex)) {
			t.Errorf("%s: public key %x", c.kex, got)
		}
		// The public half as a PEM file.
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: got})
		p, err := ParsePublicKeyPEM(pubPEM)
		if err != nil || !bytes.Equal(p.Bytes(), got) {
			t.Errorf("%s: public PEM: %v", c.kex, err)
		}
	}
}

// mlkemPKCS8 builds an ML-KEM-768 PKCS#8 key with the given privateKey content.
func mlkemPKCS8(t *testing.T, inner []byte) []byte {
	b, err := asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidMLKEM768}, PrivateKey: inner})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})
}

func TestParseKeyPairPEMForms(t *testing.T) {
	seed := seq(64)
	kp, _ := NewKeyPair(MLKEM768, seed)
	expanded := expandSeed(MLKEM768, seed) // dk_PKE ‖ ek ‖ H(ek) ‖ z
	both, _ := asn1.Marshal(keyBoth{Seed: seed, Expanded: expanded})
	seedOnly, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: seed})
	expOnly, _ := asn1.Marshal(expanded)
	badExp := bytes.Clone(expanded)
	badExp[1152] ^= 1
	bothBad, _ := asn1.Marshal(keyBoth{Seed: seed, Expanded: badExp})

	for _, c := range []struct {
		name string
		pem  []byte
		want error
	}{
		{"seed only", mlkemPKCS8(t, seedOnly), nil},
		{"seed and expanded", mlkemPKCS8(t, both), nil},
		{"expanded only", mlkemPKCS8(t, expOnly), nil},
		{"expanded does not match", mlkemPKCS8(t, bothBad), ErrInvalidKey},
		{"garbage inside", mlkemPKCS8(t, []byte{1, 2, 3}), ErrInvalidKey},
		{"no PEM", []byte("hello"), ErrInvalidKey},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), ErrInvalidKey},
	} {
		got, err := ParseKeyPairPEM(c.pem)
		switch {
		case c.want == nil && (err != nil || !bytes.Equal(got.PublicKey().Bytes(), kp.PublicKey().Bytes())):
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := ParsePublicKeyPEM([]byte(x25519PEM)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("private key as public: %v", err)
	}
}
