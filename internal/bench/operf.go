package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The operf rows: the real operf binary, client and server each a process
// of its own, over the direct and local IPCP paths, raw and reliable, next
// to the kernel doing the same job between two Go processes. A one-way
// flood is read at the server (its per-flow summary line), an echo flood at
// the client (its --json summary).

// The operf commands of the operf table (ToolResult.Test).
const (
	// OperfFlood: operf -f -s SIZE -d D (unidirectional); the packets per
	// second the server counted, from its first to its last data packet.
	OperfFlood ToolTest = "operf-flood"
	// OperfEcho: operf -t bi -f -s SIZE -d D; the echoes per second that
	// came back to the client, over the client's writer time.
	OperfEcho ToolTest = "operf-echo"
)

// OperfPlan returns the operf commands, in table order.
func OperfPlan() []ToolMeasure {
	return []ToolMeasure{{OperfFlood, 64}, {OperfEcho, 64}}
}

// operfPathIDs are the tool paths the operf rows run on.
var operfPathIDs = []string{DirectID, LocalIPCPID}

// OperfFlowLine is a unidirectional flow's summary line of an operf server:
//
//	Flow <fd>: <packets> packets, <bytes> bytes received in <ms> ms, <Mbps> Mb/s.
//
// the time running from the first to the last data packet.
type OperfFlowLine struct {
	FD             int
	Packets, Bytes int64
	Elapsed        time.Duration
}

var operfFlowLine = regexp.MustCompile(`^Flow (\d+): (\d+) packets, (\d+) bytes received in (\d+(?:\.\d+)?) ms, \d+(?:\.\d+)? Mb/s\.$`)

// ParseOperfFlow returns the first flow summary line in the output of an
// operf server; ok is false when it has none yet.
func ParseOperfFlow(out string) (l OperfFlowLine, ok bool) {
	lines := strings.Split(out, "\n")
	if !strings.HasSuffix(out, "\n") {
		lines = lines[:len(lines)-1] // a line still being written
	}
	for _, line := range lines {
		m := operfFlowLine.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		l.FD, _ = strconv.Atoi(m[1])
		l.Packets, _ = strconv.ParseInt(m[2], 10, 64)
		l.Bytes, _ = strconv.ParseInt(m[3], 10, 64)
		ms, _ := strconv.ParseFloat(m[4], 64)
		l.Elapsed = time.Duration(ms * float64(time.Millisecond))
		return l, true
	}
	return l, false
}

// OperfClient is the JSON summary an operf client prints as its last line
// with --json (times in ms).
type OperfClient struct {
	Tool      string  `json:"tool"`
	Role      string  `json:"role"`
	Test      string  `json:"test"`
	Elapsed   float64 `json:"elapsed_ms"`
	Sent      int64   `json:"sent"`
	Received  *int64  `json:"received"`
	Error     string  `json:"error"`
	SentBytes int64   `json:"sent_bytes"`
}

// ParseOperfClient reads the JSON summary of an operf client: the last
// line of its output that is a JSON object. It fails on none, on a summary
// that is not an operf client's or reports an error, and, for a
// bidirectional test, on one without a received count.
func ParseOperfClient(out string) (OperfClient, error) {
	var s OperfClient
	lines := strings.Split(strings.TrimRight(out, "\r\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "{") {
			continue
		}
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			return s, fmt.Errorf("operf --json summary: %w", err)
		}
		switch {
		case s.Tool != "operf" || s.Role != "client":
			return s, fmt.Errorf("operf --json summary: tool %q role %q, want an operf client's", s.Tool, s.Role)
		case s.Error != "":
			return s, fmt.Errorf("operf client: %s", s.Error)
		case s.Test == "bi" && s.Received == nil:
			return s, fmt.Errorf("operf --json summary of a bidirectional test without a received count")
		case s.Received != nil && *s.Received > s.Sent:
			return s, fmt.Errorf("operf received %d echoes of %d packets", *s.Received, s.Sent)
		case s.Sent == 0 || s.Elapsed <= 0:
			return s, fmt.Errorf("operf client sent %d packets in %.3f ms", s.Sent, s.Elapsed)
		}
		return s, nil
	}
	return s, fmt.Errorf("no operf --json summary in its output")
}

// operfArgs returns the client's arguments for m with QoS q, and how long it
// is planned to run.
func (h *Harness) operfArgs(m ToolMeasure, q string) ([]string, time.Duration) {
	d := h.cfg.OcbrSeconds
	args := []string{"-n", serverName}
	if m.Test == OperfEcho {
		args = append(args, "-t", "bi")
	}
	args = append(args, "-f", "-s", strconv.Itoa(m.Size), "-d", strconv.Itoa(d)+"s", "-q", q, "--json")
	return args, time.Duration(d) * time.Second
}

// runOperf runs the operf table: the kernel rows, then every operf path,
// each followed by the reference's rows of the path (refoperf.go).
func (h *Harness) runOperf(ctx context.Context) []ToolResult {
	rows := h.runOperfKernel(ctx)
	for _, p := range h.cfg.ToolPaths {
		for _, id := range operfPathIDs {
			if p.ID == id {
				rows = append(rows, h.runOperfPath(ctx, p)...)
				if h.refRows(p) {
					rows = append(rows, h.runRefOperfPath(ctx, p)...)
				}
			}
		}
	}
	ComputeToolRatios(rows)
	return rows
}

// runOperfPath sets up p once, starts an operf server on it and runs every
// operf command with every QoS. A failed setup fails every row; a failed
// command its row only.
func (h *Harness) runOperfPath(ctx context.Context, p ToolPath) []ToolResult {
	var rows []ToolResult
	for _, q := range ToolQoS {
		for _, m := range OperfPlan() {
			args, _ := h.operfArgs(m, q)
			rows = append(rows, ToolResult{Path: p.ID, Label: toolLabel(p.Label, q), Impl: ImplOurs, QoS: q,
				Test: m.Test, Size: m.Size, Command: commandLine("operf", removeString(args, "--json"))})
		}
	}
	hs, fail := startPath(ctx, h, "operf", p, rows)
	if hs == nil {
		return rows
	}
	defer hs.close()
	srv, err := h.startToolServer(ctx, hs, "operf", "Ouroboros perf server started.")
	if err != nil {
		return fail(fmt.Errorf("operf server: %w%s", err, hs.logs()))
	}
	defer h.stopToolServer(hs, srv)
	for i := range rows {
		r := &rows[i]
		if err := ctx.Err(); err != nil {
			r.Error = err.Error()
			continue
		}
		if err := h.runOperfClient(ctx, hs, srv, r); err != nil {
			r.Error = err.Error()
			h.logf("operf, %s: %s: %v", r.Label, r.Command, err)
			continue
		}
		h.logf("operf, %s: %s: %s packets/s", r.Label, r.Command, Thousands(r.PacketsPerSec, 0))
	}
	return rows
}

// runOperfClient runs the operf client of r on hs's client host against srv
// and fills in r's figures.
func (h *Harness) runOperfClient(ctx context.Context, hs *hostSet, srv *toolServer, r *ToolResult) error {
	args, planned := h.operfArgs(ToolMeasure{r.Test, r.Size}, r.QoS)
	cmd, pids, before, err := h.clientCommand(hs, srv, "operf", args)
	if err != nil {
		return err
	}
	mark := len(srv.c.out.String())
	out, cpu, err := h.runClient(ctx, "operf client", cmd, planned+toolSlack)
	if err != nil {
		return err
	}
	st, err := ParseOperfClient(out)
	if err != nil {
		return fmt.Errorf("%w: %s", err, cellText(out, 300))
	}
	r.Sent = st.Sent
	switch r.Test {
	case OperfFlood:
		l, err := waitOperfFlow(srv.c.out.String, srv.c.done, mark, 5*time.Second)
		if err != nil {
			return err
		}
		if l.Packets == 0 || l.Elapsed <= 0 {
			return fmt.Errorf("operf server counted %d packets in %v", l.Packets, l.Elapsed)
		}
		r.Received, r.ElapsedNs = l.Packets, int64(l.Elapsed)
	case OperfEcho:
		r.Received = *st.Received
		r.ElapsedNs = int64(st.Elapsed * float64(time.Millisecond))
		if r.Received == 0 {
			return fmt.Errorf("operf received none of %d echoes", r.Sent)
		}
	}
	r.PacketsPerSec = Rate(r.Received, time.Duration(r.ElapsedNs))
	after, err := CPUTicks(pids)
	if err != nil {
		return fmt.Errorf("a process of the path is gone after the command (%w)%s", err, hs.logs())
	}
	r.CPUNs = int64(TicksToDuration(after-before, ClockTick()) + cpu)
	packets := r.Received
	if r.Test == OperfEcho {
		packets *= 2
	}
	r.CPUPerPacketNs = float64(r.CPUNs) / float64(packets)
	return nil
}

// waitOperfFlow waits until the operf server whose output output returns
// prints a flow summary line after byte mark, and returns it. exited is
// closed when the server exited.
func waitOperfFlow(output func() string, exited <-chan struct{}, mark int, limit time.Duration) (OperfFlowLine, error) {
	deadline := time.Now().Add(limit)
	for {
		out := output()
		if mark > len(out) {
			mark = len(out)
		}
		if l, ok := ParseOperfFlow(out[mark:]); ok {
			return l, nil
		}
		select {
		case <-exited:
			return OperfFlowLine{}, fmt.Errorf("operf server exited: %s", cellText(out[mark:], 300))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return OperfFlowLine{}, fmt.Errorf("operf server printed no flow summary in %v: %s", limit,
				cellText(out[mark:], 300))
		}
	}
}

// runOperfKernel measures the kernel doing the jobs of the operf table
// between this process and a peer process over a SOCK_SEQPACKET
// socketpair: a one-way stream for operf -f, a flood echoed by the peer for
// operf -t bi -f; one row each.
func (h *Harness) runOperfKernel(ctx context.Context) []ToolResult {
	var rows []ToolResult
	d := time.Duration(h.cfg.OcbrSeconds) * time.Second
	for _, m := range OperfPlan() {
		r := ToolResult{Path: UnixID, Label: "kernel: unix seqpacket socketpair", Impl: ImplKernel,
			Test: m.Test, Size: m.Size}
		if m.Test == OperfFlood {
			r.Command = fmt.Sprintf("one-way stream, %d B, %v", m.Size, d)
		} else {
			r.Command = fmt.Sprintf("echoed stream, %d B, %v", m.Size, d)
		}
		rows = append(rows, r)
	}
	return h.runKernelRows(ctx, "operf", rows, func(cl *client, r *ToolResult) (sample, int64, error) {
		if r.Test == OperfFlood {
			s, err := cl.oneWay(r.Size, d)
			r.PacketsPerSec = Rate(s.received, s.elapsed)
			return s, s.received, err
		}
		s, err := cl.echo(r.Size, d)
		r.PacketsPerSec = Rate(s.received, s.elapsed)
		return s, 2 * s.received, err
	}, func(r *ToolResult) string { return Thousands(r.PacketsPerSec, 0) + " packets/s" })
}
