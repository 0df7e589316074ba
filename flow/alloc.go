package flow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Alloc allocates a flow to the application registered as name, with the
// requested QoS. The context bounds the allocation: with a deadline, expiry
// gives ETIMEDOUT; without one the IRMd gives up after 20 s. Typical errors:
// ENAME (nobody answers to that name), EIPCP (no layer reaches it), ETIMEDOUT,
// EIRMD (no IRMd).
func Alloc(ctx context.Context, name string, spec qos.Spec) (*Flow, error) {
	p, err := defaultProcess()
	if err != nil {
		return nil, err
	}
	// The reference's default build forces ber = 1 (QOS_DISABLE_CRC): CRC is off
	// at both ends because the acceptor adopts the allocator's spec.
	spec.BER = 1
	req := &pb.IrmMsg{
		Code:     pb.IrmMsgCode_IRM_FLOW_ALLOC.Enum(),
		Dst:      proto.String(name),
		FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{NPid: p.pid, QoS: spec}),
	}
	if d, ok := ctx.Deadline(); ok {
		req.Timeo = ctrl.Timespec(time.Until(d))
	}
	rep, files, err := p.call(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("allocate flow to %s: %w", name, explainLimit(err))
	}
	return newFlow(p, rep, files, name)
}

// Accept waits for a flow to arrive for one of the names this process is bound
// to (irm bind process/program) and returns it. Cancelling the context aborts
// the wait; with a deadline, expiry gives ETIMEDOUT.
func Accept(ctx context.Context) (*Flow, error) {
	p, err := defaultProcess()
	if err != nil {
		return nil, err
	}
	req := &pb.IrmMsg{
		Code:     pb.IrmMsgCode_IRM_FLOW_ACCEPT.Enum(),
		FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{NPid: p.pid, QoS: qos.Raw}),
	}
	if d, ok := ctx.Deadline(); ok {
		req.Timeo = ctrl.Timespec(time.Until(d))
	}
	rep, files, err := p.call(ctx, req)
	if err != nil {
		if ctx.Err() != nil && err != oerr.ETIMEDOUT {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("accept flow: %w", explainLimit(err))
	}
	return newFlow(p, rep, files, "")
}

// explainLimit says in words what ENOMEM from the IRMd means: it has no flow
// id (or no memory for a channel) left.
func explainLimit(err error) error {
	if errors.Is(err, oerr.ENOMEM) {
		return fmt.Errorf("the IRMd has no flow ids or memory left: %w", err)
	}
	return err
}

// newFlow builds the flow from an ALLOC/ACCEPT reply and its channel end.
func newFlow(p *process, rep *pb.IrmMsg, files []*os.File, remote string) (*Flow, error) {
	if rep.FlowInfo == nil {
		ctrl.CloseFiles(files)
		return nil, fmt.Errorf("IRMd reply without flow info: %w", oerr.EBADF)
	}
	if len(files) != 1 && len(files) != 2 {
		ctrl.CloseFiles(files)
		return nil, fmt.Errorf("IRMd reply carried %d flow channel files, want 1 or 2: %w", len(files), oerr.EIRMD)
	}
	pc, err := flowCipher(rep)
	if err != nil {
		ctrl.CloseFiles(files)
		info := ctrl.FlowInfoFromPB(rep.FlowInfo)
		(&Flow{p: p, info: info}).dealloc(0) // the IRMd allocated it: release it there too
		return nil, err
	}
	ep, err := datapath.New(files)
	if err != nil {
		if pc != nil {
			pc.Close() // wipe the key
		}
		return nil, fmt.Errorf("%v: %w", err, oerr.ENOMEM)
	}
	info := ctrl.FlowInfoFromPB(rep.FlowInfo)
	f := newFlowOn(p, ep, info, remote)
	f.pc = pc
	f.peerName = rep.GetPeerName()
	if err := p.addFlow(f); err != nil {
		ep.Close()
		f.dropCipher()
		f.dealloc(0) // the IRMd allocated it: release it there too
		return nil, err
	}
	f.start()
	return f, nil
}
