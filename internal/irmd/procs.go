package irmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// procAnnounce registers a process (IRM_PROC_ANNOUNCE) and starts watching it.
func (d *Daemon) procAnnounce(pid int, prog string, by ctrl.Cred) error {
	if pid <= 0 {
		return oerr.EINVAL
	}
	err := d.reg.CreateProc(reg.Proc{PID: pid, Prog: prog, UID: by.UID, GID: by.GID, Own: pid == by.PID})
	if errors.Is(err, reg.ErrExists) {
		if p, _ := d.reg.GetProc(pid); p.Prog == prog {
			return nil // announced twice by the same program: fine
		}
		return oerr.EEXIST
	}
	d.watch(pid)
	d.log.Info(fmt.Sprintf("Process added: %d (%s).", pid, prog))
	return nil
}

// procExit handles IRM_PROC_EXIT.
func (d *Daemon) procExit(pid int) {
	d.cleanupPID(pid, fmt.Sprintf("Process removed: %d.", pid))
}

// cleanupPID removes every trace of a process that left or died: its registry
// entries, its pending flows (their requests release them), and its live
// flows, which are released as if it had deallocated them; an IPCP's holds
// end with it.
// The message is logged if the process was still known, so that a death seen
// twice (pidfd and sweep) is reported and handled once.
func (d *Daemon) cleanupPID(pid int, msg string) {
	d.mu.Lock()
	if stop, ok := d.watched[pid]; ok {
		stop()
		delete(d.watched, pid)
	}
	d.mu.Unlock()
	if _, isIPCP := d.reg.GetIPCP(pid); isIPCP && strings.HasPrefix(msg, "Process") && strings.HasSuffix(msg, "died.") {
		msg = fmt.Sprintf("IPCP %d died.", pid)
	}
	live, existed := d.reg.RemoveProc(pid)
	if existed && msg != "" {
		d.log.Info(msg)
	}
	for _, f := range live {
		d.release(f.ID, pid) // the flows the process held
	}
}

// watch notices the death of pid at once through a pidfd parked in the
// netpoller; where pidfds are unavailable the periodic sweep finds it.
func (d *Daemon) watch(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return
	}
	d.mu.Lock()
	if _, ok := d.watched[pid]; ok || d.ctx.Err() != nil {
		d.mu.Unlock()
		f.Close()
		return
	}
	d.watched[pid] = func() { f.Close() }
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		err := rc.Read(func(fd uintptr) bool {
			// A pidfd polls readable once the process has exited.
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, _ := unix.Poll(fds, 0)
			return n > 0
		})
		if err != nil {
			return // closed by cleanup or shutdown
		}
		d.mu.Lock()
		_, still := d.watched[pid]
		delete(d.watched, pid)
		d.mu.Unlock()
		f.Close()
		if still && d.ctx.Err() == nil {
			d.cleanupPID(pid, fmt.Sprintf("Process %d died.", pid))
		}
	}()
}

// sweep probes every registered process each second with kill(pid, 0), for
// processes that could not be watched with a pidfd.
func (d *Daemon) sweep() {
	t := time.NewTicker(sweepPeriod)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		for _, pid := range d.reg.ListProcs() {
			if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
				d.cleanupPID(pid, fmt.Sprintf("Process %d died.", pid))
			}
		}
	}
}

// bindProgram binds a program to a name for the user by, who its auto-started
// instances run as.
func (d *Daemon) bindProgram(execv []string, name string, opts uint32, by reg.Cred) error {
	// exec = [path, args..., ""]: the trailing empty string is a terminator.
	if len(execv) > 0 && execv[len(execv)-1] == "" {
		execv = execv[:len(execv)-1]
	}
	if len(execv) == 0 || execv[0] == "" || name == "" {
		return oerr.EINVAL
	}
	if !d.reg.HasName(name) {
		d.log.Info(fmt.Sprintf("Created new name: %s.", name))
	}
	err := d.reg.BindProgram(execv[0], name, opts&1 != 0, execv[1:], by)
	if err != nil {
		d.log.Error(fmt.Sprintf("Failed to bind program %s to name %s: already bound.", execv[0], name))
		return oerr.EEXIST
	}
	d.log.Info(fmt.Sprintf("Bound program %s to name %s.", execv[0], name))
	return nil
}

func (d *Daemon) unbindProgram(prog, name string) error {
	if prog == "" {
		return oerr.EINVAL
	}
	if err := d.reg.UnbindProgram(prog, name); err != nil {
		return oerr.ENOENT
	}
	if name == "" {
		d.log.Info(fmt.Sprintf("Program %s unbound.", prog))
	} else {
		d.log.Info(fmt.Sprintf("Program %s unbound from %s.", prog, name))
	}
	return nil
}

func (d *Daemon) bindProcess(ctx context.Context, pid int, name string) error {
	if name == "" {
		return oerr.EINVAL
	}
	err := d.reg.WaitOn(ctx, time.Now().Add(bindProcWait), reg.ProcTopic(pid),
		func() bool { return d.reg.HasProcLocked(pid) })
	if err != nil {
		d.log.Error(fmt.Sprintf("Process %d does not exist.", pid))
		return oerr.EPERM
	}
	if !d.reg.HasName(name) {
		d.log.Info(fmt.Sprintf("Created new name: %s.", name))
	}
	if err := d.reg.BindProcess(pid, name); err != nil {
		if errors.Is(err, reg.ErrExists) {
			return oerr.EEXIST
		}
		return oerr.EPERM
	}
	d.log.Info(fmt.Sprintf("Bound process %d to name %s.", pid, name))
	return nil
}

func (d *Daemon) unbindProcess(pid int, name string) error {
	if name == "" {
		d.cleanupPID(pid, fmt.Sprintf("Process removed: %d.", pid))
		return nil
	}
	if err := d.reg.UnbindProcess(pid, name); err != nil {
		return oerr.ENOENT
	}
	d.log.Info(fmt.Sprintf("Process %d unbound from %s.", pid, name))
	return nil
}

func (d *Daemon) createName(info *pb.NameInfoMsg) error {
	if info == nil || info.GetName() == "" || len(info.GetName()) > 255 {
		return oerr.EINVAL
	}
	ni := reg.NameInfo{Name: info.GetName(), LB: reg.LBPolicy(info.GetPolLb()),
		SKey: info.GetSkey(), SCrt: info.GetScrt(), CKey: info.GetCkey(), CCrt: info.GetCcrt()}
	if ni.LB != reg.LBRoundRobin && ni.LB != reg.LBSpill {
		return oerr.EINVAL
	}
	if err := d.reg.CreateName(ni); err != nil {
		d.log.Info(fmt.Sprintf("Name %s already exists.", ni.Name))
		return nil
	}
	d.log.Info(fmt.Sprintf("Created new name: %s.", ni.Name))
	return nil
}

func (d *Daemon) destroyName(name string) error {
	if err := d.reg.DestroyName(name); err != nil {
		return oerr.ENAME
	}
	d.log.Info(fmt.Sprintf("Destroyed name: %s.", name))
	return nil
}

// autoStart starts the first program bound to name with auto-start, as the
// user who bound it (see runAs).
func (d *Daemon) autoStart(name string) bool {
	argv, ok := d.reg.AutoStart(name)
	if !ok {
		return false
	}
	by, ok := d.reg.Binder(argv[0], name)
	if !ok {
		return false // unbound meanwhile
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = d.childEnv()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: d.runAs(by)}
	if err := cmd.Start(); err != nil {
		d.log.Error(fmt.Sprintf("Failed to start %s: %v.", argv[0], err))
		return false
	}
	d.log.Info(fmt.Sprintf("Starting %s for %s.", filepath.Clean(argv[0]), name))
	d.log.Info(fmt.Sprintf("Instantiated %s as process %d.", argv[0], cmd.Process.Pid))
	go cmd.Wait() // reap it; it is a normal process once announced
	return true
}

// runAs is the identity of a program bound by the user by: the irmd's own
// if by is privileged (root or the irmd's user; a program bound by root
// under a non-root irmd runs as the irmd, which has less), else by's uid,
// gid and supplementary groups, never more. An irmd that is not root cannot
// switch users, and then fails to start the program of another user.
func (d *Daemon) runAs(by reg.Cred) *syscall.Credential {
	if by.UID == 0 || by.UID == d.uid {
		return nil
	}
	return &syscall.Credential{Uid: by.UID, Gid: by.GID, Groups: append([]uint32{}, by.Groups...)}
}
