package oap

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"fmt"
)

// Algorithm NIDs. The values are OpenSSL's, plus two private
// ones for the hybrid KEMs; they travel on the wire as 16-bit big-endian
// integers. Within each kind the constants are listed weakest first, the order
// that defines the negotiation rank.
const (
	CipherAES128CTR        uint16 = 904
	CipherAES192CTR        uint16 = 905
	CipherAES256CTR        uint16 = 906
	CipherAES128GCM        uint16 = 895
	CipherAES192GCM        uint16 = 898
	CipherAES256GCM        uint16 = 901
	CipherChaCha20Poly1305 uint16 = 1018

	KexFFDHE2048      uint16 = 1126
	KexPrime256v1     uint16 = 415
	KexX25519         uint16 = 1034
	KexFFDHE3072      uint16 = 1127
	KexSecp384r1      uint16 = 715
	KexFFDHE4096      uint16 = 1128
	KexX448           uint16 = 1035
	KexSecp521r1      uint16 = 716
	KexMLKEM512       uint16 = 1454
	KexMLKEM768       uint16 = 1455
	KexMLKEM1024      uint16 = 1456
	KexX25519MLKEM768 uint16 = 2053
	KexX448MLKEM1024  uint16 = 2054

	// SHA-3: OpenSSL's NIDs, one above the spec's table (see crypt.Digest).
	MDBLAKE2s256 uint16 = 1057
	MDSHA256     uint16 = 672
	MDSHA3_256   uint16 = 1097
	MDSHA384     uint16 = 673
	MDSHA3_384   uint16 = 1098
	MDBLAKE2b512 uint16 = 1056
	MDSHA512     uint16 = 674
	MDSHA3_512   uint16 = 1099
)

// Kind is the kind of algorithm a NID names.
type Kind uint8

// Kinds of NID.
const (
	KindUnknown Kind = iota
	KindCipher
	KindKex
	KindDigest
)

type algo struct {
	name string // config-file name (enc.conf)
	kind Kind
	size int // digests: output length in bytes
}

var algos = map[uint16]algo{
	CipherAES128CTR:        {"aes-128-ctr", KindCipher, 0},
	CipherAES192CTR:        {"aes-192-ctr", KindCipher, 0},
	CipherAES256CTR:        {"aes-256-ctr", KindCipher, 0},
	CipherAES128GCM:        {"aes-128-gcm", KindCipher, 0},
	CipherAES192GCM:        {"aes-192-gcm", KindCipher, 0},
	CipherAES256GCM:        {"aes-256-gcm", KindCipher, 0},
	CipherChaCha20Poly1305: {"chacha20-poly1305", KindCipher, 0},

	KexFFDHE2048:      {"ffdhe2048", KindKex, 0},
	KexPrime256v1:     {"prime256v1", KindKex, 0},
	KexX25519:         {"X25519", KindKex, 0},
	KexFFDHE3072:      {"ffdhe3072", KindKex, 0},
	KexSecp384r1:      {"secp384r1", KindKex, 0},
	KexFFDHE4096:      {"ffdhe4096", KindKex, 0},
	KexX448:           {"X448", KindKex, 0},
	KexSecp521r1:      {"secp521r1", KindKex, 0},
	KexMLKEM512:       {"ML-KEM-512", KindKex, 0},
	KexMLKEM768:       {"ML-KEM-768", KindKex, 0},
	KexMLKEM1024:      {"ML-KEM-1024", KindKex, 0},
	KexX25519MLKEM768: {"X25519MLKEM768", KindKex, 0},
	KexX448MLKEM1024:  {"X448MLKEM1024", KindKex, 0},

	MDBLAKE2s256: {"blake2s256", KindDigest, 32},
	MDSHA256:     {"sha256", KindDigest, 32},
	MDSHA3_256:   {"sha3-256", KindDigest, 32},
	MDSHA384:     {"sha384", KindDigest, 48},
	MDSHA3_384:   {"sha3-384", KindDigest, 48},
	MDBLAKE2b512: {"blake2b512", KindDigest, 64},
	MDSHA512:     {"sha512", KindDigest, 64},
	MDSHA3_512:   {"sha3-512", KindDigest, 64},
}

// KindOf returns the kind of algorithm nid names; KindUnknown for 0 and for
// NIDs outside the table.
func KindOf(nid uint16) Kind { return algos[nid].kind }

// NIDName returns the configuration name of nid ("sha384"), "none" for 0 and
// "nid(N)" for an unknown NID.
func NIDName(nid uint16) string {
	if nid == 0 {
		return "none"
	}
	if a, ok := algos[nid]; ok {
		return a.name
	}
	return fmt.Sprintf("nid(%d)", nid)
}

// ReqMD returns the digest that hashes a request whose md_nid is md: md
// itself, or SHA-384 when md is 0.
func ReqMD(md uint16) uint16 {
	if md == 0 {
		return MDSHA384
	}
	return md
}

// DigestSize returns the output length in bytes of digest nid. It fails with
// ErrUnknownNID if nid is not a digest NID (0 included; use ReqMD first).
func DigestSize(nid uint16) (int, error) {
	a := algos[nid]
	if a.kind != KindDigest {
		return 0, fmt.Errorf("%w: %s is not a digest", ErrUnknownNID, NIDName(nid))
	}
	return a.size, nil
}

// Sum returns the digest nid of b. It fails with ErrUnknownNID if nid is not a
// digest NID and with ErrDigestUnavailable for BLAKE2, which the Go standard
// library does not provide.
func Sum(nid uint16, b []byte) ([]byte, error) {
	switch nid {
	case MDSHA256:
		s := sha256.Sum256(b)
		return s[:], nil
	case MDSHA384:
		s := sha512.Sum384(b)
		return s[:], nil
	case MDSHA512:
		s := sha512.Sum512(b)
		return s[:], nil
	case MDSHA3_256:
		s := sha3.Sum256(b)
		return s[:], nil
	case MDSHA3_384:
		s := sha3.Sum384(b)
		return s[:], nil
	case MDSHA3_512:
		s := sha3.Sum512(b)
		return s[:], nil
	}
	if _, err := DigestSize(nid); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %s", ErrDigestUnavailable, NIDName(nid))
}
