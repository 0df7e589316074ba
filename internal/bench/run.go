// Package bench is the benchmark harness behind obench. First it runs the
// tools users run (oping -f, oping -i 5, ocbr -f: tools.go; operf: operf.go) between real
// processes over every path below, raw and reliable, parsing their output,
// next to the kernel doing the same job between two Go processes, and next
// to the reference implementation's tools where it is installed
// (reftools.go). Then it measures latency
// and throughput of Ouroboros flows (a direct local flow, a flow through the
// local IPCP, a flow between two hosts over a udp4 layer on loopback, a flow
// between two hosts over an eth-dix layer on a veth pair; each raw and
// reliable) next to the kernel doing the same job on the same machine (a
// Unix SOCK_SEQPACKET socketpair, UDP on 127.0.0.1), each between this
// process and a server process, with the CPU time every process involved
// spent per packet, and renders the results as JSON and Markdown.
//
// Every Ouroboros path runs in private irmds (one per host), each in a
// temporary run directory; nothing touches /var/run/ouroboros or /etc/hosts
// (the reference's nodes mount their own over them, in mount namespaces of
// their own).
// The eth-dix layer runs on a veth pair and a network namespace of its own
// (root only; skipped otherwise). Cleanup stops every process the harness
// started, removes every directory it made and deletes every veth pair and
// namespace it created.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/qos"
)

// Config is what a run measures.
type Config struct {
	Smoke           bool          // short runs for CI: figures are not meaningful
	Duration        time.Duration // of each pingpong, oneway and echo measurement
	LatencyCount    int           // pings per latency measurement
	LatencyInterval time.Duration // pause before each of those pings
	Warmup          int           // round trips on each path before its measurements
	Paths           []Path        // nil means DefaultPaths()
	ScaleOnly       bool          // measure no path, only ScaleFlows and Names
	// ScaleFlows are the numbers of concurrent flows held on the direct
	// path and through the local IPCP (scale.go); none for nil.
	ScaleFlows []int
	// Names are the numbers of names in the irmd at which NameAllocs
	// allocations through the local IPCP are timed; none for nil.
	Names      []int
	NameAllocs int
	// Tools runs the tools tables (tools.go) on ToolPaths (nil means
	// DefaultToolPaths()): oping -f with ToolFloodCount pings, oping -i 5
	// with ToolPacedCount, ocbr -f for OcbrSeconds.
	Tools          bool
	ToolPaths      []ToolPath
	ToolFloodCount int
	ToolPacedCount int
	OcbrSeconds    int
	// Secure runs the encrypted flows table (secure.go) on SecurePaths (nil
	// means SecureToolPaths()), ocbr -f for OcbrSeconds; SecureOnly runs
	// nothing else.
	Secure       bool
	SecurePaths  []ToolPath
	SecureOnly   bool
	SecureRounds int // runs of each row of the table, which keeps the median; 0 means 1
	// Reference is the directory of the reference implementation's
	// installation (with cnode.sh), whose tools run next to ours on the
	// paths with a RefVariant (reftools.go); "" for none. Not in smoke
	// runs.
	Reference string
	Log       io.Writer // progress lines; nil discards them
}

// DefaultConfig returns the configuration of a full run (a few minutes
// in all) or of a smoke run (a few seconds).
func DefaultConfig(smoke bool) Config {
	if smoke {
		return Config{Smoke: true, Duration: 100 * time.Millisecond, LatencyCount: 20,
			LatencyInterval: time.Millisecond, Warmup: 10,
			ScaleFlows: []int{100, 300}, Names: []int{10, 1000}, NameAllocs: 20,
			Tools: true, ToolFloodCount: 200, ToolPacedCount: 20, OcbrSeconds: 1, Secure: true, SecureRounds: 1}
	}
	return Config{Duration: 2 * time.Second, LatencyCount: 2000,
		LatencyInterval: time.Millisecond, Warmup: 1000,
		ScaleFlows: []int{1000, 10000}, Names: []int{10, 100000}, NameAllocs: 200,
		Tools: true, ToolFloodCount: 20000, ToolPacedCount: 300, OcbrSeconds: 3, Secure: true, SecureRounds: 3,
		Reference: installedReference()}
}

// Harness runs the measurements. Create it with New and call Cleanup when
// done, on every exit path.
type Harness struct {
	cfg   Config
	self  string // this executable, re-run as the peers
	procs procs
	test  uint32 // number of the last measurement started
	// netSeq numbers the veth pairs and namespaces of the harness.
	netSeq atomic.Uint32
}

// New returns a harness for cfg.
func New(cfg Config) (*Harness, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this executable: %w", err)
	}
	if cfg.Paths == nil {
		cfg.Paths = DefaultPaths()
	}
	if cfg.ToolPaths == nil {
		cfg.ToolPaths = DefaultToolPaths()
	}
	if cfg.SecurePaths == nil {
		cfg.SecurePaths = SecureToolPaths()
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	h := &Harness{cfg: cfg, self: self}
	h.procs.log = cfg.Log
	return h, nil
}

// Cleanup stops every process the harness started, removes every directory
// it made and deletes every veth pair and network namespace it created. It is safe to call concurrently with Run (from a signal
// handler) and more than once; a Run still going fails afterwards.
func (h *Harness) Cleanup() { h.procs.cleanup() }

func (h *Harness) logf(format string, args ...any) {
	fmt.Fprintf(h.cfg.Log, format+"\n", args...)
}

// Run measures every path and returns the report; failed measurements have
// their Error set (see Report.Failed), those of a path that cannot run on
// this machine their Skipped.
func (h *Harness) Run(ctx context.Context) *Report {
	start := time.Now()
	rep := &Report{
		Date:              start.UTC().Round(0),
		GoVersion:         runtime.Version(),
		CPU:               cpuModel(),
		Cores:             runtime.NumCPU(),
		Kernel:            kernelRelease(),
		Smoke:             h.cfg.Smoke,
		DurationNs:        int64(h.cfg.Duration),
		LatencyCount:      h.cfg.LatencyCount,
		LatencyIntervalNs: int64(h.cfg.LatencyInterval),
		ClockTick:         int(ClockTick()),
		ToolFloodCount:    h.cfg.ToolFloodCount,
		ToolPacedCount:    h.cfg.ToolPacedCount,
		OcbrSeconds:       h.cfg.OcbrSeconds,
		SecureRounds:      h.cfg.SecureRounds,
	}
	if h.cfg.Tools && !h.cfg.ScaleOnly && !h.cfg.SecureOnly {
		rep.Tools = h.runTools(ctx)
		h.runToolsExtra(ctx, rep)
	}
	if h.cfg.Secure && !h.cfg.ScaleOnly {
		rep.Secure = h.runSecure(ctx)
	}
	for _, p := range h.cfg.Paths {
		if h.cfg.ScaleOnly || h.cfg.SecureOnly {
			break
		}
		rep.Results = append(rep.Results, h.runPath(ctx, p)...)
	}
	ComputeRatios(rep.Results)
	rep.Scale = h.runScale(ctx)
	if len(h.cfg.Names) > 0 {
		rep.Names = h.runNames(ctx)
	}
	rep.ElapsedNs = int64(time.Since(start))
	return rep
}

// runPath opens p and makes every measurement of the plan over it. A failure
// ends the path: the rows not measured say why.
func (h *Harness) runPath(ctx context.Context, p Path) []Result {
	plan := Plan()
	results := make([]Result, len(plan))
	for i, m := range plan {
		results[i] = Result{Path: p.ID, Label: p.Label, Kernel: p.Kernel, Baseline: p.Baseline,
			Test: m.Test, Size: m.Size}
		if !p.Kernel {
			results[i].QoS = p.QoS
		}
	}
	fail := func(from int, err error) {
		for i := from; i < len(results); i++ {
			results[i].Error = err.Error()
		}
		h.logf("%s: %v", p.Label, err)
	}
	if p.Skip != nil {
		if why := p.Skip(); why != "" {
			for i := range results {
				results[i].Skipped = why
			}
			h.logf("%s: skipped: %s", p.Label, why)
			return results
		}
	}
	h.logf("%s: starting", p.Label)
	err := ctx.Err()
	if err != nil {
		fail(0, err)
		return results
	}
	spec := qos.Raw
	if p.QoS != "" && !p.Kernel {
		if spec, err = qos.ByName(p.QoS); err != nil {
			fail(0, fmt.Errorf("setup: %w", err))
			return results
		}
	}
	sess, err := p.Open(ctx, h, spec)
	if err != nil {
		fail(0, fmt.Errorf("setup: %w", err))
		return results
	}
	defer sess.Close()
	cl := newClient(sess.Conn, sess.Lossy)
	if err := h.warmup(cl); err != nil {
		fail(0, fmt.Errorf("warm-up: %w", err))
		return results
	}
	for i, m := range plan {
		if err := ctx.Err(); err != nil {
			fail(i, err)
			break
		}
		if err := h.measure(cl, sess, &results[i]); err != nil {
			fail(i, fmt.Errorf("%v: %w", m, err))
			break
		}
		h.logf("%s: %v: %s", p.Label, m, summary(&results[i]))
	}
	return results
}

// warmup makes cfg.Warmup round trips of 64 bytes, not measured.
func (h *Harness) warmup(cl *client) error {
	h.test++
	cl.test = h.test
	defer cl.bound(time.Duration(h.cfg.Warmup) * time.Millisecond)()
	msg := make([]byte, 64)
	for i := range h.cfg.Warmup {
		if _, _, err := cl.roundTrip(msg, uint64(i)); err != nil {
			return err
		}
	}
	return nil
}

// measure makes the measurement r describes and fills in its figures, with
// the CPU time of every process of the session read before and after.
func (h *Harness) measure(cl *client, sess *Session, r *Result) error {
	h.test++
	cl.test = h.test
	before, err := CPUTicks(sess.PIDs)
	if err != nil {
		return err
	}
	var s sample
	switch r.Test {
	case Latency:
		s, err = cl.latency(r.Size, h.cfg.LatencyCount, h.cfg.LatencyInterval)
	case PingPong:
		s, err = cl.pingPong(r.Size, h.cfg.Duration)
	case OneWay:
		s, err = cl.oneWay(r.Size, h.cfg.Duration)
	case Echo:
		s, err = cl.echo(r.Size, h.cfg.Duration)
	default:
		err = fmt.Errorf("unknown test %q", r.Test)
	}
	if err != nil {
		return err
	}
	after, err := CPUTicks(sess.PIDs)
	if err != nil {
		return err
	}
	r.PIDs = sess.PIDs
	r.fill(s, TicksToDuration(after-before, ClockTick()))
	if !sess.Lossy && s.received != s.sent {
		// A reliable flow, or a path that never drops (it blocks instead).
		return fmt.Errorf("%d of %d packets lost on a path that must lose none", s.sent-s.received, s.sent)
	}
	return nil
}

// summary is a progress line's account of a result.
func summary(r *Result) string {
	var parts []string
	for _, f := range r.Figures() {
		parts = append(parts, f.Key+"="+FormatFigure(f.Key, f.Value))
	}
	return strings.Join(parts, " ")
}

// installedReference returns DefaultReference if the reference
// implementation is installed there (with its cnode.sh), else "".
func installedReference() string {
	if _, err := os.Stat(DefaultReference + "/cnode.sh"); err != nil {
		return ""
	}
	return DefaultReference
}
