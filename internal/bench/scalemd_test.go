package bench

import (
	"strings"
	"testing"
)

// The scale tables give each figure with its ratio to the first row of the
// same path, say why a row was skipped or failed, and the local IPCP's
// memory after close; a report with only them has no empty path tables.
func TestScaleMarkdown(t *testing.T) {
	rep := &Report{
		Scale: []ScaleResult{
			{Path: DirectID, Label: "direct", Flows: 1000, FlowsPerSec: 800, ClientKBPerFlow: 20, ServerKBPerFlow: 22},
			{Path: DirectID, Label: "direct", Flows: 10000, FlowsPerSec: 400, ClientKBPerFlow: 10, ServerKBPerFlow: 22},
			{Path: LocalIPCPID, Label: "local IPCP", Flows: 1000, FlowsPerSec: 300, ClientKBPerFlow: 20,
				ServerKBPerFlow: 22, IPCPKBPerFlow: 30, IPCPIdleKB: 7000, IPCPHeldKB: 37000, IPCPClosedKB: 12000},
			{Path: LocalIPCPID, Label: "local IPCP", Flows: 10000, Skipped: "needs 20256 open files"},
			{Path: LocalIPCPID, Label: "local IPCP", Flows: 20000, Error: "alloc: boom"},
		},
		Names: []NamesResult{{Names: 10, Allocs: 200, P50Ns: 3e6}, {Names: 100000, Allocs: 200, P50Ns: 6e6, Ratio: 2}},
	}
	md := rep.Markdown()
	for _, want := range []string{
		"| direct | 1,000 | 800 | 20.0 | 22.0 | — | — |",
		"| direct | 10,000 | 400 (×0.50) | 10.0 (×0.50) | 22.0 (×1.00) | — | — |",
		"| local IPCP | 1,000 | 300 | 20.0 | 22.0 | 30.0 | 12,000 kB (held 37,000 kB, idle 7,000 kB) |",
		"| local IPCP | 10,000 | skipped: needs 20256 open files | — | — | — | — |",
		"| local IPCP | 20,000 | error: alloc: boom | — | — | — | — |",
		"| 10 | 200 | 3.00 |",
		"| 100,000 | 200 | 6.00 (×2.00) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
	if strings.Contains(md, "## Latency") {
		t.Errorf("a report without path results has path tables:\n%s", md)
	}
	if !rep.Failed() {
		t.Error("a report with a failed scale row is not failed")
	}
}
