// Package frct implements FRCT, the Flow and Retransmission Control of the
// Ouroboros application library. This file holds sequence
// number arithmetic; the header wire format is in internal/wire.
package frct

// Seq is an FRCT sequence number or window edge. Arithmetic is modulo 2^32:
// a is before b when the signed 32-bit distance a-b is negative.
// Compare Seqs only with these methods, never with < or
// a raw int32 cast.
type Seq uint32

// Before reports whether s comes before t.
func (s Seq) Before(t Seq) bool { return int32(s-t) < 0 }

// After reports whether s comes after t.
func (s Seq) After(t Seq) bool { return t.Before(s) }

// InWindow reports whether lwe <= s < rwe in sequence space, that is s is
// not before the left edge lwe and before the right edge rwe.
func (s Seq) InWindow(lwe, rwe Seq) bool { return !s.Before(lwe) && s.Before(rwe) }

// Add returns s + n, wrapping modulo 2^32.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// window24 is the span of the 24-bit window field of the FRCT header.
const window24 = 1 << 24

// Reconstruct24 rebuilds a full right window edge from the 24 bits carried
// in an FRCT header (wire.FRCT.RWE), using s, the current send right edge, as
// reference: the top 8 bits of s are put above the 24
// received bits, and if the result is before s by more than 0x7FFFFF, 2^24
// is added. Only bits 0-23 of low are used.
//
// As in the reference, the result may lie before s (the edge may move
// backwards, quirk F7), and a result after s is never moved back down.
func (s Seq) Reconstruct24(low uint32) Seq {
	r := s&^(window24-1) | Seq(low&(window24-1))
	if int32(s-r) > window24/2-1 {
		r += window24
	}
	return r
}
