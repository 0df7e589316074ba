package crypt

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"fmt"
)

// KEM exchanges (irmd.md §4.7, library.md §6.4). One side holds a key pair and
// publishes its encapsulation key; the other encapsulates to it and sends the
// ciphertext. Both derive HKDF(kdf, ss, KEMSalt(public key as carried),
// InfoEncap). In kem_mode=server the client's key pair is ephemeral and the
// server encapsulates; in kem_mode=client the server's key pair is static and
// the client encapsulates (no forward secrecy).
//
// X25519MLKEM768 combines ML-KEM-768 with X25519 the way TLS does and OpenSSL
// implements it: public key = ML-KEM encapsulation key ‖ X25519 public key,
// ciphertext = ML-KEM ciphertext ‖ the encapsulator's ephemeral X25519 public
// key, shared secret = ML-KEM shared secret ‖ X25519 shared secret (64 bytes).

// CiphertextSize returns the length of a ciphertext of KEM k in bytes, 0 if k
// is not a supported KEM.
func CiphertextSize(k Kex) int {
	switch k {
	case MLKEM768:
		return mlkem768CTSize
	case MLKEM1024:
		return mlkem1024CTSize
	case X25519MLKEM768:
		return hybrid768CTSize
	}
	return 0
}

// Encapsulate encapsulates to the peer's KEM public key and returns the
// KeySize-byte flow key and the ciphertext to send (raw bytes; OAP flag F set
// for a hybrid). kdf 0 means SHA-256.
func Encapsulate(peer *PublicKey, kdf Digest) (key, ciphertext []byte, err error) {
	var eph *ecdh.PrivateKey
	if peer.kex == X25519MLKEM768 {
		if eph, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
	}
	return encapsulate(peer, kdf, mlkemEncaps{}, eph)
}

// mlkemEncaps lets tests replace ML-KEM's randomised encapsulation by a
// deterministic one.
type mlkemEncaps struct {
	e768  func(*mlkem.EncapsulationKey768) (ss, ct []byte)
	e1024 func(*mlkem.EncapsulationKey1024) (ss, ct []byte)
}

func (m mlkemEncaps) do768(ek *mlkem.EncapsulationKey768) ([]byte, []byte) {
	if m.e768 != nil {
		return m.e768(ek)
	}
	return ek.Encapsulate()
}

func (m mlkemEncaps) do1024(ek *mlkem.EncapsulationKey1024) ([]byte, []byte) {
	if m.e1024 != nil {
		return m.e1024(ek)
	}
	return ek.Encapsulate()
}

// encapsulate is Encapsulate with the randomness supplied: m for ML-KEM and
// eph, the ephemeral X25519 key of a hybrid.
func encapsulate(peer *PublicKey, kdf Digest, m mlkemEncaps, eph *ecdh.PrivateKey) (key, ct []byte, err error) {
	var ss []byte
	switch peer.kex {
	case MLKEM768:
		ss, ct = m.do768(peer.ek768)
	case MLKEM1024:
		ss, ct = m.do1024(peer.ek1024)
	case X25519MLKEM768:
		z, err := eph.ECDH(peer.ec)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, peer.kex, err)
		}
		ss, ct = m.do768(peer.ek768)
		ss = append(ss, z...)
		ct = append(ct, eph.PublicKey().Bytes()...)
	default:
		return nil, nil, fmt.Errorf("%w: %s is not a KEM", ErrInvalidKey, peer.kex)
	}
	salt := KEMSalt(peer.enc)
	key, err = DeriveKey(kdf, ss, salt[:], InfoEncap)
	return key, ct, err
}

// Decapsulate recovers the flow key from a ciphertext encapsulated to kp's
// public key. kdf 0 means SHA-256. A ciphertext of the wrong length fails with
// ErrInvalidKey; a corrupted one of the right length yields a different key
// (ML-KEM's implicit rejection), which the first packet's authentication then
// exposes.
func (kp *KeyPair) Decapsulate(ciphertext []byte, kdf Digest) ([]byte, error) {
	k := kp.Kex()
	if n := CiphertextSize(k); n == 0 || len(ciphertext) != n {
		return nil, fmt.Errorf("%w: %d-byte ciphertext for %s (want %d)", ErrInvalidKey, len(ciphertext), k, n)
	}
	var ss []byte
	var err error
	switch k {
	case MLKEM768:
		ss, err = kp.decapsulate768(ciphertext)
	case MLKEM1024:
		ss, err = kp.decapsulate1024(ciphertext)
	case X25519MLKEM768:
		if ss, err = kp.decapsulate768(ciphertext[:mlkem768CTSize]); err != nil {
			break
		}
		var eph *ecdh.PublicKey
		if eph, err = ecdh.X25519().NewPublicKey(ciphertext[mlkem768CTSize:]); err != nil {
			break
		}
		var z []byte
		if z, err = kp.ec.ECDH(eph); err != nil {
			break
		}
		ss = append(ss, z...)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, k, err)
	}
	salt := KEMSalt(kp.pub.enc)
	return DeriveKey(kdf, ss, salt[:], InfoEncap)
}
