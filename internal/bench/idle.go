package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The idle rows: the CPU time that an idle oping server (oping -l) costs
// with no flow, and with one open flow on which nothing is sent, with its
// client, the irmd and the IPCPs of the path, each process on its own,
// read from /proc/<pid>/stat over a window of idleWindow. An idle server and
// an idle flow should cost nothing.

// Idle states (IdleResult.State).
const (
	IdleNoFlow  = "no flow"
	IdleOneFlow = "one idle flow"
)

// idleSettle is the pause before the window opens: after the server started
// and bound, or after the idle flow was allocated.
const idleSettle = 500 * time.Millisecond

// idleInterval is the interval of the idle flow's oping client (its
// maximum): it allocates the flow and sends its one ping after
// idleInterval, which is after the window closes (idleSettle plus at most
// 5 s).
const idleInterval = 10 * time.Second

// IdleProc is the CPU time one process used in the window.
type IdleProc struct {
	Name  string `json:"name"` // "oping -l", "oping", "irmd", "ipcpd-local"
	PID   int    `json:"pid"`
	CPUNs int64  `json:"cpu_ns"` // user+system time, a whole number of clock ticks
}

// IdleResult is one idle row.
type IdleResult struct {
	Path     string     `json:"path"` // ToolPath.ID
	Label    string     `json:"label"`
	State    string     `json:"state"` // IdleNoFlow or IdleOneFlow
	Command  string     `json:"command"`
	WindowNs int64      `json:"window_ns"`
	Procs    []IdleProc `json:"procs,omitempty"`

	Error   string `json:"error,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// MsPerSec returns the CPU time of p in ms per second of the window.
func (r *IdleResult) MsPerSec(p IdleProc) float64 {
	if r.WindowNs <= 0 {
		return 0
	}
	return float64(p.CPUNs) / 1e6 / (float64(r.WindowNs) / 1e9)
}

// idleWindow is how long the CPU time of the idle processes is read over.
func (h *Harness) idleWindow() time.Duration {
	if h.cfg.Smoke {
		return time.Second
	}
	return 5 * time.Second
}

// runIdle runs the idle rows on the direct and local IPCP paths.
func (h *Harness) runIdle(ctx context.Context) []IdleResult {
	var rows []IdleResult
	for _, p := range h.cfg.ToolPaths {
		for _, id := range operfPathIDs {
			if p.ID == id {
				rows = append(rows, h.runIdlePath(ctx, p)...)
			}
		}
	}
	return rows
}

// runIdlePath sets up p, starts an oping server and reads the idle cost
// without a flow, then with one idle flow.
func (h *Harness) runIdlePath(ctx context.Context, p ToolPath) []IdleResult {
	clientArgs := []string{"-n", serverName, "-c", "1", "-i", strconv.Itoa(int(idleInterval / time.Millisecond))}
	rows := []IdleResult{
		{Path: p.ID, Label: p.Label, State: IdleNoFlow, Command: "oping -l"},
		{Path: p.ID, Label: p.Label, State: IdleOneFlow, Command: "oping -l; " + commandLine("oping", clientArgs)},
	}
	hs, fail := startPath(ctx, h, "idle", p, rows)
	if hs == nil {
		return rows
	}
	defer hs.close()
	srv, err := h.startToolServer(ctx, hs, "oping", "Ouroboros ping server started.", "-Q")
	if err != nil {
		return fail(fmt.Errorf("oping server: %w%s", err, hs.logs()))
	}
	defer h.stopToolServer(hs, srv)
	procs := []IdleProc{{Name: "oping -l", PID: srv.c.pid()}}
	for _, pid := range hs.pids() {
		procs = append(procs, IdleProc{Name: procName(pid), PID: pid})
	}

	if err := sleepCtx(ctx, idleSettle); err != nil {
		return fail(err)
	}
	if err := h.idleMeasure(ctx, &rows[0], procs); err != nil {
		return fail(err)
	}
	h.logIdle(&rows[0])

	path, err := findCommand(h.self, "oping")
	if err != nil {
		return fail(err)
	}
	cmd, err := nsCommand(hs.client.netns, path, clientArgs...)
	if err != nil {
		return fail(err)
	}
	cmd.Env = hs.client.env
	cl, err := h.procs.start("oping client", cmd, true)
	if err != nil {
		return fail(err)
	}
	defer h.procs.stop(cl)
	// The client prints its header once the flow is allocated.
	if _, err := cl.waitOutput("Pinging ", readyWait); err != nil {
		return fail(fmt.Errorf("idle flow: %w%s", err, hs.logs()))
	}
	if err := sleepCtx(ctx, idleSettle); err != nil {
		return fail(err)
	}
	procs = append(procs[:1:1], append([]IdleProc{{Name: "oping", PID: cl.pid()}}, procs[1:]...)...)
	if err := h.idleMeasure(ctx, &rows[1], procs); err != nil {
		return fail(err)
	}
	if n := strings.Count(cl.out.String(), " bytes from "); n != 0 {
		return fail(fmt.Errorf("idle flow: %d replies during the window, want none", n))
	}
	h.logIdle(&rows[1])
	return rows
}

// idleMeasure reads the CPU time of procs over idleWindow into r.
func (h *Harness) idleMeasure(ctx context.Context, r *IdleResult, procs []IdleProc) error {
	before := make([]ProcTimes, len(procs))
	for i, p := range procs {
		t, err := ReadProcTimes(p.PID)
		if err != nil {
			return fmt.Errorf("%s (pid %d) is gone: %w", p.Name, p.PID, err)
		}
		before[i] = t
	}
	start := time.Now()
	if err := sleepCtx(ctx, h.idleWindow()); err != nil {
		return err
	}
	r.WindowNs = int64(time.Since(start))
	r.Procs = make([]IdleProc, len(procs))
	for i, p := range procs {
		t, err := ReadProcTimes(p.PID)
		if err != nil {
			return fmt.Errorf("%s (pid %d) is gone: %w", p.Name, p.PID, err)
		}
		ticks := t.UTime + t.STime - before[i].UTime - before[i].STime
		p.CPUNs = int64(TicksToDuration(ticks, ClockTick()))
		r.Procs[i] = p
	}
	return nil
}

func (h *Harness) logIdle(r *IdleResult) {
	var parts []string
	for _, p := range r.Procs {
		parts = append(parts, fmt.Sprintf("%s %.1f", p.Name, r.MsPerSec(p)))
	}
	h.logf("idle, %s, %s: CPU ms/s: %s", r.Label, r.State, strings.Join(parts, ", "))
}

// procName is the command name of pid (/proc/<pid>/comm), or "pid <pid>".
func procName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "pid " + strconv.Itoa(pid)
	}
	return strings.TrimSpace(string(b))
}

// sleepCtx sleeps for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
