package irmd

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
)

func TestDecide(t *testing.T) {
	user := ctrl.Cred{PID: 500, UID: 1000, GID: 1000}
	root := ctrl.Cred{PID: 1, UID: 0, GID: 0}
	ipcp := ctrl.Cred{PID: 700, UID: 0, GID: 0}
	var (
		app     = rights{}
		member  = rights{manager: true}
		admin   = rights{privileged: true, manager: true}
		spawned = rights{privileged: true, manager: true, ipcp: true}
	)
	const ok = ""
	for _, c := range []struct {
		what string
		c    ctrl.Cred
		rt   rights
		a    ask
		want string // "" allowed, else a part of the reason
	}{
		// Management.
		{"user creates an IPCP", user, app, ask{code: pb.IrmMsgCode_IRM_CREATE_IPCP}, notManager},
		{"user destroys an IPCP", user, app, ask{code: pb.IrmMsgCode_IRM_DESTROY_IPCP}, notManager},
		{"user bootstraps", user, app, ask{code: pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP}, notManager},
		{"user enrolls", user, app, ask{code: pb.IrmMsgCode_IRM_ENROLL_IPCP}, notManager},
		{"user connects", user, app, ask{code: pb.IrmMsgCode_IRM_CONNECT_IPCP}, notManager},
		{"user disconnects", user, app, ask{code: pb.IrmMsgCode_IRM_DISCONNECT_IPCP}, notManager},
		{"user binds a program", user, app, ask{code: pb.IrmMsgCode_IRM_BIND_PROGRAM}, notManager},
		{"user unbinds a program", user, app, ask{code: pb.IrmMsgCode_IRM_UNBIND_PROGRAM}, notManager},
		{"user creates a name", user, app, ask{code: pb.IrmMsgCode_IRM_CREATE_NAME}, notManager},
		{"user destroys a name", user, app, ask{code: pb.IrmMsgCode_IRM_DESTROY_NAME}, notManager},
		{"user registers a name", user, app, ask{code: pb.IrmMsgCode_IRM_REG_NAME, pid: 500}, notManager},
		{"user unregisters a name", user, app, ask{code: pb.IrmMsgCode_IRM_UNREG_NAME}, notManager},
		{"group member creates an IPCP", user, member, ask{code: pb.IrmMsgCode_IRM_CREATE_IPCP}, ok},
		{"group member binds a program", user, member, ask{code: pb.IrmMsgCode_IRM_BIND_PROGRAM}, ok},
		{"root creates an IPCP", root, admin, ask{code: pb.IrmMsgCode_IRM_CREATE_IPCP}, ok},
		{"anyone lists IPCPs", user, app, ask{code: pb.IrmMsgCode_IRM_LIST_IPCPS}, ok},
		{"anyone lists names", user, app, ask{code: pb.IrmMsgCode_IRM_LIST_NAMES}, ok},

		// Requests naming a pid.
		{"announce self", user, app, ask{code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE, pid: 500}, ok},
		{"announce another", user, app, ask{code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE, pid: 1}, "process 1"},
		{"member announces another", user, member, ask{code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE, pid: 1}, "process 1"},
		{"root announces another", root, admin, ask{code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE, pid: 500}, ok},
		{"exit self", user, app, ask{code: pb.IrmMsgCode_IRM_PROC_EXIT, pid: 500}, ok},
		{"exit another", user, app, ask{code: pb.IrmMsgCode_IRM_PROC_EXIT, pid: 77}, "process 77"},
		{"alloc self", user, app, ask{code: pb.IrmMsgCode_IRM_FLOW_ALLOC, pid: 500}, ok},
		{"alloc for another", user, app, ask{code: pb.IrmMsgCode_IRM_FLOW_ALLOC, pid: 77}, "process 77"},
		{"accept self", user, app, ask{code: pb.IrmMsgCode_IRM_FLOW_ACCEPT, pid: 500}, ok},
		{"accept for another", user, app, ask{code: pb.IrmMsgCode_IRM_FLOW_ACCEPT, pid: 77}, "process 77"},
		{"join for another", user, app, ask{code: pb.IrmMsgCode_IRM_FLOW_JOIN, pid: 77}, "process 77"},
		{"dealloc own flow", user, app, ask{code: pb.IrmMsgCode_IRM_FLOW_DEALLOC, pid: 500, flow: 3, holder: true}, ok},
		{"dealloc another's flow as self", user, app,
			ask{code: pb.IrmMsgCode_IRM_FLOW_DEALLOC, pid: 500, flow: 3}, "flow 3 is not its own"},
		{"dealloc naming another", user, app,
			ask{code: pb.IrmMsgCode_IRM_FLOW_DEALLOC, pid: 1, flow: 3, holder: true}, "process 1"},
		{"member deallocs another's flow", user, member,
			ask{code: pb.IrmMsgCode_IRM_FLOW_DEALLOC, pid: 1, flow: 3, holder: true}, "process 1"},
		{"root deallocs any flow", root, admin, ask{code: pb.IrmMsgCode_IRM_FLOW_DEALLOC, pid: 500, flow: 3}, ok},

		// Process bindings.
		{"bind self to a new name", user, app, ask{code: pb.IrmMsgCode_IRM_BIND_PROCESS, pid: 500, name: "n"}, ok},
		{"bind self to an own name", user, app,
			ask{code: pb.IrmMsgCode_IRM_BIND_PROCESS, pid: 500, name: "n", owners: []uint32{1000}}, ok},
		{"bind self to another's name", user, app,
			ask{code: pb.IrmMsgCode_IRM_BIND_PROCESS, pid: 500, name: "n", owners: []uint32{0, 1000}}, "held by another"},
		{"bind another", user, app, ask{code: pb.IrmMsgCode_IRM_BIND_PROCESS, pid: 1, name: "n"}, notManager},
		{"member binds another", user, member,
			ask{code: pb.IrmMsgCode_IRM_BIND_PROCESS, pid: 1, name: "n", owners: []uint32{0}}, ok},
		{"unbind self", user, app, ask{code: pb.IrmMsgCode_IRM_UNBIND_PROCESS, pid: 500}, ok},
		{"unbind another", user, app, ask{code: pb.IrmMsgCode_IRM_UNBIND_PROCESS, pid: 1}, notManager},
		{"root unbinds another", root, admin, ask{code: pb.IrmMsgCode_IRM_UNBIND_PROCESS, pid: 500}, ok},

		// The IPCPs' messages.
		{"user sends CREATE_R", user, app, ask{code: pb.IrmMsgCode_IPCP_CREATE_R, pid: 500}, "IPCPs this irmd started"},
		{"root sends REQ_ARR", root, admin, ask{code: pb.IrmMsgCode_IPCP_FLOW_REQ_ARR, pid: 1}, "IPCPs this irmd started"},
		{"root sends ALLOC_REPLY", root, admin, ask{code: pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY}, "IPCPs this irmd started"},
		{"root sends IPCP dealloc", root, admin, ask{code: pb.IrmMsgCode_IPCP_FLOW_DEALLOC}, "IPCPs this irmd started"},
		{"IPCP reports itself", ipcp, spawned, ask{code: pb.IrmMsgCode_IPCP_CREATE_R, pid: 700}, ok},
		{"IPCP reports another", ipcp, spawned, ask{code: pb.IrmMsgCode_IPCP_CREATE_R, pid: 701}, "IPCP 701"},
		{"IPCP request for itself", ipcp, spawned, ask{code: pb.IrmMsgCode_IPCP_FLOW_REQ_ARR, pid: 700}, ok},
		{"IPCP request for another", ipcp, spawned, ask{code: pb.IrmMsgCode_IPCP_FLOW_REQ_ARR, pid: 701}, "IPCP 701"},
		{"IPCP replies for its flow", ipcp, spawned,
			ask{code: pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY, flow: 9, flowIPCP: 700}, ok},
		{"IPCP replies for another's flow", ipcp, spawned,
			ask{code: pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY, flow: 9, flowIPCP: 701}, "flow 9 belongs to IPCP 701"},
		{"IPCP releases another's flow", ipcp, spawned,
			ask{code: pb.IrmMsgCode_IPCP_FLOW_DEALLOC, flow: 9, flowIPCP: 701}, "flow 9 belongs to IPCP 701"},
		{"IPCP releases an unknown flow", ipcp, spawned, ask{code: pb.IrmMsgCode_IPCP_FLOW_DEALLOC, flow: 9}, ok},
	} {
		got := decide(c.c, c.rt, c.a)
		switch {
		case c.want == ok && got != ok:
			t.Errorf("%s: refused (%s), want allowed", c.what, got)
		case c.want != ok && !strings.Contains(got, c.want):
			t.Errorf("%s: %q, want a refusal with %q", c.what, got, c.want)
		}
	}
}

// The groups of this process as /proc reports them.
func TestProcCred(t *testing.T) {
	c, ok := procCred(os.Getpid())
	if !ok {
		t.Fatal("cannot read /proc/self/status")
	}
	if c.UID != uint32(os.Geteuid()) || c.GID != uint32(os.Getegid()) {
		t.Errorf("procCred = %+v, want uid %d gid %d", c, os.Geteuid(), os.Getegid())
	}
	groups, _ := os.Getgroups()
	if len(groups) != len(c.Groups) {
		t.Fatalf("groups %v, want %v", c.Groups, groups)
	}
	for i, g := range groups {
		if c.Groups[i] != uint32(g) {
			t.Errorf("groups %v, want %v", c.Groups, groups)
		}
	}
	if _, ok := procCred(-1); ok {
		t.Error("procCred of no process succeeded")
	}
}

// call sends one request to the daemon in dir and returns its result.
func call(t *testing.T, dir string, m *pb.IrmMsg) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep := &pb.IrmMsg{}
	files, err := ctrl.Call(ctx, rundir.IRMSocket(dir), 0, m, rep)
	ctrl.CloseFiles(files)
	if err != nil {
		t.Fatalf("%v: %v", m.GetCode(), err)
	}
	return rep.GetResult()
}

// A pid announced by another process (here by root, which may) is not
// signalled when the irmd shuts down: only processes that announced
// themselves are.
func TestShutdownSignalsOnlySelfAnnounced(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	d, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { d.Serve(ctx); close(done) }()
	bystander := exec.Command("sleep", "60")
	if err := bystander.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	exited := make(chan struct{})
	go func() { bystander.Wait(); close(exited) }()
	defer func() { bystander.Process.Kill(); <-exited }()
	pid := bystander.Process.Pid
	if r := call(t, dir, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE.Enum(),
		Pid: proto.Int32(int32(pid)), Prog: proto.String("sleep")}); r != 0 {
		t.Fatalf("announce on behalf of %d: result %d", pid, r)
	}
	if p, ok := d.reg.GetProc(pid); !ok || p.Own {
		t.Fatalf("registry entry %+v, %v: want one not announced by itself", p, ok)
	}
	cancel()
	<-done
	select {
	case <-exited:
		t.Fatal("the irmd signalled a process that did not announce itself")
	case <-time.After(100 * time.Millisecond):
	}
}

// A name with a newline in it writes one log line, not a forged second one.
func TestLogNoForgedLine(t *testing.T) {
	_, log, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.CreateName(ctx, irm.NameInfo{Name: "evil\n==1== forged"}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(l, "==1== forged") {
			t.Fatalf("forged line in the log:\n%s", log.String())
		}
	}
	if !strings.Contains(log.String(), `Created new name: evil\n==1== forged.`) {
		t.Errorf("no escaped name in the log:\n%s", log.String())
	}
}

// An IPCP create request without ipcp_info, or without a name, is refused
// and spawns nothing.
func TestCreateIPCPWithoutInfo(t *testing.T) {
	d, log, _ := start(t)
	for _, m := range []*pb.IrmMsg{
		{Code: pb.IrmMsgCode_IRM_CREATE_IPCP.Enum()},
		{Code: pb.IrmMsgCode_IRM_CREATE_IPCP.Enum(), IpcpInfo: &pb.IpcpInfoMsg{Type: proto.Uint32(0),
			Name: proto.String(""), Pid: proto.Uint32(0), State: proto.Uint32(0)}},
	} {
		if r := call(t, d.cfg.Dir, m); r != -int32(oerr.EINVAL) {
			t.Errorf("create IPCP %v: result %d, want EINVAL", m.GetIpcpInfo(), r)
		}
	}
	if l := d.reg.ListIPCPs(); len(l) != 0 {
		t.Errorf("IPCPs %v\n%s", l, log.String())
	}
}
