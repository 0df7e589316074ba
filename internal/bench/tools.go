package bench

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The tools tables run the tools people run (oping, ocbr) between real
// processes over every path, raw and reliable, next to the kernel doing the
// same job between two Go processes in the same run.

// A ToolPath is one way for a tool client to reach a tool server: the hosts
// of a private instance and their layer, with serverName registered in it.
type ToolPath struct {
	ID    string // as the Path of the same name: DirectID, LocalIPCPID, ...
	Label string
	// RefVariant is the variant of the reference (its cnode.sh start
	// argument: direct or nodirect) whose rows go next to this path's, or
	// "" for none.
	RefVariant string
	open       func(ctx context.Context, h *Harness) (*hostSet, error)
	Skip       func() string // as Path.Skip

	// refOpen starts the reference's nodes of the path: the node its
	// clients run in and the server's, and what stops them; nil for one
	// node of RefVariant with a local IPCP (openRefPath).
	refOpen func(h *Harness) (client, server *refNode, stop func(), err error)
}

// ToolQoS are the QoS cubes every tool command runs with, by their tool name
// (the tools' -q).
var ToolQoS = []string{"raw", "data"}

// DefaultToolPaths returns the paths of the tools tables, in table order.
func DefaultToolPaths() []ToolPath {
	return []ToolPath{
		{ID: DirectID, Label: "direct flow", RefVariant: "direct",
			open: func(ctx context.Context, h *Harness) (*hostSet, error) {
				return h.startHosts(ctx, instance{})
			}},
		{ID: LocalIPCPID, Label: "local IPCP", RefVariant: "nodirect",
			open: func(ctx context.Context, h *Harness) (*hostSet, error) {
				return h.startHosts(ctx, instance{noDirect: true, ipcps: []string{"ipcpd-local"}, layer: bootstrapLocal})
			}},
		{ID: UDP4LayerID, Label: "udp4 layer",
			open: func(ctx context.Context, h *Harness) (*hostSet, error) {
				inst, err := udp4Instance()
				if err != nil {
					return nil, err
				}
				return h.startHosts(ctx, inst)
			}},
		{ID: UnicastID, Label: "unicast over udp4", RefVariant: "nodirect", refOpen: refUnicastOpen(1),
			open: openUnicastUDP4},
		{ID: UnicastTwoHopID, Label: "unicast, two hops over udp4", RefVariant: "nodirect",
			refOpen: refUnicastOpen(2), open: openUnicastTwoHops},
		{ID: EthDIXID, Label: "eth-dix layer", Skip: ethSkip,
			open: func(ctx context.Context, h *Harness) (*hostSet, error) {
				inst, remove, err := h.ethInstance()
				if err != nil {
					return nil, err
				}
				hs, err := h.startHosts(ctx, inst)
				if err != nil {
					remove()
					return nil, err
				}
				// Run last: the processes first, then the link.
				hs.stops = append(hs.stops, remove)
				return hs, nil
			}},
		{ID: UnicastEthID, Label: "unicast over eth-dix", Skip: ethSkip, open: openUnicastEth},
	}
}

// toolLabel is the label of a tools row of path label with QoS q.
func toolLabel(label, q string) string {
	if q == "data" {
		return label + ", reliable"
	}
	return label
}

// Tool timing: how long a tool command may run beyond what it was asked to
// do before it is stopped and its row fails.
const toolSlack = 30 * time.Second

// toolArgs returns the client's arguments (after the tool's name) for m
// with QoS q.
func (h *Harness) toolArgs(m ToolMeasure, q string) (tool string, args []string, planned time.Duration) {
	size := strconv.Itoa(m.Size)
	switch m.Test {
	case OpingFlood:
		n := h.cfg.ToolFloodCount
		// Planned at 200 round trips/s: the unicast layer's paths, on a
		// busy machine, do a few hundred.
		return "oping", []string{"-n", serverName, "-f", "-c", strconv.Itoa(n), "-s", size, "-q", q, "-Q"},
			time.Duration(n) * 5 * time.Millisecond
	case OpingPaced:
		n := h.cfg.ToolPacedCount
		return "oping", []string{"-n", serverName, "-i", "5", "-c", strconv.Itoa(n), "-s", size, "-q", q, "-Q"},
			time.Duration(n) * 10 * time.Millisecond
	default: // OcbrFlood
		d := h.cfg.OcbrSeconds
		return "ocbr", []string{"-n", serverName, "-f", "-s", size, "-d", strconv.Itoa(d), "-q", q},
			time.Duration(d) * time.Second
	}
}

// commandLine shows a tool command as a user would type it, with the name
// the users of the README know.
func commandLine(tool string, args []string) string {
	var shown []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-n":
			i++
			continue
		case "-Q":
			continue
		}
		shown = append(shown, args[i])
	}
	return tool + " " + strings.Join(shown, " ")
}

// runTools runs the tool plan on every tool path, and the kernel baselines.
func (h *Harness) runTools(ctx context.Context) []ToolResult {
	rows := h.runToolKernel(ctx)
	for _, p := range h.cfg.ToolPaths {
		rows = append(rows, h.runToolPath(ctx, p)...)
		if h.refRows(p) {
			rows = append(rows, h.runRefPath(ctx, p)...)
		}
	}
	ComputeToolRatios(rows)
	return rows
}

// toolRows returns the empty rows of path p for every QoS and measure.
func (h *Harness) toolRows(p ToolPath, impl string, qs []string) []ToolResult {
	var rows []ToolResult
	for _, q := range qs {
		for _, m := range ToolPlan() {
			tool, args, _ := h.toolArgs(m, q)
			label := toolLabel(p.Label, q)
			if impl == ImplReference {
				label = "reference: " + label
				tool, args, _ = h.refToolArgs(m)
			}
			rows = append(rows, ToolResult{Path: p.ID, Label: label, Impl: impl, QoS: q, Test: m.Test,
				Size: m.Size, Command: commandLine(tool, args)})
		}
	}
	return rows
}

// toolServer is a tool server process bound to serverName.
type toolServer struct {
	tool string
	c    *child
}

// startToolServer starts "tool -l args..." on hs's server host, waits until
// it says it started and binds it to serverName.
func (h *Harness) startToolServer(ctx context.Context, hs *hostSet, tool, ready string, args ...string) (*toolServer, error) {
	path, err := findCommand(h.self, tool)
	if err != nil {
		return nil, err
	}
	cmd, err := nsCommand(hs.server.netns, path, append([]string{"-l"}, args...)...)
	if err != nil {
		return nil, err
	}
	cmd.Env = hs.server.env
	c, err := h.procs.start(tool+" server", cmd, true)
	if err != nil {
		return nil, err
	}
	if _, err := c.waitOutput(ready, readyWait); err != nil {
		h.procs.stop(c)
		return nil, err
	}
	bctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	if err := hs.server.client().BindProcess(bctx, c.pid(), serverName); err != nil {
		h.procs.stop(c)
		return nil, fmt.Errorf("bind %s server to %s: %w", tool, serverName, err)
	}
	return &toolServer{tool: tool, c: c}, nil
}

// stop unbinds the server and stops it (SIGTERM).
func (h *Harness) stopToolServer(hs *hostSet, s *toolServer) {
	ctx, cancel := context.WithTimeout(context.Background(), readyWait)
	hs.server.client().UnbindProcess(ctx, s.c.pid(), serverName)
	cancel()
	h.procs.stop(s.c)
}

// runToolPath sets up p once and runs every tool command over it with every
// QoS. A failed setup fails every row; a failed command fails its row only.
func (h *Harness) runToolPath(ctx context.Context, p ToolPath) []ToolResult {
	rows := h.toolRows(p, ImplOurs, ToolQoS)
	hs, fail := startPath(ctx, h, "tools", p, rows)
	if hs == nil {
		return rows
	}
	defer hs.close()
	for _, tool := range []string{"oping", "ocbr"} {
		var srv *toolServer
		var err error
		if tool == "oping" {
			srv, err = h.startToolServer(ctx, hs, "oping", "Ouroboros ping server started.", "-Q")
		} else {
			srv, err = h.startToolServer(ctx, hs, "ocbr", "Server started", "-i", "1", "-t", "1")
		}
		if err != nil {
			return fail(fmt.Errorf("%s server: %w%s", tool, err, hs.logs()))
		}
		for i := range rows {
			r := &rows[i]
			if !strings.HasPrefix(string(r.Test), tool) {
				continue
			}
			if err := ctx.Err(); err != nil {
				r.Error = err.Error()
				continue
			}
			if err := h.runTool(ctx, hs, srv, r); err != nil {
				r.Error = err.Error()
				h.logf("tools, %s: %s: %v", r.Label, r.Command, err)
				continue
			}
			h.logf("tools, %s: %s: %s", r.Label, r.Command, toolSummary(r))
		}
		h.stopToolServer(hs, srv)
	}
	return rows
}

// clientCommand prepares the client program tool with args on hs's client
// host, and reads the CPU time so far of every process of the path and of
// srv (pids), the start of the client's measurement.
func (h *Harness) clientCommand(hs *hostSet, srv *toolServer, tool string, args []string) (cmd *exec.Cmd, pids []int, before uint64, err error) {
	path, err := findCommand(h.self, tool)
	if err != nil {
		return nil, nil, 0, err
	}
	cmd, err = nsCommand(hs.client.netns, path, args...)
	if err != nil {
		return nil, nil, 0, err
	}
	cmd.Env = hs.client.env
	pids = append(hs.pids(), srv.c.pid())
	before, err = CPUTicks(pids)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("a process of the path is gone (%w)%s", err, hs.logs())
	}
	return cmd, pids, before, nil
}

// runTool runs the client command of r on hs's client host against srv and
// fills in r's figures.
func (h *Harness) runTool(ctx context.Context, hs *hostSet, srv *toolServer, r *ToolResult) error {
	tool, args, planned := h.toolArgs(ToolMeasure{r.Test, r.Size}, r.QoS)
	cmd, pids, before, err := h.clientCommand(hs, srv, tool, args)
	if err != nil {
		return err
	}
	mark := len(srv.c.out.String())
	out, cpu, err := h.runClient(ctx, tool+" client", cmd, planned+toolSlack)
	if err != nil {
		return err
	}
	var packets int64
	switch r.Test {
	case OpingFlood, OpingPaced:
		st, err := ParseOping(out)
		if err != nil {
			return fmt.Errorf("%w: %s", err, cellText(out, 300))
		}
		r.Sent, r.Received, r.ElapsedNs = st.Sent, st.Received, int64(st.Elapsed)
		r.AvgRTTNs = float64(st.Avg)
		if r.Test == OpingFlood {
			r.RoundTripsPerSec = Rate(st.Received, st.Elapsed)
		}
		packets = 2 * st.Received
	case OcbrFlood:
		t, err := waitOcbrTest(srv.c.out.String, srv.c.done, mark, 5*time.Second)
		if err != nil {
			return err
		}
		r.Sent = ocbrSent(out)
		r.Received = t.Packets()
		r.PacketsPerSec = t.Rate()
		for _, f := range t.Intervals() {
			r.ElapsedNs += int64(f.Elapsed)
		}
		packets = r.Received
	}
	after, err := CPUTicks(pids)
	if err != nil {
		return fmt.Errorf("a process of the path is gone after the command (%w)%s", err, hs.logs())
	}
	r.CPUNs = int64(TicksToDuration(after-before, ClockTick()) + cpu)
	if packets > 0 {
		r.CPUPerPacketNs = float64(r.CPUNs) / float64(packets)
	}
	return nil
}

// runClient runs a client command to its end, at most limit, and returns
// its output and the CPU time it used. It fails if the command fails.
func (h *Harness) runClient(ctx context.Context, name string, cmd *exec.Cmd, limit time.Duration) (string, time.Duration, error) {
	c, err := h.procs.start(name, cmd, true)
	if err != nil {
		return "", 0, err
	}
	defer h.procs.stop(c)
	select {
	case <-c.done:
	case <-ctx.Done():
		return c.out.String(), 0, ctx.Err()
	case <-time.After(limit):
		h.procs.stop(c)
		return "", 0, fmt.Errorf("%s did not finish in %v: %s", name, limit, cellText(c.out.String(), 300))
	}
	ps := c.cmd.ProcessState
	out := c.out.String()
	if ps == nil || !ps.Success() {
		return out, 0, fmt.Errorf("%s: %v: %s", name, ps, cellText(out, 300))
	}
	var cpu time.Duration
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return out, cpu, nil
}

// ocbrSent reads the packets an ocbr client sent from its "sent statistics:
// <n> packets, ..." line; 0 if it has none.
func ocbrSent(out string) int64 {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "sent statistics:"); ok {
			f := strings.Fields(rest)
			if len(f) > 1 && f[1] == "packets," {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// waitOcbrTest waits until the ocbr server whose output output returns
// reports the end of a test in its output after byte mark, and returns the
// test. exited is closed when the server exited (nil if unknown).
func waitOcbrTest(output func() string, exited <-chan struct{}, mark int, limit time.Duration) (OcbrTest, error) {
	deadline := time.Now().Add(limit)
	for {
		out := output()
		if mark > len(out) {
			mark = len(out)
		}
		t, done, err := ParseOcbrServer(out[mark:])
		switch {
		case err != nil:
			return t, err
		case done && len(t.Intervals()) == 0:
			return t, fmt.Errorf("ocbr server: no full report interval before the test timed out: %s",
				cellText(out[mark:], 300))
		case done && t.Rate() == 0:
			return t, fmt.Errorf("ocbr server: no packets counted: %s", cellText(out[mark:], 300))
		case done:
			return t, nil
		}
		select {
		case <-exited:
			return t, fmt.Errorf("ocbr server exited: %s", cellText(out[mark:], 300))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return t, fmt.Errorf("ocbr server reported no end of the test in %v: %s", limit, cellText(out[mark:], 300))
		}
	}
}

// toolSummary is a progress line's account of a tools row.
func toolSummary(r *ToolResult) string {
	switch r.Test {
	case OpingFlood:
		return fmt.Sprintf("%s round trips/s, avg %s µs", Thousands(r.RoundTripsPerSec, 0), FormatFigure("rtt", r.AvgRTTNs/1e3))
	case OpingPaced:
		return fmt.Sprintf("avg %s µs", FormatFigure("rtt", r.AvgRTTNs/1e3))
	}
	return fmt.Sprintf("%s packets/s", Thousands(r.PacketsPerSec, 0))
}

// runToolKernel measures the kernel doing the jobs of the tool plan between
// this process and a peer process over a SOCK_SEQPACKET socketpair: a
// ping-pong for oping -f, pings every 5 ms for oping -i 5, a one-way stream
// for ocbr -f; one row each.
func (h *Harness) runToolKernel(ctx context.Context) []ToolResult {
	var rows []ToolResult
	for _, m := range ToolPlan() {
		r := ToolResult{Path: UnixID, Label: "kernel: unix seqpacket socketpair", Impl: ImplKernel,
			Test: m.Test, Size: m.Size}
		d := h.cfg.Duration
		switch m.Test {
		case OpingFlood:
			r.Command = fmt.Sprintf("ping-pong, %d B, %v", m.Size, d)
		case OpingPaced:
			r.Command = fmt.Sprintf("%d pings of %d B, 5 ms apart", h.cfg.ToolPacedCount, m.Size)
		case OcbrFlood:
			r.Command = fmt.Sprintf("one-way stream, %d B, %v", m.Size, d)
		}
		rows = append(rows, r)
	}
	return h.runKernelRows(ctx, "tools", rows, func(cl *client, r *ToolResult) (sample, int64, error) {
		var s sample
		var err error
		switch r.Test {
		case OpingFlood:
			s, err = cl.pingPong(r.Size, h.cfg.Duration)
		case OpingPaced:
			s, err = cl.latency(r.Size, h.cfg.ToolPacedCount, 5*time.Millisecond)
		case OcbrFlood:
			s, err = cl.oneWay(r.Size, h.cfg.Duration)
		}
		packets := 2 * s.received
		switch r.Test {
		case OpingFlood, OpingPaced:
			r.AvgRTTNs = float64(Summarize(s.rtts).Mean)
			if r.Test == OpingFlood {
				r.RoundTripsPerSec = Rate(s.received, s.elapsed)
			}
		case OcbrFlood:
			r.PacketsPerSec = Rate(s.received, s.elapsed)
			packets = s.received
		}
		return s, packets, err
	}, toolSummary)
}
