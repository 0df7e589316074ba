package bench

import (
	"fmt"
	"strings"
)

// toolTitle is the heading of the tools table of m in rep.
func (rep *Report) toolTitle(m ToolMeasure) string {
	switch m.Test {
	case OpingFlood:
		return fmt.Sprintf("`oping -f -c %d -s %d`: back-to-back pings", rep.ToolFloodCount, m.Size)
	case OpingPaced:
		return fmt.Sprintf("`oping -i 5 -c %d -s %d`: one ping every 5 ms", rep.ToolPacedCount, m.Size)
	}
	return fmt.Sprintf("`ocbr -f -s %d -d %d`: one-way flood, packets per second at the server", m.Size, rep.OcbrSeconds)
}

// toolsMarkdown renders the tools tables, or "" if the report has none.
func (rep *Report) toolsMarkdown() string {
	if len(rep.Tools) == 0 {
		return ""
	}
	var b strings.Builder
	ref := false
	for _, r := range rep.Tools {
		if r.Impl == ImplReference && r.Skipped == "" {
			ref = true
		}
	}
	b.WriteString("\n## What users run: the tools next to the kernel\n\n")
	b.WriteString("Our `oping` and `ocbr` binaries between real processes (client and server each a process of " +
		"its own, with the irmds and IPCPs of the path), raw (`-q raw`) and reliable (`-q data`: FRCT, in order, " +
		"with retransmission). The first row of every table is the kernel doing the same job between two Go " +
		"processes (obench and its peer) over a Unix SOCK_SEQPACKET socketpair: a ping-pong for `oping -f`, " +
		"a ping every 5 ms for `oping -i 5`, a one-way stream for `ocbr -f`. ×kernel is the row's figure ÷ the " +
		"kernel row's (for an RTT lower is better, for a rate higher is).")
	if ref {
		b.WriteString(" Reference rows run the same commands with the reference implementation's tools, irmd " +
			"and IPCPs (raw only), in the same run; ×ref is our raw row's figure ÷ the reference row of the same path.")
	}
	b.WriteString(" Round trips/s count over oping's own time (the pings, not the allocation); ocbr's rate is " +
		"over the server's report intervals of 1 s (the last one, when the client went away, included; not " +
		"when the test ended by a timeout, whose interval includes the silence). CPU µs/pkt is the user+system time of the client, " +
		"the server and every irmd and IPCP of the path per packet delivered (a round trip counts two).\n")
	for _, m := range ToolPlan() {
		fmt.Fprintf(&b, "\n### %s\n\n", rep.toolTitle(m))
		var cols []string
		switch m.Test {
		case OpingFlood:
			cols = []string{"round trips/s", "×kernel", "×ref", "avg RTT µs", "lost", "CPU µs/pkt"}
		case OpingPaced:
			cols = []string{"avg RTT µs", "×kernel", "×ref", "lost", "CPU µs/pkt"}
		default:
			cols = []string{"packets/s", "×kernel", "×ref", "lost", "CPU µs/pkt"}
		}
		if !ref {
			cols = removeString(cols, "×ref")
		}
		b.WriteString("| path | " + strings.Join(cols, " | ") + " |\n")
		b.WriteString("|---|" + strings.Repeat("---:|", len(cols)) + "\n")
		for i := range rep.Tools {
			if r := &rep.Tools[i]; r.Test == m.Test && r.Size == m.Size {
				b.WriteString(toolRow(r, cols))
			}
		}
	}
	return b.String()
}

func removeString(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// toolRow renders one tools row with the columns cols.
func toolRow(r *ToolResult, cols []string) string {
	cells := []string{r.Label}
	if r.Error != "" || r.Skipped != "" {
		if r.Error != "" {
			cells = append(cells, "error: "+cellText(r.Error, 200))
		} else {
			cells = append(cells, "skipped: "+cellText(r.Skipped, 160))
		}
		for range cols[1:] {
			cells = append(cells, "—")
		}
		return "| " + strings.Join(cells, " | ") + " |\n"
	}
	ratio := func(q float64) string {
		if q == 0 {
			return ""
		}
		return fmt.Sprintf("%.2f", q)
	}
	for _, c := range cols {
		switch c {
		case "round trips/s", "packets/s":
			cells = append(cells, Thousands(r.Figure(), 0))
		case "avg RTT µs":
			cells = append(cells, FormatFigure("rtt", r.AvgRTTNs/1e3))
		case "×kernel":
			cells = append(cells, ratio(r.KernelRatio))
		case "×ref":
			cells = append(cells, ratio(r.RefRatio))
		case "×raw":
			cells = append(cells, ratio(r.RawRatio))
		case "lost":
			cells = append(cells, FormatLoss(r.Sent, r.Received))
		case "CPU µs/pkt":
			switch {
			case r.Impl == ImplReference:
				cells = append(cells, "—")
			case r.CPUNs == 0:
				cells = append(cells, "< 1 tick")
			default:
				cells = append(cells, FormatFigure("cpu", r.CPUPerPacketNs/1e3))
			}
		}
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}
