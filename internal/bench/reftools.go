package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The reference rows run the same tool commands with the reference
// implementation's tools, irmd and IPCPs, installed in Config.Reference
// (/opt/o7s-ref, with its cnode.sh), in the same run: one isolated reference
// node per path (cnode.sh start: a network and a mount namespace of its
// own), its irmd of the path's variant (direct: flows between processes of
// the node bypass the IPCPs; nodirect: through the local IPCP), a local IPCP
// with serverName registered in its layer, the tool server bound to
// serverName, the client run inside the node. Raw only: the reference's FRCT
// flows are known to stall. Their CPU time is not measured.

// DefaultReference is where the reference implementation is installed.
const DefaultReference = "/opt/o7s-ref"

// ReferenceSkip says why the reference rows cannot run from dir ("" when
// they can): they need root and the installation's cnode.sh.
func ReferenceSkip(dir string) string {
	if os.Geteuid() != 0 {
		return "needs root for the reference's isolated nodes"
	}
	if st, err := os.Stat(filepath.Join(dir, "cnode.sh")); err != nil || st.Mode()&0o111 == 0 {
		return "no reference installation with cnode.sh in " + dir
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "the reference needs /dev/fuse"
	}
	return ""
}

// refNode is a running reference node.
type refNode struct {
	h      *Harness
	cnode  string   // cnode.sh
	name   string   // the node's name (and network namespace's)
	env    []string // cnode.sh's environment: its state directory
	state  string   // the node's state directory (logs, pid files)
	remove func()   // stops the node, once
}

// cmd returns a cnode.sh command.
func (n *refNode) cmd(args ...string) *exec.Cmd {
	c := exec.Command(n.cnode, args...)
	c.Env = n.env
	return c
}

// run runs a cnode.sh command to its end, at most limit.
func (n *refNode) run(limit time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := exec.CommandContext(ctx, n.cnode, args...)
	c.Env = n.env
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("cnode.sh %s: %v: %s", strings.Join(args, " "), err, cellText(string(out), 300))
	}
	return string(out), nil
}

// startRefNode starts a reference node of variant with a local IPCP
// bootstrapped and serverName registered in its layer.
func (h *Harness) startRefNode(variant string) (*refNode, error) {
	n, err := h.launchRefNode(variant)
	if err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"irm", "ipcp", "bootstrap", "type", "local", "name", ipcpName, "layer", layerName},
		{"irm", "name", "create", serverName},
		{"irm", "name", "register", serverName, "layer", layerName},
	} {
		if err := n.exec(readyWait, args...); err != nil {
			return nil, n.fail(err)
		}
	}
	return n, nil
}

// launchRefNode starts a reference node of variant: its namespaces and its
// irmd, nothing else.
func (h *Harness) launchRefNode(variant string) (*refNode, error) {
	state, err := h.procs.tempDir("obench-ref-")
	if err != nil {
		return nil, err
	}
	n := &refNode{h: h, cnode: filepath.Join(h.cfg.Reference, "cnode.sh"),
		name:  fmt.Sprintf("o7sref%dx%d", os.Getpid(), h.netSeq.Add(1)),
		state: state}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "O7S_REF_STATE=") {
			n.env = append(n.env, e)
		}
	}
	n.env = append(n.env, "O7S_REF_STATE="+state)
	n.state = filepath.Join(state, n.name)
	// Registered before the start: a start that fails half-way leaves a
	// node to stop.
	n.remove, err = h.procs.onCleanup(func() {
		if out, err := n.run(refStopWait, "stop", n.name); err != nil {
			h.logf("reference node %s: %v%s", n.name, err, out)
		}
	})
	if err != nil {
		return nil, err
	}
	if _, err := n.run(time.Minute, "start", n.name, variant); err != nil {
		return nil, n.fail(err)
	}
	return n, nil
}

// exec runs a command inside the node to its end, at most limit.
func (n *refNode) exec(limit time.Duration, args ...string) error {
	_, err := n.run(limit, append([]string{"exec", n.name}, args...)...)
	return err
}

// fail stops the node and returns err with the node's irmd log.
func (n *refNode) fail(err error) error {
	log := n.irmdLog()
	n.remove()
	return fmt.Errorf("%w\nreference irmd log (%s), its end:\n%s", err, n.name, logTail(log, 2000))
}

// irmdLog returns the node's irmd log.
func (n *refNode) irmdLog() string {
	b, _ := os.ReadFile(filepath.Join(n.state, "irmd.log"))
	return string(b)
}

// log returns the output of the background command tag of the node.
func (n *refNode) log(tag string) string {
	b, _ := os.ReadFile(filepath.Join(n.state, "bg."+tag+".log"))
	return string(b)
}

// startServer starts "tool -l args..." in the background of the node as tag,
// waits until its output has ready and binds it to serverName.
func (n *refNode) startServer(tag, ready string, tool string, args ...string) error {
	out, err := n.run(readyWait, append([]string{"bg", n.name, tag, tool, "-l"}, args...)...)
	if err != nil {
		return err
	}
	pid := strings.TrimSpace(out)
	if _, err := strconv.Atoi(pid); err != nil {
		return fmt.Errorf("cnode.sh bg %s: no pid in %q", tool, out)
	}
	deadline := time.Now().Add(readyWait)
	for !strings.Contains(n.log(tag), ready) {
		if time.Now().After(deadline) {
			return fmt.Errorf("reference %s server printed no %q in %v: %s", tool, ready, readyWait,
				cellText(n.log(tag), 300))
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = n.run(readyWait, "exec", n.name, "irm", "bind", "process", pid, "name", serverName)
	return err
}

// stopServer stops the background command tag.
func (n *refNode) stopServer(tag string) {
	if out, err := n.run(time.Minute, "kill", n.name, tag); err != nil {
		n.h.logf("reference node %s: %v%s", n.name, err, out)
	}
}

// refToolArgs returns the reference client's arguments for m, raw: the
// reference's ocbr has no -q (its flows are raw).
func (h *Harness) refToolArgs(m ToolMeasure) (tool string, args []string, planned time.Duration) {
	tool, args, planned = h.toolArgs(m, "raw")
	if tool == "ocbr" {
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-q" {
				args = append(args[:i:i], args[i+2:]...)
				break
			}
		}
	}
	return tool, args, planned
}

// runRefPath runs the tool plan with the reference's tools on the reference
// nodes of p (openRefPath), raw only. A failure fails the reference's rows
// only.
func (h *Harness) runRefPath(ctx context.Context, p ToolPath) []ToolResult {
	rows := h.toolRows(p, ImplReference, []string{"raw"})
	if why := ReferenceSkip(h.cfg.Reference); why != "" {
		for i := range rows {
			rows[i].Skipped = why
		}
		return rows
	}
	fail := func(err error) []ToolResult {
		for i := range rows {
			if rows[i].Error == "" && rows[i].Sent == 0 {
				rows[i].Error = err.Error()
			}
		}
		h.logf("tools, reference %s: %v", p.Label, err)
		return rows
	}
	h.logf("tools, reference %s: starting (variant %s)", p.Label, p.RefVariant)
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	client, server, stop, err := h.openRefPath(p)
	if err != nil {
		return fail(fmt.Errorf("setup: %w", err))
	}
	defer stop()
	for _, tool := range []string{"oping", "ocbr"} {
		start := func() error {
			if tool == "oping" {
				return server.startServer("oping", "Ouroboros ping server started.", "oping", "-Q")
			}
			return server.startServer("ocbr", "Server started", "ocbr", "-i", "1", "-t", "1")
		}
		if err := start(); err != nil {
			return fail(fmt.Errorf("%s server: %w", tool, err))
		}
		// restart replaces the server before a retry: the reference's
		// servers exit when an allocation fails ("Failed to accept
		// flow"), so a client tried again would find no server.
		restart := func() error {
			server.stopServer(tool)
			time.Sleep(refUniPause)
			return start()
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
			if err := h.runRefTool(ctx, client, server, r, restart); err != nil {
				refRowFailed(r, err)
				h.logf("tools, %s: %s: %v", r.Label, r.Command, err)
				continue
			}
			h.logf("tools, %s: %s: %s", r.Label, r.Command, toolSummary(r))
		}
		server.stopServer(tool)
	}
	if log, _ := os.ReadFile(filepath.Join(server.state, "irmd.log")); p.RefVariant == "direct" &&
		!strings.Contains(string(log), "(direct)") {
		return fail(fmt.Errorf("the reference's flows did not go direct"))
	}
	return rows
}

// refAllocError is the failure of a reference client whose flow
// allocation failed refTries times, against a new server each time: a
// limitation of the reference (after a raw flood over its unicast layer,
// the next allocations fail or hang), not a failure of the measurement.
type refAllocError struct{ err error }

func (e refAllocError) Error() string {
	return fmt.Sprintf("the reference's flow allocation failed %d times, its server restarted before each retry: %v",
		refTries, e.err)
}

func (e refAllocError) Unwrap() error { return e.err }

// refRowFailed records why reference row r has no figures: a limitation of
// the reference (refAllocError) as the row's note, shown in the table
// instead of a figure, anything else as its error.
func refRowFailed(r *ToolResult, err error) {
	if errors.As(err, new(refAllocError)) {
		r.Skipped = fmt.Sprintf("not measured, a limitation of the reference: its flow allocation failed %d times "+
			"(a new server each time), as it does after a raw flood over its unicast layer", refTries)
		return
	}
	if e := new(refOperfNoData); errors.As(err, e) {
		r.Skipped = "not measured, a limitation of the reference: " + e.Error()
		return
	}
	r.Error = err.Error()
}

// openRefPath starts the reference nodes of p: those of its refOpen, else
// one node of its variant with a local IPCP (startRefNode). stop stops them.
func (h *Harness) openRefPath(p ToolPath) (client, server *refNode, stop func(), err error) {
	if p.refOpen != nil {
		return p.refOpen(h)
	}
	n, err := h.startRefNode(p.RefVariant)
	if err != nil {
		return nil, nil, nil, err
	}
	return n, n, n.remove, nil
}

// runRefTool runs the client command of r inside the reference node client
// against the tool server of node server (the same node on a path of one)
// and fills in r's figures (not its CPU time). A client whose allocation
// failed is tried again, up to refTries in all, after restart has
// replaced the server (which exits when an allocation fails).
func (h *Harness) runRefTool(ctx context.Context, client, server *refNode, r *ToolResult, restart func() error) error {
	tool, args, planned := h.refToolArgs(ToolMeasure{r.Test, r.Size})
	out, mark, err := h.runRefClient(ctx, client, server, r, tool, args, planned, restart)
	if err != nil {
		return err
	}
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
	case OcbrFlood:
		// The reference's server ends a test by its 1 s timeout.
		t, err := waitOcbrTest(func() string { return server.log(tool) }, nil, mark, 5*time.Second)
		if err != nil {
			return err
		}
		r.Sent = ocbrSent(out)
		r.Received = t.Packets()
		r.PacketsPerSec = t.Rate()
		for _, f := range t.Intervals() {
			r.ElapsedNs += int64(f.Elapsed)
		}
	}
	return nil
}

// runRefClient runs "tool args..." inside the reference node client, planned
// to take planned, and returns its output and the length of the log of
// server's background command tool before the run that succeeded. A client
// whose allocation failed is tried again, up to refTries in all, after
// restart has replaced the server (which exits when an allocation fails).
func (h *Harness) runRefClient(ctx context.Context, client, server *refNode, r *ToolResult, tool string, args []string,
	planned time.Duration, restart func() error) (out string, mark int, err error) {
	limit := planned + toolSlack
	// timeout inside the node: a blocked reference oping ignores SIGTERM.
	secs := strconv.Itoa(int(limit.Seconds()))
	for try := 1; ; try++ {
		cmd := client.cmd(append([]string{"exec", client.name, "timeout", "-k", "5", secs, tool}, args...)...)
		mark = len(server.log(tool))
		out, _, err = h.runClient(ctx, "reference "+tool+" client", cmd, limit+10*time.Second)
		if err == nil {
			return out, mark, nil
		}
		// Nothing was measured yet: the allocation failed.
		if !strings.Contains(out, "Failed to allocate flow") {
			return out, mark, err
		}
		if try == refTries {
			return out, mark, refAllocError{err}
		}
		h.logf("tools, %s: %s: the reference's allocation failed, try %d of %d; restarting its server", r.Label, r.Command, try, refTries)
		if err := restart(); err != nil {
			return out, mark, fmt.Errorf("restarting the reference's %s server after a failed allocation: %w", tool, err)
		}
	}
}
