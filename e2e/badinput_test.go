package e2e

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/qos"
)

// sendRaw writes raw bytes to a control socket and returns what comes back
// (nothing if the peer closes without a reply).
func sendRaw(t *testing.T, path string, b []byte) []byte {
	t.Helper()
	c, err := net.Dial("unixpacket", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if len(b) > 0 {
		c.Write(b)
	} else {
		c.(*net.UnixConn).CloseWrite() // hang up without a request
	}
	buf := make([]byte, ctrl.BufSize)
	n, _ := c.Read(buf)
	return buf[:n]
}

func irmReq(t *testing.T, e *env, m *pb.IrmMsg) *pb.IrmMsg {
	t.Helper()
	rep := &pb.IrmMsg{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	files, err := ctrl.Call(ctx, rundir.IRMSocket(e.Dir), 0, m, rep)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		t.Fatalf("%v: %v", m.GetCode(), err)
	}
	return rep
}

// TestMalformedControlMessages sends the irmd and an IPCP garbage and
// ill-formed requests; each gets an error or a closed connection, and both
// keep serving.
func TestMalformedControlMessages(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local1", "local-layer")
	e.register("echo.bad", pid)
	e.serve("echo.bad")
	irmSock, ipcpSock := rundir.IRMSocket(e.Dir), rundir.IPCPSocket(e.Dir, pid)

	garbage := [][]byte{
		{0xff, 0xff, 0xff, 0xff},
		{0x08},                   // truncated varint
		{0x08, 0x14, 0x2a, 0x05}, // FLOW_ALLOC with a truncated flow_info
		[]byte(strings.Repeat("\x0a\x01x", 3000)),
		{}, // hang up without sending
	}
	for _, sock := range []string{irmSock, ipcpSock} {
		for _, g := range garbage {
			if rep := sendRaw(t, sock, g); len(rep) != 0 {
				t.Errorf("%s answered garbage %x with %x", sock, g, rep)
			}
		}
	}
	// Well-formed requests with missing or wrong fields get a negative result.
	bad := []*pb.IrmMsg{
		{Code: pb.IrmMsgCode_IRM_FLOW_ALLOC.Enum()},
		{Code: pb.IrmMsgCode_IRM_FLOW_ALLOC.Enum(), Dst: proto.String("echo.bad")},
		{Code: pb.IrmMsgCode_IRM_FLOW_ACCEPT.Enum()},
		{Code: pb.IrmMsgCode_IRM_FLOW_DEALLOC.Enum()},
		{Code: pb.IrmMsgCode_IPCP_FLOW_REQ_ARR.Enum()},
		{Code: pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY.Enum()},
		{Code: pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP.Enum(), Pid: proto.Int32(int32(pid))},
		{Code: pb.IrmMsgCode_IRM_BIND_PROGRAM.Enum()},
		{Code: pb.IrmMsgCode_IRM_CREATE_NAME.Enum()},
		{Code: pb.IrmMsgCode_IRM_REG_NAME.Enum(), Name: proto.String("nope"), Pid: proto.Int32(1)},
		{Code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE.Enum(), Pid: proto.Int32(-5)},
		{Code: pb.IrmMsgCode_IRM_CREATE_IPCP.Enum(), IpcpInfo: &pb.IpcpInfoMsg{Type: proto.Uint32(99),
			Name: proto.String("x"), Pid: proto.Uint32(0), State: proto.Uint32(0)}},
		{Code: pb.IrmMsgCode_IRM_REPLY.Enum()},
		{Code: pb.IrmMsgCode_IRM_CREATE_IPCP.Enum()}, // no ipcp_info: would spawn a nameless IPCP
	}
	for _, m := range bad {
		if rep := irmReq(t, e, m); rep.GetResult() >= 0 {
			t.Errorf("%v accepted: result %d", m.GetCode(), rep.GetResult())
		}
	}
	// Unknown flow deallocation and bind of an unknown pid.
	if rep := irmReq(t, e, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_BIND_PROCESS.Enum(),
		Pid: proto.Int32(999999), Name: proto.String("x")}); rep.GetResult() >= 0 {
		t.Error("bound a pid that does not exist")
	}
	// An IPCP request with a hash of the wrong length is refused by the IPCP.
	rep := &pb.IpcpMsg{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := ctrl.Call(ctx, ipcpSock, 0, &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_QUERY.Enum(),
		Hash: []byte{1, 2, 3}}, rep)
	if err != nil || rep.GetResult() >= 0 {
		t.Errorf("short hash query: %v, result %d", err, rep.GetResult())
	}
	// Both still serve.
	f := e.alloc("echo.bad", qos.Raw)
	roundTrip(t, f, []byte("still serving"))
	if strings.Contains(e.Log(), "panic") {
		t.Fatalf("panic:\n%s", e.Tail())
	}
	e.WaitLog("Dropped malformed request", time.Second)
}

// TestUnknownNames checks allocation errors for names nobody serves.
func TestUnknownNames(t *testing.T) {
	e := setup(t, rig.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := flow.Alloc(ctx, "no.such.name", qos.Raw); !isErrno(err, flow.ENAME) {
		t.Fatalf("alloc to an unknown name: %v, want ENAME", err)
	}
	// A known name that no layer reaches.
	e.Irm("name", "create", "known.unreachable")
	if _, err := flow.Alloc(ctx, "known.unreachable", qos.Raw); !isErrno(err, flow.EIPCP) {
		t.Fatalf("alloc to an unreachable name: %v, want EIPCP", err)
	}
	if _, err := flow.Alloc(ctx, "", qos.Raw); !isErrno(err, flow.EINVAL) {
		t.Fatalf("alloc to an empty name: %v, want EINVAL", err)
	}
}
