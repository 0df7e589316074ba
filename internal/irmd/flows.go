package irmd

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oap"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// flowReply builds the reply that hands a flow to an application: its
// flow_info (as seen from pid), the cipher NID (0: not encrypted) and, for
// an encrypted flow, the 32-byte key (sym_key), the peer's authenticated
// name if it sent a certificate (peer_name, our extension: the reference's
// library ignores the unknown field), and its channel end.
func flowReply(f reg.Flow, pid, peer int, end datapath.End, res oap.Result) reply {
	info := ctrl.FlowInfo{ID: f.ID, NPid: pid, N1Pid: peer, MPL: f.MPL, State: uint32(reg.FlowAllocated),
		QoS: f.QoS, UID: f.UID}
	m := &pb.IrmMsg{Result: proto.Int32(0), FlowInfo: ctrl.FlowInfoToPB(info), CipherNid: proto.Int32(int32(res.Cipher))}
	if res.Encrypted() {
		m.SymKey = res.Key
	}
	if res.Peer != "" {
		m.PeerName = proto.String(res.Peer)
	}
	if len(f.RspData) > 0 {
		m.Pk = f.RspData
	}
	return reply{msg: m, files: end, flowID: f.ID, flowBy: pid}
}

// requestDeadline is the deadline of an allocation: the application's timeout
// if it gave one, else FLOW_ALLOC_TIMEOUT (def).
func requestDeadline(m *pb.IrmMsg, def time.Duration) time.Time {
	if d, ok := ctrl.Duration(m.GetTimeo()); ok {
		return time.Now().Add(d)
	}
	if def == 0 {
		return time.Time{}
	}
	return time.Now().Add(def)
}

// waitAccepter waits up to 1 s for a process accepting for name; if none
// comes it auto-starts the name's program and waits another second. If
// processes are bound to the name but all are busy, it keeps waiting until the
// deadline (zero: busyWait): a busy server re-arms its accept soon, and the
// reference's fixed second turns a burst of requests into failures.
func (d *Daemon) waitAccepter(ctx context.Context, name string, deadline time.Time) bool {
	if deadline.IsZero() {
		deadline = time.Now().Add(busyWait)
	}
	cond := func() bool { return d.reg.HasAccepterLocked(name) }
	wait := func(dl time.Time) bool {
		if deadline.Before(dl) {
			dl = deadline
		}
		return d.reg.WaitOn(ctx, dl, reg.NameTopic(name), cond) == nil
	}
	if wait(time.Now().Add(reqArrTimeout)) {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if d.autoStart(name) && wait(time.Now().Add(reqArrTimeout)) {
		return true
	}
	if ctx.Err() != nil || !d.reg.HasBoundProcs(name) {
		return false
	}
	return wait(deadline)
}

// flowAlloc serves IRM_FLOW_ALLOC: directly to a local accepter when the name
// has local bindings (and direct flows are on), else through the IPCP that
// reaches the name.
func (d *Daemon) flowAlloc(ctx context.Context, m *pb.IrmMsg) reply {
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	dst := m.GetDst()
	if dst == "" || fi.NPid <= 0 {
		return result(oerr.EINVAL)
	}
	deadline := requestDeadline(m, flowAllocTimeout)
	p, _ := d.reg.GetProc(fi.NPid)
	d.log.Info(fmt.Sprintf("Allocating flow for %d to %s (uid %d).", fi.NPid, dst, p.UID))

	// The reference waits for a local accepter before every allocation; we
	// only wait when the name is bound to something here (a quirk of the reference).
	if !d.cfg.NoDirect && d.reg.HasBindings(dst) {
		for d.waitAccepter(ctx, dst, deadline) {
			if rep, ok := d.flowAllocDirect(fi, dst); ok {
				return rep
			}
		}
	}
	if ctx.Err() != nil {
		return reply{none: true}
	}

	ipcp, h, err := d.selectIPCP(ctx, dst, deadline)
	if err != nil {
		if !d.reg.HasName(dst) {
			d.log.Info(fmt.Sprintf("No IPCP or local process answers to %s.", dst))
			return result(oerr.ENAME)
		}
		d.log.Info(fmt.Sprintf("No IPCP reaches %s (%v).", dst, err))
		return result(oerr.EIPCP)
	}
	rep, refusal, pq := d.allocThrough(ctx, fi, dst, ipcp, h, deadline, true)
	if pq && crypt.PostQuantumFallback(refusal) && ctx.Err() == nil && time.Now().Before(deadline) {
		// The server cannot run the post-quantum default (a reference built
		// without ML-KEM answers ECRYPT), or the layer cannot carry its
		// messages (EMSGSIZE): the client asked for no kex in particular,
		// so the file's prime256v1 is as good as it asked.
		d.log.Info(fmt.Sprintf("The server of %s or the layer refused %s (%v), proposed because the client's enc.conf names no kex; trying %s.",
			dst, crypt.PostQuantumDefault, refusal, crypt.Prime256v1))
		rep, _, _ = d.allocThrough(ctx, fi, dst, ipcp, h, deadline, false)
	}
	return rep
}

// allocThrough allocates a flow for fi to dst through ipcp (dst's hash h),
// proposing crypt.PostQuantumDefault if pq and the client's policy names no
// kex. It returns the reply for the requester and, when the server refused
// the flow or the IPCP refused a request too large for its layer, that
// errno, with whether the request proposed the default.
func (d *Daemon) allocThrough(ctx context.Context, fi ctrl.FlowInfo, dst string, ipcp reg.IPCP, h []byte,
	deadline time.Time, pq bool) (rep reply, refusal oerr.Errno, proposedPQ bool) {
	held, r, ok := d.holdFlow(fi.NPid, fi.QoS)
	if !ok {
		return r, 0, false
	}
	id, release, appEnd, ipcpEnd := held.id, held.release, held.appEnd, held.ipcpEnd
	// OAP: every remote allocation carries a request header;
	// the peer IRMd answers with a response that must match it.
	oapReq, oapState, proposedPQ, e := d.clientRequestPQ(dst, pq)
	if e != 0 {
		held.drop()
		return result(e), 0, false
	}
	if err := d.reg.PrepareAlloc(id, ipcp.PID, nil); err != nil {
		held.drop() // the requester died meanwhile
		return reply{none: true}, 0, proposedPQ
	}
	req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_ALLOC.Enum(), FlowId: proto.Int32(int32(id)),
		Pid: proto.Int32(int32(fi.NPid)), Uid: proto.Uint32(0), Qosspec: ctrl.QoSToPB(fi.QoS),
		Hash: h, Pk: oapReq}
	// The IPCP works on the request until a server answers; the requester
	// leaving or its deadline abandons it (the IPCP sees the connection
	// half-closed), and the answer says whether the IPCP kept the id.
	actx, cancel := context.WithDeadline(ctx, earliest(deadline, time.Now().Add(flowAllocTimeout)))
	refused, err := d.ipcpCallAbort(actx, ipcp.PID, req, flowAllocTimeout+ctrl.AbortGrace, fdsOf(ipcpEnd)...)
	// Read before cancel, after which actx.Err() is never nil: an IPCP that
	// answered with an error at once did not time out.
	timedOut := actx.Err() != nil
	cancel()
	ipcpEnd.Close()
	if err != nil {
		appEnd.Close()
		if refused {
			d.reg.IPCPReleased(id, ipcp.PID) // the id is not the IPCP's
		}
		release() // asks the IPCP if it may still hold the id
		switch {
		case ctx.Err() != nil:
			return reply{none: true}, 0, proposedPQ
		case timedOut:
			d.log.Info(fmt.Sprintf("Flow allocation for %d to %s timed out.", fi.NPid, dst))
			return result(oerr.ETIMEDOUT), 0, proposedPQ
		}
		d.log.Error(fmt.Sprintf("IPCP %d failed to allocate flow %d: %v.", ipcp.PID, id, err))
		if e := (oerr.Errno(0)); refused && errors.As(err, &e) && (e == oerr.ENOMEM || e == oerr.EMSGSIZE) {
			// A limit the IPCP reached (no memory, a request larger than
			// its layer carries): the requester learns which.
			return result(e), e, proposedPQ
		}
		return result(oerr.EIPCP), 0, proposedPQ
	}
	err = d.reg.WaitOn(ctx, deadline, reg.FlowTopic(id),
		func() bool { return d.reg.FlowStateLocked(id) != reg.FlowAllocPending })
	f, _ := d.reg.GetFlow(id)
	if err != nil || f.State != reg.FlowAllocated {
		appEnd.Close()
		release()
		switch {
		case ctx.Err() != nil:
			return reply{none: true}, 0, proposedPQ
		case err != nil:
			d.log.Info(fmt.Sprintf("Flow allocation for %d to %s timed out.", fi.NPid, dst))
			return result(oerr.ETIMEDOUT), 0, proposedPQ
		case f.Response == 0: // not answered: the requester died
			return reply{none: true}, 0, proposedPQ
		}
		d.log.Info(fmt.Sprintf("Flow allocation for %d to %s rejected (%d).", fi.NPid, dst, f.Response))
		if f.Response < 0 {
			return result(oerr.Errno(-f.Response)), oerr.Errno(-f.Response), proposedPQ
		}
		return result(oerr.EPERM), 0, proposedPQ
	}
	res, ok := d.clientFinish(dst, oapState, f.RspData)
	if !ok {
		appEnd.Close()
		release()
		return result(oerr.ECRYPT), 0, proposedPQ
	}
	f.RspData = nil // OAP's, not the application's
	d.log.Info(fmt.Sprintf("Flow %d allocated for %d to %s.", id, fi.NPid, dst))
	return flowReply(f, fi.NPid, ipcp.PID, appEnd, res), 0, proposedPQ
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// heldFlow is a flow id a request holds while an IPCP works on the flow,
// and the two ends of the flow's channel. From holdFlow on, every way out
// of the request closes the ends it still has and calls release, or hands
// the flow over with the reply.
type heldFlow struct {
	id              int
	release         func() // releases the request's hold on id
	appEnd, ipcpEnd datapath.End
}

// holdFlow creates a flow id for process pid with QoS q and the channel
// of the flow. ok false: nothing is held and r answers the request.
func (d *Daemon) holdFlow(pid int, q qos.Spec) (h heldFlow, r reply, ok bool) {
	id, err := d.reg.CreateFlow(pid, q)
	if err != nil {
		return heldFlow{}, d.noFlowID(pid, err), false
	}
	release := func() { d.release(id, pid) }
	appEnd, ipcpEnd, err := datapath.Pair(!d.cfg.Sockets)
	if err != nil {
		release()
		return heldFlow{}, result(oerr.ENOMEM), false
	}
	return heldFlow{id: id, release: release, appEnd: appEnd, ipcpEnd: ipcpEnd}, reply{}, true
}

// drop abandons the request before the IPCP got the channel: it closes
// both ends and releases the id.
func (h heldFlow) drop() {
	h.appEnd.Close()
	h.ipcpEnd.Close()
	h.release()
}

// noFlowID answers a request when the registry has no flow id left: a real
// limit, said in words in the log and as ENOMEM to the application.
func (d *Daemon) noFlowID(pid int, err error) reply {
	if errors.Is(err, reg.ErrNoFlowIDs) {
		c := d.reg.Census()
		d.log.Error(fmt.Sprintf("No flow ids left for process %d: all %d are in use (%d held by IPCPs, %d of them being released).",
			pid, c.Flows, c.IPCPHeld, c.Releasing))
		return result(oerr.ENOMEM)
	}
	return result(oerr.EINVAL)
}

// flowAllocDirect connects the client to a local accepter of dst with no IPCP:
// both sides use the accepter's flow id. The OAP exchange runs here for both
// sides, as the reference runs it through its registry: the client's and
// the server's policies for dst apply as for a remote flow, and a refusal
// fails the allocation (ok true, with the error) without taking the accept.
func (d *Daemon) flowAllocDirect(fi ctrl.FlowInfo, dst string) (reply, bool) {
	req, st, e := d.clientRequest(dst)
	if e != 0 {
		return result(e), true
	}
	resp, srvRes, e := d.serverServe(dst, req)
	if e != 0 {
		return result(e), true
	}
	cliRes, ok := d.clientFinish(dst, st, resp)
	if !ok {
		return result(oerr.ECRYPT), true
	}
	cliEnd, srvEnd, err := datapath.Pair(!d.cfg.Sockets)
	if err != nil {
		return reply{}, false
	}
	f, ok := d.reg.RespondAccept(dst, reg.Answer{N1Pid: fi.NPid, MPL: directMPL, QoS: fi.QoS,
		Direct: true, AppEnd: srvEnd, Cipher: uint16(srvRes.Cipher), Key: srvRes.Key, Peer: srvRes.Peer})
	if !ok {
		cliEnd.Close()
		srvEnd.Close()
		return reply{}, false
	}
	d.log.Info(fmt.Sprintf("Flow %d allocated (direct) for %d to %s.", f.ID, fi.NPid, dst))
	return flowReply(f, fi.NPid, f.NPid, cliEnd, cliRes), true
}

// flowAccept serves IRM_FLOW_ACCEPT: a pending flow that waits, without a
// deadline unless the application gave a timeout, for a request.
//
// A remote request whose OAP header fails the checks is refused towards the
// requester, and the accept keeps waiting for the next request: a bad or
// replayed request from the network never reaches the application (the
// reference fails the accept instead).
func (d *Daemon) flowAccept(ctx context.Context, m *pb.IrmMsg) reply {
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	pid := fi.NPid
	if !d.reg.HasProc(pid) {
		return result(oerr.EINVAL)
	}
	deadline := requestDeadline(m, 0)
	for {
		rep, again := d.acceptOnce(ctx, fi, deadline)
		if !again {
			return rep
		}
	}
}

// acceptOnce waits for one request; again reports that it was refused and
// the accept must wait for another.
func (d *Daemon) acceptOnce(ctx context.Context, fi ctrl.FlowInfo, deadline time.Time) (rep reply, again bool) {
	pid := fi.NPid
	id, err := d.reg.CreateFlow(pid, fi.QoS)
	if err != nil {
		return d.noFlowID(pid, err), false
	}
	// Every way out but the reply releases the request's hold on id.
	release := func() { d.release(id, pid) }
	if err := d.reg.PrepareAccept(id); err != nil {
		release()
		return result(oerr.EINVAL), false
	}
	err = d.reg.WaitOn(ctx, deadline, reg.FlowTopic(id),
		func() bool { return d.reg.FlowStateLocked(id) != reg.FlowAcceptPending })
	if err != nil {
		// Withdraw the accept unless a request took it at the last moment.
		var taken bool
		d.reg.Do(func() { taken = d.reg.FlowStateLocked(id) == reg.FlowAllocated })
		if !taken {
			release()
			if ctx.Err() != nil {
				return reply{none: true}, false
			}
			return result(oerr.ETIMEDOUT), false
		}
	}
	// A request that took the accept and then failed (its IPCP never got
	// the reply), or an IPCP that refused, does not fail the accept: it
	// waits for the next request, as long as the process and its request
	// are there.
	retry := func() (reply, bool) {
		release()
		if ctx.Err() != nil || d.ctx.Err() != nil || !d.reg.HasProc(pid) {
			return reply{none: true}, false
		}
		return reply{}, true
	}
	f, ok := d.reg.GetFlow(id)
	if !ok || f.State != reg.FlowAllocated {
		return retry()
	}
	end := datapath.End(d.reg.TakeAppEnd(id))
	if end == nil {
		return retry()
	}
	if f.Direct {
		d.log.Info(fmt.Sprintf("Flow %d accepted (direct) by %d for %s.", id, pid, f.Name))
		return flowReply(f, pid, f.N1Pid, end, oap.Result{Cipher: crypt.Cipher(f.Cipher), Key: f.Key, Peer: f.Peer}), false
	}
	// OAP: check the request (freshness, replay), run the key exchange the
	// server's policy asks for, and answer it.
	oapResp, res, e := d.serverServe(f.Name, f.ReqData)
	if e != 0 {
		req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_ALLOC_RESP.Enum(), FlowId: proto.Int32(int32(id)),
			Pid: proto.Int32(int32(pid)), Uid: proto.Uint32(0), Response: proto.Int32(-int32(e)), Pk: []byte{}}
		d.ipcpCall(d.ctx, f.N1Pid, req, respTimeout)
		end.Close()
		return retry()
	}
	req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_ALLOC_RESP.Enum(), FlowId: proto.Int32(int32(id)),
		Pid: proto.Int32(int32(pid)), Uid: proto.Uint32(0), Response: proto.Int32(0), Pk: oapResp}
	f.ReqData = nil // OAP's, not the application's
	if _, err := d.ipcpCall(d.ctx, f.N1Pid, req, respTimeout); err != nil {
		end.Close()
		d.log.Info(fmt.Sprintf("Flow %d for %s failed before it was accepted (its requester left?): %v.", id, f.Name, err))
		return retry()
	}
	p, _ := d.reg.GetProc(pid)
	d.log.Info(fmt.Sprintf("Flow %d accepted by %d for %s (uid %d).", id, pid, f.Name, p.UID))
	return flowReply(f, pid, f.N1Pid, end, res), false
}

// flowReqArr serves IPCP_FLOW_REQ_ARR: a layer delivers a request for a hash.
// The reply gives the IPCP the accepted flow's id and its channel end.
func (d *Daemon) flowReqArr(ctx context.Context, m *pb.IrmMsg) reply {
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	ipcp, ok := d.reg.GetIPCP(fi.N1Pid)
	if !ok {
		return result(oerr.EIPCP)
	}
	want := m.GetHash()
	name, ok := d.reg.NameByHash(hash.Algo(ipcp.HashAlgo), want)
	if !ok {
		d.log.Info(fmt.Sprintf("No name found for hash %s.", hash.Short(want)))
		return result(oerr.ENAME)
	}
	d.log.Info(fmt.Sprintf("Flow request arrived for %s.", name))
	// Another request may take the accepter between the wait and the answer:
	// wait again, up to one deadline.
	deadline := time.Now().Add(busyWait)
	for d.waitAccepter(ctx, name, deadline) {
		appEnd, ipcpEnd, err := datapath.Pair(!d.cfg.Sockets)
		if err != nil {
			return result(oerr.ENOMEM)
		}
		f, ok := d.reg.RespondAccept(name, reg.Answer{N1Pid: ipcp.PID, MPL: fi.MPL, QoS: fi.QoS,
			ReqData: m.GetPk(), AppEnd: appEnd})
		if !ok {
			appEnd.Close()
			ipcpEnd.Close()
			continue
		}
		info := ctrl.FlowInfo{ID: f.ID, NPid: f.NPid, N1Pid: ipcp.PID, MPL: f.MPL,
			State: uint32(reg.FlowAllocated), QoS: f.QoS, UID: f.UID}
		msg := &pb.IrmMsg{Result: proto.Int32(0), FlowInfo: ctrl.FlowInfoToPB(info)}
		id := f.ID
		return reply{msg: msg, files: ipcpEnd, failed: func() {
			// The IPCP never got the id: its hold ends, and the accept
			// goes back to waiting.
			d.reg.IPCPReleased(id, ipcp.PID)
			d.reg.Fail(id)
		}}
	}
	if ctx.Err() != nil {
		d.log.Info(fmt.Sprintf("Flow request for %s abandoned by its IPCP.", name))
		return reply{none: true}
	}
	d.log.Info(fmt.Sprintf("No process accepting flows for %s.", name))
	return result(oerr.ETIMEDOUT)
}

// flowAllocReply serves IPCP_FLOW_ALLOC_REPLY: the layer's answer to a flow
// this host allocated.
func (d *Daemon) flowAllocReply(m *pb.IrmMsg) error {
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	if err := d.reg.AllocReply(fi.ID, m.GetResponse(), fi.MPL, m.GetPk()); err != nil {
		d.log.Warn(fmt.Sprintf("Allocation reply for unknown flow %d.", fi.ID))
		return oerr.ENOTALLOC
	}
	return nil
}

// flowDealloc serves IRM_FLOW_DEALLOC from an application. The linger time it
// carries (FRCT's) is not passed on: the application lingered before it
// asked, and the ids are released as soon as every holder has let go.
func (d *Daemon) flowDealloc(m *pb.IrmMsg) error {
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	return d.deallocFlow(fi.ID, fi.NPid)
}

// deallocFlow releases process pid's hold on flow id (it deallocated or died).
func (d *Daemon) deallocFlow(id, pid int) error {
	f, res, err := d.reg.Dealloc(id, pid)
	if err != nil {
		return oerr.ENOTALLOC
	}
	d.log.Info(fmt.Sprintf("Deallocating flow %d for process %d.", id, pid))
	if res == reg.DeallocNotifyIPC {
		d.askRelease(f.N1Pid, id)
	}
	return nil
}

// release ends pid's hold on flow id for a request that failed, was
// abandoned, or could not hand the flow over; it asks the IPCP to release
// the id if it holds it.
func (d *Daemon) release(id, pid int) {
	f, res, err := d.reg.Release(id, pid)
	if err == nil && res == reg.DeallocNotifyIPC {
		d.askRelease(f.N1Pid, id)
	}
}

// releaseTimeout bounds one IPCP_FLOW_DEALLOC exchange; releaseRetry is the
// pause before asking again when an IPCP did not answer.
const (
	releaseTimeout = 10 * time.Second
	releaseRetry   = 2 * time.Second
)

// askRelease sends IPCP_FLOW_DEALLOC for flow id to the IPCP, in the
// background, and records its answer: 0 (released) or ENOTALLOC (it did not
// hold it) end its hold, and the id is free once nobody else holds it. An
// IPCP that does not answer is asked again until it does or exits (asking
// twice is harmless: only an answer counts, and the IPCP answers ENOTALLOC
// for an id it no longer holds); meanwhile the id stays reserved.
func (d *Daemon) askRelease(ipcp, id int) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_DEALLOC.Enum(), FlowId: proto.Int32(int32(id)),
			TimeoSec: proto.Uint32(0)}
		for warned := false; ; warned = true {
			_, err := d.ipcpCall(d.ctx, ipcp, req, releaseTimeout)
			switch {
			case err == nil || errors.Is(err, oerr.ENOTALLOC):
				if d.reg.IPCPReleased(id, ipcp) && err == nil {
					d.log.Info(fmt.Sprintf("Completed deallocation of flow_id %d by process %d.", id, ipcp))
				}
				return
			case syscall.Kill(ipcp, 0) != nil:
				d.reg.IPCPReleased(id, ipcp) // a dead IPCP holds nothing
				return
			case d.ctx.Err() != nil:
				return
			}
			if !warned {
				d.log.Warn(fmt.Sprintf("IPCP %d did not release flow %d (%v); asking again.", ipcp, id, err))
			}
			select {
			case <-time.After(releaseRetry):
			case <-d.ctx.Done():
				return
			}
		}
	}()
}

// ipcpFlowDealloc serves IPCP_FLOW_DEALLOC: an IPCP released a flow of its
// own accord (ours answer our requests instead).
func (d *Daemon) ipcpFlowDealloc(m *pb.IrmMsg) {
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	if d.reg.DeallocResp(fi.ID, fi.N1Pid) {
		d.log.Info(fmt.Sprintf("Completed deallocation of flow_id %d by process %d.", fi.ID, fi.N1Pid))
	}
}

// fdsOf lists the descriptors of a channel end, for SCM_RIGHTS.
func fdsOf(end datapath.End) []int {
	fds := make([]int, len(end))
	for i, f := range end {
		fds[i] = int(f.Fd())
	}
	return fds
}
