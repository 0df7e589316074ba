package ipcp

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/irmtest"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/olog"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/qos"
)

// recorder is an IPCP type that records the flows it is given.
type recorder struct {
	Unsupported
	flows chan *Flow
}

func (r *recorder) Bootstrap(_ context.Context, c *pb.IpcpConfigMsg) (string, hash.Algo, error) {
	return c.GetLayerInfo().GetName(), hash.Algo(c.GetLayerInfo().GetDirHashAlgo()), nil
}

func (r *recorder) Query(context.Context, []byte) error { return nil }

func (r *recorder) FlowAlloc(_ context.Context, f *Flow, _ []byte, _ qos.Spec, _ []byte) error {
	r.flows <- f
	return nil
}

// run starts an IPCP against a fake IRMd and returns a function to call it.
func run(t *testing.T) (*IPCP, *irmtest.Server, *recorder, func(*pb.IpcpMsg, ...int) *pb.IpcpMsg) {
	t.Helper()
	leakcheck.Check(t)
	srv := irmtest.Start(t, irmtest.Result(0))
	rec := &recorder{flows: make(chan *Flow, 4)}
	p, err := New(Config{Type: 0, Name: "test", Dir: srv.Dir, Log: olog.Discard()}, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		// A test may end before the fake IRMd has answered IPCP_CREATE_R
		// (the IPCP serves requests from before it sends it): Run then
		// reports the canceled handshake, which is this cancel.
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	call := func(m *pb.IpcpMsg, fds ...int) *pb.IpcpMsg {
		t.Helper()
		rep := &pb.IpcpMsg{}
		var files []*os.File
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; {
			files, err = ctrl.Call(context.Background(), rundir.IPCPSocket(srv.Dir, os.Getpid()), 5*time.Second, m, rep, fds...)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			f.Close()
		}
		return rep
	}
	return p, srv, rec, call
}

func TestBootHandshakeAndStates(t *testing.T) {
	p, srv, rec, call := run(t)
	h := make([]byte, 32)
	// Before bootstrap: queries and flow allocations need OPERATIONAL.
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_QUERY.Enum(), Hash: h}); r.GetResult() != -int32(oerr.EIPCPSTATE) {
		t.Fatalf("query in BOOT: result %d", r.GetResult())
	}
	var codes []pb.IrmMsgCode
	for deadline := time.Now().Add(5 * time.Second); len(codes) < 2 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
		codes = srv.Codes()
	}
	if len(codes) < 2 || codes[0] != pb.IrmMsgCode_IRM_PROC_ANNOUNCE || codes[1] != pb.IrmMsgCode_IPCP_CREATE_R {
		t.Fatalf("IRMd saw %v, want PROC_ANNOUNCE then IPCP_CREATE_R", codes)
	}
	if st := srv.Requests()[1].GetIpcpInfo().GetState(); st != StateBoot {
		t.Fatalf("IPCP_CREATE_R state %d, want BOOT", st)
	}
	boot := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_BOOTSTRAP.Enum(), Conf: &pb.IpcpConfigMsg{
		IpcpType: proto.Uint32(0), LayerInfo: &pb.LayerInfoMsg{Name: proto.String("lay"),
			DirHashAlgo: proto.Uint32(uint32(hash.SHA3_256))}}}
	r := call(boot)
	if r.GetResult() != 0 || r.GetLayerInfo().GetName() != "lay" || r.GetLayerInfo().GetDirHashAlgo() != 1 {
		t.Fatalf("bootstrap reply %v", r)
	}
	if layer, _ := p.Layer(); layer != "lay" {
		t.Fatalf("layer %q", layer)
	}
	if r := call(boot); r.GetResult() != -int32(oerr.EIPCPSTATE) {
		t.Fatalf("second bootstrap: result %d", r.GetResult())
	}
	// Hashes must have the layer's length.
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_QUERY.Enum(), Hash: h[:5]}); r.GetResult() != -int32(oerr.EINVAL) {
		t.Fatalf("short hash: result %d", r.GetResult())
	}
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_QUERY.Enum(), Hash: h}); r.GetResult() != 0 {
		t.Fatalf("query: result %d", r.GetResult())
	}
	// Operations the type lacks are ENOTSUP; a flow allocation needs its channel.
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_ENROLL.Enum(), Dst: proto.String("x")}); r.GetResult() >= 0 {
		t.Fatalf("enroll after bootstrap: %d", r.GetResult())
	}
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_CONNECT.Enum()}); r.GetResult() != -int32(oerr.ENOTSUP) {
		t.Fatalf("connect: result %d", r.GetResult())
	}
	alloc := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_ALLOC.Enum(), FlowId: proto.Int32(7),
		Pid: proto.Int32(42), Hash: h, Qosspec: ctrl.QoSToPB(qos.Raw), Pk: []byte{}}
	if r := call(alloc); r.GetResult() != -int32(oerr.EFLOWDOWN) {
		t.Fatalf("alloc without a channel: result %d", r.GetResult())
	}
	a, b, err := datapath.Pair(false)
	if err != nil {
		t.Fatal(err)
	}
	r = call(alloc, int(b[0].Fd()))
	b.Close()
	if r.GetResult() != 0 {
		t.Fatalf("alloc: result %d", r.GetResult())
	}
	f := <-rec.flows
	if f.ID != 7 || f.PID != 42 || p.Flow(7) != f {
		t.Fatalf("flow %+v", f)
	}
	// Dealloc releases the flow before it answers (the answer is the
	// release: the IRMd may reuse the id at once), whatever linger it asks.
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_DEALLOC.Enum(), FlowId: proto.Int32(7),
		TimeoSec: proto.Uint32(130)}); r.GetResult() != 0 {
		t.Fatalf("dealloc: result %d", r.GetResult())
	}
	if p.Flow(7) != nil {
		t.Fatal("flow still held after the dealloc answer")
	}
	ep, _ := datapath.New(a)
	defer ep.Close()
	if _, _, err := ep.ReadPacket(make([]byte, datapath.MaxSDU+1)); !datapath.IsDown(err) {
		t.Fatalf("the application's end after dealloc: %v", err)
	}
	for _, c := range srv.Codes() {
		if c == pb.IrmMsgCode_IPCP_FLOW_DEALLOC {
			t.Fatalf("IPCP_FLOW_DEALLOC sent to the IRMd besides the answer: %v", srv.Codes())
		}
	}
	if r := call(&pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_FLOW_DEALLOC.Enum(), FlowId: proto.Int32(7)}); !errors.Is(oerr.FromResult(r.GetResult()), oerr.ENOTALLOC) {
		t.Fatalf("second dealloc: result %d", r.GetResult())
	}
}
