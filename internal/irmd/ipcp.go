package irmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
)

// IPCP types (enum ipcp_type); the order is also the selection preference.
const (
	typeUnicast   = uint32(irm.Unicast)
	typeBroadcast = uint32(irm.Broadcast)
	typeUDP4      = uint32(irm.UDP4)
	typeUDP6      = uint32(irm.UDP6)
)

func typeName(t uint32) string { return irm.IPCPType(t).String() }

// createIPCP spawns ipcpd-<type> and waits for its IPCP_CREATE_R.
func (d *Daemon) createIPCP(ctx context.Context, info *pb.IpcpInfoMsg) error {
	if info == nil || info.GetName() == "" {
		d.log.Error("Refused to create an IPCP without a name.")
		return oerr.EINVAL
	}
	t := info.GetType()
	if !irm.IPCPType(t).Valid() {
		d.log.Error(fmt.Sprintf("Unknown IPCP type %d.", t))
		return oerr.EIPCPTYPE
	}
	bin, err := d.ipcpBinary(typeName(t))
	if err != nil {
		d.log.Error(fmt.Sprintf("IPCP type %s is not available: ipcpd-%s not found.", typeName(t), typeName(t)))
		return oerr.EIPCPTYPE
	}
	args := []string{strconv.Itoa(os.Getpid()), info.GetName()}
	if d.cfg.Syslog {
		args = append(args, "1")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = d.childEnv()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The IPCP's first message (IPCP_CREATE_R) must find it recorded.
	d.spawnMu.Lock()
	// Deliberate deviation: the reference lets two IPCPs share a name, which
	// the irm tool's commands (by name) cannot tell apart. Creations hold
	// spawnMu, so two concurrent ones cannot both pass this check.
	for _, o := range d.reg.ListIPCPs() {
		if o.Name == info.GetName() {
			d.spawnMu.Unlock()
			d.log.Error(fmt.Sprintf("Refused to create IPCP %s: IPCP %d has that name.", o.Name, o.PID))
			return oerr.EEXIST
		}
	}
	if err := cmd.Start(); err != nil {
		d.spawnMu.Unlock()
		d.log.Error(fmt.Sprintf("Failed to spawn %s: %v.", bin, err))
		return oerr.EIPCP
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	d.mu.Lock()
	d.spawned[pid] = cmd
	d.exited[pid] = exited
	d.mu.Unlock()
	d.reg.CreateIPCP(reg.IPCP{PID: pid, Type: t, Name: info.GetName(), HashAlgo: uint32(hash.SHA3_256)})
	d.spawnMu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		cmd.Wait()
		d.mu.Lock()
		delete(d.spawned, pid)
		delete(d.exited, pid)
		d.mu.Unlock()
		close(exited)
		msg := ""
		d.mu.Lock()
		destroyed := d.destroying[pid]
		delete(d.destroying, pid)
		d.mu.Unlock()
		if d.ctx.Err() == nil && !destroyed {
			msg = fmt.Sprintf("IPCP %d died.", pid)
		}
		d.cleanupPID(pid, msg)
	}()

	// A living IPCP that has not reported yet is starting slowly (a loaded
	// host takes seconds to start a process): it is waited for up to
	// bootTimeout. One that exits is noticed at once.
	deadline := time.Now().Add(bootTimeout)
	err = d.reg.WaitOn(ctx, deadline, reg.IPCPTopic(pid), func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		i, ok := d.reg.IPCPLocked(pid)
		return !ok || i.State != reg.IPCPInit
	})
	i, ok := d.reg.GetIPCP(pid)
	if err == nil && ok && i.State == reg.IPCPBoot {
		d.log.Info(fmt.Sprintf("Created IPCP %d.", pid))
		return nil
	}
	d.log.Error(fmt.Sprintf("Failed to boot IPCP %d.", pid))
	syscall.Kill(pid, syscall.SIGKILL)
	<-exited
	return oerr.EIPCP
}

// ipcpCreateR records the state a new IPCP reports.
func (d *Daemon) ipcpCreateR(info *pb.IpcpInfoMsg) error {
	pid := int(info.GetPid())
	if err := d.reg.SetIPCPState(pid, info.GetState()); err != nil {
		d.log.Warn(fmt.Sprintf("IPCP_CREATE_R from unknown IPCP %d.", pid))
		return oerr.EIPCP
	}
	return nil
}

// destroyIPCP stops an IPCP (SIGTERM, SIGKILL after 5 s) and forgets it.
func (d *Daemon) destroyIPCP(pid int) error {
	if _, ok := d.reg.GetIPCP(pid); !ok {
		return oerr.EIPCP
	}
	d.mu.Lock()
	exited, spawned := d.exited[pid]
	if spawned {
		d.destroying[pid] = true
	}
	d.mu.Unlock()
	syscall.Kill(pid, syscall.SIGTERM)
	if spawned {
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(pid, syscall.SIGKILL)
			<-exited
		}
	}
	d.cleanupPID(pid, "")
	d.log.Info(fmt.Sprintf("Destroyed IPCP %d.", pid))
	return nil
}

// ipcpCall sends one request to an IPCP and returns its reply. No reply (dead
// IPCP, timeout) is EIPCP.
func (d *Daemon) ipcpCall(ctx context.Context, pid int, req *pb.IpcpMsg, timeout time.Duration, fds ...int) (*pb.IpcpMsg, error) {
	if syscall.Kill(pid, 0) != nil {
		return nil, oerr.EIPCP
	}
	rep := &pb.IpcpMsg{}
	files, err := ctrl.Call(ctx, rundir.IPCPSocket(d.cfg.Dir, pid), timeout, req, rep, fds...)
	ctrl.CloseFiles(files)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("IPCP %d: %w: %w", pid, err, oerr.EIPCP)
	}
	if rep.Result == nil {
		return nil, fmt.Errorf("IPCP %d replied without result: %w", pid, oerr.EIPCP)
	}
	return rep, oerr.FromResult(rep.GetResult())
}

// ipcpCallAbort is ipcpCall for IPCP_FLOW_ALLOC: cancelling ctx abandons the
// request (ctrl.CallAbort) and the IPCP's answer is still awaited, because it
// says who holds the flow id. refused reports that the IPCP does not hold it:
// it answered with an error, or never saw the request. An error with refused
// false means the IPCP may hold the id.
func (d *Daemon) ipcpCallAbort(ctx context.Context, pid int, req *pb.IpcpMsg, timeout time.Duration, fds ...int) (refused bool, err error) {
	if syscall.Kill(pid, 0) != nil {
		return true, oerr.EIPCP
	}
	rep := &pb.IpcpMsg{}
	files, err := ctrl.CallAbort(ctx, rundir.IPCPSocket(d.cfg.Dir, pid), timeout, req, rep, fds...)
	ctrl.CloseFiles(files)
	if err != nil {
		return errors.Is(err, ctrl.ErrNotSent), fmt.Errorf("IPCP %d: %w: %w", pid, err, oerr.EIPCP)
	}
	if rep.Result == nil {
		return false, fmt.Errorf("IPCP %d replied without result: %w", pid, oerr.EIPCP)
	}
	if err := oerr.FromResult(rep.GetResult()); err != nil {
		return true, err
	}
	return false, nil
}

func (d *Daemon) bootstrapIPCP(ctx context.Context, pid int, conf *pb.IpcpConfigMsg) error {
	i, ok := d.reg.GetIPCP(pid)
	if !ok || conf == nil || conf.LayerInfo == nil {
		return oerr.EIPCP
	}
	if i.Type == typeUDP4 || i.Type == typeUDP6 {
		conf.LayerInfo.DirHashAlgo = proto.Uint32(uint32(hash.MD5))
	}
	req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_BOOTSTRAP.Enum(), Conf: conf}
	rep, err := d.ipcpCall(ctx, pid, req, bootstrapTimeout)
	if err != nil {
		d.log.Error(fmt.Sprintf("Could not bootstrap IPCP %d: %v.", pid, err))
		return err
	}
	li := rep.GetLayerInfo()
	if li == nil {
		return oerr.EIPCP
	}
	d.reg.SetLayer(pid, li.GetName(), li.GetDirHashAlgo())
	d.log.Info(fmt.Sprintf("Bootstrapped IPCP %d.", pid))
	return nil
}

func (d *Daemon) enrollIPCP(ctx context.Context, pid int, dst string) error {
	if _, ok := d.reg.GetIPCP(pid); !ok {
		return oerr.EIPCP
	}
	req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_ENROLL.Enum(), Dst: proto.String(dst)}
	rep, err := d.ipcpCall(ctx, pid, req, enrollTimeout)
	if err != nil {
		d.log.Error(fmt.Sprintf("Could not enroll IPCP %d: %v.", pid, err))
		return err
	}
	li := rep.GetLayerInfo()
	if li == nil {
		return oerr.EIPCP
	}
	d.reg.SetLayer(pid, li.GetName(), li.GetDirHashAlgo())
	d.log.Info(fmt.Sprintf("Enrolled IPCP %d in layer %s.", pid, li.GetName()))
	return nil
}

func (d *Daemon) connectIPCP(ctx context.Context, pid int, dst, comp string, q *pb.QosspecMsg, connect bool) error {
	i, ok := d.reg.GetIPCP(pid)
	if !ok || (i.Type != typeUnicast && i.Type != typeBroadcast) {
		return oerr.EIPCP
	}
	req := &pb.IpcpMsg{Dst: proto.String(dst), Comp: proto.String(comp), Pid: proto.Int32(int32(pid))}
	timeout := socketTimeout
	if connect {
		req.Code = pb.IpcpMsgCode_IPCP_CONNECT.Enum()
		req.Qosspec = q
		timeout = connectTimeout
	} else {
		req.Code = pb.IpcpMsgCode_IPCP_DISCONNECT.Enum()
	}
	if _, err := d.ipcpCall(ctx, pid, req, timeout); err != nil {
		// The reference's mapping: any failure of the IPCP is EPERM to the
		// caller, so the reason is said here.
		what := "connect"
		if !connect {
			what = "disconnect"
		}
		d.log.Error(fmt.Sprintf("Could not %s %s of IPCP %d to %s: %v.", what, comp, pid, dst, err))
		return oerr.EPERM
	}
	if connect {
		d.log.Info(fmt.Sprintf("Established %s connection between IPCP %d and %s.", comp, pid, dst))
	} else {
		d.log.Info(fmt.Sprintf("%s connection between IPCP %d and %s removed.", comp, pid, dst))
	}
	return nil
}

// regName registers (or unregisters) name with the IPCP pid: the IPCP gets the
// name's hash with its layer's algorithm.
func (d *Daemon) regName(ctx context.Context, name string, pid int, register bool) error {
	if !d.reg.HasName(name) {
		return oerr.ENAME
	}
	i, ok := d.reg.GetIPCP(pid)
	if !ok {
		return oerr.EIPCP
	}
	h, err := hash.Sum(hash.Algo(i.HashAlgo), name)
	if err != nil {
		return oerr.EIPCP
	}
	req := &pb.IpcpMsg{Hash: h}
	timeout := regTimeout
	if register {
		req.Code = pb.IpcpMsgCode_IPCP_REG.Enum()
	} else {
		req.Code = pb.IpcpMsgCode_IPCP_UNREG.Enum()
		timeout = socketTimeout
	}
	if _, err := d.ipcpCall(ctx, pid, req, timeout); err != nil {
		var e oerr.Errno
		if errors.As(err, &e) {
			return e
		}
		return oerr.EIPCP
	}
	if register {
		d.log.Info(fmt.Sprintf("Registered %s with IPCP %d as %s.", name, pid, hash.Short(h)))
	} else {
		d.log.Info(fmt.Sprintf("Unregistered %s from %d.", name, pid))
	}
	return nil
}
