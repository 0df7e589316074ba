package wire

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"time"
)

// Ethernet IPCP frames, in the reference's wire format. Two framings exist:
// eth-dix (Ethernet II with its own Ethertype, then a 16-bit EID and a
// length) and eth-llc (IEEE 802.3 length, then an 802.2 LLC UI header with
// bit-reversed SAPs). All multi-byte fields are big-endian.

// EthAddrLen is the length of a MAC address.
const EthAddrLen = 6

// EthAddr is a MAC address as it appears on the wire.
type EthAddr [EthAddrLen]byte

// EthBroadcast is ff:ff:ff:ff:ff:ff, the destination of NAME_QUERY_REQ.
var EthBroadcast = EthAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// String returns a in the form "00:1a:2b:3c:4d:5e".
func (a EthAddr) String() string {
	const hex = "0123456789abcdef"
	s := make([]byte, 0, 3*EthAddrLen-1)
	for i, c := range a {
		if i > 0 {
			s = append(s, ':')
		}
		s = append(s, hex[c>>4], hex[c&0xf])
	}
	return string(s)
}

// Frame sizes.
const (
	EthDIXHeaderLen = 18 // dst, src, Ethertype, EID, length
	EthLLCHeaderLen = 17 // dst, src, 802.3 length, DSAP, SSAP, control

	// Bytes the IPCP adds after the 14-byte MAC header; the largest SDU is
	// mtu − EthDIXOverhead (DIX) or mtu − EthLLCOverhead (LLC). Larger SDUs
	// are refused: there is no fragmentation.
	EthDIXOverhead = 4 // EID + length
	EthLLCOverhead = 3 // DSAP, SSAP, control; also counted in the 802.3 length

	// The IPCP's MTU is min(interface MTU, EthDIXMTUMax or EthLLCMTUMax),
	// further capped at EthLoMTU on devices whose name starts with "lo".
	EthDIXMTUMax = 65535
	EthLLCMTUMax = 1500 // 802.3 length fields top out at 1500
	EthLoMTU     = 9000 // IPCP_ETH_LO_MTU

	// EthMgmtFrameSize is the largest management message (the frame
	// payload) accepted on receive (IPCP_ETH_MGMT_FRAME_SIZE).
	EthMgmtFrameSize = 9000
)

// Timing constants of the Ethernet IPCPs.
const (
	EthMPL              = 100 * time.Millisecond // IPCP_ETH_MPL, reported to the IRMd
	EthNameQueryTimeout = 2000 * time.Millisecond
)

// eth-dix constants.
const (
	EthDefaultEthertype = 0xA000 // recommended range 0xA000-0xEFFF
	EthDIXMgmtEID       = 0      // EID of management frames
)

// ValidEthertype reports whether t is an acceptable eth-dix Ethertype,
// 0x0600 <= t < 0xFFFF.
func ValidEthertype(t uint16) bool { return t >= 0x0600 && t < 0xffff }

// eth-llc constants. SAPs are logical values; the wire carries them
// bit-reversed (EthSAPWire).
const (
	EthLLCMaxLength  = 0x05FF // a larger 802.3 length field is an Ethertype
	EthLLCControlUI  = 0x03   // the only control byte sent
	EthLLCMgmtSAP    = 0x01   // logical management SAP (wire 0x80) for DSAP and SSAP
	EthLLCMinDataSAP = 2      // data SAPs are logical 2..65 (64 flows)
	EthLLCMaxDataSAP = 65
)

// EthSAPWire converts between a logical LLC SAP and its wire byte by
// reversing the order of the 8 bits; it is its own inverse. Logical 0x01 is
// wire 0x80, logical 2 is wire 0x40.
func EthSAPWire(sap uint8) uint8 { return bits.Reverse8(sap) }

// Errors returned by the Ethernet parsers besides ErrTruncated.
var (
	ErrEthNotLLC       = errors.New("wire: 802.3 length above 0x05ff, not an LLC frame")
	ErrEthLLCLength    = errors.New("wire: 802.3 length shorter than the LLC header")
	ErrEthLLCControl   = errors.New("wire: LLC control byte is not UI (0x03)")
	ErrEthCode         = errors.New("wire: unknown ethernet management code")
	ErrEthMgmtTooLarge = errors.New("wire: ethernet management message above 9000 bytes")
	ErrEthParam        = errors.New("wire: bad ethernet format or hash length argument")
)

// EthDIXHeader is the 18-byte eth-dix header:
//
//	offset size field
//	 0     6    destination MAC
//	 6     6    source MAC
//	12     2    Ethertype (the layer's, default 0xA000)
//	14     2    EID: 0 = management, else the receiver's flow id
//	16     2    length of the payload that follows, padding excluded
type EthDIXHeader struct {
	Dst, Src  EthAddr
	Ethertype uint16
	EID       uint16
	Length    uint16
}

// Append appends the encoded header to b and returns the extended slice.
func (h EthDIXHeader) Append(b []byte) []byte {
	b = append(b, h.Dst[:]...)
	b = append(b, h.Src[:]...)
	b = binary.BigEndian.AppendUint16(b, h.Ethertype)
	b = binary.BigEndian.AppendUint16(b, h.EID)
	return binary.BigEndian.AppendUint16(b, h.Length)
}

// Put writes the header into the first EthDIXHeaderLen bytes of b, in place.
func (h EthDIXHeader) Put(b []byte) { h.Append(b[:0:EthDIXHeaderLen]) }

// ParseEthDIX decodes an eth-dix frame that starts at its destination MAC
// and returns the header and the Length payload bytes, which alias b;
// anything after them (minimum-size padding) is ignored. It returns
// ErrTruncated if b is shorter than the header or than Length says. The
// Ethertype is not checked: compare it with the layer's.
func ParseEthDIX(b []byte) (EthDIXHeader, []byte, error) {
	if len(b) < EthDIXHeaderLen {
		return EthDIXHeader{}, nil, ErrTruncated
	}
	var h EthDIXHeader
	copy(h.Dst[:], b[0:6])
	copy(h.Src[:], b[6:12])
	h.Ethertype = binary.BigEndian.Uint16(b[12:])
	h.EID = binary.BigEndian.Uint16(b[14:])
	h.Length = binary.BigEndian.Uint16(b[16:])
	end := EthDIXHeaderLen + int(h.Length)
	if end > len(b) {
		return EthDIXHeader{}, nil, ErrTruncated
	}
	return h, b[EthDIXHeaderLen:end:end], nil
}

// EthLLCHeader is the 17-byte eth-llc header (802.3 + 802.2 UI):
//
//	offset size field
//	 0     6    destination MAC
//	 6     6    source MAC
//	12     2    802.3 length = EthLLCOverhead + payload length
//	14     1    DSAP, bit-reversed
//	15     1    SSAP, bit-reversed
//	16     1    control, 0x03
//
// DSAP and SSAP hold logical SAPs; Append and ParseEthLLC do the bit
// reversal. Both equal to EthLLCMgmtSAP mark a management frame.
type EthLLCHeader struct {
	Dst, Src   EthAddr
	Length     uint16
	DSAP, SSAP uint8
}

// Append appends the encoded header to b and returns the extended slice.
func (h EthLLCHeader) Append(b []byte) []byte {
	b = append(b, h.Dst[:]...)
	b = append(b, h.Src[:]...)
	b = binary.BigEndian.AppendUint16(b, h.Length)
	return append(b, EthSAPWire(h.DSAP), EthSAPWire(h.SSAP), EthLLCControlUI)
}

// Put writes the header into the first EthLLCHeaderLen bytes of b, in place.
func (h EthLLCHeader) Put(b []byte) { h.Append(b[:0:EthLLCHeaderLen]) }

// IsMgmt reports whether h addresses the management SAP on both sides.
func (h EthLLCHeader) IsMgmt() bool {
	return h.DSAP == EthLLCMgmtSAP && h.SSAP == EthLLCMgmtSAP
}

// ParseEthLLC decodes an eth-llc frame that starts at its destination MAC
// and returns the header, with logical SAPs, and the Length−3 payload bytes,
// which alias b; padding after them is ignored. Errors: ErrTruncated if b is
// shorter than the header or than Length says, ErrEthNotLLC if Length is
// above EthLLCMaxLength (an Ethertype frame), ErrEthLLCLength if Length is
// below 3, ErrEthLLCControl if the control byte is not 0x03.
func ParseEthLLC(b []byte) (EthLLCHeader, []byte, error) {
	if len(b) < EthLLCHeaderLen {
		return EthLLCHeader{}, nil, ErrTruncated
	}
	var h EthLLCHeader
	copy(h.Dst[:], b[0:6])
	copy(h.Src[:], b[6:12])
	h.Length = binary.BigEndian.Uint16(b[12:])
	switch {
	case h.Length > EthLLCMaxLength:
		return EthLLCHeader{}, nil, ErrEthNotLLC
	case h.Length < EthLLCOverhead:
		return EthLLCHeader{}, nil, ErrEthLLCLength
	case b[16] != EthLLCControlUI:
		return EthLLCHeader{}, nil, ErrEthLLCControl
	}
	h.DSAP = EthSAPWire(b[14])
	h.SSAP = EthSAPWire(b[15])
	end := EthLLCHeaderLen - EthLLCOverhead + int(h.Length)
	if end > len(b) {
		return EthLLCHeader{}, nil, ErrTruncated
	}
	return h, b[EthLLCHeaderLen:end:end], nil
}

// EthFormat selects the eth-dix or the eth-llc management layout.
type EthFormat uint8

// Ethernet framings.
const (
	EthDIX EthFormat = 1
	EthLLC EthFormat = 2
)

// Management header lengths.
const (
	EthDIXMgmtLen = 39
	EthLLCMgmtLen = 37
)

// MgmtLen returns the management header length of f, or 0 if f is neither
// EthDIX nor EthLLC.
func (f EthFormat) MgmtLen() int {
	switch f {
	case EthDIX:
		return EthDIXMgmtLen
	case EthLLC:
		return EthLLCMgmtLen
	}
	return 0
}

// Ethernet management codes. They differ from the UDP ones.
const (
	EthFlowReq        = 0 // hash, then piggyback data; unicast to the resolved MAC
	EthFlowReply      = 1 // piggyback data; to the requester's MAC
	EthNameQueryReq   = 2 // hash; broadcast
	EthNameQueryReply = 3 // hash; to the querier's MAC
)

// ethHasHash reports whether a message with this code carries a name hash.
func ethHasHash(code uint8) bool { return code != EthFlowReply }

// EthMgmt is an Ethernet management message: the payload of a DIX frame
// with EID 0, or of an LLC frame with DSAP = SSAP = EthLLCMgmtSAP. Both
// layouts are packed, multi-byte fields big-endian.
//
// eth-dix, 39 bytes:
//
//	offset size field          offset size field
//	 0     2    seid           24     4    delay
//	 2     2    deid           28     4    timeout
//	 4     4    loss           32     4    response (signed)
//	 8     8    bandwidth      36     1    in_order
//	16     4    ber            37     1    code
//	20     4    max_gap        38     1    availability
//
// eth-llc, 37 bytes: ssap(1) dsap(1) code(1) availability(1) loss(4)
// bandwidth(8) ber(4) max_gap(4) delay(4) timeout(4) response(4)
// in_order(1), at offsets 0, 1, 2, 3, 4, 8, 16, 20, 24, 28, 32, 36. The
// SAPs here are logical, not bit-reversed.
//
// FLOW_REQ, NAME_QUERY_REQ and NAME_QUERY_REPLY carry the name hash (the
// layer's hash length) after the header; what follows the hash, or the
// header in a FLOW_REPLY, is Data. The reference sets the QoS fields only in
// FLOW_REQ and Response only in FLOW_REPLY, and zeroes the rest.
type EthMgmt struct {
	// SEID and DEID are the sender's and receiver's ids: 16-bit flow ids
	// (fds) for DIX, logical SAPs (ssap, dsap) below 256 for LLC.
	SEID, DEID   uint16
	Code         uint8
	Availability uint8
	InOrder      uint8
	Loss         uint32
	Bandwidth    uint64
	BER          uint32
	MaxGap       uint32
	Delay        uint32
	Timeout      uint32
	Response     int32
	// Hash is the name hash, written as given for every code but
	// FLOW_REPLY; its length must be the layer's hash length.
	Hash []byte
	// Data is the piggybacked allocation data, opaque here. A parsed Data
	// aliases the input.
	Data []byte
}

// Len returns the encoded length of m in format f.
func (m EthMgmt) Len(f EthFormat) int {
	n := f.MgmtLen() + len(m.Data)
	if ethHasHash(m.Code) {
		n += len(m.Hash)
	}
	return n
}

// Append appends m encoded in format f to b and returns the extended slice.
// It panics if f is not EthDIX or EthLLC, or if for EthLLC SEID or DEID do
// not fit in a byte.
func (m EthMgmt) Append(b []byte, f EthFormat) []byte {
	switch f {
	case EthDIX:
		b = binary.BigEndian.AppendUint16(b, m.SEID)
		b = binary.BigEndian.AppendUint16(b, m.DEID)
	case EthLLC:
		if m.SEID > 0xff || m.DEID > 0xff {
			panic("wire: LLC SAP does not fit in a byte")
		}
		b = append(b, byte(m.SEID), byte(m.DEID), m.Code, m.Availability)
	default:
		panic("wire: bad EthFormat")
	}
	b = binary.BigEndian.AppendUint32(b, m.Loss)
	b = binary.BigEndian.AppendUint64(b, m.Bandwidth)
	b = binary.BigEndian.AppendUint32(b, m.BER)
	b = binary.BigEndian.AppendUint32(b, m.MaxGap)
	b = binary.BigEndian.AppendUint32(b, m.Delay)
	b = binary.BigEndian.AppendUint32(b, m.Timeout)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Response))
	b = append(b, m.InOrder)
	if f == EthDIX {
		b = append(b, m.Code, m.Availability)
	}
	if ethHasHash(m.Code) {
		b = append(b, m.Hash...)
	}
	return append(b, m.Data...)
}

// ParseEthMgmt decodes a management message in format f, given the layer's
// hash length. Hash and Data alias b. Errors: ErrTruncated if b is shorter
// than the header, or than header plus hash for a code that carries one;
// ErrEthMgmtTooLarge above EthMgmtFrameSize bytes (the reference drops those
// on receive); ErrEthCode for an unknown code; ErrEthParam for a bad f or a
// negative hashLen.
func ParseEthMgmt(b []byte, f EthFormat, hashLen int) (EthMgmt, error) {
	hdr := f.MgmtLen()
	if hdr == 0 || hashLen < 0 {
		return EthMgmt{}, ErrEthParam
	}
	if len(b) < hdr {
		return EthMgmt{}, ErrTruncated
	}
	if len(b) > EthMgmtFrameSize {
		return EthMgmt{}, ErrEthMgmtTooLarge
	}
	var m EthMgmt
	// Offsets 4 (loss) to 36 (in_order) are the same in both layouts.
	if f == EthDIX {
		m.SEID = binary.BigEndian.Uint16(b[0:])
		m.DEID = binary.BigEndian.Uint16(b[2:])
		m.InOrder = b[36]
		m.Code = b[37]
		m.Availability = b[38]
	} else {
		m.SEID = uint16(b[0])
		m.DEID = uint16(b[1])
		m.Code = b[2]
		m.Availability = b[3]
		m.InOrder = b[36]
	}
	m.Loss = binary.BigEndian.Uint32(b[4:])
	m.Bandwidth = binary.BigEndian.Uint64(b[8:])
	m.BER = binary.BigEndian.Uint32(b[16:])
	m.MaxGap = binary.BigEndian.Uint32(b[20:])
	m.Delay = binary.BigEndian.Uint32(b[24:])
	m.Timeout = binary.BigEndian.Uint32(b[28:])
	m.Response = int32(binary.BigEndian.Uint32(b[32:]))
	if m.Code > EthNameQueryReply {
		return EthMgmt{}, ErrEthCode
	}
	rest := b[hdr:]
	if ethHasHash(m.Code) {
		if len(rest) < hashLen {
			return EthMgmt{}, ErrTruncated
		}
		m.Hash, rest = rest[:hashLen:hashLen], rest[hashLen:]
	}
	m.Data = rest
	return m, nil
}
