package bench

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// scaleMarkdown renders the scale measurements: one table of flows held,
// one of allocation times with few and many names; "" if the report has
// neither.
func (rep *Report) scaleMarkdown() string {
	var b strings.Builder
	if len(rep.Scale) > 0 {
		fmt.Fprintf(&b, "\n## Many flows: a client process holds them to a server process, both of one private irmd\n\n")
		fmt.Fprintf(&b, "Every row starts a new irmd. flows/s: the flows ÷ the time their allocation took, %d "+
			"allocations in flight at once. kB/flow: the growth of the process's resident set (VmRSS in "+
			"/proc/PID/status) from before the first allocation to all flows held, ÷ the flows. IPCP after close: "+
			"the local IPCP's resident set once all flows closed and it stopped falling, next to the same with "+
			"the flows held. (×r) after a figure is that figure ÷ the same figure of the first row of the same path "+
			"(the fewest flows).\n\n", allocWorkers)
		b.WriteString("| path | flows | flows/s | client kB/flow | server kB/flow | IPCP kB/flow | IPCP after close |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
		first := map[string]*ScaleResult{}
		for i := range rep.Scale {
			r := &rep.Scale[i]
			cells := []string{r.Label, Thousands(float64(r.Flows), 0)}
			switch {
			case r.Error != "":
				cells = append(cells, "error: "+cellText(r.Error, 160), "—", "—", "—", "—")
			case r.Skipped != "":
				cells = append(cells, "skipped: "+cellText(r.Skipped, 160), "—", "—", "—", "—")
			default:
				base := first[r.Path]
				if base == nil {
					first[r.Path] = r
				}
				with := func(v float64, ref func(*ScaleResult) float64, decimals int) string {
					c := Thousands(v, decimals)
					if base != nil {
						if q := Ratio(v, ref(base)); !math.IsNaN(q) {
							c += " " + FormatRatio(q)
						}
					}
					return c
				}
				cells = append(cells,
					with(r.FlowsPerSec, func(s *ScaleResult) float64 { return s.FlowsPerSec }, 0),
					with(r.ClientKBPerFlow, func(s *ScaleResult) float64 { return s.ClientKBPerFlow }, 1),
					with(r.ServerKBPerFlow, func(s *ScaleResult) float64 { return s.ServerKBPerFlow }, 1))
				if r.Path == LocalIPCPID {
					cells = append(cells, with(r.IPCPKBPerFlow, func(s *ScaleResult) float64 { return s.IPCPKBPerFlow }, 1),
						fmt.Sprintf("%s kB (held %s kB, idle %s kB)", Thousands(float64(r.IPCPClosedKB), 0),
							Thousands(float64(r.IPCPHeldKB), 0), Thousands(float64(r.IPCPIdleKB), 0)))
				} else {
					cells = append(cells, "—", "—")
				}
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
	if len(rep.Names) > 0 {
		fmt.Fprintf(&b, "\n## Many names: one allocation through the local IPCP\n\n")
		fmt.Fprintf(&b, "One irmd; the names are created between the rows, the server's name among them. p50: the median "+
			"time of one raw allocation, each flow closed before the next. (×r) after it is that time ÷ the "+
			"same of the first row (the fewest names).\n\n")
		b.WriteString("| names | allocations | p50 ms |\n|---:|---:|---:|\n")
		for _, r := range rep.Names {
			c := "error: " + cellText(r.Error, 160)
			if r.Error == "" {
				c = fmt.Sprintf("%.2f", float64(r.P50Ns)/float64(time.Millisecond))
				if r.Ratio > 0 {
					c += " " + FormatRatio(r.Ratio)
				}
			}
			fmt.Fprintf(&b, "| %s | %d | %s |\n", Thousands(float64(r.Names), 0), r.Allocs, c)
		}
	}
	return b.String()
}
