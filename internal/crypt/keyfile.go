package crypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// Key files (irmd.md §4.4). For KEM client encapsulation the client holds the
// server's static public key (client/<name>/kex.srv.pub.pem, a PEM
// SubjectPublicKeyInfo, or kex.srv.pub.raw, the raw hybrid key for
// ParsePublicKey(b, true)) and the server its private key
// (server/<name>/kex.key.pem, unencrypted PKCS#8, or kex.key.raw for a
// hybrid: ParseRawKeyPair). The reference's test suite
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

// keyBoth is the "both" form of an ML-KEM (RFC 9935) or ML-DSA (RFC 9881)
// private key: seed and expanded key.
type keyBoth struct {
	Seed     []byte
	Expanded []byte
}

// ParseKeyPairPEM parses the first PEM block of b as an unencrypted private
// key: "PRIVATE KEY" (PKCS#8) for ML-KEM-768/1024, X25519 and the NIST curves,
// or "EC PRIVATE KEY" (SEC 1). An ML-KEM key may be in any of the three forms
// of RFC 9935: its 64-byte seed, its expanded decapsulation key
// (mlkemexp.go) or both; with both, the expanded key must be the one the
// seed makes.
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
	if len(p.Algorithm.Parameters.FullBytes) != 0 {
		return nil, fmt.Errorf("%w: %s private key with algorithm parameters", ErrInvalidKey, k)
	}
	seed, expanded, err := parseKeyChoice(p.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %s private key: %w", ErrInvalidKey, k, err)
	}
	if seed == nil {
		return newExpandedKeyPair(k, expanded)
	}
	kp, err := NewKeyPair(k, seed)
	if err != nil {
		return nil, err
	}
	if expanded != nil && !bytes.Equal(expanded, expandSeed(k, seed)) {
		return nil, fmt.Errorf("%w: %s private key: its expanded key does not match its seed", ErrInvalidKey, k)
	}
	return kp, nil
}

// parseKeyChoice parses the private key of a PKCS#8 ML-KEM (RFC 9935) or
// ML-DSA (RFC 9881) key, a CHOICE of three forms:
//
//	seed         [0] IMPLICIT OCTET STRING
//	expandedKey  OCTET STRING
//	both         SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING }
//
// It returns the seed, the expanded key or both (nil for an absent part),
// with no trailing bytes; the caller checks the lengths.
func parseKeyChoice(der []byte) (seed, expanded []byte, err error) {
	var raw asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &raw); err != nil || len(rest) > 0 {
		return nil, nil, errors.New("malformed private key")
	}
	switch {
	case raw.Class == asn1.ClassContextSpecific && raw.Tag == 0 && !raw.IsCompound:
		if len(raw.Bytes) == 0 {
			return nil, nil, errors.New("empty seed")
		}
		return raw.Bytes, nil, nil
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagOctetString && !raw.IsCompound:
		if len(raw.Bytes) == 0 {
			return nil, nil, errors.New("empty expanded key")
		}
		return nil, raw.Bytes, nil
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagSequence && raw.IsCompound:
		var both keyBoth
		if rest, err := asn1.Unmarshal(raw.FullBytes, &both); err != nil || len(rest) > 0 {
			return nil, nil, errors.New("malformed seed and expanded key")
		}
		if len(both.Seed) == 0 || len(both.Expanded) == 0 {
			return nil, nil, errors.New("empty seed or expanded key")
		}
		return both.Seed, both.Expanded, nil
	}
	return nil, nil, errors.New("neither seed nor expanded key")
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
