package ipcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/qos"
)

// serve answers one IRMd request on c.
func (p *IPCP) serve(c *net.UnixConn) {
	m := &pb.IpcpMsg{}
	files, err := ctrl.Recv(c, m)
	if errors.Is(err, ctrl.ErrNoFiles) {
		// A flow's channel that could not be received: refuse the request
		// in words, so the limit is not a mystery.
		p.log.Error(fmt.Sprintf("Refused %s for flow %d: %v.", m.GetCode(), m.GetFlowId(), err))
		rep := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_REPLY.Enum(), Result: proto.Int32(oerr.Result(err))}
		ctrl.Send(c, rep)
		return
	}
	if err != nil {
		if !ctrl.IsClosed(err) {
			p.log.Warn(fmt.Sprintf("Dropped malformed request: %v.", err))
		}
		return
	}
	ctx := p.ctx
	if m.GetCode() == pb.IpcpMsgCode_IPCP_FLOW_ALLOC {
		// The IRMd abandons an allocation by half-closing the connection
		// (its requester left or gave up); the answer still goes back.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		stop := ctrl.WatchAbort(c, cancel)
		defer stop()
		defer cancel()
	}
	rep := &pb.IpcpMsg{}
	err = p.handle(ctx, m, files, rep)
	rep.Code = pb.IpcpMsgCode_IPCP_REPLY.Enum()
	rep.Result = proto.Int32(oerr.Result(err))
	if err := ctrl.Send(c, rep); err != nil && !ctrl.IsClosed(err) {
		p.log.Warn(fmt.Sprintf("Failed to send reply: %v.", err))
	}
}

func (p *IPCP) stateIs(s int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == s
}

func (p *IPCP) handle(ctx context.Context, m *pb.IpcpMsg, files []*os.File, rep *pb.IpcpMsg) error {
	code := m.GetCode()
	if code != pb.IpcpMsgCode_IPCP_FLOW_ALLOC && code != pb.IpcpMsgCode_IPCP_FLOW_JOIN {
		ctrl.CloseFiles(files)
	}
	switch code {
	case pb.IpcpMsgCode_IPCP_BOOTSTRAP, pb.IpcpMsgCode_IPCP_ENROLL:
		if !p.stateIs(StateBoot) {
			return oerr.EIPCPSTATE
		}
		var layer string
		var algo hash.Algo
		var err error
		if code == pb.IpcpMsgCode_IPCP_BOOTSTRAP {
			if m.GetConf() == nil || m.GetConf().GetLayerInfo() == nil {
				return oerr.EINVAL
			}
			layer, algo, err = p.ops.Bootstrap(ctx, m.GetConf())
		} else {
			layer, algo, err = p.ops.Enroll(ctx, m.GetDst())
		}
		if err != nil {
			p.log.Error(fmt.Sprintf("Failed to %s: %v.", map[bool]string{true: "bootstrap", false: "enroll"}[code == pb.IpcpMsgCode_IPCP_BOOTSTRAP], err))
			return err
		}
		p.mu.Lock()
		p.layer, p.algo, p.state = layer, algo, StateOperational
		p.mu.Unlock()
		rep.LayerInfo = &pb.LayerInfoMsg{Name: proto.String(layer), DirHashAlgo: proto.Uint32(uint32(algo))}
		return nil
	case pb.IpcpMsgCode_IPCP_CONNECT:
		return p.ops.Connect(ctx, m.GetDst(), m.GetComp(), ctrl.QoSFromPB(m.GetQosspec()))
	case pb.IpcpMsgCode_IPCP_DISCONNECT:
		return p.ops.Disconnect(ctx, m.GetDst(), m.GetComp())
	case pb.IpcpMsgCode_IPCP_REG:
		if err := p.checkHash(m.GetHash()); err != nil {
			return err
		}
		return p.ops.Reg(m.GetHash())
	case pb.IpcpMsgCode_IPCP_UNREG:
		if err := p.checkHash(m.GetHash()); err != nil {
			return err
		}
		return p.ops.Unreg(m.GetHash())
	case pb.IpcpMsgCode_IPCP_QUERY:
		if !p.stateIs(StateOperational) {
			return oerr.EIPCPSTATE
		}
		if err := p.checkHash(m.GetHash()); err != nil {
			return err
		}
		return p.ops.Query(ctx, m.GetHash())
	case pb.IpcpMsgCode_IPCP_FLOW_ALLOC:
		return p.flowAlloc(ctx, m, files)
	case pb.IpcpMsgCode_IPCP_FLOW_ALLOC_RESP:
		if !p.stateIs(StateOperational) {
			return oerr.EIPCPSTATE
		}
		f, err := p.waitFlow(ctx, int(m.GetFlowId()))
		if err != nil {
			return err
		}
		err = p.ops.FlowAllocResp(ctx, f, m.GetResponse(), m.GetPk())
		if m.GetResponse() != 0 {
			// Refused: the flow is over here (the IRMd may reuse its id).
			p.mu.Lock()
			if p.flows[f.ID] == f {
				delete(p.flows, f.ID)
			}
			p.mu.Unlock()
			f.EP.Close()
		}
		return err
	case pb.IpcpMsgCode_IPCP_FLOW_DEALLOC:
		if !p.stateIs(StateOperational) {
			return oerr.EIPCPSTATE
		}
		// Release at once and answer: the answer is the release the IRMd
		// waits for before it reuses the id (0: released now, ENOTALLOC:
		// not held). The linger time asked for is not slept here: lingering
		// belongs to the application's FRCT, and the flow's channel, which
		// closes now, is its own, so no late packet can reach a later flow
		// that reuses the id.
		if !p.Dealloc(int(m.GetFlowId())) {
			return oerr.ENOTALLOC
		}
		return nil
	case pb.IpcpMsgCode_IPCP_FLOW_JOIN:
		return p.flowJoin(ctx, m, files)
	}
	return fmt.Errorf("unknown request %d", code)
}

// checkHash rejects a hash whose length is not the layer's.
func (p *IPCP) checkHash(h []byte) error {
	p.mu.Lock()
	algo, state := p.algo, p.state
	p.mu.Unlock()
	if state == StateOperational && len(h) != algo.Len() {
		return oerr.EINVAL
	}
	if len(h) == 0 {
		return oerr.EINVAL
	}
	return nil
}

func (p *IPCP) flowAlloc(ctx context.Context, m *pb.IpcpMsg, files []*os.File) error {
	f, err := p.acceptFlow(m, files, "flow allocation")
	if err != nil {
		return err
	}
	if err := p.ops.FlowAlloc(ctx, f, m.GetHash(), ctrl.QoSFromPB(m.GetQosspec()), m.GetPk()); err != nil {
		// Answering an error releases the id: it must be out of the table
		// first (unless the IRMd already had it released).
		p.dropFlow(f)
		return err
	}
	return nil
}

// acceptFlow checks a request that hands the IPCP a flow's channel
// (IPCP_FLOW_ALLOC, IPCP_FLOW_JOIN; what names it in errors), wraps the
// channel and adds the flow to the table. On error it has closed files.
func (p *IPCP) acceptFlow(m *pb.IpcpMsg, files []*os.File, what string) (*Flow, error) {
	if !p.stateIs(StateOperational) {
		ctrl.CloseFiles(files)
		return nil, oerr.EIPCPSTATE
	}
	if len(files) != 1 && len(files) != 2 {
		ctrl.CloseFiles(files)
		return nil, fmt.Errorf("%s without a channel: %w", what, oerr.EFLOWDOWN)
	}
	if err := p.checkHash(m.GetHash()); err != nil {
		ctrl.CloseFiles(files)
		return nil, err
	}
	ep, err := datapath.New(files)
	if err != nil {
		return nil, oerr.EFLOWDOWN
	}
	// An IPCP forwards: it must not take the CPU from its ends by polling.
	// Its readers sleep on their doorbells, or wait hot after a packet
	// through a datapath.Puller (raw waits only, a thread left in the
	// netpoller), never the ordinary way: an ordinary futex wait in each of
	// a unicast IPCP's readers made its round trips 10 times slower.
	ep.SetPolling(false)
	f := &Flow{ID: int(m.GetFlowId()), PID: int(m.GetPid()), EP: ep}
	if err := p.addFlow(f); err != nil {
		ep.Close()
		return nil, err
	}
	return f, nil
}

// dropFlow undoes acceptFlow when the type refuses the flow.
func (p *IPCP) dropFlow(f *Flow) {
	p.removeFlow(f)
	f.EP.Close()
}

// flowJoin serves IPCP_FLOW_JOIN: the IRMd passes the channel of an
// application's flow to a broadcast layer, and the type adds it (or
// refuses: the flow leaves the table again).
func (p *IPCP) flowJoin(ctx context.Context, m *pb.IpcpMsg, files []*os.File) error {
	f, err := p.acceptFlow(m, files, "flow join")
	if err != nil {
		return err
	}
	if err := p.ops.FlowJoin(ctx, f, m.GetHash()); err != nil {
		p.dropFlow(f)
		return err
	}
	return nil
}

// ErrFlowRoom refuses a flow that the IPCP's limit of open files leaves no
// room for.
var ErrFlowRoom = fmt.Errorf("the IPCP has reached its limit of open files (ulimit -n): %w", oerr.ENOMEM)

// addFlow enters f in the table, unless the table is full (ErrFlowRoom). The IRMd reuses an id only after we
// released it, so an existing flow with the same id is a bug somewhere: it is
// logged and the old flow released.
func (p *IPCP) addFlow(f *Flow) error {
	p.mu.Lock()
	old := p.flows[f.ID]
	if old == nil && p.maxFlows > 0 && len(p.flows) >= p.maxFlows {
		n := len(p.flows)
		p.mu.Unlock()
		p.log.Error(fmt.Sprintf("Refused flow %d: holding %d flows, the limit of open files leaves no room "+
			"for more (ulimit -n; %d descriptors are kept for requests).", f.ID, n, fdReserve))
		return ErrFlowRoom
	}
	p.flows[f.ID] = f
	delete(p.refused, f.ID)
	close(p.arrived)
	p.arrived = make(chan struct{})
	p.mu.Unlock()
	if old != nil {
		p.log.Error(fmt.Sprintf("Flow %d reused while still held; releasing the old one.", f.ID))
		p.ops.FlowDealloc(old)
		old.EP.Close()
	}
	return nil
}

func (p *IPCP) delFlow(id int) *Flow {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.flows[id]
	delete(p.flows, id)
	return f
}

// removeFlow takes f out of the table if it is still there (not released and
// replaced by a later flow with the same id).
func (p *IPCP) removeFlow(f *Flow) {
	p.mu.Lock()
	if p.flows[f.ID] == f {
		delete(p.flows, f.ID)
	}
	p.mu.Unlock()
}

// FlowCount returns the number of N+1 flows in the table.
func (p *IPCP) FlowCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.flows)
}

// Flow returns the N+1 flow with the given id, or nil.
func (p *IPCP) Flow(id int) *Flow {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flows[id]
}

// waitFlow waits until flow id is in the table.
func (p *IPCP) waitFlow(ctx context.Context, id int) (*Flow, error) {
	deadline := time.After(respWait)
	for {
		p.mu.Lock()
		f, ch, refused := p.flows[id], p.arrived, p.refused[id]
		if refused {
			delete(p.refused, id)
		}
		p.mu.Unlock()
		if f != nil {
			return f, nil
		}
		if refused {
			return nil, oerr.ENOTALLOC
		}
		select {
		case <-ch:
		case <-deadline:
			return nil, oerr.ENOTALLOC
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// FlowReqArr tells the IRMd a flow request arrived for hash h; it returns the
// local application's flow once one accepted it. prepare (if not nil) runs
// before the flow enters the table: the IRMd's IPCP_FLOW_ALLOC_RESP for it
// may arrive at any moment after that, and must find the type's state ready.
//
// Cancelling ctx abandons the request, but a flow the IRMd gave before it
// saw that is still taken: we hold its id from the reply on, and release it
// when the IRMd asks (the type finds no partner for it).
func (p *IPCP) FlowReqArr(ctx context.Context, h []byte, q qos.Spec, mplMs uint32, pk []byte, prepare func(*Flow)) (*Flow, error) {
	req := &pb.IrmMsg{Code: pb.IrmMsgCode_IPCP_FLOW_REQ_ARR.Enum(),
		FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{N1Pid: p.pid, QoS: q, MPL: mplMs}),
		Hash:     h, Pk: pk}
	if pk == nil {
		req.Pk = []byte{}
	}
	rep := &pb.IrmMsg{}
	files, err := ctrl.CallAbort(ctx, rundir.IRMSocket(p.cfg.Dir), 0, req, rep)
	if err == nil && rep.Result == nil {
		err = oerr.EIRMD
	}
	if err == nil {
		err = oerr.FromResult(rep.GetResult())
	}
	if err != nil {
		ctrl.CloseFiles(files)
		return nil, err
	}
	if rep.GetFlowInfo() == nil || (len(files) != 1 && len(files) != 2) {
		ctrl.CloseFiles(files)
		return nil, oerr.EIRMD
	}
	ep, err := datapath.New(files)
	if err != nil {
		return nil, oerr.EFLOWDOWN
	}
	ep.SetPolling(false) // as in the flows the irmd hands us
	fi := ctrl.FlowInfoFromPB(rep.GetFlowInfo())
	f := &Flow{ID: fi.ID, PID: fi.NPid, EP: ep}
	if prepare != nil {
		prepare(f)
	}
	if err := p.addFlow(f); err != nil {
		ep.Close()
		if errors.Is(err, ErrFlowRoom) {
			p.markRefused(f.ID)
		}
		return nil, err
	}
	return f, nil
}

// markRefused records that flow id, which the IRMd gave for a request that
// arrived, was refused here (see IPCP.refused), and wakes a waitFlow for it.
func (p *IPCP) markRefused(id int) {
	p.mu.Lock()
	p.refused[id] = true
	close(p.arrived)
	p.arrived = make(chan struct{})
	p.mu.Unlock()
}

// FlowAllocReply answers the IRMd's allocation of flow id (response 0 = success).
func (p *IPCP) FlowAllocReply(ctx context.Context, id int, response int32, mplMs uint32, pk []byte) error {
	req := &pb.IrmMsg{Code: pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY.Enum(),
		FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{ID: id, MPL: mplMs}),
		Response: proto.Int32(response), Pk: pk}
	_, err := p.irmCall(ctx, req)
	return err
}

// Dealloc releases flow id: the type's FlowDealloc runs and the channel
// closes (the application sees the flow go down). It reports whether the
// flow was held. The IRMd asked for it and learns of it from our answer, so
// nothing more is sent.
func (p *IPCP) Dealloc(id int) bool {
	p.mu.Lock()
	delete(p.refused, id)
	p.mu.Unlock()
	f := p.delFlow(id)
	if f == nil {
		return false
	}
	p.ops.FlowDealloc(f)
	f.EP.Close()
	return true
}
