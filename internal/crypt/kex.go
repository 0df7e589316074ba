package crypt

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"fmt"

	circl1024 "github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	circl768 "github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

// PublicKey is a peer's key-exchange public key as carried in an OAP header:
// an (EC)DH public key or a KEM encapsulation key.
type PublicKey struct {
	kex Kex
	enc []byte // wire encoding, as received or generated
	ec  *ecdh.PublicKey
	// ML-KEM encapsulation keys (one set, per kex); the hybrid uses ek768
	// and ec (its X25519 half).
	ek768  *mlkem.EncapsulationKey768
	ek1024 *mlkem.EncapsulationKey1024
}

// Kex returns the key's algorithm.
func (p *PublicKey) Kex() Kex { return p.kex }

// Bytes returns the wire encoding of the key (DER SubjectPublicKeyInfo, or
// raw for a hybrid KEM). The caller must not modify it.
func (p *PublicKey) Bytes() []byte { return p.enc }

// Raw reports whether the encoding is raw (OAP flag F), true for hybrids.
func (p *PublicKey) Raw() bool { return p.kex.IsHybrid() }

// ParsePublicKey parses key-exchange data from an OAP header. raw is the F
// flag: false for a DER SubjectPublicKeyInfo (ECDH groups, X25519, pure
// ML-KEM), true for a raw hybrid key, whose algorithm the reference
// identifies by its length alone (1216 bytes X25519MLKEM768, 1624 bytes
// X448MLKEM1024). A key of a known but unsupported algorithm fails with
// ErrUnsupported, a malformed one with ErrInvalidKey. The result keeps a copy
// of b.
func ParsePublicKey(b []byte, raw bool) (*PublicKey, error) {
	if len(b) > MaxKexLen {
		return nil, fmt.Errorf("%w: %d bytes of key exchange data (max %d)", ErrInvalidKey, len(b), MaxKexLen)
	}
	p := &PublicKey{enc: append([]byte(nil), b...)}
	var err error
	if raw {
		switch len(b) {
		case hybrid768PubSize:
			p.kex = X25519MLKEM768
			if p.ek768, err = mlkem.NewEncapsulationKey768(b[:mlkem768EKSize]); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, p.kex, err)
			}
			if p.ec, err = ecdh.X25519().NewPublicKey(b[mlkem768EKSize:]); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, p.kex, err)
			}
			return p, nil
		case hybrid1024Size:
			return nil, fmt.Errorf("%w: %s", ErrUnsupported, X448MLKEM1024)
		}
		return nil, fmt.Errorf("%w: raw public key of %d bytes is no hybrid KEM key", ErrInvalidKey, len(b))
	}
	var ek []byte
	p.kex, p.ec, ek, err = parseDER(b)
	if err != nil {
		return nil, err
	}
	switch p.kex {
	case MLKEM768:
		p.ek768, err = mlkem.NewEncapsulationKey768(ek)
	case MLKEM1024:
		p.ek1024, err = mlkem.NewEncapsulationKey1024(ek)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, p.kex, err)
	}
	return p, nil
}

// KeyPair is one side's key-exchange key: an ephemeral (EC)DH or KEM key
// pair, or a server's static KEM key for client encapsulation.
type KeyPair struct {
	pub    PublicKey
	ec     *ecdh.PrivateKey // (EC)DH key, or the X25519 half of the hybrid
	dk768  *mlkem.DecapsulationKey768
	dk1024 *mlkem.DecapsulationKey1024
	// A key loaded in expanded form only (mlkemexp.go) is held by circl
	// instead of dk768 or dk1024: at most one of each pair is set.
	cdk768  *circl768.PrivateKey
	cdk1024 *circl1024.PrivateKey
}

// GenerateKeyPair returns a fresh key pair of algorithm k from the system's
// secure random source.
func GenerateKeyPair(k Kex) (*KeyPair, error) {
	n, err := SeedSize(k)
	if err != nil {
		return nil, err
	}
	seed := make([]byte, n)
	rand.Read(seed)
	for {
		kp, err := NewKeyPair(k, seed)
		if err == nil {
			return kp, nil
		}
		// Only a NIST-curve scalar of zero or beyond the group order is
		// rejected; for P-256 that is about 2^-32 of the seeds.
		rand.Read(seed)
	}
}

// SeedSize returns the length of the seed NewKeyPair takes for k: the private
// scalar of an ECDH group (32, 48, 66 bytes; 32 for X25519), the 64-byte
// ML-KEM seed d ‖ z (FIPS 203), and for X25519MLKEM768 the ML-KEM seed
// followed by the X25519 private key (96 bytes).
func SeedSize(k Kex) (int, error) {
	switch {
	case !k.Known():
		return 0, fmt.Errorf("%w: kex %s", ErrUnknownAlgorithm, k)
	case !k.Supported():
		return 0, fmt.Errorf("%w: %s", ErrUnsupported, k)
	}
	switch k {
	case Prime256v1, X25519:
		return 32, nil
	case Secp384r1:
		return 48, nil
	case Secp521r1:
		return 66, nil
	case X25519MLKEM768:
		return mlkemSeedSize + x25519Size, nil
	}
	return mlkemSeedSize, nil // MLKEM768, MLKEM1024
}

// NewKeyPair returns the key pair of algorithm k determined by seed (SeedSize
// bytes). It is deterministic, for known-answer tests and for storing a
// static KEM key compactly.
//
// The reference stores a server's static hybrid key raw in OpenSSL's form
// (the 2400-byte expanded ML-KEM decapsulation key followed by the X25519
// key), with no seed: ParseRawKeyPair loads it.
func NewKeyPair(k Kex, seed []byte) (*KeyPair, error) {
	n, err := SeedSize(k)
	if err != nil {
		return nil, err
	}
	if len(seed) != n {
		return nil, fmt.Errorf("%w: %s seed of %d bytes, want %d", ErrInvalidKey, k, len(seed), n)
	}
	kp := &KeyPair{pub: PublicKey{kex: k}}
	p := &kp.pub
	switch k {
	case MLKEM768:
		if kp.dk768, err = mlkem.NewDecapsulationKey768(seed); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		p.ek768 = kp.dk768.EncapsulationKey()
		p.enc = marshalRawSPKI(oidMLKEM768, p.ek768.Bytes())
	case MLKEM1024:
		if kp.dk1024, err = mlkem.NewDecapsulationKey1024(seed); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		p.ek1024 = kp.dk1024.EncapsulationKey()
		p.enc = marshalRawSPKI(oidMLKEM1024, p.ek1024.Bytes())
	case X25519MLKEM768:
		if kp.dk768, err = mlkem.NewDecapsulationKey768(seed[:mlkemSeedSize]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		if kp.ec, err = ecdh.X25519().NewPrivateKey(seed[mlkemSeedSize:]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		p.ek768 = kp.dk768.EncapsulationKey()
		p.ec = kp.ec.PublicKey()
		// ML-KEM part first, then X25519: the TLS hybrid layout OpenSSL uses
		// for X25519MLKEM768.
		p.enc = append(p.ek768.Bytes(), p.ec.Bytes()...)
	default: // ECDH groups
		if kp.ec, err = kexCurve(k).NewPrivateKey(seed); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		p.ec = kp.ec.PublicKey()
		p.enc = marshalECDH(p.ec)
	}
	return kp, nil
}

// Kex returns the key pair's algorithm.
func (kp *KeyPair) Kex() Kex { return kp.pub.kex }

// PublicKey returns the public half, whose Bytes go into the OAP header.
func (kp *KeyPair) PublicKey() *PublicKey { return &kp.pub }

// DeriveDHE completes a Diffie-Hellman exchange (irmd.md §4.7): both sides
// call it with their own key pair and the other's public key and get the same
// KeySize-byte flow key, HKDF(kdf, Z, DHESalt(own, peer), InfoDHE), where Z
// is the raw shared secret (the x-coordinate for NIST curves, 32 bytes for
// X25519). kdf 0 means SHA-256.
func (kp *KeyPair) DeriveDHE(peer *PublicKey, kdf Digest) ([]byte, error) {
	if kp.Kex().IsKEM() || kp.ec == nil {
		return nil, fmt.Errorf("%w: %s is not a Diffie-Hellman group", ErrInvalidKey, kp.Kex())
	}
	if peer.kex != kp.Kex() {
		return nil, fmt.Errorf("%w: peer key is %s, ours %s", ErrInvalidKey, peer.kex, kp.Kex())
	}
	z, err := kp.ec.ECDH(peer.ec)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, kp.Kex(), err)
	}
	salt := DHESalt(kp.pub.enc, peer.enc)
	return DeriveKey(kdf, z, salt[:], InfoDHE)
}
