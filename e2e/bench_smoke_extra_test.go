package e2e

import (
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/bench"
)

// checkToolExtraRows checks the operf, EventSet and idle rows of a smoke
// run: every row there on the direct and local IPCP paths, in order, each
// with its figures, and their tables in the Markdown. Figures are never
// compared with anything (the idle rows' CPU time may be anything, zero
// included).
func checkToolExtraRows(t *testing.T, rep *bench.Report, md string) {
	t.Helper()
	for _, title := range []string{"\n### `operf -f -s 64 ", "\n### `operf -t bi -f -s 64 ",
		"\n### One EventSet serving 1 and ", "\n### Idle cost: "} {
		if !strings.Contains(md, title) {
			t.Errorf("no table %q in the output", title[1:])
		}
	}
	paths := []string{bench.DirectID, bench.LocalIPCPID}

	var want []bench.ToolResult
	for _, m := range bench.OperfPlan() {
		want = append(want, bench.ToolResult{Path: bench.UnixID, Impl: bench.ImplKernel, Test: m.Test, Size: m.Size})
	}
	for _, p := range paths {
		for _, q := range bench.ToolQoS {
			for _, m := range bench.OperfPlan() {
				want = append(want, bench.ToolResult{Path: p, Impl: bench.ImplOurs, QoS: q, Test: m.Test, Size: m.Size})
			}
		}
	}
	if len(rep.Operf) != len(want) {
		t.Errorf("%d operf rows, want %d", len(rep.Operf), len(want))
	} else {
		for i, w := range want {
			r := rep.Operf[i]
			if r.Path != w.Path || r.Impl != w.Impl || r.QoS != w.QoS || r.Test != w.Test || r.Size != w.Size {
				t.Errorf("operf row %d is %s %s %s %s %d, want %s %s %s %s %d", i, r.Path, r.Impl, r.QoS, r.Test,
					r.Size, w.Path, w.Impl, w.QoS, w.Test, w.Size)
				continue
			}
			if r.Error != "" || r.Received == 0 || r.Received > r.Sent || !(r.PacketsPerSec > 0) {
				t.Errorf("operf row %d (%s %s): %+v", i, r.Label, r.Command, r)
			}
			if r.Impl == bench.ImplOurs && !(r.KernelRatio > 0) {
				t.Errorf("operf row %d (%s %s): no ratio to the kernel", i, r.Label, r.Command)
			}
		}
	}

	if len(rep.EventSet) != 4*len(paths) {
		t.Errorf("%d EventSet rows, want %d", len(rep.EventSet), 4*len(paths))
	}
	for i, r := range rep.EventSet {
		if r.Path != paths[min(i/4, len(paths)-1)] {
			t.Errorf("EventSet row %d is on %s", i, r.Path)
		}
		if r.Error != "" || r.Received == 0 || !(r.PacketsPerSec > 0) || r.Flows < 1 {
			t.Errorf("EventSet row %d (%s, %s server, %d flows from %s): %+v", i, r.Label, r.Server, r.Flows,
				r.Client, r)
		}
		if r.Server == bench.EvServerEventSet && (r.Client == bench.EvClientOcbr || r.Flows > 1) && !(r.Ratio > 0) {
			t.Errorf("EventSet row %d (%s, %d flows from %s): no ratio", i, r.Label, r.Flows, r.Client)
		}
	}

	if len(rep.Idle) != 2*len(paths) {
		t.Errorf("%d idle rows, want %d", len(rep.Idle), 2*len(paths))
	}
	for i, r := range rep.Idle {
		state := []string{bench.IdleNoFlow, bench.IdleOneFlow}[i%2]
		if r.Path != paths[min(i/2, len(paths)-1)] || r.State != state {
			t.Errorf("idle row %d is %s %s, want %s", i, r.Path, r.State, state)
		}
		if r.Error != "" || r.WindowNs <= 0 || len(r.Procs) < 2 {
			t.Errorf("idle row %d (%s, %s): %+v", i, r.Label, r.State, r)
		}
		for _, p := range r.Procs {
			if p.PID <= 0 || p.CPUNs < 0 {
				t.Errorf("idle row %d (%s, %s): process %+v", i, r.Label, r.State, p)
			}
		}
	}
}
