package ctrl

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// QoSToPB converts a spec to its message; every required field is set.
func QoSToPB(s qos.Spec) *pb.QosspecMsg {
	return &pb.QosspecMsg{
		Delay:        proto.Uint32(s.Delay),
		Bandwidth:    proto.Uint64(s.Bandwidth),
		Availability: proto.Uint32(uint32(s.Availability)),
		Loss:         proto.Uint32(s.Loss),
		Ber:          proto.Uint32(s.BER),
		InOrder:      proto.Uint32(uint32(s.InOrder)),
		MaxGap:       proto.Uint32(s.MaxGap),
		Timeout:      proto.Uint32(s.Timeout),
	}
}

// QoSFromPB converts a message to a spec; nil gives qos.Raw.
func QoSFromPB(m *pb.QosspecMsg) qos.Spec {
	if m == nil {
		return qos.Raw
	}
	return qos.Spec{
		Delay:        m.GetDelay(),
		Bandwidth:    m.GetBandwidth(),
		Availability: uint8(m.GetAvailability()),
		Loss:         m.GetLoss(),
		BER:          m.GetBer(),
		InOrder:      uint8(m.GetInOrder()),
		MaxGap:       m.GetMaxGap(),
		Timeout:      m.GetTimeout(),
	}
}

// FlowInfo describes a flow as the IRMd protocol carries it (flow_info_msg).
type FlowInfo struct {
	ID    int
	NPid  int // the application (N) process; -1 for a gone direct side
	N1Pid int // the IPCP, or the peer process of a direct flow
	MPL   uint32
	State uint32
	QoS   qos.Spec
	UID   uint32
}

// FlowInfoToPB converts to the message, setting every required field.
func FlowInfoToPB(f FlowInfo) *pb.FlowInfoMsg {
	return &pb.FlowInfoMsg{
		Id:     proto.Uint32(uint32(f.ID)),
		NPid:   proto.Uint32(uint32(int32(f.NPid))),
		N_1Pid: proto.Uint32(uint32(int32(f.N1Pid))),
		Mpl:    proto.Uint32(f.MPL),
		State:  proto.Uint32(f.State),
		Qos:    QoSToPB(f.QoS),
		Uid:    proto.Uint32(f.UID),
	}
}

// FlowInfoFromPB converts from the message.
func FlowInfoFromPB(m *pb.FlowInfoMsg) FlowInfo {
	return FlowInfo{
		ID:    int(m.GetId()),
		NPid:  int(int32(m.GetNPid())),
		N1Pid: int(int32(m.GetN_1Pid())),
		MPL:   m.GetMpl(),
		State: m.GetState(),
		QoS:   QoSFromPB(m.GetQos()),
		UID:   m.GetUid(),
	}
}

// Timespec converts a duration to timespec_msg.
func Timespec(d time.Duration) *pb.TimespecMsg {
	if d < 0 {
		d = 0
	}
	return &pb.TimespecMsg{TvSec: proto.Uint64(uint64(d / time.Second)),
		TvNsec: proto.Uint32(uint32(d % time.Second))}
}

// Duration converts timespec_msg to a duration; nil gives 0, false.
func Duration(t *pb.TimespecMsg) (time.Duration, bool) {
	if t == nil {
		return 0, false
	}
	s := t.GetTvSec()
	if s > uint64(1<<62)/uint64(time.Second) {
		return time.Duration(1 << 62), true
	}
	return time.Duration(s)*time.Second + time.Duration(t.GetTvNsec()), true
}
