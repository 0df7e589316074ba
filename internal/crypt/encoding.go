package crypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// Key and ciphertext sizes in bytes (FIPS 203; irmd.md §4.3).
const (
	mlkem768EKSize   = 1184
	mlkem768CTSize   = 1088
	mlkem1024EKSize  = 1568
	mlkem1024CTSize  = 1568
	x25519Size       = 32
	mlkemSeedSize    = 64 // d ‖ z of FIPS 203, the form Go keeps private keys in
	mlkemSharedSize  = 32
	mlkem512EKSize   = 800
	x448SPKIKeySize  = 56
	hybrid768PubSize = mlkem768EKSize + x25519Size // 1216
	hybrid768CTSize  = mlkem768CTSize + x25519Size // 1120
	hybrid1024Size   = 1624                        // X448MLKEM1024 public key and ciphertext
)

// MaxKexLen is the largest public key or ciphertext the reference accepts
// (its MSGBUFSZ).
const MaxKexLen = 2048

// Object identifiers of the SubjectPublicKeyInfo algorithms this package
// recognises beyond what crypto/x509 parses.
var (
	oidMLKEM512  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 1}
	oidMLKEM768  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	oidMLKEM1024 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}
	oidX448      = asn1.ObjectIdentifier{1, 3, 101, 111}
	oidDHPKCS3   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 3, 1} // dhKeyAgreement
	oidDHX942    = asn1.ObjectIdentifier{1, 2, 840, 10046, 2, 1}     // dhpublicnumber
	oidX25519    = asn1.ObjectIdentifier{1, 3, 101, 110}
	oidECPublic  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1} // id-ecPublicKey
	// Named curves, the parameters of id-ecPublicKey.
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// spki is SubjectPublicKeyInfo (RFC 5280 §4.1).
type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// marshalRawSPKI returns the DER SubjectPublicKeyInfo of a key whose
// AlgorithmIdentifier has no parameters (ML-KEM, RFC 9935; X448, RFC 8410).
func marshalRawSPKI(oid asn1.ObjectIdentifier, key []byte) []byte {
	b, err := asn1.Marshal(spki{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oid},
		PublicKey: asn1.BitString{Bytes: key, BitLength: 8 * len(key)},
	})
	if err != nil {
		panic("crypt: marshalling a SubjectPublicKeyInfo: " + err.Error())
	}
	return b
}

// marshalECDH returns the DER SubjectPublicKeyInfo of a NIST-curve or X25519
// public key, as OpenSSL's i2d_PUBKEY writes it: named curve, uncompressed
// point.
func marshalECDH(k *ecdh.PublicKey) []byte {
	b, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic("crypt: marshalling an ECDH public key: " + err.Error())
	}
	return b
}

// curveKex maps crypto/ecdh curves to their NIDs and back.
var curveKex = map[ecdh.Curve]Kex{
	ecdh.P256(): Prime256v1, ecdh.P384(): Secp384r1, ecdh.P521(): Secp521r1, ecdh.X25519(): X25519,
}

func kexCurve(k Kex) ecdh.Curve {
	for c, n := range curveKex {
		if n == k {
			return c
		}
	}
	return nil
}

// parseDER parses a DER SubjectPublicKeyInfo carried in an OAP header (flag F
// clear). It returns the algorithm and, for the ones this build runs, the key
// (*ecdh.PublicKey or ML-KEM encapsulation-key bytes). The bytes must be the
// canonical encoding: whatever parses re-encodes to exactly b.
func parseDER(b []byte) (Kex, *ecdh.PublicKey, []byte, error) {
	var s spki
	rest, err := asn1.Unmarshal(b, &s)
	if err != nil || len(rest) > 0 {
		return 0, nil, nil, fmt.Errorf("%w: not a DER SubjectPublicKeyInfo", ErrInvalidKey)
	}
	oid := s.Algorithm.Algorithm
	raw := func(k Kex, size int) (Kex, *ecdh.PublicKey, []byte, error) {
		key := s.PublicKey.Bytes
		if len(key) != size || !bytes.Equal(marshalRawSPKI(oid, key), b) {
			return k, nil, nil, fmt.Errorf("%w: malformed %s public key (%d bytes)", ErrInvalidKey, k, len(b))
		}
		if !k.Supported() {
			return k, nil, nil, fmt.Errorf("%w: %s", ErrUnsupported, k)
		}
		return k, nil, key, nil
	}
	switch {
	case oid.Equal(oidMLKEM768):
		return raw(MLKEM768, mlkem768EKSize)
	case oid.Equal(oidMLKEM1024):
		return raw(MLKEM1024, mlkem1024EKSize)
	case oid.Equal(oidMLKEM512):
		return raw(MLKEM512, mlkem512EKSize)
	case oid.Equal(oidX448):
		return raw(X448, x448SPKIKeySize)
	case oid.Equal(oidDHPKCS3), oid.Equal(oidDHX942):
		// An RFC 7919 group (ffdhe2048/3072/4096); which one is in the
		// parameters, but none is supported.
		return 0, nil, nil, fmt.Errorf("%w: finite-field DH public key", ErrUnsupported)
	}
	var want Kex
	switch {
	case oid.Equal(oidX25519):
		want = X25519
	case oid.Equal(oidECPublic):
		var curve asn1.ObjectIdentifier
		if rest, err := asn1.Unmarshal(s.Algorithm.Parameters.FullBytes, &curve); err != nil || len(rest) > 0 {
			return 0, nil, nil, fmt.Errorf("%w: EC public key without a named curve", ErrInvalidKey)
		}
		switch {
		case curve.Equal(oidP256):
			want = Prime256v1
		case curve.Equal(oidP384):
			want = Secp384r1
		case curve.Equal(oidP521):
			want = Secp521r1
		default:
			return 0, nil, nil, fmt.Errorf("%w: EC curve %v", ErrUnknownAlgorithm, curve)
		}
	default:
		return 0, nil, nil, fmt.Errorf("%w: public key algorithm %v", ErrUnknownAlgorithm, oid)
	}
	pub, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return want, nil, nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, want, err)
	}
	var ek *ecdh.PublicKey
	switch k := pub.(type) {
	case *ecdh.PublicKey:
		ek = k
	case *ecdsa.PublicKey:
		if ek, err = k.ECDH(); err != nil {
			return want, nil, nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, want, err)
		}
	}
	if ek == nil {
		return want, nil, nil, fmt.Errorf("%w: %s key parsed as %T", ErrInvalidKey, want, pub)
	}
	kex, ok := curveKex[ek.Curve()]
	if !ok || kex != want {
		return want, nil, nil, fmt.Errorf("%w: %s key parsed as %T", ErrInvalidKey, want, pub)
	}
	if !bytes.Equal(marshalECDH(ek), b) {
		return kex, nil, nil, fmt.Errorf("%w: non-canonical %s public key", ErrInvalidKey, kex)
	}
	return kex, ek, nil, nil
}
