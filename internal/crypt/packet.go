package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// Per-packet encryption (library.md §6.2). An encrypted packet is
//
//	| IV (IVSize) | ciphertext (len(plaintext)) | tag (TagSize, AEAD only) |
//
// The IV is fresh random bytes for every packet, except bit 7 of byte 0,
// which carries the sender's key phase (rotation.go). GCM and
// ChaCha20-Poly1305 take a 12-byte nonce and append a 16-byte tag, with no
// associated data. CTR takes a 16-byte initial counter block (the whole block
// is a big-endian counter) and has no tag, hence no integrity: any bytes
// "decrypt". AES-128 and AES-192 use the first 16 or 24 bytes of the 32-byte
// flow key.

// IVSize returns the IV length of cipher c in bytes (12 for the AEADs, 16 for
// CTR), 0 if c is not a supported cipher.
func (c Cipher) IVSize() int {
	switch c {
	case AES128CTR, AES192CTR, AES256CTR:
		return aes.BlockSize
	case AES128GCM, AES192GCM, AES256GCM, ChaCha20Poly1305:
		return 12
	}
	return 0
}

// TagSize returns the authentication tag length of c in bytes: 16 for the
// AEADs, 0 for CTR and unknown NIDs.
func (c Cipher) TagSize() int {
	if c.IsAEAD() {
		return 16
	}
	return 0
}

// IsAEAD reports whether c authenticates its packets (GCM, ChaCha20-Poly1305).
func (c Cipher) IsAEAD() bool {
	switch c {
	case AES128GCM, AES192GCM, AES256GCM, ChaCha20Poly1305:
		return true
	}
	return false
}

// keyLen returns how many bytes of the 32-byte flow key c uses.
func (c Cipher) keyLen() int {
	switch c {
	case AES128CTR, AES128GCM:
		return 16
	case AES192CTR, AES192GCM:
		return 24
	}
	return 32
}

// packetKey is one key with its cipher instance: an AEAD, or the AES block
// for CTR.
type packetKey struct {
	key   []byte // KeySize bytes; the cipher uses a prefix
	aead  cipher.AEAD
	block cipher.Block
}

func newPacketKey(c Cipher, key []byte) (*packetKey, error) {
	k := &packetKey{key: key}
	var err error
	switch c {
	case ChaCha20Poly1305:
		k.aead, err = chacha20poly1305.New(key)
	default:
		if k.block, err = aes.NewCipher(key[:c.keyLen()]); err == nil && c.IsAEAD() {
			k.aead, err = cipher.NewGCM(k.block)
			k.block = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, c, err)
	}
	return k, nil
}

// seal appends the ciphertext (and tag) of pt under iv to dst.
func (k *packetKey) seal(dst, iv, pt []byte) []byte {
	if k.aead != nil {
		return k.aead.Seal(dst, iv, pt, nil)
	}
	n := len(dst)
	dst = append(dst, pt...)
	cipher.NewCTR(k.block, iv).XORKeyStream(dst[n:], pt)
	return dst
}

// open appends the plaintext of ct (ciphertext ‖ tag) under iv to dst, or
// returns dst unchanged and false if the tag does not verify.
func (k *packetKey) open(dst, iv, ct []byte) ([]byte, bool) {
	if k.aead != nil {
		out, err := k.aead.Open(dst, iv, ct, nil)
		return out, err == nil
	}
	n := len(dst)
	dst = append(dst, ct...)
	cipher.NewCTR(k.block, iv).XORKeyStream(dst[n:], ct)
	return dst, true
}

// wipe zeroes the key bytes and drops the cipher instance. The instance's
// own copy of the key (the AES round keys and GCM's hash key, or
// ChaCha20-Poly1305's copy of the key) lives in unexported fields of the
// standard library and golang.org/x/crypto, which offer no way to zero it:
// it stays in memory until the garbage collector reuses it.
func (k *packetKey) wipe() {
	if k != nil {
		clear(k.key)
		k.aead, k.block = nil, nil
	}
}

// KeyRotationBit is the reference's KEY_ROTATION_BIT: keys rotate every
// 2^20 packets counted by a context.
const KeyRotationBit = 20

// PacketOptions adjust a PacketCipher. The zero value gives the reference's
// behaviour.
type PacketOptions struct {
	// RotationBit sets the rotation period to 2^RotationBit packets
	// (2…31); 0 means KeyRotationBit. The reference's tests use 7.
	RotationBit int
	// Rand is the source of IVs; nil means crypto/rand, read ivBatch
	// bytes at a time (IVs are public: fetching them ahead reveals
	// nothing, and spares a system call or vDSO call per packet). Seal
	// reads a Rand given here for every packet, without holding the
	// context's lock: concurrent Seals need a Rand that is safe for
	// concurrent use.
	Rand io.Reader
}

// PacketCipher encrypts and decrypts the packets of one flow. As in the
// reference, one context serves both directions with one shared key schedule:
// both ends of a flow start from the same key and rotate it as rotation.go
// describes. It is safe for concurrent use (Seal from a writer while the
// receiver calls Open); the methods serialise on a mutex because they share
// the packet counter.
type PacketCipher struct {
	nid  Cipher
	rand io.Reader // nil: crypto/rand through ivs
	mask uint32    // 1 << rotation bit
	salt [sha256.Size]byte

	mu      sync.Mutex
	cur     *packetKey
	prev    *packetKey            // nil when not kept
	stale   [maxStale]*packetKey  // (AEAD) stale[i]: the key i+2 rotations before cur while kept, else nil
	ahead   [lookahead]*packetKey // ahead[i]: the key i+1 rotations after cur, derived when first needed
	cntr    uint32                // packets sealed and opened (AEAD: under some key), wrapping
	age     uint32                // packets since the last rotation
	curSeen bool                  // (AEAD) a packet of the peer's opened under cur since it became current
	phase   bool                  // flips at every rotation
	shut    bool                  // Close ran: the keys are wiped, Seal and Open fail

	ivMu  sync.Mutex
	ivs   [ivBatch]byte // random bytes from crypto/rand, used from ivOff on
	ivOff int
}

// ivBatch is how many random bytes a context with the default source
// fetches at once: IVs for 256 AEAD packets.
const ivBatch = 256 * 12

// readIV fills iv with random bytes: from opt.Rand, or from the context's
// batch of crypto/rand bytes, refilled when it runs out.
func (pc *PacketCipher) readIV(iv []byte) error {
	if pc.rand != nil {
		_, err := io.ReadFull(pc.rand, iv)
		return err
	}
	pc.ivMu.Lock()
	defer pc.ivMu.Unlock()
	if pc.ivOff+len(iv) > len(pc.ivs) {
		if _, err := rand.Read(pc.ivs[:]); err != nil {
			return err
		}
		pc.ivOff = 0
	}
	n := copy(iv, pc.ivs[pc.ivOff:])
	clear(pc.ivs[pc.ivOff : pc.ivOff+n]) // each byte is used once
	pc.ivOff += n
	return nil
}

// NewPacketCipher returns a context for cipher c with the 32-byte flow key
// from the key exchange. The key is copied. opt may be nil.
func NewPacketCipher(c Cipher, key []byte, opt *PacketOptions) (*PacketCipher, error) {
	if !c.Known() {
		return nil, fmt.Errorf("%w: cipher %s", ErrUnknownAlgorithm, c)
	}
	if !c.Supported() {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, c)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: %d-byte flow key, want %d", ErrInvalidKey, len(key), KeySize)
	}
	var o PacketOptions
	if opt != nil {
		o = *opt
	}
	if o.RotationBit == 0 {
		o.RotationBit = KeyRotationBit
	}
	if o.RotationBit < 2 || o.RotationBit > 31 {
		return nil, fmt.Errorf("crypt: rotation bit %d out of range 2…31", o.RotationBit)
	}
	pc := &PacketCipher{nid: c, rand: o.Rand, mask: 1 << o.RotationBit, salt: sha256.Sum256(key)}
	pc.ivOff = len(pc.ivs) // fetched at the first Seal
	k := append([]byte(nil), key...)
	cur, err := newPacketKey(c, k)
	if err != nil {
		return nil, err
	}
	pc.cur = cur
	return pc, nil
}

// Cipher returns the context's cipher.
func (pc *PacketCipher) Cipher() Cipher { return pc.nid }

// Overhead returns how many bytes Seal adds to a packet: IV plus tag.
func (pc *PacketCipher) Overhead() int { return pc.nid.IVSize() + pc.nid.TagSize() }

// Seal appends the encrypted form of plaintext (IV ‖ ciphertext ‖ tag) to dst
// and returns the result. dst and plaintext must not overlap (the IV goes
// first, so in-place encryption is not possible). It fails only if the random
// source fails, or with ErrClosed after Close.
func (pc *PacketCipher) Seal(dst, plaintext []byte) ([]byte, error) {
	ivLen := pc.nid.IVSize()
	n := len(dst)
	dst = append(dst, make([]byte, ivLen)...)
	iv := dst[n:]
	if err := pc.readIV(iv); err != nil {
		return dst[:n], fmt.Errorf("crypt: reading IV: %w", err)
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.shut {
		return dst[:n], ErrClosed
	}
	iv[0] &^= 0x80
	if pc.cntr&pc.mask != 0 {
		iv[0] |= 0x80
	}
	dst = pc.cur.seal(dst, iv, plaintext)
	pc.sealedLocked()
	return dst, nil
}

// Open decrypts packet (IV ‖ ciphertext ‖ tag), appends the plaintext to dst
// and returns the result. It fails with ErrShortPacket if packet is shorter
// than Overhead, and with ErrAuthentication if no key verifies the tag (the
// packet is to be dropped and counted); on failure dst is returned unchanged
// and the context's state too. CTR packets never fail authentication. The
// keys tried, and when the key moves, are in rotation.go. After Close it fails
// with ErrClosed.
func (pc *PacketCipher) Open(dst, packet []byte) ([]byte, error) {
	ivLen := pc.nid.IVSize()
	if len(packet) < ivLen+pc.nid.TagSize() {
		return dst, fmt.Errorf("%w: %d bytes, need at least %d", ErrShortPacket, len(packet), pc.Overhead())
	}
	iv, ct := packet[:ivLen], packet[ivLen:]
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.shut {
		return dst, ErrClosed
	}
	if !pc.nid.IsAEAD() {
		// CTR: the reference's rules exactly, since no key can be
		// told wrong. The current key always "opens".
		pc.openingLocked(iv[0]&0x80 != 0)
		out, _ := pc.cur.open(dst, iv, ct)
		return out, nil
	}
	return pc.openAEADLocked(dst, iv, ct)
}

// Close wipes the keys: it zeroes every key buffer the context holds (the
// current key, the previous and next ones if kept, and the rotation salt,
// which is derived from the first key) and drops the cipher instances;
// keys the context dropped earlier (at a rotation) were wiped then. Seal
// and Open fail with ErrClosed afterwards, so no key is derived again; a
// second Close does nothing. What cannot be wiped: the expanded keys inside
// the standard library's AES, GCM and ChaCha20-Poly1305 objects, and HKDF's
// intermediate values (RotateKey), which no API exposes; they are left to
// the garbage collector.
func (pc *PacketCipher) Close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.shut = true
	pc.cur.wipe()
	pc.prev.wipe()
	pc.prev = nil
	pc.dropStaleLocked()
	for i, k := range pc.ahead {
		k.wipe()
		pc.ahead[i] = nil
	}
	clear(pc.salt[:])
}

// Wiped reports whether Close ran and no byte of key material is left in
// the context's buffers (users' tests check with it that they close their
// contexts).
func (pc *PacketCipher) Wiped() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if !pc.shut || pc.prev != nil || !allZero(pc.cur.key) || !allZero(pc.salt[:]) {
		return false
	}
	for _, k := range pc.stale {
		if k != nil {
			return false
		}
	}
	for _, k := range pc.ahead {
		if k != nil {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	var or byte
	for _, c := range b {
		or |= c
	}
	return or == 0
}

// equalKey reports whether the current key is k (for tests).
func (pc *PacketCipher) equalKey(k []byte) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return subtle.ConstantTimeCompare(pc.cur.key, k) == 1
}
