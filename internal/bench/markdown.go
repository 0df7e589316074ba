package bench

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// section is one table of the Markdown report: one Test.
type section struct {
	test    Test
	title   func(rep *Report) string
	columns []string // figure columns, after path and size
	keys    []string // figure key of each column; "lost" is the loss column
}

var sections = []section{
	{Latency, func(rep *Report) string {
		return fmt.Sprintf("Latency: oping-style, %d pings with a %v pause before each; RTT in µs",
			rep.LatencyCount, time.Duration(rep.LatencyIntervalNs))
	}, []string{"min µs", "p50 µs", "p99 µs", "max µs", "CPU µs/pkt"},
		[]string{"rtt_min", "rtt_p50", "rtt_p99", "rtt_max", "cpu_per_packet"}},
	{PingPong, func(rep *Report) string {
		return fmt.Sprintf("Ping-pong: pings back to back for %v", time.Duration(rep.DurationNs))
	}, []string{"round trips/s", "p50 RTT µs", "p99 RTT µs", "CPU µs/pkt"},
		[]string{"round_trips_per_s", "rtt_p50", "rtt_p99", "cpu_per_packet"}},
	{OneWay, func(rep *Report) string {
		return fmt.Sprintf("One-way: the client floods for %v, the server counts", time.Duration(rep.DurationNs))
	}, []string{"packets/s", "Mb/s", "lost", "CPU µs/pkt"},
		[]string{"packets_per_s", "mbps", "lost", "cpu_per_packet"}},
	{Echo, func(rep *Report) string {
		return fmt.Sprintf("Echo: the client floods for %v, the server echoes, the client counts the echoes",
			time.Duration(rep.DurationNs))
	}, []string{"packets/s", "Mb/s", "lost", "CPU µs/pkt"},
		[]string{"packets_per_s", "mbps", "lost", "cpu_per_packet"}},
}

// mode names the parts of the benchmark the report holds, for its header:
// "full", or the one part a --tools-only, --secure-only or --scale-only run
// measured; smoke runs say that their figures are not meaningful.
func (rep *Report) mode() string {
	if rep.Smoke {
		return "smoke (short runs: figures are not meaningful)"
	}
	tools := len(rep.Tools)+len(rep.Operf)+len(rep.EventSet)+len(rep.Idle) > 0
	scale := len(rep.Scale)+len(rep.Names) > 0
	paths := len(rep.Results) > 0
	switch {
	case tools && !paths && !scale:
		return "tools only (--tools-only: the tools and encrypted flows tables)"
	case !tools && len(rep.Secure) > 0 && !paths && !scale:
		return "encrypted flows only (--secure-only)"
	case !tools && len(rep.Secure) == 0 && !paths && scale:
		return "many flows and names only (--scale-only)"
	}
	return "full"
}

// Markdown renders the report: a header with the machine, the tools tables
// (toolmd.go), then one table per test of the data path with every figure, its ratio to the path's kernel baseline, and the CPU
// time per packet.
func (rep *Report) Markdown() string {
	var b strings.Builder
	mode := rep.mode()
	var tick time.Duration
	if rep.ClockTick > 0 {
		tick = time.Second / time.Duration(rep.ClockTick)
	}
	fmt.Fprintf(&b, "# obench: Ouroboros next to the kernel\n\n")
	fmt.Fprintf(&b, "- date: %s\n", rep.Date.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- machine: %s, %d cores, Linux %s, %s\n", rep.CPU, rep.Cores, rep.Kernel, rep.GoVersion)
	fmt.Fprintf(&b, "- mode: %s; the run took %v\n\n", mode, time.Duration(rep.ElapsedNs).Round(time.Second/10))
	b.WriteString(rep.toolsMarkdown())
	b.WriteString(rep.toolsExtraMarkdown())
	b.WriteString(rep.secureMarkdown())
	if len(rep.Results) > 0 {
		b.WriteString("\n## The data path: obench's own client and server\n\n" +
			"The tables below measure the flows themselves, between obench and a server of its own (no tool " +
			"in the way), each over a path of its own, next to the kernel.\n\n")
		fmt.Fprintf(&b, "Packet sizes include the harness's 16-byte header. Ouroboros flows are raw (QoS raw: no "+
			"FRCT) unless marked reliable (QoS data: FRCT, in order, with retransmission). (×r) after a figure is "+
			"that figure ÷ the same figure of the row's baseline: %s%s; the JSON also has every Ouroboros row's "+
			"ratios to %s. CPU µs/pkt is the user+system time of every process involved (client, server, and "+
			"every irmd and IPCP of an Ouroboros path: both hosts' for a udp4 or eth-dix layer) per packet delivered, "+
			"a round trip counting two; the times are read in clock ticks of %v, so short measurements are coarse. "+
			"Lost counts the packets that never arrived; only UDP and Ethernet (kernel UDP, or under a raw flow "+
			"over a udp4 or eth-dix layer) may lose any, a loss on another path fails its row.%s%s\n",
			kernelBaselines(rep), otherBaselines(rep), kernelPaths(rep), tick, ethNote(rep), skipNote(rep))
	}
	for _, s := range sections {
		if len(rep.Results) == 0 {
			break // obench --scale-only
		}
		fmt.Fprintf(&b, "\n## %s\n\n", s.title(rep))
		b.WriteString("| path | size B | " + strings.Join(s.columns, " | ") + " |\n")
		b.WriteString("|---|---:|" + strings.Repeat("---:|", len(s.columns)) + "\n")
		for i := range rep.Results {
			if r := &rep.Results[i]; r.Test == s.test {
				b.WriteString(row(r, s.keys, tick))
			}
		}
	}
	b.WriteString(rep.scaleMarkdown())
	return b.String()
}

// ethNote describes the eth-dix layer if the report has it: " The eth-dix
// layer runs ...", or "".
func ethNote(rep *Report) string {
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Path, EthDIXID) && r.Skipped == "" {
			return fmt.Sprintf(" The eth-dix layer runs on a veth pair of its own with an MTU of %d bytes "+
				"(eth-dix SDUs of up to %d bytes): host A (obench's irmd and IPCP) in obench's network "+
				"namespace, host B (irmd, IPCP, server) in a new one.", ethMTU(Plan()), ethMTU(Plan())-wire.EthDIXOverhead)
		}
	}
	return ""
}

// skipNote explains skipped rows if the report has any, or returns "".
func skipNote(rep *Report) string {
	for _, r := range rep.Results {
		if r.Skipped != "" {
			return " A skipped row is a path that cannot run on this machine; it says why."
		}
	}
	return ""
}

// baselineLabel names a kernel path by its label if the report has it.
func baselineLabel(rep *Report, id string) string {
	for _, r := range rep.Results {
		if r.Path == id {
			return r.Label
		}
	}
	return id
}

// otherBaselines describes the baselines of the report that are not kernel
// paths: ", and for a row with another QoS than raw the raw flow of the same
// path", or "".
func otherBaselines(rep *Report) string {
	kernel := map[string]bool{}
	for _, r := range rep.Results {
		kernel[r.Path] = r.Kernel
	}
	for _, r := range rep.Results {
		if k, found := kernel[r.Baseline]; found && !k {
			return ", and for a row with another QoS than raw the raw flow of the same path"
		}
	}
	return ""
}

// kernelBaselines names the kernel baselines of the report's raw rows: one
// label, or each followed by the paths compared to it, "kernel: unix
// seqpacket (for direct flow, local IPCP), kernel: udp 127.0.0.1 (for udp4
// layer)".
func kernelBaselines(rep *Report) string {
	kernel := map[string]bool{}
	for _, r := range rep.Results {
		kernel[r.Path] = r.Kernel
	}
	var order []string             // kernel baselines, in table order
	paths := map[string][]string{} // labels of the paths compared to each
	seen := map[string]bool{}      // paths listed
	for _, r := range rep.Results {
		if k, found := kernel[r.Baseline]; r.Kernel || r.Baseline == "" || (found && !k) || seen[r.Path] ||
			r.Skipped != "" {
			continue
		}
		seen[r.Path] = true
		if paths[r.Baseline] == nil {
			order = append(order, r.Baseline)
		}
		paths[r.Baseline] = append(paths[r.Baseline], r.Label)
	}
	if len(order) == 0 {
		return baselineLabel(rep, UnixID)
	}
	var parts []string
	for _, id := range order {
		if len(order) == 1 {
			parts = append(parts, baselineLabel(rep, id))
		} else {
			parts = append(parts, fmt.Sprintf("%s (for %s)", baselineLabel(rep, id), strings.Join(paths[id], ", ")))
		}
	}
	return strings.Join(parts, ", ")
}

// kernelPaths names the kernel paths of the report: "kernel: unix seqpacket
// and kernel: udp 127.0.0.1".
func kernelPaths(rep *Report) string {
	var labels []string
	seen := map[string]bool{}
	for _, r := range rep.Results {
		if r.Kernel && !seen[r.Path] {
			seen[r.Path] = true
			labels = append(labels, r.Label)
		}
	}
	switch len(labels) {
	case 0:
		return "every kernel path"
	case 1:
		return labels[0]
	}
	return strings.Join(labels[:len(labels)-1], ", ") + " and " + labels[len(labels)-1]
}

// row renders one result as a table row; tick is the resolution of the CPU
// times, in ns.
func row(r *Result, keys []string, tick time.Duration) string {
	cells := []string{r.Label, fmt.Sprint(r.Size)}
	if r.Error != "" || r.Skipped != "" {
		if r.Error != "" {
			cells = append(cells, "error: "+cellText(r.Error, 160))
		} else {
			cells = append(cells, "skipped: "+cellText(r.Skipped, 160))
		}
		for range keys[1:] {
			cells = append(cells, "—")
		}
		return "| " + strings.Join(cells, " | ") + " |\n"
	}
	values := map[string]float64{}
	for _, f := range r.Figures() {
		values[f.Key] = f.Value
	}
	for _, k := range keys {
		if k == "lost" {
			cells = append(cells, FormatLoss(r.Sent, r.Received))
			continue
		}
		v, ok := values[k]
		if !ok {
			cells = append(cells, "—")
			continue
		}
		c := FormatFigure(k, v)
		if k == "cpu_per_packet" && r.CPUNs == 0 && tick > 0 && r.Packets() > 0 {
			// Less than one clock tick in all: give the bound.
			c = "< " + FormatFigure(k, float64(tick)/float64(r.Packets())/1e3)
		}
		if q, ok := r.Ratios[r.Baseline][k]; ok {
			c += " " + FormatRatio(q)
		}
		cells = append(cells, c)
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// cellText makes s fit in one table cell of at most n runes.
func cellText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// FormatFigure formats the value of the figure key: rates as whole numbers
// with thousands separators, Mb/s with one decimal, times (µs) with three
// significant digits down to 0.01.
func FormatFigure(key string, v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case strings.HasSuffix(key, "_per_s"):
		return Thousands(v, 0)
	case key == "mbps":
		return Thousands(v, 1)
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return Thousands(v, 0)
	}
}

// FormatRatio formats a ratio as "(×1.85)".
func FormatRatio(q float64) string { return fmt.Sprintf("(×%.2f)", q) }

// FormatLoss formats the packets lost out of sent: "0", or "12 (0.05%)".
func FormatLoss(sent, received int64) string {
	if sent <= 0 {
		return "—"
	}
	lost := sent - received
	if lost <= 0 {
		return "0"
	}
	return fmt.Sprintf("%s (%.2f%%)", Thousands(float64(lost), 0), 100*float64(lost)/float64(sent))
}

// Thousands formats v with decimals digits after the point and a comma
// between groups of three digits before it.
func Thousands(v float64, decimals int) string {
	s := fmt.Sprintf("%.*f", decimals, v)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String() + frac
}
