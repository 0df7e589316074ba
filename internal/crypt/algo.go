package crypt

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"fmt"
	"hash"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
)

// Algorithm identifiers (irmd.md §4.3). The values are OpenSSL's NIDs, plus
// two private ones for the hybrid KEMs; they travel in OAP headers and in the
// IRMd's flow-allocation replies as 16-bit big-endian integers. Within each
// kind the constants are listed weakest first: that order is the rank used by
// negotiation (§4.8).

// Cipher is the NID of a per-packet cipher; 0 means no encryption.
type Cipher uint16

// Ciphers, weakest first.
const (
	AES128CTR        Cipher = 904
	AES192CTR        Cipher = 905
	AES256CTR        Cipher = 906
	AES128GCM        Cipher = 895
	AES192GCM        Cipher = 898
	AES256GCM        Cipher = 901
	ChaCha20Poly1305 Cipher = 1018
)

// Kex is the NID of a key-exchange algorithm: an (EC)DH group or a KEM.
// 0 means no key exchange.
type Kex uint16

// Key-exchange algorithms, weakest first.
const (
	FFDHE2048      Kex = 1126
	Prime256v1     Kex = 415 // P-256, the enc.conf default
	X25519         Kex = 1034
	FFDHE3072      Kex = 1127
	Secp384r1      Kex = 715 // P-384
	FFDHE4096      Kex = 1128
	X448           Kex = 1035
	Secp521r1      Kex = 716 // P-521
	MLKEM512       Kex = 1454
	MLKEM768       Kex = 1455
	MLKEM1024      Kex = 1456
	X25519MLKEM768 Kex = 2053 // private NID (not OpenSSL's)
	X448MLKEM1024  Kex = 2054 // private NID (not OpenSSL's)
)

// Digest is the NID of a hash function, used as the HKDF digest (kdf) and as
// the signature digest (md). 0 means the default.
type Digest uint16

// Digests, weakest first. The SHA-3 NIDs are OpenSSL's (sha3-256 1097,
// sha3-384 1098, sha3-512 1099; 1096 is sha3-224, which no table here
// lists): the reference sends 1097 for sha3-256, as a capture of its
// signed OAP response shows (e2e TestReferenceSignatureDigests). The
// spec's table (irmd.md §4.3) numbers them one lower; the bytes win.
const (
	BLAKE2s256 Digest = 1057
	SHA256     Digest = 672
	SHA3_256   Digest = 1097
	SHA384     Digest = 673
	SHA3_384   Digest = 1098
	BLAKE2b512 Digest = 1056
	SHA512     Digest = 674
	SHA3_512   Digest = 1099
)

// An algo is one row of the reference's tables. rank is the 1-based position
// in the weakest-to-strongest list of its kind, fixed by the spec; supported
// says whether this build can run it. Unsupported algorithms keep their name
// and NID (so a configuration or a peer naming them gets ErrUnsupported rather
// than ErrUnknownAlgorithm) but rank -1, as the reference ranks NIDs outside
// its build's supported set.
type algo struct {
	name      string
	rank      int
	supported bool
}

var ciphers = map[Cipher]algo{
	AES128CTR:        {"aes-128-ctr", 1, true},
	AES192CTR:        {"aes-192-ctr", 2, true},
	AES256CTR:        {"aes-256-ctr", 3, true},
	AES128GCM:        {"aes-128-gcm", 4, true},
	AES192GCM:        {"aes-192-gcm", 5, true},
	AES256GCM:        {"aes-256-gcm", 6, true},
	ChaCha20Poly1305: {"chacha20-poly1305", 7, true},
}

// The standard library has no finite-field DH groups of RFC 7919 with
// OpenSSL's key encodings, no X448, and ML-KEM only at the 768 and 1024
// parameter sets; those rows are unsupported.
var kexes = map[Kex]algo{
	FFDHE2048:      {"ffdhe2048", 1, false},
	Prime256v1:     {"prime256v1", 2, true},
	X25519:         {"X25519", 3, true},
	FFDHE3072:      {"ffdhe3072", 4, false},
	Secp384r1:      {"secp384r1", 5, true},
	FFDHE4096:      {"ffdhe4096", 6, false},
	X448:           {"X448", 7, false},
	Secp521r1:      {"secp521r1", 8, true},
	MLKEM512:       {"ML-KEM-512", 9, false},
	MLKEM768:       {"ML-KEM-768", 10, true},
	MLKEM1024:      {"ML-KEM-1024", 11, true},
	X25519MLKEM768: {"X25519MLKEM768", 12, true},
	X448MLKEM1024:  {"X448MLKEM1024", 13, false},
}

var digests = map[Digest]algo{
	BLAKE2s256: {"blake2s256", 1, true},
	SHA256:     {"sha256", 2, true},
	SHA3_256:   {"sha3-256", 3, true},
	SHA384:     {"sha384", 4, true},
	SHA3_384:   {"sha3-384", 5, true},
	BLAKE2b512: {"blake2b512", 6, true},
	SHA512:     {"sha512", 7, true},
	SHA3_512:   {"sha3-512", 8, true},
}

// rank applies the reference's ranking: 0 for NID 0, the table rank for a
// supported algorithm, -1 otherwise.
func rank(a algo, ok bool, zero bool) int {
	switch {
	case zero:
		return 0
	case ok && a.supported:
		return a.rank
	}
	return -1
}

func name(a algo, ok bool, zero bool, nid uint16) string {
	switch {
	case zero:
		return "none"
	case ok:
		return a.name
	}
	return fmt.Sprintf("nid(%d)", nid)
}

// String returns the enc.conf name of c, "none" for 0, "nid(N)" if unknown.
func (c Cipher) String() string { a, ok := ciphers[c]; return name(a, ok, c == 0, uint16(c)) }

// Rank returns c's negotiation strength: 0 for none, 1…7 for a supported
// cipher, -1 for an unknown NID.
func (c Cipher) Rank() int { a, ok := ciphers[c]; return rank(a, ok, c == 0) }

// Known reports whether c is in the reference's cipher table.
func (c Cipher) Known() bool { _, ok := ciphers[c]; return ok }

// Supported reports whether this build can encrypt with c.
func (c Cipher) Supported() bool { return ciphers[c].supported }

// String returns the enc.conf name of k, "none" for 0, "nid(N)" if unknown.
func (k Kex) String() string { a, ok := kexes[k]; return name(a, ok, k == 0, uint16(k)) }

// Rank returns k's negotiation strength: 0 for none, 1…13 for a supported
// algorithm, -1 for an unknown or unsupported one.
func (k Kex) Rank() int { a, ok := kexes[k]; return rank(a, ok, k == 0) }

// Known reports whether k is in the reference's key-exchange table.
func (k Kex) Known() bool { _, ok := kexes[k]; return ok }

// Supported reports whether this build can run k.
func (k Kex) Supported() bool { return kexes[k].supported }

// IsKEM reports whether k is a key-encapsulation mechanism (pure ML-KEM or a
// hybrid), as opposed to a Diffie-Hellman group. The reference decides this
// from the name: it contains "ML-KEM" or "MLKEM".
func (k Kex) IsKEM() bool { return k >= MLKEM512 && k <= MLKEM1024 || k.IsHybrid() }

// IsHybrid reports whether k is a hybrid KEM (X25519/X448 combined with
// ML-KEM), whose keys and ciphertexts travel raw (OAP flag F).
func (k Kex) IsHybrid() bool { return k == X25519MLKEM768 || k == X448MLKEM1024 }

// String returns the enc.conf name of d, "none" for 0, "nid(N)" if unknown.
func (d Digest) String() string { a, ok := digests[d]; return name(a, ok, d == 0, uint16(d)) }

// Rank returns d's negotiation strength: 0 for none, 1…8 for a supported
// digest, -1 for an unknown NID.
func (d Digest) Rank() int { a, ok := digests[d]; return rank(a, ok, d == 0) }

// Known reports whether d is in the reference's digest table.
func (d Digest) Known() bool { _, ok := digests[d]; return ok }

// Supported reports whether this build can compute d.
func (d Digest) Supported() bool { return digests[d].supported }

// Size returns the output length of d in bytes, 0 if d is not a known digest.
func (d Digest) Size() int {
	if h := d.hash(); h != nil {
		return h().Size()
	}
	return 0
}

// hash returns the constructor of d, nil for 0 and unknown NIDs.
func (d Digest) hash() func() hash.Hash {
	switch d {
	case BLAKE2s256:
		return func() hash.Hash { h, _ := blake2s.New256(nil); return h }
	case SHA256:
		return sha256.New
	case SHA3_256:
		return func() hash.Hash { return sha3.New256() }
	case SHA384:
		return sha512.New384
	case SHA3_384:
		return func() hash.Hash { return sha3.New384() }
	case BLAKE2b512:
		return func() hash.Hash { h, _ := blake2b.New512(nil); return h }
	case SHA512:
		return sha512.New
	case SHA3_512:
		return func() hash.Hash { return sha3.New512() }
	}
	return nil
}

// Sum returns the digest d of b. It fails with ErrUnknownAlgorithm if d is 0
// or not a digest NID.
func (d Digest) Sum(b []byte) ([]byte, error) {
	h := d.hash()
	if h == nil {
		return nil, fmt.Errorf("%w: digest %s", ErrUnknownAlgorithm, d)
	}
	s := h()
	s.Write(b)
	return s.Sum(nil), nil
}

// lookup finds name in table, matching exactly (names are case-sensitive, as
// in the reference's tables: "X25519" but "prime256v1").
func lookup[T ~uint16](table map[T]algo, name string) (T, bool) {
	for nid, a := range table {
		if a.name == name {
			return nid, true
		}
	}
	return 0, false
}

// CipherByName returns the cipher called name in enc.conf ("aes-256-gcm"),
// whether or not this build supports it; false if the name is unknown.
func CipherByName(name string) (Cipher, bool) { return lookup(ciphers, name) }

// KexByName returns the key-exchange algorithm called name in enc.conf
// ("X25519", "ML-KEM-768"), whether or not this build supports it; false if
// the name is unknown.
func KexByName(name string) (Kex, bool) { return lookup(kexes, name) }

// DigestByName returns the digest called name in enc.conf ("sha384"); false if
// the name is unknown.
func DigestByName(name string) (Digest, bool) { return lookup(digests, name) }
