package crypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
)

// Key files (irmd.md §4.4). For KEM client encapsulation the client holds the
// server's static public key (client/<name>/kex.srv.pub.pem, a PEM
// SubjectPublicKeyInfo, or kex.srv.pub.raw, the raw hybrid key for
// ParsePublicKey(b, true)) and the server its private key
// (server/<name>/kex.key.pem, unencrypted PKCS#8). The reference's test suite
// also loads X25519 keys from PEM.

// ParsePublicKeyPEM parses the first PEM block of b, which must be a
// "PUBLIC KEY" (SubjectPublicKeyInfo) of a supported algorithm.
func ParsePublicKeyPEM(b []byte) (*PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: no PEM PUBLIC KEY block", ErrInvalidKey)
	}
	return ParsePublicKey(blk.Bytes, false)
}

// pkcs8 is OneAsymmetricKey (RFC 5958) without its optional fields.
type pkcs8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
	Rest       asn1.RawValue `asn1:"optional"`
}

// mlkemBoth is the "both" form of an ML-KEM private key (RFC 9935): seed and
// expanded decapsulation key.
type mlkemBoth struct {
	Seed     []byte
	Expanded []byte
}

// ParseKeyPairPEM parses the first PEM block of b as an unencrypted private
// key: "PRIVATE KEY" (PKCS#8) for ML-KEM-768/1024, X25519 and the NIST curves,
// or "EC PRIVATE KEY" (SEC 1). An ML-KEM key must contain its 64-byte seed
// (the seed-only or the seed-and-expanded form of RFC 9935); the
// expanded-only form fails with ErrUnsupported, because crypto/mlkem builds
// keys from seeds only. With both forms present, the expanded key must match
// the seed.
func ParseKeyPairPEM(b []byte) (*KeyPair, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrInvalidKey)
	}
	switch blk.Type {
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		return ecKeyPair(k)
	case "PRIVATE KEY":
	default:
		return nil, fmt.Errorf("%w: PEM block %q is no private key", ErrInvalidKey, blk.Type)
	}
	var p pkcs8
	if rest, err := asn1.Unmarshal(blk.Bytes, &p); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: not PKCS#8", ErrInvalidKey)
	}
	oid := p.Algorithm.Algorithm
	var k Kex
	switch {
	case oid.Equal(oidMLKEM768):
		k = MLKEM768
	case oid.Equal(oidMLKEM1024):
		k = MLKEM1024
	case oid.Equal(oidMLKEM512):
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, MLKEM512)
	default:
		key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		return ecKeyPair(key)
	}
	var raw asn1.RawValue
	if rest, err := asn1.Unmarshal(p.PrivateKey, &raw); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: %s private key", ErrInvalidKey, k)
	}
	var seed, expanded []byte
	switch {
	case raw.Class == asn1.ClassContextSpecific && raw.Tag == 0 && !raw.IsCompound: // seed [0] IMPLICIT OCTET STRING
		seed = raw.Bytes
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagOctetString:
		return nil, fmt.Errorf("%w: %s private key without its seed", ErrUnsupported, k)
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagSequence:
		var both mlkemBoth
		if rest, err := asn1.Unmarshal(raw.FullBytes, &both); err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("%w: %s private key", ErrInvalidKey, k)
		}
		seed, expanded = both.Seed, both.Expanded
	default:
		return nil, fmt.Errorf("%w: %s private key", ErrInvalidKey, k)
	}
	kp, err := NewKeyPair(k, seed)
	if err != nil {
		return nil, err
	}
	if expanded != nil && !expandedMatches(kp, expanded, seed) {
		return nil, fmt.Errorf("%w: %s expanded key does not match its seed", ErrInvalidKey, k)
	}
	return kp, nil
}

// expandedMatches checks the parts of an expanded ML-KEM decapsulation key
// (FIPS 203: dk_PKE ‖ ek ‖ H(ek) ‖ z) that can be compared without
// re-deriving dk_PKE: ek, and z, the second half of the seed.
func expandedMatches(kp *KeyPair, dk, seed []byte) bool {
	var ek []byte
	if kp.dk768 != nil {
		ek = kp.pub.ek768.Bytes()
	} else {
		ek = kp.pub.ek1024.Bytes()
	}
	pke := len(ek) - 32 // dk_PKE has k·384 bytes, ek k·384 + 32
	return len(dk) == pke+len(ek)+64 &&
		bytes.Equal(dk[pke:pke+len(ek)], ek) &&
		bytes.Equal(dk[len(dk)-32:], seed[32:])
}

// ecKeyPair turns a parsed X25519 or NIST-curve private key into a KeyPair.
func ecKeyPair(key any) (*KeyPair, error) {
	var ek *ecdh.PrivateKey
	switch k := key.(type) {
	case *ecdh.PrivateKey:
		ek = k
	case *ecdsa.PrivateKey:
		var err error
		if ek, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnknownAlgorithm, err)
		}
	default:
		return nil, fmt.Errorf("%w: %T private key", ErrUnknownAlgorithm, key)
	}
	k, ok := curveKex[ek.Curve()]
	if !ok {
		return nil, fmt.Errorf("%w: curve %v", ErrUnknownAlgorithm, ek.Curve())
	}
	return NewKeyPair(k, ek.Bytes())
}
