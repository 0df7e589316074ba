package bench

import (
	"context"
	"fmt"

	"github.com/ouroboros-go/ouroboros/qos"
)

// runKernelRows measures the kernel rows of a tools table over one
// SOCK_SEQPACKET socketpair session with a peer process. measure runs the
// job of one row, fills in its figures and returns the sample and the
// packets it moved (a round trip counts two); runKernelRows adds the
// counts, the CPU time of both processes and the CPU per packet. On a
// failure every row not measured yet gets the error. what names the table
// in the log lines, summary says a row's result in them.
func (h *Harness) runKernelRows(ctx context.Context, what string, rows []ToolResult,
	measure func(cl *client, r *ToolResult) (sample, int64, error), summary func(r *ToolResult) string) []ToolResult {
	fail := func(err error) []ToolResult {
		for i := range rows {
			if rows[i].Error == "" && rows[i].Sent == 0 {
				rows[i].Error = err.Error()
			}
		}
		h.logf("%s, kernel: %v", what, err)
		return rows
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	sess, err := openUnix(ctx, h, qos.Raw)
	if err != nil {
		return fail(fmt.Errorf("setup: %w", err))
	}
	defer sess.Close()
	cl := newClient(sess.Conn, sess.Lossy)
	if err := h.warmup(cl); err != nil {
		return fail(fmt.Errorf("warm-up: %w", err))
	}
	for i := range rows {
		r := &rows[i]
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		h.test++
		cl.test = h.test
		before, err := CPUTicks(sess.PIDs)
		if err != nil {
			return fail(err)
		}
		s, packets, err := measure(cl, r)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", r.Command, err))
		}
		after, err := CPUTicks(sess.PIDs)
		if err != nil {
			return fail(err)
		}
		r.Sent, r.Received, r.ElapsedNs = s.sent, s.received, int64(s.elapsed)
		r.CPUNs = int64(TicksToDuration(after-before, ClockTick()))
		if packets > 0 {
			r.CPUPerPacketNs = float64(r.CPUNs) / float64(packets)
		}
		h.logf("%s, %s: %s: %s", what, r.Label, r.Command, summary(r))
	}
	return rows
}
