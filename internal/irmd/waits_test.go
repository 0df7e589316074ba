package irmd

import (
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
)

// TestIPCPOutwaitsAccepterWait: an IPCP waits for the IRMd's decision on a
// flow request longer than the IRMd holds it for a busy accepter, and the
// requester's IRMd waits longer still. With the IPCP giving up first (it
// waited 5 s), a loaded server that accepted 100 flows one by one had
// requests refused on the wire (the allocation failed with EPERM) while
// this IRMd still held them for it.
func TestIPCPOutwaitsAccepterWait(t *testing.T) {
	if ipcp.FlowReqArrWait <= busyWait {
		t.Errorf("IPCPs wait %v for a decision on a flow request, the IRMd up to %v for an accepter", ipcp.FlowReqArrWait, busyWait)
	}
	if ipcp.FlowReqArrWait >= flowAllocTimeout {
		t.Errorf("IPCPs wait %v for a decision, longer than a requester waits by default (%v)", ipcp.FlowReqArrWait, flowAllocTimeout)
	}
}
