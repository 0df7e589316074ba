package irmd

// Permissions. Every request is judged by who sent it: the credentials the
// kernel gives for its connection (SO_PEERCRED: pid, effective uid and gid
// when the peer connected), never by what the message claims. Callers fall
// in three classes:
//
//   - privileged: root and the irmd's own uid. They may do anything, and
//     name any pid in a request.
//   - managers: the privileged, and members of the operator's group
//     (irmd --group). They may manage the stack.
//   - everyone else: applications.
//
// The rules, by request:
//
//   - management (IPCP create, destroy, bootstrap, enroll, connect,
//     disconnect; program bind and unbind; name create, destroy, register
//     and unregister; process bind and unbind of another process): managers.
//   - a request that names a pid (process announce and exit, flow
//     allocation, accept and join, flow deallocation): that pid must be the
//     caller's own, unless the caller is privileged. A flow is deallocated
//     only by the process that holds it.
//   - a process binding itself to a name: allowed when nobody of another uid
//     holds the name (no process of another user is bound to it, no other
//     user bound a program to it); unbinding itself: always.
//   - the IPCPs' messages (IPCP_CREATE_R, IPCP_FLOW_REQ_ARR,
//     IPCP_FLOW_ALLOC_REPLY, IPCP_FLOW_DEALLOC): only from an IPCP process
//     this irmd spawned, speaking for itself and for its own flows.
//   - listing IPCPs and names: anyone.
//
// A refusal is EPERM and one log line saying who asked for what (rate
// limited, so that a flood of refused requests cannot flood the log).

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// rights is what the caller of a request is.
type rights struct {
	privileged bool // root or the irmd's uid
	manager    bool // privileged or in the operator's group
	ipcp       bool // an IPCP process this irmd spawned
}

// ask is what a request wants, in the terms the policy needs; the daemon
// fills it from the message and the registry.
type ask struct {
	code pb.IrmMsgCode
	// pid is the process the request speaks for (0: it names none).
	pid int
	// name and owners (the uids holding it) for a process binding itself.
	name   string
	owners []uint32
	// flow is the flow id a deallocation or an IPCP message is about;
	// holder says whether pid holds it (or no such flow exists, which the
	// handler reports), flowIPCP is the IPCP under it (0: unknown flow).
	flow     int
	holder   bool
	flowIPCP int
}

// notManager is the reason a management request is refused.
const notManager = "only root and the irmd's user may manage the stack"

// management lists the requests reserved to managers.
var management = map[pb.IrmMsgCode]bool{
	pb.IrmMsgCode_IRM_CREATE_IPCP:     true,
	pb.IrmMsgCode_IRM_DESTROY_IPCP:    true,
	pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP:  true,
	pb.IrmMsgCode_IRM_ENROLL_IPCP:     true,
	pb.IrmMsgCode_IRM_CONNECT_IPCP:    true,
	pb.IrmMsgCode_IRM_DISCONNECT_IPCP: true,
	pb.IrmMsgCode_IRM_BIND_PROGRAM:    true,
	pb.IrmMsgCode_IRM_UNBIND_PROGRAM:  true,
	pb.IrmMsgCode_IRM_CREATE_NAME:     true,
	pb.IrmMsgCode_IRM_DESTROY_NAME:    true,
	pb.IrmMsgCode_IRM_REG_NAME:        true,
	pb.IrmMsgCode_IRM_UNREG_NAME:      true,
}

// decide applies the rules to one request from caller c with rights rt. It
// returns "" to allow it, else why it is refused (for the log line). It
// looks at nothing but its arguments.
func decide(c ctrl.Cred, rt rights, a ask) string {
	if management[a.code] {
		if !rt.manager {
			return notManager
		}
		return ""
	}
	notOwn := func() string { return fmt.Sprintf("it speaks for process %d, not for itself", a.pid) }
	switch a.code {
	case pb.IrmMsgCode_IRM_PROC_ANNOUNCE, pb.IrmMsgCode_IRM_PROC_EXIT,
		pb.IrmMsgCode_IRM_FLOW_ALLOC, pb.IrmMsgCode_IRM_FLOW_ACCEPT, pb.IrmMsgCode_IRM_FLOW_JOIN:
		if a.pid != c.PID && !rt.privileged {
			return notOwn()
		}
	case pb.IrmMsgCode_IRM_FLOW_DEALLOC:
		switch {
		case rt.privileged:
		case a.pid != c.PID:
			return notOwn()
		case !a.holder:
			return fmt.Sprintf("flow %d is not its own", a.flow)
		}
	case pb.IrmMsgCode_IRM_BIND_PROCESS:
		switch {
		case rt.manager:
		case a.pid != c.PID:
			return "binding another process is management; " + notManager
		case slices.ContainsFunc(a.owners, func(u uint32) bool { return u != c.UID }):
			return fmt.Sprintf("name %s is held by another user", a.name)
		}
	case pb.IrmMsgCode_IRM_UNBIND_PROCESS:
		if !rt.manager && a.pid != c.PID {
			return "unbinding another process is management; " + notManager
		}
	case pb.IrmMsgCode_IPCP_CREATE_R, pb.IrmMsgCode_IPCP_FLOW_REQ_ARR,
		pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY, pb.IrmMsgCode_IPCP_FLOW_DEALLOC:
		switch {
		case !rt.ipcp:
			return "only the IPCPs this irmd started may send it"
		case a.pid != 0 && a.pid != c.PID:
			return fmt.Sprintf("it speaks for IPCP %d, not for itself", a.pid)
		case a.flowIPCP != 0 && a.flowIPCP != c.PID:
			return fmt.Sprintf("flow %d belongs to IPCP %d", a.flow, a.flowIPCP)
		}
	}
	return ""
}

// authorize checks request r against the rules; a refusal is logged and
// returned as EPERM.
func (d *Daemon) authorize(r *request) error {
	c, m := r.cred, r.msg
	rt := rights{privileged: c.UID == 0 || c.UID == d.uid}
	rt.manager = rt.privileged || d.inGroup(c)
	a := ask{code: m.GetCode()}
	fi := ctrl.FlowInfoFromPB(m.GetFlowInfo())
	switch a.code {
	case pb.IrmMsgCode_IRM_PROC_ANNOUNCE, pb.IrmMsgCode_IRM_PROC_EXIT, pb.IrmMsgCode_IRM_UNBIND_PROCESS:
		a.pid = int(m.GetPid())
	case pb.IrmMsgCode_IRM_BIND_PROCESS:
		a.pid, a.name = int(m.GetPid()), m.GetName()
		if a.pid == c.PID && !rt.manager {
			a.owners = d.reg.NameOwners(a.name)
		}
	case pb.IrmMsgCode_IRM_FLOW_ALLOC, pb.IrmMsgCode_IRM_FLOW_ACCEPT, pb.IrmMsgCode_IRM_FLOW_JOIN:
		a.pid = fi.NPid
	case pb.IrmMsgCode_IRM_FLOW_DEALLOC:
		a.pid, a.flow = fi.NPid, fi.ID
		f, ok := d.reg.GetFlow(a.flow)
		a.holder = !ok || f.NPid == a.pid || (f.Direct && f.N1Pid == a.pid)
	case pb.IrmMsgCode_IPCP_CREATE_R:
		rt.ipcp = d.isSpawned(c.PID)
		a.pid = int(m.GetIpcpInfo().GetPid())
	case pb.IrmMsgCode_IPCP_FLOW_REQ_ARR:
		rt.ipcp = d.isSpawned(c.PID)
		a.pid = fi.N1Pid
	case pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY, pb.IrmMsgCode_IPCP_FLOW_DEALLOC:
		rt.ipcp = d.isSpawned(c.PID)
		a.flow = fi.ID
		if f, ok := d.reg.GetFlow(a.flow); ok && !f.Direct {
			a.flowIPCP = f.N1Pid
		}
	}
	why := decide(c, rt, a)
	if why == "" {
		return nil
	}
	if strings.HasSuffix(why, notManager) && d.gid >= 0 {
		why += fmt.Sprintf(", and members of group %s", d.cfg.Group)
	}
	d.refusals.logf(d.log, fmt.Sprintf("%d %s", c.UID, a.code), "Refused %s from process %d (uid %d): %s.", a.code, c.PID, c.UID, why)
	return oerr.EPERM
}

// isSpawned reports whether pid is an IPCP this irmd started. It waits for a
// spawn in progress, so that an IPCP's first message cannot overtake its
// own registration.
func (d *Daemon) isSpawned(pid int) bool {
	d.spawnMu.RLock()
	defer d.spawnMu.RUnlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.spawned[pid]
	return ok
}

// inGroup reports whether the caller is a member of the operator's group:
// its gid, or one of the supplementary groups of its process. The groups
// are read from /proc only while that pid still runs with the caller's uid,
// so a pid reused by another user's process gives no membership.
func (d *Daemon) inGroup(c ctrl.Cred) bool {
	if d.gid < 0 {
		return false
	}
	if c.GID == uint32(d.gid) {
		return true
	}
	id, ok := procCred(c.PID)
	return ok && id.UID == c.UID && slices.Contains(id.Groups, uint32(d.gid))
}

// procCred reads the effective uid and gid and the supplementary groups of
// a process from /proc/PID/status.
func procCred(pid int) (reg.Cred, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return reg.Cred{}, false
	}
	var c reg.Cred
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		switch key {
		case "Uid", "Gid": // real, effective, saved, filesystem
			if len(f) < 2 {
				return reg.Cred{}, false
			}
			n, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return reg.Cred{}, false
			}
			if key == "Uid" {
				c.UID = uint32(n)
			} else {
				c.GID = uint32(n)
			}
			seen++
		case "Groups":
			for _, g := range f {
				n, err := strconv.ParseUint(g, 10, 32)
				if err != nil {
					return reg.Cred{}, false
				}
				c.Groups = append(c.Groups, uint32(n))
			}
			seen++
		}
	}
	return c, seen == 3
}

// binder is the identity a program bound by caller c is started with: its
// uid and gid, and the supplementary groups its process had (none if they
// cannot be read: never more than it had).
func binder(c ctrl.Cred) reg.Cred {
	b := reg.Cred{UID: c.UID, GID: c.GID}
	if id, ok := procCred(c.PID); ok && id.UID == c.UID {
		b.Groups = id.Groups
	}
	return b
}

// lookupGroup resolves irmd --group: a group name, or a numeric gid.
func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if n, nerr := strconv.ParseUint(name, 10, 31); nerr == nil {
			return int(n), nil
		}
		return -1, fmt.Errorf("group %s: %w", name, err)
	}
	n, err := strconv.Atoi(g.Gid)
	if err != nil {
		return -1, fmt.Errorf("group %s: gid %q", name, g.Gid)
	}
	return n, nil
}
