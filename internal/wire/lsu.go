package wire

import (
	"encoding/binary"
	"errors"
)

// LSULen is the length of a link-state update.
const LSULen = 24

// ErrLSULen is returned by ParseLSU for an SDU longer than LSULen.
var ErrLSULen = errors.New("wire: link-state update longer than 24 bytes")

// LSU is a link-state update: one directed adjacency Src→Dst announced by
// Src, with Src's sequence number for it. It travels as one raw SDU on a
// Management N-1 flow (not over DT), with no type, version, length, age or
// weight:
//
//	offset size field
//	 0     8    d_addr: the neighbour (destination first!), big-endian
//	 8     8    s_addr: the announcing node, big-endian
//	16     8    seqno, big-endian
type LSU struct {
	Dst   uint64
	Src   uint64
	Seqno uint64
}

// Len returns LSULen.
func (LSU) Len() int { return LSULen }

// Append appends the encoded update to b and returns the extended slice.
func (u LSU) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, u.Dst)
	b = binary.BigEndian.AppendUint64(b, u.Src)
	return binary.BigEndian.AppendUint64(b, u.Seqno)
}

// ParseLSU decodes a link-state update SDU. Receivers ignore SDUs that are
// not exactly LSULen bytes: shorter ones give ErrTruncated, longer ones
// ErrLSULen.
func ParseLSU(b []byte) (LSU, error) {
	switch {
	case len(b) < LSULen:
		return LSU{}, ErrTruncated
	case len(b) > LSULen:
		return LSU{}, ErrLSULen
	}
	return LSU{
		Dst:   binary.BigEndian.Uint64(b[0:]),
		Src:   binary.BigEndian.Uint64(b[8:]),
		Seqno: binary.BigEndian.Uint64(b[16:]),
	}, nil
}
