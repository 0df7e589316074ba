package crypt

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// KeySize is the length of every derived key in bytes (the reference's
// SYMMKEYSZ): the flow key handed to both applications, and each rotated key.
const KeySize = 32

// HKDF info strings (ASCII, no terminator) of the three derivations.
const (
	InfoDHE      = "o7s-ossl-dhe"     // (EC)DH shared secret → flow key
	InfoEncap    = "o7s-ossl-encap"   // KEM shared secret → flow key
	InfoRotation = "o7s-key-rotation" // flow key → next flow key
)

// DeriveKey returns the KeySize-byte key HKDF(kdf, ikm, salt, info) (RFC 5869,
// extract then expand). HKDF uses HMAC over kdf; a kdf of 0 or an unknown NID
// means SHA-256, as in the reference.
func DeriveKey(kdf Digest, ikm, salt []byte, info string) ([]byte, error) {
	h := kdf.hash()
	if h == nil {
		h = sha256.New
	}
	key, err := hkdf.Key(h, ikm, salt, info, KeySize)
	if err != nil {
		return nil, fmt.Errorf("%w: hkdf: %w", ErrInvalidKey, err)
	}
	return key, nil
}

// DHESalt returns the HKDF salt of a Diffie-Hellman exchange: SHA-256 over the
// two public keys (as carried, DER SubjectPublicKeyInfo) in canonical order,
// the lexicographically smaller first (on a common prefix, the shorter first).
// Both sides compute the same salt whichever key is theirs.
func DHESalt(a, b []byte) [sha256.Size]byte {
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	h := sha256.New()
	h.Write(a)
	h.Write(b)
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// KEMSalt returns the HKDF salt of a KEM exchange: SHA-256 over the
// encapsulation (public) key exactly as carried: DER SubjectPublicKeyInfo for
// pure ML-KEM, raw for the hybrids.
func KEMSalt(pub []byte) [sha256.Size]byte { return sha256.Sum256(pub) }

// RotateKey returns the key that follows cur in the packet-key rotation
// (library.md §6.3): HKDF-SHA-256(cur, salt, InfoRotation) where salt is
// SHA-256 of the flow's first key.
func RotateKey(cur []byte, salt [sha256.Size]byte) []byte {
	key, err := hkdf.Key(sha256.New, cur, salt[:], InfoRotation, KeySize)
	if err != nil {
		panic("crypt: hkdf-sha256 of 32 bytes failed: " + err.Error()) // L = 32 is always valid
	}
	return key
}
