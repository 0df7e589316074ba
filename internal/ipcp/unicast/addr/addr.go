package addr

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Invalid is the address no member has: 0 means "none" everywhere in the
// layer (no route, lookup failed, no peer).
const Invalid uint64 = 0

// Policy is an address authority policy; the value is the one in the layer
// configuration.
type Policy uint32

// FlatRandom is the only address policy: a random 32-bit address.
const FlatRandom Policy = 0

// FlatAddrSize is the address size, in bytes, the flat policy needs.
const FlatAddrSize = 4

// Errors of New.
var (
	ErrAddrSize = errors.New("addr: the flat address policy needs 4-byte addresses")
	ErrPolicy   = errors.New("addr: unknown address policy")
	ErrRandom   = errors.New("addr: random source gives only zero")
)

// maxDraws bounds the redraws of a zero address. A sound random source
// draws zero once in 2^32; 16 zeros in a row mean it is broken.
const maxDraws = 16

// New picks this member's address with policy p for a layer whose DT
// addresses are addrSize bytes, reading randomness from r (crypto/rand when
// nil). The flat policy draws a uniformly random non-zero 32-bit address; it
// refuses any other address size, as the reference does. There is no
// coordination and no collision detection: with n members the chance that
// two share an address is about n²/2^33.
func New(p Policy, addrSize int, r io.Reader) (uint64, error) {
	if p != FlatRandom {
		return Invalid, fmt.Errorf("%w %d", ErrPolicy, uint32(p))
	}
	if addrSize != FlatAddrSize {
		return Invalid, fmt.Errorf("%w (layer has %d)", ErrAddrSize, addrSize)
	}
	if r == nil {
		r = rand.Reader
	}
	var b [4]byte
	for range maxDraws {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Invalid, fmt.Errorf("addr: random source: %w", err)
		}
		if a := binary.BigEndian.Uint32(b[:]); a != 0 {
			return uint64(a), nil
		}
	}
	return Invalid, ErrRandom
}

// Format writes an address the way the reference's management files show
// it: the four low-order bytes in memory (little-endian) order, two
// lower-case hex digits each, joined by dots. 0x0a0b0c0d is "0d.0c.0b.0a".
func Format(a uint64) string {
	const hex = "0123456789abcdef"
	var s [11]byte
	for i := range 4 {
		c := byte(a >> (8 * i))
		s[3*i], s[3*i+1] = hex[c>>4], hex[c&15]
		if i < 3 {
			s[3*i+2] = '.'
		}
	}
	return string(s[:])
}
