package irmd

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// joinTimeout bounds the broadcast IPCP's answer to IPCP_FLOW_JOIN, which
// it gives at once (the reference waits 500 ms; a loaded host needs more).
const joinTimeout = 5 * time.Second

// flowJoin serves IRM_FLOW_JOIN: an application joins the broadcast layer
// named dst. The IPCP is the broadcast IPCP whose layer has exactly that
// name; it gets IPCP_FLOW_JOIN with the hash of the name (its layer's
// algorithm) and the flow's channel, answers IPCP_FLOW_ALLOC_REPLY, then
// the join. The flow's QoS is np1 (no FRCT, no CRC, no keepalive); there
// is no OAP and no key.
func (d *Daemon) flowJoin(ctx context.Context, m *pb.IrmMsg) reply {
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	layer := m.GetDst()
	if layer == "" || fi.NPid <= 0 {
		return result(oerr.EINVAL)
	}
	var ipcp reg.IPCP
	found := false
	for _, i := range d.reg.ListIPCPs() {
		if i.Type == typeBroadcast && i.Layer == layer {
			ipcp, found = i, true
			break
		}
	}
	if !found {
		d.log.Info(fmt.Sprintf("No broadcast layer %s to join for %d.", layer, fi.NPid))
		return result(oerr.EIPCP)
	}
	h, err := hash.Sum(hash.Algo(ipcp.HashAlgo), layer)
	if err != nil {
		return result(oerr.EIPCP)
	}
	deadline := requestDeadline(m, flowAllocTimeout)
	d.log.Info(fmt.Sprintf("Joining flow for %d to broadcast layer %s.", fi.NPid, layer))
	held, r, ok := d.holdFlow(fi.NPid, qos.NP1)
	if !ok {
		return r
	}
	id, release, appEnd, ipcpEnd := held.id, held.release, held.appEnd, held.ipcpEnd
	if err := d.reg.PrepareAlloc(id, ipcp.PID, nil); err != nil {
		held.drop()
		return reply{none: true}
	}
	req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_JOIN.Enum(), FlowId: proto.Int32(int32(id)),
		Pid: proto.Int32(int32(fi.NPid)), Uid: proto.Uint32(0), Hash: h}
	refused, err := d.ipcpCallAbort(ctx, ipcp.PID, req, joinTimeout, fdsOf(ipcpEnd)...)
	ipcpEnd.Close()
	if err != nil {
		appEnd.Close()
		if refused {
			d.reg.IPCPReleased(id, ipcp.PID)
		}
		release()
		if ctx.Err() != nil {
			return reply{none: true}
		}
		d.log.Error(fmt.Sprintf("IPCP %d failed to join flow %d to %s: %v.", ipcp.PID, id, layer, err))
		return result(oerr.ENOTALLOC)
	}
	err = d.reg.WaitOn(ctx, deadline, reg.FlowTopic(id),
		func() bool { return d.reg.FlowStateLocked(id) != reg.FlowAllocPending })
	f, _ := d.reg.GetFlow(id)
	if err != nil || f.State != reg.FlowAllocated {
		appEnd.Close()
		release()
		if ctx.Err() != nil {
			return reply{none: true}
		}
		d.log.Error(fmt.Sprintf("Flow %d for %d to broadcast layer %s was not confirmed by its IPCP.", id, fi.NPid, layer))
		return result(oerr.ENOTALLOC)
	}
	d.log.Info(fmt.Sprintf("Flow %d joined broadcast layer %s for %d.", id, layer, fi.NPid))
	return joinReply(f, fi.NPid, ipcp.PID, appEnd)
}

// joinReply hands a joined flow to the application: its flow_info (as seen
// from pid), cipher 0 (a join is never encrypted: there is no OAP), no key,
// and its channel end.
func joinReply(f reg.Flow, pid, peer int, end datapath.End) reply {
	info := ctrl.FlowInfo{ID: f.ID, NPid: pid, N1Pid: peer, MPL: f.MPL, State: uint32(reg.FlowAllocated),
		QoS: f.QoS, UID: f.UID}
	m := &pb.IrmMsg{Result: proto.Int32(0), FlowInfo: ctrl.FlowInfoToPB(info), CipherNid: proto.Int32(0)}
	return reply{msg: m, files: end, flowID: f.ID, flowBy: pid}
}
