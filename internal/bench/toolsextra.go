package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The rest of the tools part of a run, after the oping and ocbr tables: the
// operf table, a server on one EventSet with one and with many busy flows,
// and the CPU time of an idle server and an idle flow. They run on the
// direct and local IPCP paths of the tool paths.

// runToolsExtra runs the operf, EventSet and idle rows into rep.
func (h *Harness) runToolsExtra(ctx context.Context, rep *Report) {
	rep.Operf = h.runOperf(ctx)
	rep.EventSet = h.runEventSet(ctx)
	rep.Idle = h.runIdle(ctx)
}

// toolsExtraFailed reports whether an operf, EventSet or idle row failed;
// the reference's operf rows are optional (as in Failed).
func (rep *Report) toolsExtraFailed() bool {
	for _, r := range rep.Operf {
		if r.Error != "" && r.Impl != ImplReference {
			return true
		}
	}
	for _, r := range rep.EventSet {
		if r.Error != "" {
			return true
		}
	}
	for _, r := range rep.Idle {
		if r.Error != "" {
			return true
		}
	}
	return false
}

// toolsExtraMarkdown renders the operf, EventSet and idle tables; "" for
// none.
func (rep *Report) toolsExtraMarkdown() string {
	var b strings.Builder
	if len(rep.Operf) > 0 {
		b.WriteString(rep.operfMarkdown())
	}
	if len(rep.EventSet) > 0 {
		b.WriteString(eventSetMarkdown(rep.EventSet))
	}
	if len(rep.Idle) > 0 {
		b.WriteString(idleMarkdown(rep.Idle, rep.ClockTick))
	}
	return b.String()
}

func (rep *Report) operfMarkdown() string {
	var b strings.Builder
	ref, refMeasured := false, false
	for _, r := range rep.Operf {
		if r.Impl == ImplReference {
			ref = true
			refMeasured = refMeasured || r.Skipped == "" && r.Error == ""
		}
	}
	for _, m := range OperfPlan() {
		var cmd, what string
		if m.Test == OperfFlood {
			cmd = fmt.Sprintf("operf -f -s %d -d %ds", m.Size, rep.OcbrSeconds)
			what = "one-way flood, packets per second at the server"
		} else {
			cmd = fmt.Sprintf("operf -t bi -f -s %d -d %ds", m.Size, rep.OcbrSeconds)
			what = "flood echoed by the server, echoes per second at the client"
		}
		fmt.Fprintf(&b, "\n### `%s`: %s\n\n", cmd, what)
		if m.Test == OperfFlood {
			b.WriteString("Our `operf` client and server (`operf -l`), raw and reliable, next to the kernel streaming " +
				"one way over a Unix socketpair. The rate is the packets the server counted over its time from the " +
				"first to the last data packet (its per-flow summary line); lost is what the client sent (its " +
				"`--json` summary) and the server did not count.\n\n")
		} else {
			b.WriteString("The client floods and counts the echoes that come back: the rate is the echoes over the " +
				"client's writer time (its `--json` summary); the kernel row floods a socketpair whose peer echoes. " +
				"CPU µs/pkt counts a packet and its echo as two.\n\n")
		}
		if ref && m.Test == OperfFlood {
			b.WriteString("Reference rows run the reference implementation's `operf` client and server, irmd and " +
				"IPCP in a node of their own (raw only; it has no `--json`): its server's line per packet for a " +
				"one-way flood (the rate from the first to the last), its client's statistics for an echoed one. " +
				"×ref is our raw row's figure ÷ the reference row of the same path. The reference's client (0.23.0) " +
				"sends no data packets in either mode; its rows then say so.\n\n")
		}
		cols := []string{"packets/s", "×kernel", "×ref", "lost", "CPU µs/pkt"}
		if !refMeasured {
			cols = removeString(cols, "×ref")
		}
		b.WriteString("| path | " + strings.Join(cols, " | ") + " |\n")
		b.WriteString("|---|" + strings.Repeat("---:|", len(cols)) + "\n")
		for i := range rep.Operf {
			if r := &rep.Operf[i]; r.Test == m.Test && r.Size == m.Size {
				b.WriteString(toolRow(r, cols))
			}
		}
	}
	return b.String()
}

// evServerLabel names a server of the EventSet rows.
func evServerLabel(server string) string {
	if server == EvServerBlocking {
		return "`ocbr -l` (blocking Read)"
	}
	return "one EventSet"
}

// evClientLabel names the flows and the client of an EventSet row.
func evClientLabel(r *EventSetResult) string {
	if r.Client == EvClientOcbr {
		return fmt.Sprintf("%d from `ocbr -f`", r.Flows)
	}
	return fmt.Sprintf("%d from one driver process", r.Flows)
}

func eventSetMarkdown(rows []EventSetResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### One EventSet serving 1 and %d busy flows\n\n", EventSetFlows)
	b.WriteString("A server that waits on one `flow.EventSet` for all its flows and reads each message its event " +
		"reports (`obench peer evserver`), next to the ocbr server, whose flow has a goroutine blocked in `Read`; " +
		"raw flows of 64-byte packets, flooded for as long as the ocbr rows. One flow comes from an `ocbr -f` process, " +
		"or from the driver (`obench peer evdrive`: one process that allocates every flow first, then writes on " +
		"all of them at once, a goroutine each). The rate is the aggregate of every flow at the server: the ocbr " +
		"server's over its report intervals, the EventSet server's from its first to its last packet. ×base is " +
		"the EventSet server's rate ÷ the blocking reader's for one ocbr flow (the target is at least 0.9), and ÷ " +
		"the driver's one flow for its many (the target is at least 1). CPU µs/pkt is the client's, the server's " +
		"and the irmd's and IPCP's time per packet counted.\n\n")
	b.WriteString("| path | server | flows | packets/s | ×base | lost | CPU µs/pkt |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|\n")
	for i := range rows {
		r := &rows[i]
		cells := []string{r.Label, evServerLabel(r.Server), evClientLabel(r)}
		switch {
		case r.Error != "":
			cells = append(cells, "error: "+cellText(r.Error, 200), "—", "—", "—")
		case r.Skipped != "":
			cells = append(cells, "skipped: "+cellText(r.Skipped, 160), "—", "—", "—")
		default:
			ratio := ""
			if r.Ratio != 0 {
				ratio = fmt.Sprintf("%.2f", r.Ratio)
			}
			cpu := "< 1 tick"
			if r.CPUNs > 0 {
				cpu = FormatFigure("cpu", r.CPUPerPacketNs/1e3)
			}
			cells = append(cells, Thousands(r.PacketsPerSec, 0), ratio, FormatLoss(r.Sent, r.Received), cpu)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

func idleMarkdown(rows []IdleResult, clockTick int) string {
	var b strings.Builder
	var names []string
	var window time.Duration
	for _, r := range rows {
		for _, p := range r.Procs {
			if !slices.Contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
		if r.WindowNs > 0 {
			window = time.Duration(r.WindowNs).Round(100 * time.Millisecond)
		}
	}
	tick := "clock ticks"
	if clockTick > 0 {
		tick = fmt.Sprintf("clock ticks of %v", time.Second/time.Duration(clockTick))
	}
	b.WriteString("\n### Idle cost: an `oping -l` server with no flow, and with one idle flow\n\n")
	fmt.Fprintf(&b, "The CPU time (user+system, from /proc/<pid>/stat) each process used over %v, in ms per "+
		"second: an `oping -l` server bound to its name with no flow, then with one raw flow open on which "+
		"nothing is sent (its client, `oping -c 1 -i 10000`, allocates the flow and sends its one ping after 10 s, "+
		"when the window has closed). Each window opens %v after the server started, or after the flow was "+
		"allocated. The times are read in %s: a process that used less than one tick in the window shows 0.\n\n",
		window, idleSettle, tick)
	b.WriteString("| path | state | " + strings.Join(names, " | ") + " |\n")
	b.WriteString("|---|---|" + strings.Repeat("---:|", len(names)) + "\n")
	for i := range rows {
		r := &rows[i]
		cells := []string{r.Label, r.State}
		switch {
		case r.Error != "":
			cells = append(cells, "error: "+cellText(r.Error, 200))
			for range names[min(1, len(names)):] {
				cells = append(cells, "—")
			}
		case r.Skipped != "":
			cells = append(cells, "skipped: "+cellText(r.Skipped, 160))
			for range names[min(1, len(names)):] {
				cells = append(cells, "—")
			}
		default:
			for _, n := range names {
				cell := "—"
				for _, p := range r.Procs {
					if p.Name == n {
						cell = fmt.Sprintf("%.1f", r.MsPerSec(p))
					}
				}
				cells = append(cells, cell)
			}
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}
