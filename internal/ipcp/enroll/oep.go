package enroll

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// IDLen is the length of an enrollment id.
const IDLen = 8

// MaxMsgLen is the largest OEP message a member reads.
const MaxMsgLen = 1024

// ID is the random id an enrollee picks for one enrollment; the enroller
// echoes it in its response and the enrollee in its acknowledgement.
type ID [IDLen]byte

// Errors of the OEP codec.
var (
	ErrMalformed = errors.New("enroll: malformed OEP message")
	ErrTooLong   = errors.New("enroll: OEP message longer than 1024 bytes")
)

// Response is the enroller's answer: the time it answered (for the
// enrollee's clock check), 0 or a negative error, and, when it accepts, the
// layer configuration.
type Response struct {
	ID       ID
	Time     time.Time
	Response int32
	Conf     *pb.IpcpConfigMsg
}

// Ack is the enrollee's acknowledgement: 0 once its components started.
type Ack struct {
	ID     ID
	Result int32
}

func marshal(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(b) > MaxMsgLen {
		return nil, ErrTooLong
	}
	return b, nil
}

func unmarshal(b []byte, m proto.Message) error {
	if len(b) > MaxMsgLen {
		return ErrTooLong
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

func toID(b []byte) (ID, error) {
	var id ID
	if len(b) != IDLen {
		return id, fmt.Errorf("%w: %d-byte id, want %d", ErrMalformed, len(b), IDLen)
	}
	copy(id[:], b)
	return id, nil
}

// MarshalRequest encodes the enrollee's request.
func MarshalRequest(id ID) []byte {
	b, _ := marshal(&pb.EnrollReqMsg{Id: id[:]}) // 10 bytes, cannot fail
	return b
}

// ParseRequest decodes an enrollment request.
func ParseRequest(b []byte) (ID, error) {
	var m pb.EnrollReqMsg
	if err := unmarshal(b, &m); err != nil {
		return ID{}, err
	}
	return toID(m.GetId())
}

// Marshal encodes the response. The configuration goes on the wire only
// with a response >= 0, and must be there then (ErrMalformed otherwise).
func (r Response) Marshal() ([]byte, error) {
	m := &pb.EnrollRespMsg{
		Id:       r.ID[:],
		TSec:     proto.Int64(r.Time.Unix()),
		TNsec:    proto.Int32(int32(r.Time.Nanosecond())),
		Response: proto.Int32(r.Response),
	}
	if r.Response >= 0 {
		if r.Conf == nil {
			return nil, fmt.Errorf("%w: accepting response without a configuration", ErrMalformed)
		}
		m.Conf = r.Conf
	}
	return marshal(m)
}

// ParseResponse decodes an enrollment response. It checks the id's length
// (the reference does not) and that an accepting response carries a
// configuration; whether the configuration suits the enrollee (its IPCP
// type) is for the caller to check.
func ParseResponse(b []byte) (Response, error) {
	var m pb.EnrollRespMsg
	if err := unmarshal(b, &m); err != nil {
		return Response{}, err
	}
	id, err := toID(m.GetId())
	if err != nil {
		return Response{}, err
	}
	nsec := m.GetTNsec()
	if nsec < 0 || nsec >= 1e9 {
		return Response{}, fmt.Errorf("%w: %d ns", ErrMalformed, nsec)
	}
	r := Response{ID: id, Time: time.Unix(m.GetTSec(), int64(nsec)), Response: m.GetResponse()}
	if r.Response >= 0 {
		if m.Conf == nil {
			return Response{}, fmt.Errorf("%w: accepting response without a configuration", ErrMalformed)
		}
		r.Conf = m.Conf
	}
	return r, nil
}

// Marshal encodes the acknowledgement.
func (a Ack) Marshal() []byte {
	b, _ := marshal(&pb.EnrollAckMsg{Id: a.ID[:], Result: proto.Int32(a.Result)}) // <= 23 bytes
	return b
}

// ParseAck decodes an acknowledgement.
func ParseAck(b []byte) (Ack, error) {
	var m pb.EnrollAckMsg
	if err := unmarshal(b, &m); err != nil {
		return Ack{}, err
	}
	id, err := toID(m.GetId())
	if err != nil {
		return Ack{}, err
	}
	return Ack{ID: id, Result: m.GetResult()}, nil
}
