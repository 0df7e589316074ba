package dir

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Code is a DHT message code.
type Code uint32

// DHT message codes.
const (
	Store        Code = 0 // publish a value; never answered
	FindNodeReq  Code = 1 // which contacts do you know near this key?
	FindNodeRsp  Code = 2
	FindValueReq Code = 3 // which values do you have for this key (and contacts)?
	FindValueRsp Code = 4
)

func (c Code) String() string {
	switch c {
	case Store:
		return "STORE"
	case FindNodeReq:
		return "FIND_NODE_REQ"
	case FindNodeRsp:
		return "FIND_NODE_RSP"
	case FindValueReq:
		return "FIND_VALUE_REQ"
	case FindValueRsp:
		return "FIND_VALUE_RSP"
	}
	return fmt.Sprintf("DHT code %d", uint32(c))
}

// MinIDLen is the shortest node ID (and key) a DHT works with; distances
// use the first 8 bytes.
const MinIDLen = 8

// ValueLen is the length of a published value: an address, big-endian.
const ValueLen = 8

// ErrMalformed is returned by ParseMsg for a message a member must drop.
var ErrMalformed = errors.New("dir: malformed DHT message")

// Contact is a DHT node: its ID and its layer address.
type Contact struct {
	ID   []byte
	Addr uint64
}

// Msg is a DHT message. Which fields mean something depends on Code:
//
//	STORE           Key, Value, Exp
//	FIND_*_REQ      Key, Cookie
//	FIND_NODE_RSP   Key, Cookie (echoed), Contacts
//	FIND_VALUE_RSP  Key, Cookie (echoed), Contacts, Values
//
// Src is the sender, always. Parsed byte slices alias nothing: the
// protobuf decoder copies.
type Msg struct {
	Code     Code
	Src      Contact
	Key      []byte
	Cookie   uint64
	Contacts []Contact
	Values   [][]byte
	Value    []byte
	Exp      uint32 // absolute expiry, UNIX seconds (truncated to 32 bits)
}

// Marshal encodes m with the sub-messages its code calls for, every
// required field present.
func (m Msg) Marshal() ([]byte, error) {
	p := &pb.DhtMsg{
		Code: proto.Uint32(uint32(m.Code)),
		Src:  contactPB(m.Src),
	}
	switch m.Code {
	case Store:
		p.Store = &pb.DhtStoreMsg{Key: nonNil(m.Key), Val: nonNil(m.Value), Exp: proto.Uint32(m.Exp)}
	case FindNodeReq, FindValueReq:
		p.Find = &pb.DhtFindReqMsg{Cookie: proto.Uint64(m.Cookie), Key: nonNil(m.Key)}
	case FindNodeRsp, FindValueRsp:
		p.Node = &pb.DhtFindNodeRspMsg{Cookie: proto.Uint64(m.Cookie), Key: nonNil(m.Key)}
		for _, c := range m.Contacts {
			p.Node.Contacts = append(p.Node.Contacts, contactPB(c))
		}
		if m.Code == FindValueRsp {
			p.Val = &pb.DhtFindValueRspMsg{Values: m.Values}
		}
	default:
		return nil, fmt.Errorf("%w: code %d", ErrMalformed, uint32(m.Code))
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(p)
}

// nonNil makes an absent required bytes field present and empty.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func contactPB(c Contact) *pb.DhtContactMsg {
	return &pb.DhtContactMsg{Id: nonNil(c.ID), Addr: proto.Uint64(c.Addr)}
}

// ParseMsg decodes and validates a DHT message for a DHT whose IDs and keys
// are idLen bytes (the layer's hash length). It drops, with ErrMalformed,
// what the reference drops: a sender ID of another length or a zero sender
// address; a request without a key of ID length; a STORE without a key of
// ID length or without a value; a response without its contacts part or
// key of ID length; a FIND_VALUE_RSP without its values part; an unknown
// code. Whether a response answers an outstanding request (its key and
// cookie) is for the DHT to check.
//
// Contacts in a response with an ID of another length or address 0 are
// left out: they could never be used.
func ParseMsg(b []byte, idLen int) (Msg, error) {
	if idLen < MinIDLen {
		return Msg{}, fmt.Errorf("%w: %d-byte IDs", ErrMalformed, idLen)
	}
	var p pb.DhtMsg
	if err := proto.Unmarshal(b, &p); err != nil {
		return Msg{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	m := Msg{Code: Code(p.GetCode()), Src: Contact{ID: p.GetSrc().GetId(), Addr: p.GetSrc().GetAddr()}}
	if len(m.Src.ID) != idLen || m.Src.Addr == 0 {
		return Msg{}, fmt.Errorf("%w: sender %d-byte ID, address %#x", ErrMalformed, len(m.Src.ID), m.Src.Addr)
	}
	switch m.Code {
	case Store:
		s := p.GetStore()
		if s == nil || len(s.GetKey()) != idLen || len(s.GetVal()) == 0 {
			return Msg{}, fmt.Errorf("%w: STORE without key or value", ErrMalformed)
		}
		m.Key, m.Value, m.Exp = s.GetKey(), s.GetVal(), s.GetExp()
	case FindNodeReq, FindValueReq:
		f := p.GetFind()
		if f == nil || len(f.GetKey()) != idLen {
			return Msg{}, fmt.Errorf("%w: %v without key", ErrMalformed, m.Code)
		}
		m.Key, m.Cookie = f.GetKey(), f.GetCookie()
	case FindNodeRsp, FindValueRsp:
		if m.Code == FindValueRsp {
			if p.Val == nil {
				return Msg{}, fmt.Errorf("%w: FIND_VALUE_RSP without values", ErrMalformed)
			}
			m.Values = p.Val.GetValues()
		}
		n := p.GetNode()
		if n == nil || len(n.GetKey()) != idLen {
			return Msg{}, fmt.Errorf("%w: %v without contacts or key", ErrMalformed, m.Code)
		}
		m.Key, m.Cookie = n.GetKey(), n.GetCookie()
		for _, c := range n.GetContacts() {
			if len(c.GetId()) == idLen && c.GetAddr() != 0 {
				m.Contacts = append(m.Contacts, Contact{ID: c.GetId(), Addr: c.GetAddr()})
			}
		}
	default:
		return Msg{}, fmt.Errorf("%w: code %d", ErrMalformed, uint32(m.Code))
	}
	return m, nil
}

// EncodeValue returns the value a member publishes for a name it
// registers: its address, 8 bytes big-endian.
func EncodeValue(addr uint64) []byte { return binary.BigEndian.AppendUint64(nil, addr) }

// DecodeValue returns the address in a value, or an error if the value is
// not 8 bytes.
func DecodeValue(v []byte) (uint64, error) {
	if len(v) != ValueLen {
		return 0, fmt.Errorf("%w: %d-byte value", ErrMalformed, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Distance is the XOR distance between two IDs or keys, on their first 8
// bytes read big-endian. Both must be at least MinIDLen bytes.
func Distance(a, b []byte) uint64 {
	return binary.BigEndian.Uint64(a) ^ binary.BigEndian.Uint64(b)
}
