package wire

import "encoding/binary"

// The DT PCI: the header the unicast layer's data transfer puts in front of
// every packet it carries between IPCPs. It has no version, length or source
// field; the layer's members agree on its shape at enrollment.
//
//	offset size field
//	 0     4    destination address, LITTLE-endian (low 32 bits of the address)
//	 4     1    QoS cube (0 best effort, 1 video, 2 voice)
//	 5     1    TTL, decremented by every hop
//	 6     1    ECN: congestion level, ORed in by every hop
//	 7     8    EID, LITTLE-endian
//	15          payload
//
// The address and the EID are the only little-endian fields of the unicast
// layer: the reference copies them from memory on little-endian machines, and
// every deployed node does so, so interoperating means writing them
// little-endian. Everything else in the layer (flow allocator messages, LSUs)
// is big-endian.
//
// The reference sizes the address field from the layer's addr_size, but its
// only address policy (flat random) refuses anything but 4 bytes, and it
// forces the EID to 8 bytes; so the PCI is always 15 bytes and this package
// fixes that shape.
const (
	DTAddrLen = 4                            // bytes of destination address on the wire
	DTEIDLen  = 8                            // bytes of EID on the wire
	DTPCILen  = DTAddrLen + 3 + DTEIDLen     // 15
	DTAddrMax = uint64(1)<<(8*DTAddrLen) - 1 // largest address the PCI can carry
)

// Offsets inside the DT PCI.
const (
	dtDst = 0
	dtQoS = DTAddrLen
	dtTTL = DTAddrLen + 1
	dtECN = DTAddrLen + 2
	dtEID = DTAddrLen + 3
)

// Reserved EIDs. A destination's data transfer hands a packet with an EID
// below DTEIDFirstFlow to an internal component, and anything else to the
// flow allocator as N+1 flow data. Components send to the peer's component
// with their own EID, so every member of a layer must use these numbers.
const (
	DTEIDFlowAllocator = 0  // flow allocator messages
	DTEIDDHT           = 1  // directory (DHT) messages
	DTEIDFirstFlow     = 64 // first EID of an N+1 flow; 2..63 are unused
)

// DTDefaultTTL is the TTL a sender writes when the layer does not set
// max_ttl.
const DTDefaultTTL = 60

// DT QoS cubes, the value of the QoS byte.
const (
	DTQoSBE    = 0 // best effort; everything an IPCP originates itself
	DTQoSVideo = 1
	DTQoSVoice = 2
)

// DT is a view of a DT PCI at the start of a packet. Accessors assume the
// view holds at least DTPCILen bytes; check Valid once at the edge. None of
// them allocates.
type DT []byte

// Valid reports whether h is long enough to hold a DT PCI.
func (h DT) Valid() bool { return len(h) >= DTPCILen }

// Dst returns the destination address (little-endian on the wire).
func (h DT) Dst() uint64 { return uint64(binary.LittleEndian.Uint32(h[dtDst:])) }

// SetDst sets the destination address. Only its low 32 bits fit; the layer's
// addresses never have more.
func (h DT) SetDst(a uint64) { binary.LittleEndian.PutUint32(h[dtDst:], uint32(a)) }

// QoS returns the QoS cube byte.
func (h DT) QoS() uint8 { return h[dtQoS] }

// SetQoS sets the QoS cube byte.
func (h DT) SetQoS(q uint8) { h[dtQoS] = q }

// TTL returns the time-to-live byte.
func (h DT) TTL() uint8 { return h[dtTTL] }

// SetTTL sets the time-to-live byte.
func (h DT) SetTTL(t uint8) { h[dtTTL] = t }

// ECN returns the congestion byte.
func (h DT) ECN() uint8 { return h[dtECN] }

// SetECN sets the congestion byte.
func (h DT) SetECN(e uint8) { h[dtECN] = e }

// EID returns the endpoint id (little-endian on the wire).
func (h DT) EID() uint64 { return binary.LittleEndian.Uint64(h[dtEID:]) }

// SetEID sets the endpoint id.
func (h DT) SetEID(e uint64) { binary.LittleEndian.PutUint64(h[dtEID:], e) }

// Payload returns the bytes after the PCI.
func (h DT) Payload() []byte { return h[DTPCILen:] }

// Fields returns the PCI's fields as values.
func (h DT) Fields() DTFields {
	return DTFields{Dst: h.Dst(), QoS: h.QoS(), TTL: h.TTL(), ECN: h.ECN(), EID: h.EID()}
}

// DTFields holds the values of a DT PCI.
type DTFields struct {
	// Dst is the destination address; only its low 32 bits go on the wire,
	// so a parsed Dst is always <= DTAddrMax.
	Dst uint64
	QoS uint8
	TTL uint8
	ECN uint8
	EID uint64
}

// Len returns DTPCILen.
func (DTFields) Len() int { return DTPCILen }

// Append appends the encoded PCI to b and returns the extended slice.
func (f DTFields) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(f.Dst))
	b = append(b, f.QoS, f.TTL, f.ECN)
	return binary.LittleEndian.AppendUint64(b, f.EID)
}

// Put writes the PCI into the first DTPCILen bytes of h, in place: the way a
// sender fills the headroom it reserved in front of a payload.
func (f DTFields) Put(h DT) {
	_ = h[DTPCILen-1] // one bounds check
	h.SetDst(f.Dst)
	h[dtQoS] = f.QoS
	h[dtTTL] = f.TTL
	h[dtECN] = f.ECN
	h.SetEID(f.EID)
}

// ParseDT decodes the DT PCI at the start of b and returns it with the
// payload after it, which aliases b. It returns ErrTruncated if b is shorter
// than DTPCILen. Every value of every field is accepted: what an address, a
// TTL or an EID means is for the data transfer to decide.
func ParseDT(b []byte) (DTFields, []byte, error) {
	if len(b) < DTPCILen {
		return DTFields{}, nil, ErrTruncated
	}
	return DT(b).Fields(), b[DTPCILen:], nil
}
