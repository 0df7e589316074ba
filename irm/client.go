package irm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Client talks to one IRMd. The zero value talks to the IRMd of the default
// run directory. A Client holds no connection, so it is safe for concurrent
// use and needs no closing.
type Client struct {
	// Dir is the run directory holding the IRMd's irm.sock; empty means
	// $OUROBOROS_RUN_DIR, else /var/run/ouroboros.
	Dir string
}

func (c *Client) dir() string {
	if c.Dir == "" {
		return rundir.Dir()
	}
	return c.Dir
}

func (c *Client) socket() string { return rundir.IRMSocket(c.dir()) }

// call sends req and returns the reply. A connection closed without a reply
// and a reply without a result are EIRMD; a negative result becomes its Errno.
func (c *Client) call(ctx context.Context, req *pb.IrmMsg) (*pb.IrmMsg, error) {
	rep := &pb.IrmMsg{}
	_, err := ctrl.Call(ctx, c.socket(), 0, req, rep)
	for first := time.Now(); err != nil && retryStarting(ctx, c.dir(), err, first); {
		_, err = ctrl.Call(ctx, c.socket(), 0, req, rep)
	}
	if err != nil {
		if errors.Is(err, io.EOF) || ctrl.IsClosed(err) {
			return nil, fmt.Errorf("no reply: %v: %w", err, oerr.EIRMD)
		}
		return nil, err
	}
	if rep.Result == nil {
		return nil, fmt.Errorf("reply without result: %w", oerr.EIRMD)
	}
	if err := oerr.FromResult(rep.GetResult()); err != nil {
		return nil, err
	}
	return rep, nil
}

// retryStarting reports, after waiting a moment, whether a call that could
// not connect should be tried again: the IRMd's socket is missing or refuses
// connections (so nothing was sent), an IRMd looks to be starting in the run
// directory (rundir.Starting), and rundir.StartWait has not passed since
// first. That makes "irmd & irm ..." typed or pasted in one go work.
func retryStarting(ctx context.Context, dir string, err error, first time.Time) bool {
	if !rundir.NotListening(err) || !rundir.Starting(dir) || time.Since(first) > rundir.StartWait {
		return false
	}
	t := time.NewTimer(20 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func msg(code pb.IrmMsgCode) *pb.IrmMsg { return &pb.IrmMsg{Code: code.Enum()} }

// CreateIPCP starts an IPCP of type t called name and waits until it is up.
// The IRMd does not say which pid it got; ListIPCPs finds it. IPCP names need
// not be unique.
func (c *Client) CreateIPCP(ctx context.Context, name string, t IPCPType) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("create IPCP: name longer than %d bytes: %w", MaxNameLen, oerr.EINVAL)
	}
	req := msg(pb.IrmMsgCode_IRM_CREATE_IPCP)
	req.IpcpInfo = &pb.IpcpInfoMsg{
		Type:  proto.Uint32(uint32(t)),
		Name:  proto.String(name),
		Pid:   proto.Uint32(0),
		State: proto.Uint32(0),
	}
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("create %s IPCP %q: %w", t, name, err)
	}
	return nil
}

// DestroyIPCP stops the IPCP with the given pid and waits for it to exit.
func (c *Client) DestroyIPCP(ctx context.Context, pid int) error {
	req := msg(pb.IrmMsgCode_IRM_DESTROY_IPCP)
	req.Pid = proto.Int32(int32(pid))
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("destroy IPCP %d: %w", pid, err)
	}
	return nil
}

// ListIPCPs returns the IPCPs in the IRMd's order: by type (in IPCPType
// order), then by pid.
func (c *Client) ListIPCPs(ctx context.Context) ([]IPCPInfo, error) {
	var out []IPCPInfo
	err := c.listPages(ctx, pb.IrmMsgCode_IRM_LIST_IPCPS, func(rep *pb.IrmMsg) {
		for _, m := range rep.GetIpcps() {
			out = append(out, IPCPInfo{
				PID:      int(int32(m.GetPid())),
				Type:     IPCPType(m.GetType()),
				Name:     m.GetName(),
				Layer:    m.GetLayer(),
				HashAlgo: HashAlgo(m.GetHashAlgo()),
			})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list IPCPs: %w", err)
	}
	return out, nil
}

// listPages fetches a list that may span several replies: each reply holds
// what fits in one control message and, when more follows, a cursor
// (list_next) that the next request sends back (list_after). An IRMd that
// does not page (the reference) sends no cursor: its one reply is the list.
// A cursor that does not move ends the list, so a confused server cannot
// make this loop forever.
func (c *Client) listPages(ctx context.Context, code pb.IrmMsgCode, page func(*pb.IrmMsg)) error {
	after := ""
	for {
		req := msg(code)
		req.ListAfter = proto.String(after)
		rep, err := c.call(ctx, req)
		if err != nil {
			return err
		}
		page(rep)
		if rep.ListNext == nil || rep.GetListNext() == after {
			return nil
		}
		after = rep.GetListNext()
	}
}

// BootstrapIPCP makes the IPCP with the given pid the first member of the
// layer described by conf. conf.Type should be the IPCP's type.
func (c *Client) BootstrapIPCP(ctx context.Context, pid int, conf Config) error {
	if err := conf.Validate(); err != nil {
		return fmt.Errorf("bootstrap IPCP %d: %w", pid, err)
	}
	req := msg(pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP)
	req.Pid = proto.Int32(int32(pid))
	req.Conf = conf.Message()
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("bootstrap IPCP %d in layer %q: %w", pid, conf.Layer, err)
	}
	return nil
}

// EnrollIPCP makes the IPCP with the given pid join a layer through dst, the
// name of a member of that layer (or the layer's name, which its members
// register). ListIPCPs shows the layer joined.
func (c *Client) EnrollIPCP(ctx context.Context, pid int, dst string) error {
	req := msg(pb.IrmMsgCode_IRM_ENROLL_IPCP)
	req.Pid = proto.Int32(int32(pid))
	req.Dst = proto.String(dst)
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("enroll IPCP %d via %q: %w", pid, dst, err)
	}
	return nil
}

// ConnectIPCP connects a component (DTComponent or MgmtComponent) of the IPCP
// with the given pid to the same component of the layer member dst, over a
// lower flow with the given QoS. Only unicast and broadcast IPCPs have
// components; broadcast IPCPs have only DTComponent.
func (c *Client) ConnectIPCP(ctx context.Context, pid int, dst, component string, q qos.Spec) error {
	req := msg(pb.IrmMsgCode_IRM_CONNECT_IPCP)
	req.Pid = proto.Int32(int32(pid))
	req.Dst = proto.String(dst)
	req.Comp = proto.String(component)
	req.Qosspec = ctrl.QoSToPB(q)
	if _, err := c.call(ctx, req); err != nil {
		if errors.Is(err, oerr.EPERM) {
			// The irmd answers EPERM both when the IPCP failed to connect
			// (the reference's mapping) and when the caller may not ask.
			return fmt.Errorf("connect %s of IPCP %d to %q: the IPCP could not connect, or the request is not permitted (the irmd's log says which): %w", component, pid, dst, err)
		}
		return fmt.Errorf("connect %s of IPCP %d to %q: %w", component, pid, dst, err)
	}
	return nil
}

// DisconnectIPCP undoes ConnectIPCP. Only the side that connected can
// disconnect; a connection that does not exist is not an error.
func (c *Client) DisconnectIPCP(ctx context.Context, pid int, dst, component string) error {
	req := msg(pb.IrmMsgCode_IRM_DISCONNECT_IPCP)
	req.Pid = proto.Int32(int32(pid))
	req.Dst = proto.String(dst)
	req.Comp = proto.String(component)
	if _, err := c.call(ctx, req); err != nil {
		return fmt.Errorf("disconnect %s of IPCP %d from %q: %w", component, pid, dst, err)
	}
	return nil
}
