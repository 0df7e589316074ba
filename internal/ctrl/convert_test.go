package ctrl_test

import (
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

func TestQoSRoundTrip(t *testing.T) {
	t.Parallel()
	specs := map[string]qos.Spec{
		"raw": qos.Raw, "raw_no_errors": qos.RawNoErrors, "best": qos.BestEffort, "video": qos.Video,
		"voice": qos.Voice, "data": qos.Data, "np1": qos.NP1, "zero": {},
		"max": {Delay: math.MaxUint32, Bandwidth: math.MaxUint64, Availability: math.MaxUint8,
			Loss: math.MaxUint32, BER: math.MaxUint32, InOrder: math.MaxUint8, MaxGap: math.MaxUint32,
			Timeout: math.MaxUint32},
		"distinct": {Delay: 1, Bandwidth: 2, Availability: 3, Loss: 4, BER: 5, InOrder: 6, MaxGap: 7, Timeout: 8},
	}
	for name, s := range specs {
		m := ctrl.QoSToPB(s)
		// Every required field is set: it marshals, and unmarshals.
		b, err := proto.Marshal(m)
		if err != nil {
			t.Errorf("%s: marshal: %v", name, err)
			continue
		}
		back := &pb.QosspecMsg{}
		if err := proto.Unmarshal(b, back); err != nil {
			t.Errorf("%s: unmarshal: %v", name, err)
			continue
		}
		if got := ctrl.QoSFromPB(back); got != s {
			t.Errorf("%s: round trip %+v, want %+v", name, got, s)
		}
	}
	// Field by field, so that a swap of two fields is noticed.
	m := ctrl.QoSToPB(specs["distinct"])
	if m.GetDelay() != 1 || m.GetBandwidth() != 2 || m.GetAvailability() != 3 || m.GetLoss() != 4 ||
		m.GetBer() != 5 || m.GetInOrder() != 6 || m.GetMaxGap() != 7 || m.GetTimeout() != 8 {
		t.Errorf("QoSToPB mixes fields up: %v", m)
	}
}

func TestQoSFromNil(t *testing.T) {
	t.Parallel()
	if got := ctrl.QoSFromPB(nil); got != qos.Raw {
		t.Errorf("QoSFromPB(nil) = %+v, want raw", got)
	}
}

func TestFlowInfoRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range []ctrl.FlowInfo{
		{},
		{ID: 1, NPid: 1234, N1Pid: 4321, MPL: 2, State: 3, QoS: qos.Voice, UID: 1000},
		{ID: 10239, NPid: -1, N1Pid: 77, MPL: 1, State: 4, QoS: qos.Data}, // gone direct side
		{ID: 5, NPid: 8, N1Pid: -1, MPL: math.MaxUint32, State: 5, QoS: qos.NP1, UID: math.MaxUint32},
		{ID: 6, NPid: math.MaxInt32, N1Pid: math.MaxInt32, State: 7},
	} {
		m := ctrl.FlowInfoToPB(f)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Errorf("%+v: marshal: %v", f, err)
			continue
		}
		back := &pb.FlowInfoMsg{}
		if err := proto.Unmarshal(b, back); err != nil {
			t.Errorf("%+v: unmarshal: %v", f, err)
			continue
		}
		if got := ctrl.FlowInfoFromPB(back); got != f {
			t.Errorf("round trip %+v, want %+v", got, f)
		}
	}
	// A gone side (-1) travels as 0xFFFFFFFF, as the reference's uint32.
	m := ctrl.FlowInfoToPB(ctrl.FlowInfo{NPid: -1, N1Pid: -1})
	if m.GetNPid() != math.MaxUint32 || m.GetN_1Pid() != math.MaxUint32 {
		t.Errorf("-1 pids encoded as %d, %d; want 0xFFFFFFFF", m.GetNPid(), m.GetN_1Pid())
	}
	// Field by field.
	m = ctrl.FlowInfoToPB(ctrl.FlowInfo{ID: 1, NPid: 2, N1Pid: 3, MPL: 4, State: 5, UID: 6})
	if m.GetId() != 1 || m.GetNPid() != 2 || m.GetN_1Pid() != 3 || m.GetMpl() != 4 ||
		m.GetState() != 5 || m.GetUid() != 6 || m.GetQos() == nil {
		t.Errorf("FlowInfoToPB mixes fields up: %v", m)
	}
}

func TestFlowInfoFromPartial(t *testing.T) {
	t.Parallel()
	// A nil message or one without qos gives zero values and the raw cube.
	if got := ctrl.FlowInfoFromPB(nil); got != (ctrl.FlowInfo{QoS: qos.Raw}) {
		t.Errorf("FlowInfoFromPB(nil) = %+v", got)
	}
	got := ctrl.FlowInfoFromPB(&pb.FlowInfoMsg{Id: proto.Uint32(3), NPid: proto.Uint32(math.MaxUint32)})
	if got != (ctrl.FlowInfo{ID: 3, NPid: -1, QoS: qos.Raw}) {
		t.Errorf("FlowInfoFromPB(partial) = %+v", got)
	}
}

func TestTimespec(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		sec  uint64
		nsec uint32
	}{
		{0, 0, 0},
		{time.Nanosecond, 0, 1},
		{time.Second - 1, 0, 999999999},
		{time.Second, 1, 0},
		{1500 * time.Millisecond, 1, 500000000},
		{20 * time.Second, 20, 0},
		{-time.Second, 0, 0}, // negative means no time left
		{math.MinInt64, 0, 0},
		{math.MaxInt64, 9223372036, 854775807},
	} {
		m := ctrl.Timespec(c.d)
		if m.GetTvSec() != c.sec || m.GetTvNsec() != c.nsec || m.TvSec == nil || m.TvNsec == nil {
			t.Errorf("Timespec(%v) = %v, want %d s %d ns", c.d, m, c.sec, c.nsec)
		}
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	if d, ok := ctrl.Duration(nil); d != 0 || ok {
		t.Errorf("Duration(nil) = %v, %v; want 0, false", d, ok)
	}
	ts := func(sec uint64, nsec uint32) *pb.TimespecMsg {
		return &pb.TimespecMsg{TvSec: proto.Uint64(sec), TvNsec: proto.Uint32(nsec)}
	}
	const capped = time.Duration(1 << 62) // about 146 years
	for _, c := range []struct {
		m    *pb.TimespecMsg
		want time.Duration
	}{
		{ts(0, 0), 0},
		{ts(3, 0), 3 * time.Second},
		{ts(1, 500000000), 1500 * time.Millisecond},
		{ts(0, 999999999), time.Second - 1},
		{ts(0, math.MaxUint32), time.Duration(math.MaxUint32)}, // out-of-range nsec is just added
		{&pb.TimespecMsg{}, 0},                                 // unset fields read as 0
		// Large values saturate instead of overflowing.
		{ts(uint64(1<<62)/uint64(time.Second), 0), time.Duration(uint64(1<<62)/uint64(time.Second)) * time.Second},
		{ts(uint64(1<<62)/uint64(time.Second)+1, 0), capped},
		{ts(9223372036, 854775807), capped},
		{ts(math.MaxInt64, 0), capped},
		{ts(math.MaxUint64, math.MaxUint32), capped},
	} {
		d, ok := ctrl.Duration(c.m)
		if !ok || d != c.want {
			t.Errorf("Duration(%v) = %v, %v; want %v, true", c.m, d, ok, c.want)
		}
		if d < 0 {
			t.Errorf("Duration(%v) overflowed to %v", c.m, d)
		}
	}
	// Round trip for ordinary timeouts.
	for _, d := range []time.Duration{0, 1, time.Millisecond, 1500 * time.Millisecond, time.Hour, 100 * 365 * 24 * time.Hour} {
		if got, ok := ctrl.Duration(ctrl.Timespec(d)); !ok || got != d {
			t.Errorf("Duration(Timespec(%v)) = %v, %v", d, got, ok)
		}
	}
	// Timespec(max) survives the wire and comes back capped, not negative.
	b, err := proto.Marshal(ctrl.Timespec(math.MaxInt64))
	if err != nil {
		t.Fatal(err)
	}
	back := &pb.TimespecMsg{}
	if err := proto.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	if got, _ := ctrl.Duration(back); got != capped {
		t.Errorf("Duration(Timespec(MaxInt64)) = %v, want %v", got, capped)
	}
}
