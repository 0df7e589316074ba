package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Flow allocator messages of the unicast layer. They travel as the payload of
// a DT packet to EID DTEIDFlowAllocator of the peer, cube best effort. Each
// starts with a packed 61-byte header, every multi-byte field big-endian:
//
//	offset size field          FLOW_REQ         FLOW_REPLY          FLOW_UPDATE
//	 0     8    s_addr          requester addr   0                   0
//	 8     8    r_eid           0                requester's EID     receiver's EID
//	16     8    s_eid           requester's EID  responder's EID     0
//	24     8    bandwidth       QoS (bit/s)      0                   0
//	32     4    response (i32)  0                0 or -errno         0
//	36     4    delay           QoS (ms)         0                   0
//	40     4    loss            QoS              0                   0
//	44     4    ber             QoS              0                   0
//	48     4    max_gap         QoS (ms)         0                   0
//	52     4    timeout         QoS (ms)         0                   0
//	56     2    ece             0                0                   congestion level
//	58     1    code            0                1                   2
//	59     1    availability    QoS              0                   0
//	60     1    in_order        QoS              0                   0
//
// A FLOW_REQ goes on with the destination name hash (as long as the layer's
// hash algorithm makes it: 28, 32, 48 or 64 bytes) and then the piggybacked
// allocation data (the OAP request) up to the end of the packet. A
// FLOW_REPLY goes on with the piggybacked response. A FLOW_UPDATE is the bare
// header. There is no deallocation message.

// FAHeaderLen is the length of the fixed flow allocator header.
const FAHeaderLen = 61

// FAMaxLen is the largest flow allocator message a member accepts, header,
// hash and piggybacked data together.
const FAMaxLen = 2048

// FACode is the code byte of a flow allocator message.
type FACode uint8

// Flow allocator message codes.
const (
	FAFlowReq    FACode = 0
	FAFlowReply  FACode = 1
	FAFlowUpdate FACode = 2
)

func (c FACode) String() string {
	switch c {
	case FAFlowReq:
		return "FLOW_REQ"
	case FAFlowReply:
		return "FLOW_REPLY"
	case FAFlowUpdate:
		return "FLOW_UPDATE"
	}
	return fmt.Sprintf("FA code %d", uint8(c))
}

// Offsets inside the flow allocator header.
const (
	faSAddr     = 0
	faREID      = 8
	faSEID      = 16
	faBandwidth = 24
	faResponse  = 32
	faDelay     = 36
	faLoss      = 40
	faBER       = 44
	faMaxGap    = 48
	faTimeout   = 52
	faECE       = 56
	faCode      = 58
	faAvail     = 59
	faInOrder   = 60
)

// Errors returned by ParseFA besides ErrTruncated.
var (
	ErrFATooLong = errors.New("wire: flow allocator message longer than 2048 bytes")
	ErrFACode    = errors.New("wire: unknown flow allocator message code")
	ErrFAHashLen = errors.New("wire: bad name hash length for a flow allocator message")
)

// FAMsg is a flow allocator message.
type FAMsg struct {
	SAddr        uint64
	REID         uint64
	SEID         uint64
	Bandwidth    uint64
	Response     int32
	Delay        uint32
	Loss         uint32
	BER          uint32
	MaxGap       uint32
	Timeout      uint32
	ECE          uint16
	Code         FACode
	Availability uint8
	InOrder      uint8
	// Hash is the destination name hash, on the wire only in a FLOW_REQ.
	// A parsed Hash aliases the input.
	Hash []byte
	// Data is what follows the header (and the hash): the piggybacked
	// allocation data in FLOW_REQ and FLOW_REPLY, and whatever a sender put
	// after a FLOW_UPDATE (nothing, from the reference). A parsed Data
	// aliases the input.
	Data []byte
}

// Len returns the encoded length of m.
func (m FAMsg) Len() int {
	n := FAHeaderLen + len(m.Data)
	if m.Code == FAFlowReq {
		n += len(m.Hash)
	}
	return n
}

// Append appends the encoded message to b and returns the extended slice.
// Hash is written only for FLOW_REQ. Fields are written as given, whatever
// the code; the caller zeroes those its code does not use.
func (m FAMsg) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.SAddr)
	b = binary.BigEndian.AppendUint64(b, m.REID)
	b = binary.BigEndian.AppendUint64(b, m.SEID)
	b = binary.BigEndian.AppendUint64(b, m.Bandwidth)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Response))
	b = binary.BigEndian.AppendUint32(b, m.Delay)
	b = binary.BigEndian.AppendUint32(b, m.Loss)
	b = binary.BigEndian.AppendUint32(b, m.BER)
	b = binary.BigEndian.AppendUint32(b, m.MaxGap)
	b = binary.BigEndian.AppendUint32(b, m.Timeout)
	b = binary.BigEndian.AppendUint16(b, m.ECE)
	b = append(b, byte(m.Code), m.Availability, m.InOrder)
	if m.Code == FAFlowReq {
		b = append(b, m.Hash...)
	}
	return append(b, m.Data...)
}

// ParseFA decodes a whole flow allocator message. hashLen is the layer's
// name hash length (1..64 bytes; ErrFAHashLen otherwise). It returns
// ErrTruncated for a message shorter than the header or a FLOW_REQ too short
// for its hash, ErrFATooLong above FAMaxLen, and ErrFACode for an unknown
// code. Hash and Data alias b.
func ParseFA(b []byte, hashLen int) (FAMsg, error) {
	if hashLen <= 0 || hashLen > 64 {
		return FAMsg{}, ErrFAHashLen
	}
	if len(b) < FAHeaderLen {
		return FAMsg{}, ErrTruncated
	}
	if len(b) > FAMaxLen {
		return FAMsg{}, ErrFATooLong
	}
	_ = b[FAHeaderLen-1]
	m := FAMsg{
		SAddr:        binary.BigEndian.Uint64(b[faSAddr:]),
		REID:         binary.BigEndian.Uint64(b[faREID:]),
		SEID:         binary.BigEndian.Uint64(b[faSEID:]),
		Bandwidth:    binary.BigEndian.Uint64(b[faBandwidth:]),
		Response:     int32(binary.BigEndian.Uint32(b[faResponse:])),
		Delay:        binary.BigEndian.Uint32(b[faDelay:]),
		Loss:         binary.BigEndian.Uint32(b[faLoss:]),
		BER:          binary.BigEndian.Uint32(b[faBER:]),
		MaxGap:       binary.BigEndian.Uint32(b[faMaxGap:]),
		Timeout:      binary.BigEndian.Uint32(b[faTimeout:]),
		ECE:          binary.BigEndian.Uint16(b[faECE:]),
		Code:         FACode(b[faCode]),
		Availability: b[faAvail],
		InOrder:      b[faInOrder],
	}
	rest := b[FAHeaderLen:]
	switch m.Code {
	case FAFlowReq:
		if len(rest) < hashLen {
			return FAMsg{}, ErrTruncated
		}
		m.Hash = rest[:hashLen:hashLen]
		rest = rest[hashLen:]
	case FAFlowReply, FAFlowUpdate:
	default:
		return FAMsg{}, ErrFACode
	}
	if len(rest) > 0 {
		m.Data = rest
	}
	return m, nil
}
