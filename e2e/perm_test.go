package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/qos"
)

func init() {
	moreRoles["irm-request"] = irmRequestRole
	moreRoles["idle-conns"] = idleConnsRole
}

// irmRequestRole sends the request in $O7S_E2E_MSG (base64 protobuf) to the
// irmd, with this process's pid in the fields named by $O7S_E2E_SELF (pid,
// npid), and prints its result: a client that lies about who it is.
func irmRequestRole(string) int {
	b, err := base64.StdEncoding.DecodeString(os.Getenv("O7S_E2E_MSG"))
	m := &pb.IrmMsg{}
	if err == nil {
		err = proto.Unmarshal(b, m)
	}
	if err != nil {
		fmt.Println("message:", err)
		return 1
	}
	for _, f := range strings.Fields(os.Getenv("O7S_E2E_SELF")) {
		switch f {
		case "pid":
			m.Pid = proto.Int32(int32(os.Getpid()))
		case "npid":
			m.FlowInfo.NPid = proto.Uint32(uint32(os.Getpid()))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep := &pb.IrmMsg{}
	files, err := ctrl.Call(ctx, rundir.IRMSocket(rundir.Dir()), 0, m, rep)
	ctrl.CloseFiles(files)
	if err != nil {
		fmt.Println("call:", err)
		return 1
	}
	fmt.Printf("result %d\n", rep.GetResult())
	return 0
}

// idleConnsRole opens n connections to irm.sock and sends nothing on them,
// then reports how each ended: refused (an EAGAIN reply) or closed by the
// irmd.
func idleConnsRole(arg string) int {
	n, _ := strconv.Atoi(arg)
	ctx := context.Background()
	var conns []*net.UnixConn
	for range n {
		c, err := ctrl.Dial(ctx, rundir.IRMSocket(rundir.Dir()))
		if err != nil {
			fmt.Println("dial:", err)
			break
		}
		conns = append(conns, c)
	}
	fmt.Printf("open %d\n", len(conns))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var refused, closed, other int
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			rep := &pb.IrmMsg{}
			_, err := ctrl.Recv(c, rep)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && rep.GetResult() == -int32(oerr.EAGAIN):
				refused++
			case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
				closed++
			default:
				other++
			}
		})
	}
	wg.Wait()
	fmt.Printf("ended: refused %d closed %d other %d\n", refused, closed, other)
	return 0
}

// tuser is a throw-away local user, deleted when the test ends.
type tuser struct {
	name     string
	uid, gid uint32
	groups   []uint32 // supplementary, as its processes get them
}

// needRoot skips a test that creates users unless it can.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a throw-away user")
	}
	for _, c := range []string{"useradd", "userdel", "groupadd", "groupdel"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("needs %s to create a throw-away user", c)
		}
	}
}

func randomName(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func runOrFail(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// newGroup creates a throw-away group and returns its name and gid.
func newGroup(t *testing.T) (string, uint32) {
	t.Helper()
	name := randomName("o7sg")
	runOrFail(t, "groupadd", "-r", name)
	t.Cleanup(func() { exec.Command("groupdel", name).Run() })
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	return name, uint32(gid)
}

// newUser creates a throw-away user with a group of its own, member of the
// given extra groups.
func newUser(t *testing.T, extra ...string) tuser {
	t.Helper()
	name := randomName("o7su")
	args := []string{"-M", "-r", "-U", "-s", "/bin/false"}
	if len(extra) > 0 {
		args = append(args, "-G", strings.Join(extra, ","))
	}
	runOrFail(t, "useradd", append(args, name)...)
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	tu := tuser{name: name, uid: uint32(uid), gid: uint32(gid)}
	for _, g := range extra {
		gr, err := user.LookupGroup(g)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(gr.Gid)
		tu.groups = append(tu.groups, uint32(n))
	}
	return tu
}

// as makes cmd run as u.
func (u tuser) as(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid,
		Groups: slices.Clone(u.groups)}}
	return cmd
}

// openUp lets other users run the instance's commands and a copy of this
// test binary (for roles), and, unless the irmd manages it (--group), reach
// its run directory.
func openUp(t *testing.T, in *rig.Instance, runDir bool) {
	t.Helper()
	if err := os.Chmod(in.Bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if runDir {
		if err := os.Chmod(in.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(in.Bin, "e2e.test")
	if _, err := os.Stat(dst); err == nil {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// irm runs the irm tool as u and returns its output and exit code.
func (u tuser) irm(t *testing.T, in *rig.Instance, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := u.as(exec.CommandContext(ctx, filepath.Join(in.Bin, "irm"), args...))
	cmd.Env = in.Env()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("irm %v as %s: %v", args, u.name, err)
	}
	return string(out), 0
}

// role starts this test binary as u in a role.
func (u tuser) role(t *testing.T, in *rig.Instance, role, name string, env ...string) *rig.Proc {
	t.Helper()
	cmd := u.as(exec.Command(filepath.Join(in.Bin, "e2e.test")))
	cmd.Env = append(append(in.Env(), roleEnv+"="+role, "O7S_E2E_NAME="+name), env...)
	return in.StartCmd(cmd)
}

// request sends m to the irmd as u (with u's pid in the fields named by
// self) and returns the result and the pid that sent it.
func (u tuser) request(t *testing.T, in *rig.Instance, m *pb.IrmMsg, self ...string) (int32, int) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := u.role(t, in, "irm-request", "", "O7S_E2E_MSG="+base64.StdEncoding.EncodeToString(b),
		"O7S_E2E_SELF="+strings.Join(self, " "))
	if !p.Wait(30 * time.Second) {
		t.Fatalf("%v as %s: no answer:\n%s", m.GetCode(), u.name, p.Out.String())
	}
	var r int32
	if _, err := fmt.Sscanf(p.Out.String(), "result %d", &r); err != nil {
		t.Fatalf("%v as %s: %s", m.GetCode(), u.name, p.Out.String())
	}
	return r, p.PID()
}

// refusedLine waits for the log line of a refusal of code to uid.
func refusedLine(t *testing.T, in *rig.Instance, code pb.IrmMsgCode, pid int, uid uint32) {
	t.Helper()
	who := fmt.Sprintf("(uid %d)", uid)
	if pid != 0 {
		who = fmt.Sprintf("process %d (uid %d)", pid, uid)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		for _, l := range rig.Lines(in.Log(), "Refused "+code.String()+" from") {
			if strings.Contains(l, who) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line refusing %v from %s:\n%s", code, who,
				strings.Join(rig.Lines(in.Log(), "Refused"), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// autoScript writes a script that records the identity it runs with (id -u,
// id -g, id -G) in the returned file.
func autoScript(t *testing.T) (script, out string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "o7s-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "id.out")
	script = filepath.Join(dir, "whoami.sh")
	body := fmt.Sprintf("#!/bin/sh\n{ id -u; id -g; id -G; } > %[1]s.tmp && mv %[1]s.tmp %[1]s\n", out)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, out
}

// TestPermissionsUnprivileged attacks the irmd as an unprivileged user: each
// attack is refused with EPERM and a log line naming the uid, and changes
// nothing; the user's legitimate use still works.
func TestPermissionsUnprivileged(t *testing.T) {
	needRoot(t)
	u := newUser(t)
	e := setup(t, rig.Options{})
	openUp(t, e.Instance, true)
	e.localLayer("perm.local", "perm-layer")
	e.serve("perm.srv")
	f := e.alloc("perm.srv", qos.Raw)
	roundTrip(t, f, []byte("before"))
	ipcps, names := e.Irm("ipcp", "list"), e.Irm("name", "list")
	unchanged := func(after string) {
		t.Helper()
		if got := e.Irm("ipcp", "list"); got != ipcps {
			t.Errorf("IPCPs changed %s:\n%s\nwas\n%s", after, got, ipcps)
		}
		if got := e.Irm("name", "list"); got != names {
			t.Errorf("names changed %s:\n%s\nwas\n%s", after, got, names)
		}
		roundTrip(t, f, []byte("still mine "+after))
	}
	eperm := -int32(oerr.EPERM)

	t.Run("bind program auto", func(t *testing.T) {
		script, out := autoScript(t)
		if o, code := u.irm(t, e.Instance, "bind", "program", script, "name", "perm.auto", "auto"); code == 0 {
			t.Fatalf("bind program by an unprivileged user succeeded:\n%s", o)
		}
		refusedLine(t, e.Instance, pb.IrmMsgCode_IRM_BIND_PROGRAM, 0, u.uid)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if g, err := flow.Alloc(ctx, "perm.auto", qos.Raw); err == nil {
			g.Close()
			t.Fatal("allocated a flow to the refused name")
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatal("the refused program was started")
		}
		unchanged("after bind program")
	})
	t.Run("announce another pid", func(t *testing.T) {
		victim := exec.Command("sleep", "60")
		if err := victim.Start(); err != nil {
			t.Skip("no sleep:", err)
		}
		defer func() { victim.Process.Kill(); victim.Wait() }()
		r, pid := u.request(t, e.Instance, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE.Enum(),
			Pid: proto.Int32(int32(victim.Process.Pid)), Prog: proto.String("sleep")})
		if r != eperm {
			t.Fatalf("announcing root's pid: result %d, want EPERM", r)
		}
		refusedLine(t, e.Instance, pb.IrmMsgCode_IRM_PROC_ANNOUNCE, pid, u.uid)
	})
	t.Run("accept for another pid", func(t *testing.T) {
		r, pid := u.request(t, e.Instance, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_FLOW_ACCEPT.Enum(),
			FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{NPid: os.Getpid(), QoS: qos.Raw})})
		if r != eperm {
			t.Fatalf("accepting as root's server: result %d, want EPERM", r)
		}
		refusedLine(t, e.Instance, pb.IrmMsgCode_IRM_FLOW_ACCEPT, pid, u.uid)
		unchanged("after accept")
	})
	t.Run("dealloc another's flow", func(t *testing.T) {
		m := &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_FLOW_DEALLOC.Enum(),
			FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{ID: f.ID(), NPid: os.Getpid(), QoS: qos.Raw})}
		if r, _ := u.request(t, e.Instance, m); r != eperm {
			t.Fatalf("deallocating root's flow %d as root's pid: result %d, want EPERM", f.ID(), r)
		}
		if r, _ := u.request(t, e.Instance, m, "npid"); r != eperm {
			t.Fatalf("deallocating root's flow %d as itself: result %d, want EPERM", f.ID(), r)
		}
		refusedLine(t, e.Instance, pb.IrmMsgCode_IRM_FLOW_DEALLOC, 0, u.uid)
		unchanged("after dealloc")
	})
	t.Run("exit another pid", func(t *testing.T) {
		r, pid := u.request(t, e.Instance, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_EXIT.Enum(),
			Pid: proto.Int32(int32(os.Getpid()))})
		if r != eperm {
			t.Fatalf("exit for root's server: result %d, want EPERM", r)
		}
		refusedLine(t, e.Instance, pb.IrmMsgCode_IRM_PROC_EXIT, pid, u.uid)
		unchanged("after exit")
		g := e.alloc("perm.srv", qos.Raw) // still bound and accepting
		roundTrip(t, g, []byte("new flow"))
		g.Close()
	})
	t.Run("manage", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			code pb.IrmMsgCode
		}{
			{[]string{"ipcp", "create", "type", "local", "name", "evil"}, pb.IrmMsgCode_IRM_CREATE_IPCP},
			{[]string{"ipcp", "destroy", "name", "perm.local"}, pb.IrmMsgCode_IRM_DESTROY_IPCP},
			{[]string{"name", "create", "evil.name"}, pb.IrmMsgCode_IRM_CREATE_NAME},
			{[]string{"name", "destroy", "perm.srv"}, pb.IrmMsgCode_IRM_DESTROY_NAME},
			{[]string{"unbind", "process", strconv.Itoa(os.Getpid()), "name", "perm.srv"},
				pb.IrmMsgCode_IRM_UNBIND_PROCESS},
		} {
			if o, code := u.irm(t, e.Instance, c.args...); code == 0 {
				t.Errorf("irm %v by an unprivileged user succeeded:\n%s", c.args, o)
			}
			refusedLine(t, e.Instance, c.code, 0, u.uid)
		}
		// A process binding itself to root's name would take its accepts.
		r, _ := u.request(t, e.Instance, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_BIND_PROCESS.Enum(),
			Name: proto.String("perm.srv")}, "pid")
		if r != eperm {
			t.Errorf("binding itself to root's name: result %d, want EPERM", r)
		}
		unchanged("after management")
	})

	// Legitimate use.
	t.Run("serve and allocate", func(t *testing.T) {
		srv := u.role(t, e.Instance, "echo-server", "user.echo")
		srv.WaitOutput(t, "ready", 30*time.Second)
		g := e.alloc("user.echo", qos.Raw)
		roundTrip(t, g, []byte("to the user's server"))
		g.Close()
		cli := u.role(t, e.Instance, "client", "perm.srv")
		cli.WaitOutput(t, "echoing", 30*time.Second)
		cli.Kill()
	})
	t.Run("oping bound by root", func(t *testing.T) {
		e.Irm("bind", "program", filepath.Join(e.Bin, "oping"), "name", "perm.oping")
		cmd := u.as(exec.Command(filepath.Join(e.Bin, "oping"), "-l"))
		cmd.Env = e.Env()
		srv := e.StartCmd(cmd)
		e.WaitLog(fmt.Sprintf("Process added: %d (oping).", srv.PID()), 30*time.Second)
		out, errOut, code := e.Run("oping", "-n", "perm.oping", "-c", "3", "-i", "10ms")
		if code != 0 {
			t.Fatalf("oping to the user's oping -l: exit %d\n%s%s", code, out, errOut)
		}
	})
}

// TestPermissionsGroup runs an irmd with --group: a member of the group
// manages the stack, and a program it binds with auto runs as that user,
// not as the irmd's root.
func TestPermissionsGroup(t *testing.T) {
	needRoot(t)
	group, gid := newGroup(t)
	u := newUser(t, group)
	e := setup(t, rig.Options{Group: group})
	openUp(t, e.Instance, false)
	for path, mode := range map[string]os.FileMode{e.Dir: 0o750 | os.ModeDir, rundir.IRMSocket(e.Dir): 0o660} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode()&(os.ModeDir|os.ModePerm) != mode || st.Sys().(*syscall.Stat_t).Gid != gid {
			t.Errorf("%s: mode %v gid %d, want %v gid %d", path, st.Mode(), st.Sys().(*syscall.Stat_t).Gid, mode, gid)
		}
	}

	script, out := autoScript(t)
	if o, code := u.irm(t, e.Instance, "bind", "program", script, "name", "grp.auto", "auto"); code != 0 {
		t.Fatalf("bind program by a member of %s: exit %d\n%s\n%s", group, code, o, e.Log())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if g, err := flow.Alloc(ctx, "grp.auto", qos.Raw); err == nil {
		g.Close() // the script never accepts; only its identity matters
	}
	var id []byte
	eventually(t, "the auto-started program", func() bool {
		var err error
		id, err = os.ReadFile(out)
		return err == nil
	})
	lines := strings.Fields(string(id))
	want := []string{strconv.Itoa(int(u.uid)), strconv.Itoa(int(u.gid))}
	if len(lines) < 3 || lines[0] != want[0] || lines[1] != want[1] {
		t.Fatalf("the program ran as uid, gid, groups %q; want uid %s gid %s", lines, want[0], want[1])
	}
	groups := lines[2:]
	if slices.Contains(groups, "0") || !slices.Contains(groups, strconv.Itoa(int(gid))) {
		t.Errorf("the program ran with groups %v; want %d and not 0", groups, gid)
	}

	// A member creates and destroys an IPCP.
	if o, code := u.irm(t, e.Instance, "ipcp", "create", "type", "local", "name", "grp.local"); code != 0 {
		t.Fatalf("ipcp create by a member: exit %d\n%s", code, o)
	}
	if !strings.Contains(e.Irm("ipcp", "list"), "grp.local") {
		t.Fatalf("no IPCP grp.local:\n%s", e.Irm("ipcp", "list"))
	}
	if o, code := u.irm(t, e.Instance, "ipcp", "destroy", "name", "grp.local"); code != 0 {
		t.Fatalf("ipcp destroy by a member: exit %d\n%s", code, o)
	}
}

// TestIdleConnections opens more idle connections to irm.sock as one user
// than its limit: those over it are refused at once, the others are closed
// when no request comes in time, and the irmd keeps serving everyone else
// meanwhile. The limit is lowered (irmd --max-conns) so that the user opens
// all its connections well within the 5 s the irmd waits for a request,
// even on a busy machine: with the default of 1024, the irmd could close
// the first ones before it had accepted the last, and refuse none.
func TestIdleConnections(t *testing.T) {
	needRoot(t)
	u := newUser(t)
	const limit = 64
	e := setup(t, rig.Options{MaxConns: limit})
	openUp(t, e.Instance, true)
	e.serve("idle.srv")
	const n = limit + 36
	p := u.role(t, e.Instance, "idle-conns", strconv.Itoa(n))
	p.WaitOutput(t, "open ", 60*time.Second)
	if !strings.Contains(p.Out.String(), fmt.Sprintf("open %d", n)) {
		t.Fatalf("idle connections: %s", p.Out.String())
	}
	// Others are served while they are held.
	if out := e.Irm("ipcp", "list"); out == "" {
		t.Error("empty ipcp list")
	}
	f := e.alloc("idle.srv", qos.Raw)
	roundTrip(t, f, []byte("served"))
	p.WaitOutput(t, "ended", 60*time.Second)
	var refused, closed, other int
	line := rig.Lines(p.Out.String(), "ended")[0]
	if _, err := fmt.Sscanf(line, "ended: refused %d closed %d other %d", &refused, &closed, &other); err != nil {
		t.Fatal(line, err)
	}
	if refused == 0 || closed == 0 || other != 0 || refused+closed != n {
		t.Fatalf("%d idle connections: %s", n, line)
	}
	if len(rig.Lines(e.Log(), fmt.Sprintf("(uid %d): the uid has", u.uid))) == 0 {
		t.Errorf("no log line for the %d connections refused", refused)
	}
	if len(rig.Lines(e.Log(), fmt.Sprintf("(uid %d): no request within", u.uid))) == 0 {
		t.Errorf("no log line for the idle connections closed")
	}
}
