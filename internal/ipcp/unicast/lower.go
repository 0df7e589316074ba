package unicast

import (
	"context"
	"errors"
	"fmt"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// flowLower reaches the layers below through the flow API, as any
// application does: the IPCP process allocates flows to the names of its
// neighbours and accepts the flows to the names it is bound to (its own
// name and its layer's, with autobind).
type flowLower struct{}

func (flowLower) Alloc(ctx context.Context, dst string, q qos.Spec) (connmgr.Flow, error) {
	f, err := flow.Alloc(ctx, dst, q)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (flowLower) Accept(ctx context.Context) (connmgr.Flow, error) {
	f, err := flow.Accept(ctx)
	if errors.Is(err, flow.ErrIRMDGone) {
		return nil, fmt.Errorf("%w: %w", connmgr.ErrGone, err)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}
