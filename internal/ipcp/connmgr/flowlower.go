package connmgr

import (
	"context"
	"errors"
	"fmt"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/qos"
)

// FlowLower reaches the layers below through the flow API, as any
// application does: the IPCP process allocates flows to the names of its
// neighbours and accepts the flows to the names it is bound to (its own
// name and its layer's, with autobind). The unicast and broadcast IPCPs
// use it.
type FlowLower struct{}

// Alloc allocates a flow to dst with QoS q.
func (FlowLower) Alloc(ctx context.Context, dst string, q qos.Spec) (Flow, error) {
	f, err := flow.Alloc(ctx, dst, q)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Accept waits for a flow to a name the process is bound to; once the
// IRMd is gone it fails with ErrGone.
func (FlowLower) Accept(ctx context.Context) (Flow, error) {
	f, err := flow.Accept(ctx)
	if errors.Is(err, flow.ErrIRMDGone) {
		return nil, fmt.Errorf("%w: %w", ErrGone, err)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}
