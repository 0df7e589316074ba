package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/fdlimit"
	"github.com/ouroboros-go/ouroboros/irm"
)

// The scale measurements: many concurrent flows between a client process
// and a server process (obench peer many and obench peer hold, both of one
// private irmd), direct and through the local IPCP, and the time of one
// allocation through the local IPCP with few and with many names in the
// irmd.

// ScaleResult is the outcome of holding Flows concurrent flows on one path.
type ScaleResult struct {
	Path  string `json:"path"` // DirectID or LocalIPCPID
	Label string `json:"label"`
	Flows int    `json:"flows"`

	// FlowsPerSec is Flows ÷ the time their allocation took
	// (allocWorkers allocations in flight at once).
	FlowsPerSec float64 `json:"flows_per_s,omitempty"`
	// The growth of the resident set (VmRSS) of each process from before
	// the first allocation to when all Flows are held, ÷ Flows, in kB.
	ClientKBPerFlow float64 `json:"client_kb_per_flow,omitempty"`
	ServerKBPerFlow float64 `json:"server_kb_per_flow,omitempty"`
	IPCPKBPerFlow   float64 `json:"ipcp_kb_per_flow,omitempty"`
	// The local IPCP's resident set, in kB: before the first allocation,
	// with every flow held, and once it settled after they all closed.
	IPCPIdleKB   int64 `json:"ipcp_idle_kb,omitempty"`
	IPCPHeldKB   int64 `json:"ipcp_held_kb,omitempty"`
	IPCPClosedKB int64 `json:"ipcp_closed_kb,omitempty"`

	Error   string `json:"error,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// NamesResult is the time of one allocation through the local IPCP with
// Names names in the irmd.
type NamesResult struct {
	Names    int     `json:"names"`
	Allocs   int     `json:"allocs"` // allocations timed, one after the other
	P50Ns    int64   `json:"p50_ns,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`     // P50Ns ÷ that of the first row
	CreateNs int64   `json:"create_ns,omitempty"` // the time creating the names added took
	Error    string  `json:"error,omitempty"`
}

// scaleName is the name the server of the scale measurements is bound to.
const scaleName = "obench.many"

// scaleSession is a private irmd with a server (hold) and a client (many).
type scaleSession struct {
	client, server *child
	ipcp           int // the local IPCP's pid, or 0
	host           *host
	teardown       func()
}

// command sends line to the client and returns its answer after "ok ".
func (s *scaleSession) command(line string, timeout time.Duration) (string, error) {
	before := answers(s.client.out.String())
	if _, err := fmt.Fprintln(s.client.stdin, line); err != nil {
		return "", err
	}
	deadline := time.Now().Add(timeout)
	for {
		if a := answers(s.client.out.String()); len(a) > len(before) {
			got := a[len(before)]
			if rest, ok := strings.CutPrefix(got, "ok"); ok {
				return strings.TrimSpace(rest), nil
			}
			return "", fmt.Errorf("%s: %s", line, got)
		}
		select {
		case <-s.client.done:
			return "", fmt.Errorf("%s: the client exited:\n%s", line, s.client.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s: no answer in %v", line, timeout)
		}
	}
}

// answers returns the "ok" and "err" lines of out.
func answers(out string) []string {
	var a []string
	for _, l := range strings.Split(out, "\n") {
		if l == "ok" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "err ") {
			a = append(a, l)
		}
	}
	return a
}

// openScale starts a private irmd (with --no-direct and a local IPCP for
// local), the server and the client.
func (h *Harness) openScale(ctx context.Context, local bool) (s *scaleSession, err error) {
	irmdPath, err := findCommand(h.self, "irmd")
	if err != nil {
		return nil, err
	}
	inst := instance{}
	if local {
		if _, err := findCommand(irmdPath, "ipcpd-local"); err != nil {
			return nil, err
		}
		inst = instance{noDirect: true, layer: func(ctx context.Context, _, b *host) error {
			pid, err := b.createIPCP(ctx, ipcpName, irm.Local)
			if err != nil {
				return err
			}
			if err := b.bootstrap(ctx, pid, irm.DefaultConfig(irm.Local, layerName)); err != nil {
				return err
			}
			c := b.client()
			if err := c.CreateName(ctx, irm.NameInfo{Name: scaleName}); err != nil {
				return err
			}
			return c.RegName(ctx, scaleName, pid)
		}}
	}
	var stops []func()
	push := func(f func()) { stops = append([]func(){f}, stops...) }
	s = &scaleSession{teardown: func() {
		for _, f := range stops {
			f()
		}
	}}
	defer func() {
		if err != nil {
			s.teardown()
		}
	}()
	if s.host, err = h.startHost("irmd", irmdPath, "", inst, push); err != nil {
		return nil, err
	}
	if local {
		ctx, cancel := context.WithTimeout(ctx, 2*readyWait)
		err = inst.layer(ctx, s.host, s.host)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w\nirmd log:\n%s", err, s.host.irmd.out.String())
		}
		s.ipcp = s.host.pids[len(s.host.pids)-1]
	}
	for _, role := range []string{roleHold, roleMany} {
		cmd, err := nsCommand("", h.self, PeerCommand, role, scaleName)
		if err != nil {
			return nil, err
		}
		cmd.Env = s.host.env
		c, err := h.procs.start("scale "+role, cmd, false)
		if err != nil {
			return nil, err
		}
		push(func() { h.procs.stop(c) })
		if _, err := c.waitOutput("ready", readyWait); err != nil {
			return nil, err
		}
		if role == roleHold {
			s.server = c
		} else {
			s.client = c
		}
	}
	return s, nil
}

// fdsNeeded is how many descriptors holding flows flows takes in the
// process that needs most: two per flow in the local IPCP, one otherwise;
// plus a margin for the rest.
func fdsNeeded(flows int, local bool) uint64 {
	n := uint64(flows)
	if local {
		n *= 2
	}
	return n + 256
}

// fdLimitSkip says why a path cannot hold flows on this machine (the
// processes inherit this one's limit of open files), or "".
func fdLimitSkip(flows int, local bool) string {
	fdlimit.Raise()
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return ""
	}
	if need := fdsNeeded(flows, local); l.Max < need {
		who := "the client and the server"
		if local {
			who = "the local IPCP (two per flow)"
		}
		return fmt.Sprintf("needs %d open files in %s; the hard limit here is %d "+
			"and cannot be raised (no CAP_SYS_RESOURCE)", need, who, l.Max)
	}
	return ""
}

// mostFlows is the most flows, in hundreds, that the limit of open files
// lets a path hold (fdsNeeded), or 0 if it cannot be read.
func mostFlows(local bool) int {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil || l.Max < fdsNeeded(100, local) {
		return 0
	}
	n := int(l.Max - fdsNeeded(0, local))
	if local {
		n /= 2
	}
	return n / 100 * 100
}

// runScale holds each count of cfg.ScaleFlows flows on the direct path and
// through the local IPCP, each in a private irmd of its own.
func (h *Harness) runScale(ctx context.Context) []ScaleResult {
	var out []ScaleResult
	for _, local := range []bool{false, true} {
		for _, n := range h.cfg.ScaleFlows {
			r := ScaleResult{Path: DirectID, Label: "direct", Flows: n}
			if local {
				r.Path, r.Label = LocalIPCPID, "local IPCP"
			}
			if why := fdLimitSkip(n, local); why != "" {
				r.Skipped = why
				h.logf("%s, %d flows: skipped: %s", r.Label, n, why)
				// The most this machine allows instead, if more than
				// the counts before.
				if most := mostFlows(local); most > 0 && (len(out) == 0 || out[len(out)-1].Flows < most) {
					out = append(out, r)
					r = ScaleResult{Path: r.Path, Label: r.Label + " (the most here)", Flows: most}
				} else {
					out = append(out, r)
					continue
				}
			}
			if r.Flows != n || r.Skipped == "" {
				if err := h.holdFlows(ctx, local, &r); err != nil {
					r.Error = err.Error()
					h.logf("%s, %d flows: %v", r.Label, r.Flows, err)
				} else {
					h.logf("%s, %d flows: %.0f flows/s, kB/flow client %.1f server %.1f IPCP %.1f, IPCP after close %d kB",
						r.Label, r.Flows, r.FlowsPerSec, r.ClientKBPerFlow, r.ServerKBPerFlow, r.IPCPKBPerFlow, r.IPCPClosedKB)
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// holdFlows allocates r.Flows flows, measures, closes them and measures the
// local IPCP again.
func (h *Harness) holdFlows(ctx context.Context, local bool, r *ScaleResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := h.openScale(ctx, local)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer s.teardown()
	pids := []int{s.client.pid(), s.server.pid()}
	if local {
		pids = append(pids, s.ipcp)
	}
	before, err := rssAll(pids)
	if err != nil {
		return err
	}
	ans, err := s.command("alloc "+strconv.Itoa(r.Flows), time.Duration(r.Flows)*allocTimeout/allocWorkers+allocTimeout)
	if err != nil {
		return err
	}
	ns, err := strconv.ParseInt(ans, 10, 64)
	if err != nil || ns <= 0 {
		return fmt.Errorf("alloc: answer %q", ans)
	}
	r.FlowsPerSec = float64(r.Flows) / time.Duration(ns).Seconds()
	held, err := rssAll(pids)
	if err != nil {
		return err
	}
	per := func(i int) float64 { return float64(held[i]-before[i]) / float64(r.Flows) }
	r.ClientKBPerFlow, r.ServerKBPerFlow = per(0), per(1)
	if local {
		r.IPCPKBPerFlow = per(2)
		r.IPCPIdleKB, r.IPCPHeldKB = before[2], held[2]
	}
	if _, err := s.command("close", time.Minute); err != nil {
		return err
	}
	if local {
		r.IPCPClosedKB, err = settledRSS(s.ipcp, h.settleTime())
		if err != nil {
			return err
		}
	}
	return nil
}

// settleTime bounds how long the local IPCP's memory is watched after the
// flows closed.
func (h *Harness) settleTime() time.Duration {
	if h.cfg.Smoke {
		return 2 * time.Second
	}
	return 20 * time.Second
}

// settledRSS watches the resident set of pid for up to max and returns it
// once it has not fallen for a second (or at max).
func settledRSS(pid int, max time.Duration) (int64, error) {
	deadline := time.Now().Add(max)
	low, since := int64(-1), time.Now()
	for {
		kb, err := RSSKB(pid)
		if err != nil {
			return 0, err
		}
		if low < 0 || kb < low {
			low, since = kb, time.Now()
		}
		if time.Since(since) >= time.Second || time.Now().After(deadline) {
			return low, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runNames times allocations through the local IPCP with each count of
// cfg.Names names in one irmd (names are added between the counts).
func (h *Harness) runNames(ctx context.Context) []NamesResult {
	var out []NamesResult
	fail := func(from int, err error) []NamesResult {
		for _, n := range h.cfg.Names[from:] {
			out = append(out, NamesResult{Names: n, Allocs: h.cfg.NameAllocs, Error: err.Error()})
		}
		h.logf("names: %v", err)
		return out
	}
	s, err := h.openScale(ctx, true)
	if err != nil {
		return fail(0, fmt.Errorf("setup: %w", err))
	}
	defer s.teardown()
	have := 1 // scaleName
	for i, n := range h.cfg.Names {
		start := time.Now()
		if err := createNames(ctx, s.host.client(), have, n); err != nil {
			return fail(i, err)
		}
		created := time.Since(start)
		have = max(have, n)
		ans, err := s.command("times "+strconv.Itoa(h.cfg.NameAllocs), time.Duration(h.cfg.NameAllocs)*allocTimeout)
		if err != nil {
			return fail(i, err)
		}
		p50, err := strconv.ParseInt(ans, 10, 64)
		if err != nil {
			return fail(i, fmt.Errorf("times: answer %q", ans))
		}
		r := NamesResult{Names: n, Allocs: h.cfg.NameAllocs, P50Ns: p50, CreateNs: int64(created)}
		if len(out) > 0 && out[0].P50Ns > 0 {
			r.Ratio = float64(p50) / float64(out[0].P50Ns)
		}
		h.logf("names: %d names: allocation p50 %v", n, time.Duration(p50))
		out = append(out, r)
	}
	return out
}

// createNames creates names obench.name.<i> for i in [from, to) in the irmd
// of c, from several connections at once.
func createNames(ctx context.Context, c *irm.Client, from, to int) error {
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < to; i += workers {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := c.CreateName(ctx, irm.NameInfo{Name: fmt.Sprintf("obench.name.%06d", i)})
				cancel()
				if err != nil {
					errs <- fmt.Errorf("create name %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// rssAll returns RSSKB of each pid.
func rssAll(pids []int) ([]int64, error) {
	out := make([]int64, len(pids))
	for i, pid := range pids {
		kb, err := RSSKB(pid)
		if err != nil {
			return nil, err
		}
		out[i] = kb
	}
	return out, nil
}

// RSSKB returns the resident set of process pid in kB (VmRSS in
// /proc/<pid>/status).
func RSSKB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
