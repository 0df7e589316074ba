package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Test is a kind of measurement.
type Test string

// The measurements, in table order.
const (
	// Latency: oping-style pings, one at a time with a pause before each;
	// the round-trip time distribution.
	Latency Test = "latency"
	// PingPong: pings back to back; round trips per second.
	PingPong Test = "pingpong"
	// OneWay: the client floods, the server counts; packets per second.
	OneWay Test = "oneway"
	// Echo: the client floods, the server echoes, the client counts the
	// echoes; packets per second.
	Echo Test = "echo"
)

// Measure is one measurement of a path: a test at a packet size.
type Measure struct {
	Test Test
	Size int // bytes per packet, the harness's 16-byte header included
}

// Plan returns the measurements made on every path, in order.
func Plan() []Measure {
	return []Measure{
		{Latency, 64}, {Latency, 1400},
		{PingPong, 64}, {PingPong, 1400},
		{OneWay, 64}, {OneWay, 1000},
		{Echo, 64}, {Echo, 1000},
	}
}

// Result is one measurement of one path.
type Result struct {
	Path     string `json:"path"` // Path.ID
	Label    string `json:"label"`
	Kernel   bool   `json:"kernel"`
	Baseline string `json:"baseline,omitempty"` // Path.Baseline
	QoS      string `json:"qos,omitempty"`      // Path.QoS of an Ouroboros path
	Test     Test   `json:"test"`
	Size     int    `json:"size_bytes"`

	Sent      int64  `json:"sent"`     // packets the client sent
	Received  int64  `json:"received"` // packets that arrived (at the server for oneway, back at the client otherwise)
	ElapsedNs int64  `json:"elapsed_ns"`
	RTT       *Stats `json:"rtt,omitempty"` // latency and pingpong

	RoundTripsPerSec float64 `json:"round_trips_per_s,omitempty"` // pingpong
	PacketsPerSec    float64 `json:"packets_per_s,omitempty"`     // oneway, echo: Received per second
	Mbps             float64 `json:"mbps,omitempty"`              // oneway, echo: payload of Received, 10^6 bits per second

	// CPUNs is the user+system time of every process involved, in ns;
	// CPUPerPacketNs divides it by the packets delivered (a round trip is two).
	CPUNs          int64   `json:"cpu_ns"`
	CPUPerPacketNs float64 `json:"cpu_per_packet_ns"`
	PIDs           []int   `json:"pids,omitempty"` // the processes counted

	// Ratios[path ID][figure key] is this figure ÷ the same figure of that
	// path at the same test and size: every kernel path, and the Baseline
	// when it is not a kernel path (a reliable flow ÷ the raw flow).
	Ratios map[string]map[string]float64 `json:"ratios,omitempty"`

	Error string `json:"error,omitempty"`
	// Skipped says why the path could not run on this machine (Path.Skip):
	// the row has no figures, and is not a failure.
	Skipped string `json:"skipped,omitempty"`
}

// Figure is one number of a result.
type Figure struct {
	Key   string // name in Ratios
	Value float64
}

// Figures returns the result's figures in table order: times in µs, rates
// per second, CPU in µs per packet.
func (r *Result) Figures() []Figure {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	var f []Figure
	switch r.Test {
	case Latency:
		if r.RTT != nil {
			f = append(f, Figure{"rtt_min", us(r.RTT.Min)}, Figure{"rtt_p50", us(r.RTT.P50)},
				Figure{"rtt_p99", us(r.RTT.P99)}, Figure{"rtt_max", us(r.RTT.Max)})
		}
	case PingPong:
		f = append(f, Figure{"round_trips_per_s", r.RoundTripsPerSec})
		if r.RTT != nil {
			f = append(f, Figure{"rtt_p50", us(r.RTT.P50)}, Figure{"rtt_p99", us(r.RTT.P99)})
		}
	case OneWay, Echo:
		f = append(f, Figure{"packets_per_s", r.PacketsPerSec}, Figure{"mbps", r.Mbps})
	}
	return append(f, Figure{"cpu_per_packet", r.CPUPerPacketNs / 1e3})
}

// fill computes the figures of r from what a loop observed and the CPU time
// it cost.
func (r *Result) fill(s sample, cpu time.Duration) {
	r.Sent, r.Received = s.sent, s.received
	r.ElapsedNs = int64(s.elapsed)
	switch r.Test {
	case Latency, PingPong:
		st := Summarize(s.rtts)
		r.RTT = &st
		if r.Test == PingPong {
			r.RoundTripsPerSec = Rate(s.received, s.elapsed)
		}
	case OneWay, Echo:
		r.PacketsPerSec = Rate(s.received, s.elapsed)
		r.Mbps = Mbps(s.received, r.Size, s.elapsed)
	}
	r.CPUNs = int64(cpu)
	if n := r.Packets(); n > 0 {
		r.CPUPerPacketNs = float64(cpu) / float64(n)
	}
}

// Packets returns the number of packets delivered, which the CPU time is
// divided by: the packets the server counted for oneway, twice the packets
// that came back otherwise (each crossed twice).
func (r *Result) Packets() int64 {
	if r.Test == OneWay {
		return r.Received
	}
	return 2 * r.Received
}

// ComputeRatios sets the Ratios of every Ouroboros result to the kernel
// results of the same test and size, and to the result of its Baseline path
// of the same test and size when that is not a kernel path.
func ComputeRatios(results []Result) {
	type key struct {
		path string
		test Test
		size int
	}
	ok := map[key]*Result{}       // results that did not fail
	kernel := map[key][]*Result{} // by test and size; path is ""
	for i := range results {
		if r := &results[i]; r.Error == "" && r.Skipped == "" {
			ok[key{r.Path, r.Test, r.Size}] = r
			if r.Kernel {
				kernel[key{"", r.Test, r.Size}] = append(kernel[key{"", r.Test, r.Size}], r)
			}
		}
	}
	for i := range results {
		r := &results[i]
		r.Ratios = nil
		if r.Kernel || r.Error != "" || r.Skipped != "" {
			continue
		}
		refs := kernel[key{"", r.Test, r.Size}]
		if b, found := ok[key{r.Baseline, r.Test, r.Size}]; found && !b.Kernel && b != r {
			refs = append(refs[:len(refs):len(refs)], b)
		}
		for _, k := range refs {
			if q := ratios(r, k); len(q) > 0 {
				if r.Ratios == nil {
					r.Ratios = map[string]map[string]float64{}
				}
				r.Ratios[k.Path] = q
			}
		}
	}
}

// ratios returns every figure of r ÷ the same figure of ref, leaving out
// those that are not a number (a figure of 0 in ref).
func ratios(r, ref *Result) map[string]float64 {
	kv := map[string]float64{}
	for _, f := range ref.Figures() {
		kv[f.Key] = f.Value
	}
	q := map[string]float64{}
	for _, f := range r.Figures() {
		if v, found := kv[f.Key]; found {
			if x := Ratio(f.Value, v); !math.IsNaN(x) {
				q[f.Key] = x
			}
		}
	}
	return q
}

// Report is the outcome of a run.
type Report struct {
	Date      time.Time `json:"date"`
	GoVersion string    `json:"go_version"`
	CPU       string    `json:"cpu"`
	Cores     int       `json:"cores"`
	Kernel    string    `json:"kernel"`
	Smoke     bool      `json:"smoke"`

	DurationNs        int64 `json:"duration_ns"`         // of each pingpong, oneway and echo measurement
	LatencyCount      int   `json:"latency_count"`       // pings per latency measurement
	LatencyIntervalNs int64 `json:"latency_interval_ns"` // pause before each of them
	ClockTick         int   `json:"clock_tick_hz"`       // unit of the CPU times read, ticks per second
	ElapsedNs         int64 `json:"elapsed_ns"`          // the whole run
	// The tool commands' counts (Config.ToolFloodCount, ToolPacedCount,
	// OcbrSeconds).
	ToolFloodCount int `json:"tool_flood_count,omitempty"`
	ToolPacedCount int `json:"tool_paced_count,omitempty"`
	OcbrSeconds    int `json:"ocbr_seconds,omitempty"`

	// Tools holds the tools tables: our tools, the reference's, the
	// kernel (tools.go).
	Tools []ToolResult `json:"tools,omitempty"`
	// Operf, EventSet and Idle are the rest of the tools part: the operf
	// table (operf.go), a server on one EventSet (eventset.go) and the CPU
	// time of idle processes (idle.go).
	Operf    []ToolResult     `json:"operf,omitempty"`
	EventSet []EventSetResult `json:"eventset,omitempty"`
	Idle     []IdleResult     `json:"idle,omitempty"`
	// Secure is the encrypted flows table (secure.go).
	Secure []ToolResult `json:"secure,omitempty"`
	// SecureRounds is Config.SecureRounds.
	SecureRounds int      `json:"secure_rounds,omitempty"`
	Results      []Result `json:"results"`
	// Scale holds many concurrent flows (scale.go); Names times an
	// allocation with few and with many names.
	Scale []ScaleResult `json:"scale,omitempty"`
	Names []NamesResult `json:"names,omitempty"`
}

// Failed reports whether any measurement failed. A skipped one did not,
// nor did a row of the reference.
func (rep *Report) Failed() bool {
	for _, r := range rep.Tools {
		// The reference's rows are optional: their errors show in the
		// table, they do not fail the run.
		if r.Error != "" && r.Impl != ImplReference {
			return true
		}
	}
	if rep.toolsExtraFailed() || rep.secureFailed() {
		return true
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			return true
		}
	}
	for _, r := range rep.Scale {
		if r.Error != "" {
			return true
		}
	}
	for _, r := range rep.Names {
		if r.Error != "" {
			return true
		}
	}
	return false
}

// JSON returns the report as indented JSON.
func (rep *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseReport decodes a report written by JSON.
func ParseReport(b []byte) (*Report, error) {
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// WriteFiles writes the report as obench-<UTC date>.json and .md into dir
// (created if needed) and returns their paths.
func (rep *Report) WriteFiles(dir string) (jsonPath, mdPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	js, err := rep.JSON()
	if err != nil {
		return "", "", err
	}
	base := filepath.Join(dir, "obench-"+rep.Date.UTC().Format("20060102T150405Z"))
	jsonPath, mdPath = base+".json", base+".md"
	if err := os.WriteFile(jsonPath, js, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(mdPath, []byte(rep.Markdown()), 0o644); err != nil {
		return "", "", err
	}
	return jsonPath, mdPath, nil
}

// String of a Measure, for progress lines.
func (m Measure) String() string { return fmt.Sprintf("%s %d B", m.Test, m.Size) }
