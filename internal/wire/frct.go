package wire

import (
	"encoding/binary"
	"strings"
)

// FRCTLen is the length of the FRCT header in bytes.
const FRCTLen = 12

// Offsets inside the FRCT header. The flags byte and the 24-bit window share
// the first big-endian 32-bit word.
const (
	frctFlags  = 0 // 1 byte
	frctWindow = 1 // 3 bytes, low 24 bits of the right window edge
	frctSeqno  = 4 // 4 bytes
	frctAckno  = 8 // 4 bytes
)

// FRCTWindowMask selects the bits of a right window edge carried on the wire.
const FRCTWindowMask = 0x00ffffff

// FRCTFlags is the flags byte of an FRCT header.
type FRCTFlags uint8

// FRCT header flags.
const (
	FRCTData FRCTFlags = 0x01 // FRCT_DATA: carries application data; seqno valid
	FRCTDRF  FRCTFlags = 0x02 // FRCT_DRF: data run flag, sender had nothing unacknowledged
	FRCTACK  FRCTFlags = 0x04 // FRCT_ACK: ackno valid
	FRCTFC   FRCTFlags = 0x08 // FRCT_FC: window field valid
	FRCTRDVS FRCTFlags = 0x10 // FRCT_RDVS: rendezvous, "my window is closed, tell me yours"
	FRCTFFGM FRCTFlags = 0x20 // FRCT_FFGM: first fragment (defined, unused by the reference)
	FRCTMFGM FRCTFlags = 0x40 // FRCT_MFGM: more fragments (defined, unused by the reference)
)

var frctFlagNames = [...]struct {
	f    FRCTFlags
	name string
}{
	{FRCTData, "DATA"}, {FRCTDRF, "DRF"}, {FRCTACK, "ACK"}, {FRCTFC, "FC"},
	{FRCTRDVS, "RDVS"}, {FRCTFFGM, "FFGM"}, {FRCTMFGM, "MFGM"},
}

// Has reports whether all flags in g are set in f.
func (f FRCTFlags) Has(g FRCTFlags) bool { return f&g == g }

// String returns the flags as "DATA|DRF|FC"; unknown bits are shown in hex.
func (f FRCTFlags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range frctFlagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		const hex = "0123456789abcdef"
		parts = append(parts, "0x"+string([]byte{hex[f>>4], hex[f&0xf]}))
	}
	return strings.Join(parts, "|")
}

// FRCT is a view of an FRCT header at the start of a packet, in the
// reference's wire format. All fields are big-endian. Accessors assume the
// view holds at least FRCTLen bytes; check Valid once at the edge.
//
//	byte 0      flags
//	bytes 1-3   right window edge, low 24 bits (valid with FC)
//	bytes 4-7   seqno (valid with DATA)
//	bytes 8-11  ackno (valid with ACK)
type FRCT []byte

// Valid reports whether h is long enough to hold an FRCT header. The
// reference implementation does not check this; we drop shorter packets.
func (h FRCT) Valid() bool { return len(h) >= FRCTLen }

// Flags returns the flags byte.
func (h FRCT) Flags() FRCTFlags { return FRCTFlags(h[frctFlags]) }

// SetFlags sets the flags byte.
func (h FRCT) SetFlags(f FRCTFlags) { h[frctFlags] = byte(f) }

// RWE returns the 24 window bits: the low 24 bits of the sender's receive
// right window edge. Reconstructing the full edge needs the receiver's state
// (see frct.Seq.Reconstruct24).
func (h FRCT) RWE() uint32 {
	return binary.BigEndian.Uint32(h[frctFlags:]) & FRCTWindowMask
}

// SetRWE stores the low 24 bits of the right window edge rwe; the upper 8
// bits are discarded as on the wire.
func (h FRCT) SetRWE(rwe uint32) {
	h[frctWindow] = byte(rwe >> 16)
	h[frctWindow+1] = byte(rwe >> 8)
	h[frctWindow+2] = byte(rwe)
}

// Seqno returns the sequence number.
func (h FRCT) Seqno() uint32 { return binary.BigEndian.Uint32(h[frctSeqno:]) }

// SetSeqno sets the sequence number.
func (h FRCT) SetSeqno(s uint32) { binary.BigEndian.PutUint32(h[frctSeqno:], s) }

// Ackno returns the acknowledgment number.
func (h FRCT) Ackno() uint32 { return binary.BigEndian.Uint32(h[frctAckno:]) }

// SetAckno sets the acknowledgment number.
func (h FRCT) SetAckno(a uint32) { binary.BigEndian.PutUint32(h[frctAckno:], a) }

// Payload returns the bytes after the header.
func (h FRCT) Payload() []byte { return h[FRCTLen:] }

// Fields returns the header's fields as values.
func (h FRCT) Fields() FRCTFields {
	return FRCTFields{Flags: h.Flags(), RWE: h.RWE(), Seqno: h.Seqno(), Ackno: h.Ackno()}
}

// FRCTFields holds the values of an FRCT header.
type FRCTFields struct {
	Flags FRCTFlags
	// RWE is the right window edge. Only its low 24 bits go on the wire, so
	// a parsed RWE is always <= FRCTWindowMask.
	RWE   uint32
	Seqno uint32
	Ackno uint32
}

// Len returns FRCTLen.
func (FRCTFields) Len() int { return FRCTLen }

// Append appends the encoded header to b and returns the extended slice.
// Fields are written as given, whatever the flags say; the caller zeroes
// unused fields.
func (f FRCTFields) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(f.Flags)<<24|f.RWE&FRCTWindowMask)
	b = binary.BigEndian.AppendUint32(b, f.Seqno)
	return binary.BigEndian.AppendUint32(b, f.Ackno)
}

// Put writes the header into the first FRCTLen bytes of h, in place.
func (f FRCTFields) Put(h FRCT) {
	h.SetFlags(f.Flags)
	h.SetRWE(f.RWE)
	h.SetSeqno(f.Seqno)
	h.SetAckno(f.Ackno)
}

// ParseFRCT decodes the FRCT header at the start of b. Bytes after the
// header (the SDU) are ignored. It returns ErrTruncated if b is shorter than
// FRCTLen. Any flag combination, including unknown bits, is accepted.
func ParseFRCT(b []byte) (FRCTFields, error) {
	if len(b) < FRCTLen {
		return FRCTFields{}, ErrTruncated
	}
	return FRCT(b).Fields(), nil
}
