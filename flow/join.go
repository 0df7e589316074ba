package flow

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// JoinMaxSDU is the largest message a flow to a broadcast layer carries,
// in bytes: Write refuses longer ones with EMSGSIZE.
const JoinMaxSDU = wire.BroadcastMTU

// Join joins the broadcast layer named layer (a layer of a broadcast IPCP
// on this host, irm ipcp bootstrap or enroll type broadcast). Each Write
// on the flow goes to every other application that joined the layer, on
// any of its members, and each Read returns one message from any of them.
// Delivery is best effort: no retransmission and no order across senders.
// The flow has no FRCT, CRC or keepalive (the reference's np1 QoS). The
// context bounds the join as for Alloc. Typical errors: EIPCP (no
// broadcast layer of that name here), ENOTALLOC (the IPCP refused).
func Join(ctx context.Context, layer string) (*Flow, error) {
	p, err := defaultProcess()
	if err != nil {
		return nil, err
	}
	req := &pb.IrmMsg{
		Code:     pb.IrmMsgCode_IRM_FLOW_JOIN.Enum(),
		Dst:      proto.String(layer),
		FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{NPid: p.pid, QoS: qos.NP1}),
	}
	if d, ok := ctx.Deadline(); ok {
		req.Timeo = ctrl.Timespec(time.Until(d))
	}
	rep, files, err := p.call(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("join broadcast layer %s: %w", layer, explainLimit(err))
	}
	f, err := newFlow(p, rep, files, layer)
	if err != nil {
		return nil, err
	}
	f.sduCap = JoinMaxSDU // set before the flow is returned: no Write can run yet
	return f, nil
}
