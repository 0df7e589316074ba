package connmgr

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Component names, the comp_name of an OCEP message.
const (
	CompDT     = "Data Transfer"
	CompMgmt   = "Management"
	CompEnroll = "Enrollment"
)

// Syntax is the concrete syntax a component's protocol uses.
type Syntax int32

// Concrete syntaxes.
const (
	SyntaxGPB   Syntax = 0 // protocol buffers
	SyntaxASN1  Syntax = 1
	SyntaxFixed Syntax = 2 // fixed binary layout
)

// MaxOCEPLen is the largest OCEP message a peer reads: longer ones make the
// reference's read fail, so neither side sends or accepts them.
const MaxOCEPLen = 128

// MaxCompLen is the longest component name a receiver accepts.
const MaxCompLen = 128

// Errors of the OCEP codec.
var (
	ErrOCEPTooLong   = errors.New("connmgr: OCEP message longer than 128 bytes")
	ErrOCEPMalformed = errors.New("connmgr: malformed OCEP message")
	ErrIncompatible  = errors.New("connmgr: peer speaks another protocol, version or syntax")
)

// ConnInfo is what each side of a new N-1 flow tells the other in OCEP:
// the component the flow is for, its protocol, version and syntax, and the
// sender's layer address (0 where it has none, as an enrollee).
type ConnInfo struct {
	Comp     string
	Protocol string
	Version  int32
	Syntax   Syntax
	Addr     uint64
}

// DTInfo is the Data Transfer component's ConnInfo; addr is the member's
// own address.
func DTInfo(addr uint64) ConnInfo {
	return ConnInfo{Comp: CompDT, Protocol: "dtp", Version: 1, Syntax: SyntaxFixed, Addr: addr}
}

// BroadcastDTInfo is the broadcast IPCP's Data Transfer ConnInfo: only the
// component name is set (no protocol, version 0, syntax GPB, address 0),
// as the reference's broadcast IPCP sends it.
func BroadcastDTInfo() ConnInfo { return ConnInfo{Comp: CompDT} }

// MgmtInfo is the Management (link-state routing) component's ConnInfo.
func MgmtInfo(addr uint64) ConnInfo {
	return ConnInfo{Comp: CompMgmt, Protocol: "LSP", Version: 1, Syntax: SyntaxGPB, Addr: addr}
}

// EnrollInfo is the Enrollment component's ConnInfo; it carries no address.
func EnrollInfo() ConnInfo {
	return ConnInfo{Comp: CompEnroll, Protocol: "OEP", Version: 1, Syntax: SyntaxGPB}
}

// Marshal encodes c as an OCEP message. It refuses a negative syntax, a
// component name longer than MaxCompLen and a message longer than
// MaxOCEPLen: the peer would refuse them. The zero ConnInfo encodes the
// "unknown component" answer a responder sends before closing the flow.
func (c ConnInfo) Marshal() ([]byte, error) {
	if c.Syntax < 0 || len(c.Comp) > MaxCompLen {
		return nil, fmt.Errorf("%w: syntax %d, %d-byte component name", ErrOCEPMalformed, c.Syntax, len(c.Comp))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.CepMsg{
		CompName:    proto.String(c.Comp),
		Protocol:    proto.String(c.Protocol),
		PrefVersion: proto.Int32(c.Version),
		PrefSyntax:  proto.Int32(int32(c.Syntax)),
		Address:     proto.Uint64(c.Addr),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOCEPMalformed, err)
	}
	if len(b) > MaxOCEPLen {
		return nil, ErrOCEPTooLong
	}
	return b, nil
}

// ParseConnInfo decodes an OCEP message. It refuses messages longer than
// MaxOCEPLen, messages missing a required field, and component names longer
// than MaxCompLen. The fields the reference never fills (supported versions
// and syntaxes, syntax spec) are ignored.
func ParseConnInfo(b []byte) (ConnInfo, error) {
	if len(b) > MaxOCEPLen {
		return ConnInfo{}, ErrOCEPTooLong
	}
	var m pb.CepMsg
	if err := proto.Unmarshal(b, &m); err != nil {
		return ConnInfo{}, fmt.Errorf("%w: %v", ErrOCEPMalformed, err)
	}
	if len(m.GetCompName()) > MaxCompLen {
		return ConnInfo{}, fmt.Errorf("%w: %d-byte component name", ErrOCEPMalformed, len(m.GetCompName()))
	}
	return ConnInfo{
		Comp:     m.GetCompName(),
		Protocol: m.GetProtocol(),
		Version:  m.GetPrefVersion(),
		Syntax:   Syntax(m.GetPrefSyntax()),
		Addr:     m.GetAddress(),
	}, nil
}

// Compatible is the initiator's check of the responder's answer: same
// protocol, version and syntax as ours. The component name is not checked
// (the responder answers for the component we asked for, or with the zero
// ConnInfo, which fails here for every unicast component).
func (c ConnInfo) Compatible(peer ConnInfo) error {
	if peer.Protocol != c.Protocol || peer.Version != c.Version || peer.Syntax != c.Syntax {
		return fmt.Errorf("%w: want %s v%d syntax %d, peer has %q v%d syntax %d", ErrIncompatible,
			c.Protocol, c.Version, c.Syntax, peer.Protocol, peer.Version, peer.Syntax)
	}
	return nil
}
