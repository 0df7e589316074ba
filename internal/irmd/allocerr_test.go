package irmd

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/qos"
)

// An IPCP that refuses a flow at once because it reached its limit of open
// files (ENOMEM) makes the allocation fail with ENOMEM, not ETIMEDOUT: the
// IRMd took every IPCP error for a timeout (it read its request's context
// after cancelling it).
func TestAllocIPCPOutOfRoom(t *testing.T) {
	d, log, _ := start(t)
	pid := os.Getpid() // the fake IPCP is this process: the IRMd checks that the pid lives
	if err := d.reg.CreateIPCP(reg.IPCP{PID: pid, Type: typeUDP4, Name: "full"}); err != nil {
		t.Fatal(err)
	}
	if err := d.reg.SetLayer(pid, "l", uint32(hash.MD5)); err != nil {
		t.Fatal(err)
	}
	l, err := ctrl.Listen(rundir.IPCPSocket(d.cfg.Dir, pid))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			req := &pb.IpcpMsg{}
			files, err := ctrl.Recv(c, req)
			ctrl.CloseFiles(files)
			if err == nil {
				res := int32(0) // a query: the name is there
				switch req.GetCode() {
				case pb.IpcpMsgCode_IPCP_FLOW_ALLOC:
					res = -int32(oerr.ENOMEM)
				case pb.IpcpMsgCode_IPCP_FLOW_DEALLOC:
					res = -int32(oerr.ENOTALLOC)
				}
				ctrl.Send(c, &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_REPLY.Enum(), Result: proto.Int32(res)})
			}
			c.Close()
		}
	}()
	defer func() { l.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := flow.Alloc(ctx, "far.away", qos.Raw)
	if err == nil {
		f.Close()
		t.Fatal("allocation through an IPCP that refused it succeeded")
	}
	if !errors.Is(err, oerr.ENOMEM) {
		t.Fatalf("allocation refused by the IPCP for lack of room: %v, want ENOMEM", err)
	}
	if !strings.Contains(log.String(), "failed to allocate flow") {
		t.Errorf("the IRMd did not log the IPCP's refusal:\n%s", log.String())
	}
}
