package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The operf table's reference rows: the reference's operf client and server
// (operf -l) in a reference node of the path's variant, set up as the
// oping/ocbr reference rows are (openRefPath), raw only, in the same run.
// The reference's operf has no --json and no -q (its flows are raw), and it
// reports differently from ours:
//
//   - one-way (operf -f): the client prints no statistics; the server prints
//     a line per data packet, "Seqno <id> from fd <fd>: <sec>.<usec>" (the
//     wall clock), and "Flow <fd> timed out." once the flow was idle 1 s.
//     The row counts the Seqno lines after the client started; its rate is
//     over the time from the first to the last of them; what was sent is
//     the highest id + 1 (ids count the packets sent before).
//   - echo (operf -t bi -f): the client prints, after "Server timed out.",
//     "--- <name> perf statistics ---" and "<sent> packets transmitted,
//     <rcvd> received, <loss>% packet loss, time: <ms> ms, bandwidth: <x>
//     Mb/s."; the rate is the echoes over that time.
//
// The reference's operf client (0.23.0) sends no data packets at all, in
// either mode: it prints "Test finished." at once (and "0 packets
// transmitted"). A row of a client that sent nothing says so as a
// limitation of the reference, instead of an error.

// RefOperfStats are the figures of a reference operf test.
type RefOperfStats struct {
	Sent, Received int64
	Elapsed        time.Duration
}

var (
	refOperfStatsHead = regexp.MustCompile(`^--- .* perf statistics ---$`)
	refOperfStatsLine = regexp.MustCompile(`^(\d+) packets transmitted, (\d+) received, -?\d+% packet loss, ` +
		`time: (\d+(?:\.\d+)?) ms, bandwidth: \d+(?:\.\d+)? Mb/s\.$`)
	refOperfSeqno = regexp.MustCompile(`^Seqno (-?\d+) from fd \d+: (\d+)\.(\d{6})$`)
)

// ParseRefOperfBi reads the statistics of a bidirectional test from the
// output of the reference's operf client: the line after its "--- <name>
// perf statistics ---" header.
func ParseRefOperfBi(out string) (RefOperfStats, error) {
	var s RefOperfStats
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if !refOperfStatsHead.MatchString(strings.TrimRight(line, "\r")) {
			continue
		}
		if i+1 == len(lines) {
			break
		}
		m := refOperfStatsLine.FindStringSubmatch(strings.TrimRight(lines[i+1], "\r"))
		if m == nil {
			return s, fmt.Errorf("reference operf statistics not understood: %q", lines[i+1])
		}
		s.Sent, _ = strconv.ParseInt(m[1], 10, 64)
		s.Received, _ = strconv.ParseInt(m[2], 10, 64)
		ms, _ := strconv.ParseFloat(m[3], 64)
		s.Elapsed = time.Duration(ms * float64(time.Millisecond))
		if s.Received > s.Sent {
			return s, fmt.Errorf("reference operf received %d echoes of %d packets", s.Received, s.Sent)
		}
		return s, nil
	}
	return s, fmt.Errorf("no statistics in the reference operf client's output")
}

// ParseRefOperfUni reads a one-way test from the output of the reference's
// operf server: its Seqno lines (complete ones only). Received is their
// number, Elapsed the time from the first to the last, Sent the highest id
// + 1. A server that printed none gives zero figures.
func ParseRefOperfUni(server string) RefOperfStats {
	var s RefOperfStats
	var first, last time.Duration
	lines := strings.Split(server, "\n")
	lines = lines[:len(lines)-1] // the last is "" or a line still being written
	for _, line := range lines {
		m := refOperfSeqno.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		sec, _ := strconv.ParseInt(m[2], 10, 64)
		usec, _ := strconv.ParseInt(m[3], 10, 64)
		at := time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
		if s.Received == 0 {
			first = at
		}
		last = at
		s.Received++
		s.Sent = max(s.Sent, id+1)
	}
	if s.Received > 0 {
		s.Elapsed = last - first
	}
	return s
}

// refOperfNoData is a reference operf client that sent no data packets: a
// limitation of the reference (0.23.0), not a failure of the measurement.
type refOperfNoData struct{ what string }

func (e refOperfNoData) Error() string {
	return "its operf client sends no data packets (" + e.what + ")"
}

// refOperfArgs returns the reference operf client's arguments for m (raw:
// it has no -q; it has no --json) and how long it is planned to run: the
// test, the second the client waits after its configuration message and
// the 2 s its echo reader waits for a last echo.
func (h *Harness) refOperfArgs(m ToolMeasure) ([]string, time.Duration) {
	d := h.cfg.OcbrSeconds
	args := []string{"-n", serverName}
	if m.Test == OperfEcho {
		args = append(args, "-t", "bi")
	}
	args = append(args, "-f", "-s", strconv.Itoa(m.Size), "-d", strconv.Itoa(d)+"s")
	return args, time.Duration(d)*time.Second + 3*time.Second
}

// refRows reports whether the reference's rows of path p run: p has a
// variant, a reference is configured and the run is not a smoke run.
func (h *Harness) refRows(p ToolPath) bool {
	return p.RefVariant != "" && h.cfg.Reference != "" && !h.cfg.Smoke
}

// runRefOperfPath runs the operf commands with the reference's operf on the
// reference node of p (openRefPath), raw only. A failure fails the
// reference's rows only.
func (h *Harness) runRefOperfPath(ctx context.Context, p ToolPath) []ToolResult {
	var rows []ToolResult
	for _, m := range OperfPlan() {
		args, _ := h.refOperfArgs(m)
		rows = append(rows, ToolResult{Path: p.ID, Label: "reference: " + p.Label, Impl: ImplReference, QoS: "raw",
			Test: m.Test, Size: m.Size, Command: commandLine("operf", args)})
	}
	if why := ReferenceSkip(h.cfg.Reference); why != "" {
		for i := range rows {
			rows[i].Skipped = why
		}
		return rows
	}
	fail := func(err error) []ToolResult {
		for i := range rows {
			if rows[i].Error == "" && rows[i].Skipped == "" && rows[i].Sent == 0 {
				rows[i].Error = err.Error()
			}
		}
		h.logf("operf, reference %s: %v", p.Label, err)
		return rows
	}
	h.logf("operf, reference %s: starting (variant %s)", p.Label, p.RefVariant)
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	client, server, stop, err := h.openRefPath(p)
	if err != nil {
		return fail(fmt.Errorf("setup: %w", err))
	}
	defer stop()
	start := func() error {
		return server.startServer("operf", "Ouroboros perf server started.", "operf")
	}
	if err := start(); err != nil {
		return fail(fmt.Errorf("operf server: %w", err))
	}
	restart := func() error {
		server.stopServer("operf")
		time.Sleep(refUniPause)
		return start()
	}
	for i := range rows {
		r := &rows[i]
		if err := ctx.Err(); err != nil {
			r.Error = err.Error()
			continue
		}
		if err := h.runRefOperf(ctx, client, server, r, restart); err != nil {
			refRowFailed(r, err)
			h.logf("operf, %s: %s: %v", r.Label, r.Command, err)
			continue
		}
		h.logf("operf, %s: %s: %s packets/s", r.Label, r.Command, Thousands(r.PacketsPerSec, 0))
	}
	server.stopServer("operf")
	if log, _ := os.ReadFile(filepath.Join(server.state, "irmd.log")); p.RefVariant == "direct" &&
		!strings.Contains(string(log), "(direct)") {
		return fail(fmt.Errorf("the reference's flows did not go direct"))
	}
	return rows
}

// runRefOperf runs the reference operf client of r inside node client
// against the operf server of node server and fills in r's figures (not
// its CPU time).
func (h *Harness) runRefOperf(ctx context.Context, client, server *refNode, r *ToolResult, restart func() error) error {
	args, planned := h.refOperfArgs(ToolMeasure{r.Test, r.Size})
	out, mark, err := h.runRefClient(ctx, client, server, r, "operf", args, planned, restart)
	if err != nil {
		return err
	}
	if !strings.Contains(out, "Test finished.") {
		return fmt.Errorf("the reference operf client did not finish its test: %s", cellText(out, 300))
	}
	var st RefOperfStats
	switch r.Test {
	case OperfFlood:
		// The server is done with the flow when it evicts it, 1 s idle.
		srv, err := waitRefLog(func() string { return server.log("operf") }, mark, " timed out.", 10*time.Second)
		if err != nil {
			return err
		}
		st = ParseRefOperfUni(srv)
		if st.Received == 0 {
			return refOperfNoData{`it printed "Test finished." at once; its server counted none`}
		}
	case OperfEcho:
		st, err = ParseRefOperfBi(out)
		if err != nil {
			return fmt.Errorf("%w: %s", err, cellText(out, 300))
		}
		if st.Sent == 0 {
			return refOperfNoData{`it printed "Test finished." at once and "0 packets transmitted"`}
		}
		if st.Received == 0 {
			return fmt.Errorf("the reference operf received none of %d echoes", st.Sent)
		}
	}
	if st.Elapsed <= 0 {
		return fmt.Errorf("the reference operf counted %d packets in %v", st.Received, st.Elapsed)
	}
	r.Sent, r.Received, r.ElapsedNs = st.Sent, st.Received, int64(st.Elapsed)
	r.PacketsPerSec = Rate(r.Received, st.Elapsed)
	return nil
}

// waitRefLog waits until the log that output returns has want after byte
// mark and returns the log from mark.
func waitRefLog(output func() string, mark int, want string, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for {
		out := output()
		mark = min(mark, len(out))
		if strings.Contains(out[mark:], want) {
			return out[mark:], nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the reference's server printed no %q in %v: %s", want, limit, cellText(out[mark:], 300))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
