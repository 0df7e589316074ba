package irmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// An IPCP that refuses a flow at once because it reached its limit of open
// files (ENOMEM) makes the allocation fail with ENOMEM, not ETIMEDOUT: the
// IRMd took every IPCP error for a timeout (it read its request's context
// after cancelling it).
func TestAllocIPCPOutOfRoom(t *testing.T) {
	d, log, _ := start(t)
	fakeIPCP(t, d, "full", func(req *pb.IpcpMsg) (int32, bool) {
		switch req.GetCode() {
		case pb.IpcpMsgCode_IPCP_FLOW_ALLOC:
			return -int32(oerr.ENOMEM), true
		case pb.IpcpMsgCode_IPCP_FLOW_DEALLOC:
			return -int32(oerr.ENOTALLOC), true
		}
		return 0, true // a query: the name is there
	})
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
