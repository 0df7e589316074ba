package bench

import (
	"context"
	"fmt"
)

// pathRow is a row of a table measured over a tool path: it can be marked
// skipped or failed, and says whether it still waits for a result.
type pathRow interface {
	skip(why string)
	pending() bool
	fail(err string)
}

func (r *ToolResult) skip(why string) { r.Skipped = why }
func (r *ToolResult) pending() bool   { return r.Error == "" && r.Sent == 0 }
func (r *ToolResult) fail(err string) { r.Error = err }

func (r *EventSetResult) skip(why string) { r.Skipped = why }
func (r *EventSetResult) pending() bool   { return r.Error == "" && r.Received == 0 }
func (r *EventSetResult) fail(err string) { r.Error = err }

func (r *IdleResult) skip(why string) { r.Skipped = why }
func (r *IdleResult) pending() bool   { return r.Error == "" && r.Procs == nil }
func (r *IdleResult) fail(err string) { r.Error = err }

// startPath begins measuring rows over p for the table what (the prefix of
// its log lines). A path that skips on this machine marks every row with
// the reason; otherwise its hosts are set up. fail gives an error to every
// row still waiting for a result, logs it and returns the rows. hs is nil
// when the rows are done already (skipped, or the setup failed); otherwise
// the caller closes it.
func startPath[R any, P interface {
	*R
	pathRow
}](ctx context.Context, h *Harness, what string, p ToolPath, rows []R) (hs *hostSet, fail func(error) []R) {
	fail = func(err error) []R {
		for i := range rows {
			if r := P(&rows[i]); r.pending() {
				r.fail(err.Error())
			}
		}
		h.logf("%s, %s: %v", what, p.Label, err)
		return rows
	}
	if p.Skip != nil {
		if why := p.Skip(); why != "" {
			for i := range rows {
				P(&rows[i]).skip(why)
			}
			h.logf("%s, %s: skipped: %s", what, p.Label, why)
			return nil, fail
		}
	}
	h.logf("%s, %s: starting", what, p.Label)
	if err := ctx.Err(); err != nil {
		fail(err)
		return nil, fail
	}
	hs, err := p.open(ctx, h)
	if err != nil {
		fail(fmt.Errorf("setup: %w", err))
		return nil, fail
	}
	return hs, fail
}
