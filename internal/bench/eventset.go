package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The EventSet rows: a server that waits on one flow.EventSet for every
// flow it serves (obench peer evserver, eventsetpeer.go), next to a plain
// blocking reader (the ocbr server) on the same path, each flooded with raw
// 64-byte packets:
//
//   - the ocbr server, one flow from ocbr -f;
//   - the EventSet server, one flow from ocbr -f (×blocking: ÷ the first);
//   - the EventSet server, one flow from the driver (obench peer evdrive,
//     one process);
//   - the EventSet server, EventSetFlows flows from one driver process
//     (×1 flow: ÷ the one before).

// EventSetFlows is the number of busy flows of the many-flows row.
const EventSetFlows = 100

// eventSetSize is the packet size of the EventSet rows, in bytes.
const eventSetSize = 64

// Servers and clients of the EventSet rows (EventSetResult.Server, .Client).
const (
	EvServerBlocking = "blocking" // ocbr -l: one goroutine blocked in Read per flow
	EvServerEventSet = "eventset" // obench peer evserver: one EventSet
	EvClientOcbr     = "ocbr"     // an ocbr -f process
	EvClientDriver   = "evdrive"  // obench peer evdrive, one process
)

// EventSetResult is one EventSet row.
type EventSetResult struct {
	Path    string `json:"path"` // ToolPath.ID
	Label   string `json:"label"`
	Server  string `json:"server"` // EvServerBlocking or EvServerEventSet
	Client  string `json:"client"` // EvClientOcbr or EvClientDriver
	Flows   int    `json:"flows"`
	Size    int    `json:"size_bytes"`
	Command string `json:"command"` // the client's

	Sent      int64 `json:"sent"`     // packets the client sent
	Received  int64 `json:"received"` // packets the server counted
	ElapsedNs int64 `json:"elapsed_ns"`
	// PacketsPerSec is the aggregate of every flow at the server: Received
	// over the server's time (ocbr: its report intervals; the EventSet
	// server: first to last packet).
	PacketsPerSec float64 `json:"packets_per_s,omitempty"`
	// CPUNs is the user+system time of the client, the server, and every
	// irmd and IPCP of the path while the client ran.
	CPUNs          int64   `json:"cpu_ns,omitempty"`
	CPUPerPacketNs float64 `json:"cpu_per_packet_ns,omitempty"`
	// Ratio is PacketsPerSec ÷ that of the row it is compared with: the
	// blocking reader's for the EventSet server with one ocbr flow, the
	// driver's one flow for its many flows; 0 for none.
	Ratio float64 `json:"ratio,omitempty"`

	Error   string `json:"error,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// eventSetRows returns the empty rows of path p.
func (h *Harness) eventSetRows(p ToolPath) []EventSetResult {
	d := h.cfg.OcbrSeconds
	ocbr := commandLine("ocbr", []string{"-f", "-s", strconv.Itoa(eventSetSize), "-d", strconv.Itoa(d), "-q", "raw"})
	drive := func(n int) string {
		return fmt.Sprintf("obench peer evdrive: %d raw flow(s), %d B, %d s", n, eventSetSize, d)
	}
	row := func(server, client string, flows int, cmd string) EventSetResult {
		return EventSetResult{Path: p.ID, Label: p.Label, Server: server, Client: client, Flows: flows,
			Size: eventSetSize, Command: cmd}
	}
	return []EventSetResult{
		row(EvServerBlocking, EvClientOcbr, 1, ocbr),
		row(EvServerEventSet, EvClientOcbr, 1, ocbr),
		row(EvServerEventSet, EvClientDriver, 1, drive(1)),
		row(EvServerEventSet, EvClientDriver, EventSetFlows, drive(EventSetFlows)),
	}
}

// runEventSet runs the EventSet rows on the direct and local IPCP paths.
func (h *Harness) runEventSet(ctx context.Context) []EventSetResult {
	var rows []EventSetResult
	for _, p := range h.cfg.ToolPaths {
		for _, id := range operfPathIDs {
			if p.ID == id {
				rows = append(rows, h.runEventSetPath(ctx, p)...)
			}
		}
	}
	ComputeEventSetRatios(rows)
	return rows
}

// ComputeEventSetRatios sets the Ratio of every EventSet row of the
// EventSet server: with one ocbr flow ÷ the blocking reader's row of the
// same path, with many driver flows ÷ the driver's one flow.
func ComputeEventSetRatios(rows []EventSetResult) {
	find := func(path, server, client string, flows int) *EventSetResult {
		for i := range rows {
			r := &rows[i]
			if r.Path == path && r.Server == server && r.Client == client && r.Flows == flows &&
				r.Error == "" && r.Skipped == "" {
				return r
			}
		}
		return nil
	}
	for i := range rows {
		r := &rows[i]
		r.Ratio = 0
		if r.Server != EvServerEventSet || r.Error != "" || r.Skipped != "" {
			continue
		}
		var base *EventSetResult
		switch {
		case r.Client == EvClientOcbr && r.Flows == 1:
			base = find(r.Path, EvServerBlocking, EvClientOcbr, 1)
		case r.Client == EvClientDriver && r.Flows > 1:
			base = find(r.Path, EvServerEventSet, EvClientDriver, 1)
		}
		if base != nil && base.PacketsPerSec > 0 {
			r.Ratio = r.PacketsPerSec / base.PacketsPerSec
		}
	}
}

// runEventSetPath sets up p once and runs its EventSet rows.
func (h *Harness) runEventSetPath(ctx context.Context, p ToolPath) []EventSetResult {
	rows := h.eventSetRows(p)
	hs, fail := startPath(ctx, h, "eventset", p, rows)
	if hs == nil {
		return rows
	}
	defer hs.close()

	// The blocking reader: the ocbr server, as in the tools tables.
	srv, err := h.startToolServer(ctx, hs, "ocbr", "Server started", "-i", "1", "-t", "1")
	if err != nil {
		return fail(fmt.Errorf("ocbr server: %w%s", err, hs.logs()))
	}
	tr := ToolResult{Test: OcbrFlood, Size: eventSetSize, QoS: "raw"}
	err = h.runTool(ctx, hs, srv, &tr)
	h.stopToolServer(hs, srv)
	r := &rows[0]
	if err != nil {
		r.Error = err.Error()
	} else {
		r.Sent, r.Received, r.ElapsedNs = tr.Sent, tr.Received, tr.ElapsedNs
		r.PacketsPerSec, r.CPUNs, r.CPUPerPacketNs = tr.PacketsPerSec, tr.CPUNs, tr.CPUPerPacketNs
	}
	h.logEventSet(r)

	// The EventSet server, bound to serverName once the ocbr server is gone:
	// a fresh one for every row, so that a flow a failed row left behind
	// cannot count in the next.
	for i := 1; i < len(rows); i++ {
		r := &rows[i]
		if err := ctx.Err(); err != nil {
			r.Error = err.Error()
			continue
		}
		if err := h.runEventSetRow(ctx, hs, r); err != nil {
			r.Error = err.Error()
		}
		h.logEventSet(r)
	}
	return rows
}

// runEventSetRow starts an EventSet server on hs's server host, runs the
// client of r against it and stops it.
func (h *Harness) runEventSetRow(ctx context.Context, hs *hostSet, r *EventSetResult) error {
	cmd, err := nsCommand(hs.server.netns, h.self, PeerCommand, roleEvServer, serverName)
	if err != nil {
		return err
	}
	cmd.Env = hs.server.env
	ev, err := h.procs.start("eventset server", cmd, false)
	if err != nil {
		return err
	}
	defer h.procs.stop(ev)
	if _, err := ev.waitOutput("ready", readyWait); err != nil {
		return fmt.Errorf("eventset server: %w%s", err, hs.logs())
	}
	return h.runEventSetClient(ctx, hs, ev, r)
}

func (h *Harness) logEventSet(r *EventSetResult) {
	if r.Error != "" {
		h.logf("eventset, %s, %s server, %d flow(s) from %s: %s", r.Label, r.Server, r.Flows, r.Client, r.Error)
		return
	}
	h.logf("eventset, %s, %s server, %d flow(s) from %s: %s packets/s", r.Label, r.Server, r.Flows, r.Client,
		Thousands(r.PacketsPerSec, 0))
}

// runEventSetClient runs the client of r against the EventSet server ev and
// fills in r's figures from the test the server reports.
func (h *Harness) runEventSetClient(ctx context.Context, hs *hostSet, ev *child, r *EventSetResult) error {
	d := time.Duration(h.cfg.OcbrSeconds) * time.Second
	var path string
	var args []string
	var err error
	limit := d + toolSlack
	if r.Client == EvClientOcbr {
		if path, err = findCommand(h.self, "ocbr"); err != nil {
			return err
		}
		args = []string{"-n", serverName, "-f", "-s", strconv.Itoa(r.Size), "-d", strconv.Itoa(h.cfg.OcbrSeconds),
			"-q", "raw"}
	} else {
		path = h.self
		args = []string{PeerCommand, roleEvDrive, serverName, strconv.Itoa(r.Flows), strconv.Itoa(r.Size), d.String()}
		limit += allocTimeout
	}
	cmd, err := nsCommand(hs.client.netns, path, args...)
	if err != nil {
		return err
	}
	cmd.Env = hs.client.env
	pids := append(hs.pids(), ev.pid())
	before, err := CPUTicks(pids)
	if err != nil {
		return fmt.Errorf("a process of the path is gone (%w)%s", err, hs.logs())
	}
	mark := len(ev.out.String())
	out, cpu, err := h.runClient(ctx, r.Client+" client", cmd, limit)
	if err != nil {
		return err
	}
	if r.Client == EvClientOcbr {
		r.Sent = ocbrSent(out)
	} else if r.Sent, err = parseEvDrive(out); err != nil {
		return err
	}
	t, err := waitEvServer(ev, mark, 5*time.Second)
	if err != nil {
		return err
	}
	if t.Flows != int64(r.Flows) || t.Packets == 0 || t.Elapsed <= 0 {
		return fmt.Errorf("eventset server: %d packets on %d flows in %v, want packets on %d", t.Packets, t.Flows,
			t.Elapsed, r.Flows)
	}
	after, err := CPUTicks(pids)
	if err != nil {
		return fmt.Errorf("a process of the path is gone after the command (%w)%s", err, hs.logs())
	}
	r.Received, r.ElapsedNs = t.Packets, int64(t.Elapsed)
	r.PacketsPerSec = Rate(t.Packets, t.Elapsed)
	r.CPUNs = int64(TicksToDuration(after-before, ClockTick()) + cpu)
	r.CPUPerPacketNs = float64(r.CPUNs) / float64(r.Received)
	return nil
}

// waitEvServer waits until the EventSet server ev reports a test in its
// output after byte mark.
func waitEvServer(ev *child, mark int, limit time.Duration) (evServerTest, error) {
	deadline := time.Now().Add(limit)
	for {
		out := ev.out.String()
		if mark > len(out) {
			mark = len(out)
		}
		if t, ok := parseEvServer(out[mark:]); ok {
			return t, nil
		}
		select {
		case <-ev.done:
			return evServerTest{}, fmt.Errorf("eventset server exited: %s", cellText(out[mark:], 300))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return evServerTest{}, fmt.Errorf("eventset server reported no test in %v: %s", limit,
				cellText(out[mark:], 300))
		}
	}
}
