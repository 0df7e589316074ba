package wire

import (
	"encoding/binary"
	"errors"
	"time"
)

// UDP IPCP datagrams. Every datagram starts with a
// 4-byte big-endian endpoint id (EID). EID 0 marks a management message; any
// other value is the receiver's local flow id (the C reference uses its fd,
// 64..4095) and the rest of the datagram is the SDU.

// UDPEIDLen is the length of the EID that starts every UDP datagram.
const UDPEIDLen = 4

// UDPMgmtLen is the length of the fixed management header, including the
// leading zero EID. Shorter management datagrams are runts and are dropped.
const UDPMgmtLen = 47

// UDPHashLen is the length of the destination name hash in a FLOW_REQ. The
// UDP layer always uses MD5, whatever the layer configuration says.
const UDPHashLen = 16

// UDPPort is the default UDP port. The whole layer must use the same port:
// a requester sends to its own port on the peer and checks that the reply
// comes from there.
const UDPPort = 3435

// Largest payload per datagram (IPCP_UDP_MAX_PACKET_SIZE): the writer drops
// larger payloads, not counting the EID. The reference's receive buffer has
// this size including the EID, so payloads above max−UDPEIDLen are cut short
// by the receiver; stay at or below that.
const (
	UDP4MaxPayload = 8980
	UDP6MaxPayload = 8952
)

// UDPMPL is the maximum packet lifetime a UDP IPCP reports to the IRMd
// (IPCP_UDP_MPL).
const UDPMPL = 5000 * time.Millisecond

// UDP management codes (the code byte at offset 44).
const (
	UDPFlowReq   = 1 // FLOW_REQ: header, 16-byte MD5 name hash, piggyback data
	UDPFlowReply = 2 // FLOW_REPLY: header, piggyback data
)

// Offsets inside the UDP management header.
const (
	udpEID       = 0
	udpSEID      = 4
	udpDEID      = 8
	udpResponse  = 12
	udpBandwidth = 16 // 8 bytes
	udpDelay     = 24
	udpLoss      = 28
	udpBER       = 32
	udpMaxGap    = 36
	udpTimeout   = 40
	udpCode      = 44
	udpAvail     = 45
	udpInOrder   = 46
)

// Errors returned by ParseUDPMgmt besides ErrTruncated.
var (
	ErrUDPNotMgmt = errors.New("wire: udp datagram with nonzero eid is not a management message")
	ErrUDPCode    = errors.New("wire: unknown udp management code")
)

// ParseUDPEID splits a UDP datagram into its big-endian EID and the bytes
// after it; payload aliases b. It returns ErrTruncated if b is shorter than
// UDPEIDLen (the reference drops such datagrams).
func ParseUDPEID(b []byte) (eid uint32, payload []byte, err error) {
	if len(b) < UDPEIDLen {
		return 0, nil, ErrTruncated
	}
	return binary.BigEndian.Uint32(b), b[UDPEIDLen:], nil
}

// AppendUDPEID appends the big-endian eid to b and returns the extended
// slice.
func AppendUDPEID(b []byte, eid uint32) []byte {
	return binary.BigEndian.AppendUint32(b, eid)
}

// PutUDPEID writes eid into the first UDPEIDLen bytes of b, for a sender
// that keeps headroom in front of the SDU.
func PutUDPEID(b []byte, eid uint32) {
	binary.BigEndian.PutUint32(b, eid)
}

// UDPMgmt is a UDP management message. On the wire it
// is a packed 47-byte header, multi-byte fields big-endian:
//
//	offset size field
//	 0     4    eid, always 0
//	 4     4    s_eid
//	 8     4    d_eid
//	12     4    response (signed)
//	16     8    bandwidth
//	24     4    delay
//	28     4    loss
//	32     4    ber
//	36     4    max_gap
//	40     4    timeout
//	44     1    code
//	45     1    availability
//	46     1    in_order
//
// followed, for FLOW_REQ, by the 16-byte MD5 hash of the destination name,
// and then by the piggybacked allocation data (the OAP header) up to the end
// of the datagram. In a FLOW_REPLY the reference echoes the requester's id in
// SEID and puts its own in DEID; the QoS fields are zero.
type UDPMgmt struct {
	SEID, DEID   uint32
	Response     int32
	Bandwidth    uint64
	Delay        uint32
	Loss         uint32
	BER          uint32
	MaxGap       uint32
	Timeout      uint32
	Code         uint8
	Availability uint8
	InOrder      uint8
	// Hash is the destination name hash, on the wire only in a FLOW_REQ.
	Hash [UDPHashLen]byte
	// Data is the piggybacked allocation data, opaque here. A parsed Data
	// aliases the input.
	Data []byte
}

// Len returns the encoded length of m.
func (m UDPMgmt) Len() int {
	n := UDPMgmtLen + len(m.Data)
	if m.Code == UDPFlowReq {
		n += UDPHashLen
	}
	return n
}

// Append appends the encoded datagram, starting with the zero EID, to b and
// returns the extended slice. Hash is written only for FLOW_REQ. Any code is
// encoded as given; ParseUDPMgmt accepts only FLOW_REQ and FLOW_REPLY.
func (m UDPMgmt) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, m.SEID)
	b = binary.BigEndian.AppendUint32(b, m.DEID)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Response))
	b = binary.BigEndian.AppendUint64(b, m.Bandwidth)
	b = binary.BigEndian.AppendUint32(b, m.Delay)
	b = binary.BigEndian.AppendUint32(b, m.Loss)
	b = binary.BigEndian.AppendUint32(b, m.BER)
	b = binary.BigEndian.AppendUint32(b, m.MaxGap)
	b = binary.BigEndian.AppendUint32(b, m.Timeout)
	b = append(b, m.Code, m.Availability, m.InOrder)
	if m.Code == UDPFlowReq {
		b = append(b, m.Hash[:]...)
	}
	return append(b, m.Data...)
}

// ParseUDPMgmt decodes a whole management datagram, EID included. It
// returns ErrTruncated for a runt (shorter than UDPMgmtLen) or a FLOW_REQ
// too short to hold the hash, ErrUDPNotMgmt if the EID is not 0, and
// ErrUDPCode for a code other than FLOW_REQ or FLOW_REPLY. Everything after
// the header (and hash) is Data, which aliases b.
func ParseUDPMgmt(b []byte) (UDPMgmt, error) {
	if len(b) < UDPMgmtLen {
		return UDPMgmt{}, ErrTruncated
	}
	if binary.BigEndian.Uint32(b[udpEID:]) != 0 {
		return UDPMgmt{}, ErrUDPNotMgmt
	}
	m := UDPMgmt{
		SEID:         binary.BigEndian.Uint32(b[udpSEID:]),
		DEID:         binary.BigEndian.Uint32(b[udpDEID:]),
		Response:     int32(binary.BigEndian.Uint32(b[udpResponse:])),
		Bandwidth:    binary.BigEndian.Uint64(b[udpBandwidth:]),
		Delay:        binary.BigEndian.Uint32(b[udpDelay:]),
		Loss:         binary.BigEndian.Uint32(b[udpLoss:]),
		BER:          binary.BigEndian.Uint32(b[udpBER:]),
		MaxGap:       binary.BigEndian.Uint32(b[udpMaxGap:]),
		Timeout:      binary.BigEndian.Uint32(b[udpTimeout:]),
		Code:         b[udpCode],
		Availability: b[udpAvail],
		InOrder:      b[udpInOrder],
	}
	rest := b[UDPMgmtLen:]
	switch m.Code {
	case UDPFlowReq:
		if len(rest) < UDPHashLen {
			return UDPMgmt{}, ErrTruncated
		}
		copy(m.Hash[:], rest)
		rest = rest[UDPHashLen:]
	case UDPFlowReply:
	default:
		return UDPMgmt{}, ErrUDPCode
	}
	m.Data = rest
	return m, nil
}
