package crypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"

	circl1024 "github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	circl768 "github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

// Expanded ML-KEM decapsulation keys (FIPS 203 §7.1, ML-KEM.KeyGen output
// dk): the form OpenSSL stores a server's static hybrid key in
// (kex.key.raw) and one of the three forms of an ML-KEM PKCS#8 key (RFC
// 9935). crypto/mlkem builds keys from their 64-byte seed only, so a key
// known only in expanded form is held by circl's ML-KEM, which decapsulates
// from the expanded key itself.
//
// Layout, k = 3 (ML-KEM-768) or 4 (ML-KEM-1024), every part as in FIPS 203:
//
//	dk_PKE  384·k bytes   ByteEncode12 of ŝ (NTT domain)
//	ek      384·k + 32    ByteEncode12 of t̂ ‖ ρ, the encapsulation key
//	H(ek)   32            SHA3-256 of ek
//	z       32            implicit-rejection secret
//
// 2400 bytes for ML-KEM-768, 3168 for ML-KEM-1024. A key loads only if
// H(ek) is the hash of ek (FIPS 203 §7.3, decapsulation key check), ek
// passes the encapsulation key check (every coefficient below q) and so
// does dk_PKE (canonical, as OpenSSL requires): a key that fails any of
// these is damaged or not an ML-KEM key.
//
// OpenSSL's raw X25519MLKEM768 private key (2432 bytes) is the expanded
// ML-KEM-768 key followed by the 32-byte X25519 private key: the ML-KEM
// part first, as in the public key and the ciphertext.

// Expanded decapsulation key sizes, in bytes.
const (
	mlkem768DKSize  = circl768.PrivateKeySize  // 2400
	mlkem1024DKSize = circl1024.PrivateKeySize // 3168
	// HybridRawKeySize is the size of a raw X25519MLKEM768 private key
	// (kex.key.raw).
	HybridRawKeySize = mlkem768DKSize + x25519Size // 2432
	hybrid1024RawKey = 3224                        // X448MLKEM1024, unsupported
)

// ParseRawKeyPair parses a server's raw static hybrid KEM private key
// (kex.key.raw): OpenSSL's 2432-byte X25519MLKEM768 form described above.
// The X448MLKEM1024 form (3224 bytes) fails with ErrUnsupported; any other
// length, and a damaged key, with ErrInvalidKey.
func ParseRawKeyPair(b []byte) (*KeyPair, error) {
	switch len(b) {
	case HybridRawKeySize:
	case hybrid1024RawKey:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, X448MLKEM1024)
	default:
		return nil, fmt.Errorf("%w: raw private key of %d bytes is no hybrid KEM key (want %d for %s)",
			ErrInvalidKey, len(b), HybridRawKeySize, X25519MLKEM768)
	}
	kp, err := newExpandedKeyPair(MLKEM768, b[:mlkem768DKSize])
	if err != nil {
		return nil, fmt.Errorf("%w (%s raw private key)", err, X25519MLKEM768)
	}
	if kp.ec, err = ecdh.X25519().NewPrivateKey(b[mlkem768DKSize:]); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, X25519MLKEM768, err)
	}
	p := &kp.pub
	p.kex = X25519MLKEM768
	p.ec = kp.ec.PublicKey()
	p.enc = append(p.ek768.Bytes(), p.ec.Bytes()...)
	return kp, nil
}

// expandedSize returns the expanded decapsulation key size of an ML-KEM.
func expandedSize(k Kex) int {
	if k == MLKEM1024 {
		return mlkem1024DKSize
	}
	return mlkem768DKSize
}

// newExpandedKeyPair returns the ML-KEM-768 or ML-KEM-1024 key pair of the
// expanded decapsulation key dk, after the checks described above.
func newExpandedKeyPair(k Kex, dk []byte) (*KeyPair, error) {
	if n := expandedSize(k); len(dk) != n {
		return nil, fmt.Errorf("%w: %s expanded private key of %d bytes, want %d", ErrInvalidKey, k, len(dk), n)
	}
	kp := &KeyPair{pub: PublicKey{kex: k}}
	p := &kp.pub
	var repacked []byte
	var err error
	switch k {
	case MLKEM768:
		kp.cdk768 = new(circl768.PrivateKey)
		if err = kp.cdk768.Unpack(dk); err == nil {
			repacked = make([]byte, len(dk))
			kp.cdk768.Pack(repacked)
		}
	case MLKEM1024:
		kp.cdk1024 = new(circl1024.PrivateKey)
		if err = kp.cdk1024.Unpack(dk); err == nil {
			repacked = make([]byte, len(dk))
			kp.cdk1024.Pack(repacked)
		}
	default:
		return nil, fmt.Errorf("%w: %s has no expanded ML-KEM key", ErrInvalidKey, k)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s expanded private key: the hash of its encapsulation key does not match (damaged key)", ErrInvalidKey, k)
	}
	if !bytes.Equal(repacked, dk) {
		return nil, fmt.Errorf("%w: %s expanded private key: coefficients out of range (not a canonical encoding)", ErrInvalidKey, k)
	}
	pke := (len(dk) - 96) / 2 // 384·k: len(dk) = 384·k + (384·k + 32) + 64
	ek := dk[pke : len(dk)-64]
	switch k {
	case MLKEM768:
		p.ek768, err = mlkem.NewEncapsulationKey768(ek)
		if err == nil {
			p.enc = marshalRawSPKI(oidMLKEM768, ek)
		}
	case MLKEM1024:
		p.ek1024, err = mlkem.NewEncapsulationKey1024(ek)
		if err == nil {
			p.enc = marshalRawSPKI(oidMLKEM1024, ek)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s expanded private key: its encapsulation key: %w", ErrInvalidKey, k, err)
	}
	return kp, nil
}

// expandSeed returns the expanded decapsulation key of the 64-byte ML-KEM
// seed d ‖ z, to compare with a stored one.
func expandSeed(k Kex, seed []byte) []byte {
	dk := make([]byte, expandedSize(k))
	if k == MLKEM1024 {
		_, sk := circl1024.NewKeyFromSeed(seed)
		sk.Pack(dk)
	} else {
		_, sk := circl768.NewKeyFromSeed(seed)
		sk.Pack(dk)
	}
	return dk
}

// decapsulate768 and decapsulate1024 return the ML-KEM shared secret of ct
// with whichever form of the key kp holds; ct has the right length.
func (kp *KeyPair) decapsulate768(ct []byte) ([]byte, error) {
	if kp.dk768 != nil {
		return kp.dk768.Decapsulate(ct)
	}
	ss := make([]byte, circl768.SharedKeySize)
	kp.cdk768.DecapsulateTo(ss, ct)
	return ss, nil
}

func (kp *KeyPair) decapsulate1024(ct []byte) ([]byte, error) {
	if kp.dk1024 != nil {
		return kp.dk1024.Decapsulate(ct)
	}
	ss := make([]byte, circl1024.SharedKeySize)
	kp.cdk1024.DecapsulateTo(ss, ct)
	return ss, nil
}

// expanded returns the expanded decapsulation key of an ML-KEM key pair
// (the ML-KEM half of a hybrid).
func (kp *KeyPair) expanded() []byte {
	switch {
	case kp.dk768 != nil:
		return expandSeed(MLKEM768, kp.dk768.Bytes())
	case kp.dk1024 != nil:
		return expandSeed(MLKEM1024, kp.dk1024.Bytes())
	case kp.cdk768 != nil:
		dk := make([]byte, mlkem768DKSize)
		kp.cdk768.Pack(dk)
		return dk
	case kp.cdk1024 != nil:
		dk := make([]byte, mlkem1024DKSize)
		kp.cdk1024.Pack(dk)
		return dk
	}
	return nil
}

// MarshalRaw returns an X25519MLKEM768 key pair in the raw form of
// kex.key.raw (ParseRawKeyPair).
func (kp *KeyPair) MarshalRaw() ([]byte, error) {
	if kp.Kex() != X25519MLKEM768 {
		return nil, fmt.Errorf("%w: %s has no raw private key form", ErrInvalidKey, kp.Kex())
	}
	return append(kp.expanded(), kp.ec.Bytes()...), nil
}

// KeyForm selects the forms an ML-KEM or ML-DSA PKCS#8 key is written in.
type KeyForm int

// Key forms (RFC 9935, RFC 9881).
const (
	FormSeed     KeyForm = iota // seed [0] IMPLICIT OCTET STRING
	FormExpanded                // expandedKey OCTET STRING
	FormBoth                    // SEQUENCE { seed, expandedKey }
)

// MarshalKEMPrivateKeyPEM returns an ML-KEM-768/1024 key pair as a PKCS#8
// "PRIVATE KEY" PEM block (kex.key.pem) in the given form. The seed forms
// need a key pair made from its seed.
func MarshalKEMPrivateKeyPEM(kp *KeyPair, form KeyForm) ([]byte, error) {
	var oid asn1.ObjectIdentifier
	var seed []byte
	switch {
	case kp.Kex() == MLKEM768:
		oid = oidMLKEM768
		if kp.dk768 != nil {
			seed = kp.dk768.Bytes()
		}
	case kp.Kex() == MLKEM1024:
		oid = oidMLKEM1024
		if kp.dk1024 != nil {
			seed = kp.dk1024.Bytes()
		}
	default:
		return nil, fmt.Errorf("%w: %s is no ML-KEM key", ErrInvalidKey, kp.Kex())
	}
	if seed == nil && form != FormExpanded {
		return nil, fmt.Errorf("%w: the key's seed is not known", ErrInvalidKey)
	}
	inner, err := marshalKeyChoice(form, seed, kp.expanded())
	if err != nil {
		return nil, err
	}
	return marshalPKCS8PEM(oid, inner)
}

// marshalKeyChoice encodes the private key CHOICE parseKeyChoice reads.
func marshalKeyChoice(form KeyForm, seed, expanded []byte) ([]byte, error) {
	var v any
	switch form {
	case FormSeed:
		v = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: seed}
	case FormExpanded:
		v = expanded
	case FormBoth:
		v = keyBoth{Seed: seed, Expanded: expanded}
	default:
		return nil, fmt.Errorf("%w: key form %d", ErrInvalidKey, form)
	}
	b, err := asn1.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return b, nil
}

// marshalPKCS8PEM wraps a private key in PKCS#8 (version 0, algorithm oid
// with no parameters) and PEM.
func marshalPKCS8PEM(oid asn1.ObjectIdentifier, inner []byte) ([]byte, error) {
	der, err := asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oid}, PrivateKey: inner})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
