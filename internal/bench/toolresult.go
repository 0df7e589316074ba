package bench

import "math"

// ToolTest is a tool command of the tools tables.
type ToolTest string

// The tool commands, in table order.
const (
	// OpingFlood: oping -f -c N -s 64, back-to-back pings; round trips per
	// second over the pings' time, and the average RTT.
	OpingFlood ToolTest = "oping-flood"
	// OpingPaced: oping -i 5 -c N -s 64, one ping every 5 ms; the average
	// RTT.
	OpingPaced ToolTest = "oping-paced"
	// OcbrFlood: ocbr -f -s SIZE -d D; the packets per second the server
	// counted in its full report intervals.
	OcbrFlood ToolTest = "ocbr-flood"
)

// ToolMeasure is one row kind of the tools tables: a tool command at a
// packet size.
type ToolMeasure struct {
	Test ToolTest
	Size int // bytes per packet, as the tool's -s
}

// ToolPlan returns the tool commands run on every path, in order.
func ToolPlan() []ToolMeasure {
	return []ToolMeasure{{OpingFlood, 64}, {OpingPaced, 64}, {OcbrFlood, 64}, {OcbrFlood, 1000}}
}

// Implementations in a tools row.
const (
	ImplOurs      = "ours"      // the tools of this module
	ImplReference = "reference" // the reference implementation's tools, irmd and IPCPs
	ImplKernel    = "kernel"    // the kernel doing the same job between two Go processes
)

// ToolResult is one tools row: a tool command over one path, or the kernel
// doing the same job.
type ToolResult struct {
	Path    string   `json:"path"` // ToolPath.ID, or UnixID for the kernel
	Label   string   `json:"label"`
	Impl    string   `json:"impl"`          // ImplOurs, ImplReference or ImplKernel
	QoS     string   `json:"qos,omitempty"` // the tool's -q: raw or data
	Test    ToolTest `json:"test"`
	Size    int      `json:"size_bytes"`
	Command string   `json:"command"` // the client's command line, or what the kernel row does

	Sent      int64 `json:"sent"`     // packets the client sent
	Received  int64 `json:"received"` // back at the client (oping), at the server (ocbr)
	ElapsedNs int64 `json:"elapsed_ns"`

	RoundTripsPerSec float64 `json:"round_trips_per_s,omitempty"` // oping -f
	AvgRTTNs         float64 `json:"avg_rtt_ns,omitempty"`        // oping
	PacketsPerSec    float64 `json:"packets_per_s,omitempty"`     // ocbr

	// CPUNs is the user+system time of the client, the server, and every
	// irmd and IPCP of the path while the command ran, in ns;
	// CPUPerPacketNs divides it by the packets delivered (a round trip is
	// two). Not measured for reference rows (their processes run in
	// namespaces of their own).
	CPUNs          int64   `json:"cpu_ns,omitempty"`
	CPUPerPacketNs float64 `json:"cpu_per_packet_ns,omitempty"`

	// KernelRatio is Figure ÷ the kernel row's Figure of the same test and
	// size; RefRatio ÷ the reference row's on the same path (raw only).
	// Zero when there is none.
	KernelRatio float64 `json:"kernel_ratio,omitempty"`
	RefRatio    float64 `json:"reference_ratio,omitempty"`

	// Cipher is the flow's cipher in the encrypted flows table (secure.go),
	// "" for a plaintext flow; RawRatio is Figure ÷ the plaintext row's of
	// the same path in that table.
	Cipher   string  `json:"cipher,omitempty"`
	RawRatio float64 `json:"raw_ratio,omitempty"`

	Error   string `json:"error,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// Figure returns the row's main figure: round trips per second for
// OpingFlood, the average RTT in µs for OpingPaced, packets per second for
// OcbrFlood, OperfFlood and OperfEcho; NaN when the row has none.
func (r *ToolResult) Figure() float64 {
	if r.Error != "" || r.Skipped != "" {
		return math.NaN()
	}
	switch r.Test {
	case OpingFlood:
		return r.RoundTripsPerSec
	case OpingPaced:
		return r.AvgRTTNs / 1e3
	case OcbrFlood, OperfFlood, OperfEcho:
		return r.PacketsPerSec
	}
	return math.NaN()
}

// ComputeToolRatios sets KernelRatio and RefRatio of every row that has a
// figure.
func ComputeToolRatios(rows []ToolResult) {
	type key struct {
		test ToolTest
		size int
	}
	kernel := map[key]*ToolResult{}
	type refKey struct {
		path string
		key
	}
	ref := map[refKey]*ToolResult{}
	for i := range rows {
		r := &rows[i]
		switch r.Impl {
		case ImplKernel:
			kernel[key{r.Test, r.Size}] = r
		case ImplReference:
			ref[refKey{r.Path, key{r.Test, r.Size}}] = r
		}
	}
	for i := range rows {
		r := &rows[i]
		r.KernelRatio, r.RefRatio = 0, 0
		if r.Impl == ImplKernel {
			continue
		}
		k := key{r.Test, r.Size}
		if b := kernel[k]; b != nil {
			if q := Ratio(r.Figure(), b.Figure()); !math.IsNaN(q) {
				r.KernelRatio = q
			}
		}
		if b := ref[refKey{r.Path, k}]; r.Impl == ImplOurs && r.QoS == "raw" && b != nil {
			if q := Ratio(r.Figure(), b.Figure()); !math.IsNaN(q) {
				r.RefRatio = q
			}
		}
	}
}
