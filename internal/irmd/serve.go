package irmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// request is one control request being served.
type request struct {
	msg  *pb.IrmMsg
	conn *net.UnixConn
	cred ctrl.Cred // of the requester, from the kernel
}

// reply is the answer to a request: the message, the descriptors sent with
// it and, for a flow handed to an application, the flow and the process
// (HandOver before the send, release if it cannot be sent); failed undoes
// other replies that could not be sent.
type reply struct {
	msg    *pb.IrmMsg
	files  []*os.File
	flowID int
	flowBy int
	failed func()
	none   bool
}

// errNoReply makes the daemon close the connection without answering (the
// reference does this for an aborted accept, -EPIPE).
var errNoReply = errors.New("no reply")

func (d *Daemon) serveConn(c *net.UnixConn, cred ctrl.Cred) {
	defer c.Close()
	msg := &pb.IrmMsg{}
	c.SetReadDeadline(time.Now().Add(requestTimeout))
	files, err := ctrl.Recv(c, msg)
	ctrl.CloseFiles(files) // nobody sends us descriptors
	if err != nil {
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			d.connLog.logf(d.log, "Closed a connection from process %d (uid %d): no request within %v.",
				cred.PID, cred.UID, requestTimeout)
		case !ctrl.IsClosed(err):
			d.connLog.logf(d.log, "Dropped malformed request: %v.", err)
		}
		return
	}
	c.SetReadDeadline(time.Time{})
	req := &request{msg: msg, conn: c, cred: cred}

	// The requester hanging up cancels the request: a blocked accept or
	// allocation must not capture a flow nobody will receive.
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	go func() {
		var b [1]byte
		c.Read(b[:])
		cancel()
	}()

	rep := d.dispatch(ctx, req)
	if rep.flowID != 0 && !d.reg.HandOver(rep.flowID, rep.flowBy) {
		rep.none = true // the process is gone: nobody to hand the flow to
	}
	if rep.none {
		ctrl.CloseFiles(rep.files)
		if rep.flowID != 0 {
			d.release(rep.flowID, rep.flowBy)
		}
		return
	}
	if rep.msg == nil {
		rep.msg = &pb.IrmMsg{}
	}
	rep.msg.Code = pb.IrmMsgCode_IRM_REPLY.Enum()
	if rep.msg.Result == nil {
		rep.msg.Result = proto.Int32(0)
	}
	fds := make([]int, len(rep.files))
	for i, f := range rep.files {
		fds[i] = int(f.Fd())
	}
	c.SetWriteDeadline(time.Now().Add(replyTimeout))
	err = ctrl.Send(c, rep.msg, fds...)
	ctrl.CloseFiles(rep.files)
	if err != nil {
		d.log.Warn(fmt.Sprintf("Failed to send reply: %v.", err))
		if rep.flowID != 0 {
			// The requester never got its flow: release it.
			d.release(rep.flowID, rep.flowBy)
		}
		if rep.failed != nil {
			rep.failed()
		}
	}
}

// result builds a reply with only a result.
func result(err error) reply {
	return reply{msg: &pb.IrmMsg{Result: proto.Int32(oerr.Result(err))}}
}

func (d *Daemon) dispatch(ctx context.Context, r *request) reply {
	m := r.msg
	if err := d.authorize(r); err != nil {
		return result(err)
	}
	switch m.GetCode() {
	case pb.IrmMsgCode_IRM_CREATE_IPCP:
		return result(d.createIPCP(ctx, m.GetIpcpInfo()))
	case pb.IrmMsgCode_IPCP_CREATE_R:
		return result(d.ipcpCreateR(m.GetIpcpInfo()))
	case pb.IrmMsgCode_IRM_DESTROY_IPCP:
		return result(d.destroyIPCP(int(m.GetPid())))
	case pb.IrmMsgCode_IRM_LIST_IPCPS:
		return d.listIPCPs(m)
	case pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP:
		return result(d.bootstrapIPCP(ctx, int(m.GetPid()), m.GetConf()))
	case pb.IrmMsgCode_IRM_ENROLL_IPCP:
		return result(d.enrollIPCP(ctx, int(m.GetPid()), m.GetDst()))
	case pb.IrmMsgCode_IRM_CONNECT_IPCP:
		return result(d.connectIPCP(ctx, int(m.GetPid()), m.GetDst(), m.GetComp(), m.GetQosspec(), true))
	case pb.IrmMsgCode_IRM_DISCONNECT_IPCP:
		return result(d.connectIPCP(ctx, int(m.GetPid()), m.GetDst(), m.GetComp(), nil, false))
	case pb.IrmMsgCode_IRM_BIND_PROGRAM:
		return result(d.bindProgram(m.GetExec(), m.GetName(), m.GetOpts(), binder(r.cred)))
	case pb.IrmMsgCode_IRM_UNBIND_PROGRAM:
		return result(d.unbindProgram(m.GetProg(), m.GetName()))
	case pb.IrmMsgCode_IRM_PROC_ANNOUNCE:
		return result(d.procAnnounce(int(m.GetPid()), m.GetProg(), r.cred))
	case pb.IrmMsgCode_IRM_PROC_EXIT:
		d.procExit(int(m.GetPid()))
		return result(nil)
	case pb.IrmMsgCode_IRM_BIND_PROCESS:
		return result(d.bindProcess(ctx, int(m.GetPid()), m.GetName()))
	case pb.IrmMsgCode_IRM_UNBIND_PROCESS:
		return result(d.unbindProcess(int(m.GetPid()), m.GetName()))
	case pb.IrmMsgCode_IRM_CREATE_NAME:
		return result(d.createName(m.GetNameInfo()))
	case pb.IrmMsgCode_IRM_DESTROY_NAME:
		return result(d.destroyName(m.GetName()))
	case pb.IrmMsgCode_IRM_LIST_NAMES:
		return d.listNames(m)
	case pb.IrmMsgCode_IRM_REG_NAME:
		return result(d.regName(ctx, m.GetName(), int(m.GetPid()), true))
	case pb.IrmMsgCode_IRM_UNREG_NAME:
		return result(d.regName(ctx, m.GetName(), int(m.GetPid()), false))
	case pb.IrmMsgCode_IRM_FLOW_ALLOC:
		return d.flowAlloc(ctx, m)
	case pb.IrmMsgCode_IRM_FLOW_ACCEPT:
		return d.flowAccept(ctx, m)
	case pb.IrmMsgCode_IRM_FLOW_JOIN:
		return d.flowJoin(ctx, m)
	case pb.IrmMsgCode_IRM_FLOW_DEALLOC:
		return result(d.flowDealloc(m))
	case pb.IrmMsgCode_IPCP_FLOW_DEALLOC:
		d.ipcpFlowDealloc(m)
		return result(nil)
	case pb.IrmMsgCode_IPCP_FLOW_REQ_ARR:
		return d.flowReqArr(ctx, m)
	case pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY:
		return result(d.flowAllocReply(m))
	}
	d.log.Warn(fmt.Sprintf("Unknown message code %d.", m.GetCode()))
	return reply{msg: &pb.IrmMsg{Result: proto.Int32(-1)}}
}
