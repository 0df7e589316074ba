package bench

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleReport is a report of two kernel paths, an Ouroboros path raw and
// reliable, and a raw Ouroboros path over UDP, and two tests.
func sampleReport() *Report {
	rep := &Report{
		Date: time.Date(2026, 11, 26, 10, 0, 0, 123, time.UTC), GoVersion: "go1.26.8",
		CPU: "Test CPU", Cores: 2, Kernel: "6.18", DurationNs: int64(2 * time.Second),
		LatencyCount: 2000, LatencyIntervalNs: int64(time.Millisecond), ClockTick: 100,
		ElapsedNs: int64(time.Minute),
	}
	add := func(path, label string, kernel bool, test Test, size int, s sample, cpu time.Duration) {
		r := Result{Path: path, Label: label, Kernel: kernel, Test: test, Size: size}
		switch {
		case path == "direct-reliable":
			r.Baseline, r.QoS = "direct", "data"
		case path == UDP4LayerID:
			r.Baseline, r.QoS = UDPID, "raw"
		case !kernel:
			r.Baseline, r.QoS = UnixID, "raw"
		}
		r.fill(s, cpu)
		rep.Results = append(rep.Results, r)
	}
	rtts := func(us ...int) []time.Duration {
		var d []time.Duration
		for _, u := range us {
			d = append(d, time.Duration(u)*time.Microsecond)
		}
		return d
	}
	add("direct", "direct flow", false, PingPong, 64,
		sample{sent: 4, received: 4, elapsed: 80 * time.Microsecond, rtts: rtts(20, 20, 20, 20)}, 160*time.Microsecond)
	add("direct", "direct flow", false, OneWay, 1000,
		sample{sent: 1000, received: 1000, elapsed: time.Millisecond}, 0)
	add(UnixID, "kernel: unix", true, PingPong, 64,
		sample{sent: 8, received: 8, elapsed: 80 * time.Microsecond, rtts: rtts(10, 10, 10, 10, 10, 10, 10, 10)}, 80*time.Microsecond)
	add(UnixID, "kernel: unix", true, OneWay, 1000,
		sample{sent: 2000, received: 2000, elapsed: time.Millisecond}, 10*time.Millisecond)
	add(UDPID, "kernel: udp", true, OneWay, 1000,
		sample{sent: 1000, received: 500, elapsed: time.Millisecond}, 10*time.Millisecond)
	add("direct-reliable", "direct flow, reliable", false, PingPong, 64,
		sample{sent: 2, received: 2, elapsed: 50 * time.Microsecond, rtts: rtts(25, 25)}, 160*time.Microsecond)
	add("direct-reliable", "direct flow, reliable", false, OneWay, 1000,
		sample{sent: 800, received: 800, elapsed: time.Millisecond}, 0)
	add(UDP4LayerID, "udp4 layer", false, OneWay, 1000,
		sample{sent: 1000, received: 900, elapsed: time.Millisecond}, 0)
	ComputeRatios(rep.Results)
	return rep
}

func TestFillAndRatios(t *testing.T) {
	rep := sampleReport()
	pp := rep.Results[0]
	if math.Abs(pp.RoundTripsPerSec-50000) > 1e-6 || pp.RTT.P50 != 20000 {
		t.Errorf("ping-pong: %v round trips/s, p50 %d ns", pp.RoundTripsPerSec, pp.RTT.P50)
	}
	// 160 µs over 4 round trips of 2 packets.
	if pp.CPUPerPacketNs != 20000 {
		t.Errorf("CPU per packet = %v ns, want 20000", pp.CPUPerPacketNs)
	}
	want := map[string]float64{"round_trips_per_s": 0.5, "rtt_p50": 2, "rtt_p99": 2, "cpu_per_packet": 4}
	if got := pp.Ratios[UnixID]; !approx(got, want) {
		t.Errorf("ratios = %v, want %v", got, want)
	}
	ow := rep.Results[1]
	if ow.PacketsPerSec != 1e6 || ow.Mbps != 8000 {
		t.Errorf("one-way: %v packets/s, %v Mb/s", ow.PacketsPerSec, ow.Mbps)
	}
	// No CPU ratio when a figure is 0 (below the clock tick).
	if got := ow.Ratios[UnixID]; !approx(got, map[string]float64{"packets_per_s": 0.5, "mbps": 0.5}) {
		t.Errorf("one-way ratios to unix = %v", got)
	}
	if got := ow.Ratios[UDPID]["packets_per_s"]; math.Abs(got-2) > 1e-9 {
		t.Errorf("one-way ratio to udp = %v, want 2", got)
	}
	if len(pp.Ratios) != 1 || len(ow.Ratios) != 2 {
		t.Errorf("raw rows have ratios to %v and %v, want the kernel paths only", pp.Ratios, ow.Ratios)
	}
	// A reliable row: ÷ the raw flow of its path, and ÷ the kernel paths.
	rel := rep.Results[5]
	want = map[string]float64{"round_trips_per_s": 0.8, "rtt_p50": 1.25, "rtt_p99": 1.25, "cpu_per_packet": 2}
	if got := rel.Ratios["direct"]; !approx(got, want) {
		t.Errorf("reliable ping-pong ratios to raw = %v, want %v", got, want)
	}
	if got := rel.Ratios[UnixID]["round_trips_per_s"]; math.Abs(got-0.4) > 1e-9 || len(rel.Ratios) != 2 {
		t.Errorf("reliable ping-pong ratios = %v", rel.Ratios)
	}
	if got := rep.Results[6].Ratios["direct"]["packets_per_s"]; math.Abs(got-0.8) > 1e-9 {
		t.Errorf("reliable one-way ratio to raw = %v, want 0.8", got)
	}
	// A raw row over UDP: ÷ kernel UDP, its baseline, and ÷ the other kernel
	// path.
	udp4 := rep.Results[7]
	if got := udp4.Ratios[UDPID]["packets_per_s"]; math.Abs(got-1.8) > 1e-9 || len(udp4.Ratios) != 2 {
		t.Errorf("udp4 layer one-way ratios = %v, want 1.8 to kernel udp", udp4.Ratios)
	}
	if got := udp4.Ratios[UnixID]["packets_per_s"]; math.Abs(got-0.45) > 1e-9 {
		t.Errorf("udp4 layer one-way ratio to unix = %v, want 0.45", got)
	}
	for _, r := range rep.Results[2:5] {
		if r.Ratios != nil {
			t.Errorf("kernel row %s has ratios %v", r.Path, r.Ratios)
		}
	}
	// A failed kernel row gives no ratios.
	rep.Results[2].Error = "broken"
	ComputeRatios(rep.Results)
	if rep.Results[0].Ratios != nil {
		t.Errorf("ratios to a failed row: %v", rep.Results[0].Ratios)
	}
}

// approx reports whether two sets of figures have the same keys and values
// within 1e-9.
func approx(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || math.Abs(v-w) > 1e-9 {
			return false
		}
	}
	return true
}

func TestJSONRoundTrip(t *testing.T) {
	rep := sampleReport()
	rep.Results[1].Error = "a failure"
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseReport(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Date.Equal(rep.Date) {
		t.Errorf("date %v, want %v", got.Date, rep.Date)
	}
	got.Date = rep.Date
	if !reflect.DeepEqual(got, rep) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, rep)
	}
	if !got.Failed() || sampleReport().Failed() {
		t.Error("Failed() is wrong")
	}
	if _, err := ParseReport([]byte("{")); err == nil {
		t.Error("ParseReport of bad JSON succeeded")
	}
}

func TestJSONWithoutNaN(t *testing.T) {
	// A result with nothing received has no ratios and no NaN to encode.
	rep := sampleReport()
	rep.Results = append(rep.Results, Result{Path: "x", Test: Latency, Size: 64, RTT: &Stats{}})
	rep.Results[0].fill(sample{}, 0)
	ComputeRatios(rep.Results)
	if _, err := rep.JSON(); err != nil {
		t.Fatal(err)
	}
}

func TestMarkdown(t *testing.T) {
	rep := sampleReport()
	rep.Results[4].Error = "udp | broke\nbadly"
	md := rep.Markdown()
	for _, want := range []string{
		"- machine: Test CPU, 2 cores, Linux 6.18, go1.26.8",
		"| direct flow | 64 | 50,000 (×0.50) | 20.0 (×2.00) | 20.0 (×2.00) | 20.0 (×4.00) |",
		"| direct flow | 1000 | 1,000,000 (×0.50) | 8,000.0 (×0.50) | 0 | < 10.0 |",
		"| kernel: unix | 64 | 100,000 | 10.0 | 10.0 | 5.00 |",
		"| kernel: udp | 1000 | error: udp \\| broke badly | — | — | — |",
		"| direct flow, reliable | 64 | 40,000 (×0.80) | 25.0 (×1.25) | 25.0 (×1.25) | 40.0 (×2.00) |",
		"| direct flow, reliable | 1000 | 800,000 (×0.80) | 6,400.0 (×0.80) | 0 | < 12.5 |",
		// A lossy row: its losses, its ratios to kernel UDP.
		"| udp4 layer | 1000 | 900,000 (×1.80) | 7,200.0 (×1.80) | 100 (10.00%) | < 11.1 |",
		"row's baseline: kernel: unix (for direct flow), kernel: udp (for udp4 layer), and for a row with " +
			"another QoS than raw the raw flow of the same path; the JSON also has every Ouroboros row's " +
			"ratios to kernel: unix and kernel: udp.",
		"## Ping-pong: pings back to back for 2s",
		"## Latency: oping-style, 2000 pings with a 1ms pause before each",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, "\\|", ""), "|")
		if strings.HasPrefix(line, "| path") {
			cols = n
		} else if n != cols {
			t.Errorf("row has %d separators, header %d: %s", n, cols, line)
		}
	}
}

// TestMarkdownSkipped checks a skipped path: its rows say why, in Markdown and
// JSON, it has no ratios, it is not named among the rows compared to a
// baseline, and it does not fail the report.
func TestMarkdownSkipped(t *testing.T) {
	rep := sampleReport()
	for _, test := range []Test{PingPong, Latency} {
		rep.Results = append(rep.Results, Result{Path: EthDIXID, Label: "eth-dix layer", Baseline: UDPID,
			QoS: "raw", Test: test, Size: 64, Skipped: "needs root for a veth pair and raw sockets"})
	}
	ComputeRatios(rep.Results)
	md := rep.Markdown()
	for _, want := range []string{
		"| eth-dix layer | 64 | skipped: needs root for a veth pair and raw sockets | — | — | — |\n",
		"| eth-dix layer | 64 | skipped: needs root for a veth pair and raw sockets | — | — | — | — |\n",
		"A skipped row is a path that cannot run on this machine; it says why.",
		"kernel: udp (for udp4 layer), and",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "The eth-dix layer runs on a veth pair") {
		t.Errorf("Markdown describes a skipped eth-dix layer:\n%s", md)
	}
	if rep.Failed() {
		t.Error("skipped rows fail the report")
	}
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"skipped": "needs root for a veth pair and raw sockets"`) {
		t.Errorf("JSON:\n%s", js)
	}
	back, err := ParseReport(js)
	if err != nil || back.Results[len(back.Results)-1].Skipped == "" || back.Results[len(back.Results)-1].Ratios != nil {
		t.Errorf("JSON round trip: %v", err)
	}
	// Measured, the layer is described.
	rep.Results[len(rep.Results)-1].Skipped = ""
	if md := rep.Markdown(); !strings.Contains(md, "The eth-dix layer runs on a veth pair of its own with an MTU "+
		"of 1500 bytes (eth-dix SDUs of up to 1496 bytes)") {
		t.Errorf("Markdown lacks the eth-dix layer:\n%s", md)
	}
}

func TestMarkdownBaselines(t *testing.T) {
	// One kernel baseline is named alone.
	rep := sampleReport()
	rep.Results = rep.Results[:7]
	if md := rep.Markdown(); !strings.Contains(md, "row's baseline: kernel: unix, and for a row with another QoS") {
		t.Errorf("Markdown header:\n%s", md)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		d    int
		want string
	}{
		{0, 0, "0"}, {999, 0, "999"}, {1000, 0, "1,000"}, {1234567.89, 1, "1,234,567.9"},
		{-1234, 0, "-1,234"}, {12.345, 2, "12.35"}, {100000, 0, "100,000"},
	} {
		if got := Thousands(c.v, c.d); got != c.want {
			t.Errorf("Thousands(%v, %d) = %q, want %q", c.v, c.d, got, c.want)
		}
	}
	for _, c := range []struct {
		key  string
		v    float64
		want string
	}{
		{"round_trips_per_s", 43123.6, "43,124"}, {"packets_per_s", 398000, "398,000"},
		{"mbps", 3276.84, "3,276.8"}, {"rtt_p50", 23.24, "23.2"}, {"rtt_p50", 9.876, "9.88"},
		{"rtt_max", 4271.4, "4,271"}, {"cpu_per_packet", 0.5, "0.50"}, {"rtt_p99", math.NaN(), "—"},
	} {
		if got := FormatFigure(c.key, c.v); got != c.want {
			t.Errorf("FormatFigure(%s, %v) = %q, want %q", c.key, c.v, got, c.want)
		}
	}
	if got := FormatRatio(1.846); got != "(×1.85)" {
		t.Errorf("FormatRatio = %q", got)
	}
	for _, c := range []struct {
		sent, received int64
		want           string
	}{{0, 0, "—"}, {100, 100, "0"}, {2000, 1990, "10 (0.50%)"}, {10, 11, "0"}} {
		if got := FormatLoss(c.sent, c.received); got != c.want {
			t.Errorf("FormatLoss(%d, %d) = %q, want %q", c.sent, c.received, got, c.want)
		}
	}
	if got := cellText(strings.Repeat("x", 10), 5); got != "xxxx…" {
		t.Errorf("cellText = %q", got)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	rep := sampleReport()
	js, md, err := rep.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(js) != "obench-20261126T100000Z.json" || filepath.Base(md) != "obench-20261126T100000Z.md" {
		t.Errorf("files %s, %s", js, md)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseReport(b); err != nil || len(got.Results) != len(rep.Results) {
		t.Errorf("JSON file: %v, %v", got, err)
	}
	if b, err := os.ReadFile(md); err != nil || string(b) != rep.Markdown() {
		t.Errorf("Markdown file differs: %v", err)
	}
}

func TestParseCPUModel(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R)  Xeon(R) Processor\n\nprocessor\t: 1\nmodel name\t: other\n"
	if got := parseCPUModel([]byte(x86), "amd64"); got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("x86: %q", got)
	}
	if got := parseCPUModel([]byte("processor : 0\nHardware : BCM2835\n"), "arm"); got != "BCM2835" {
		t.Errorf("arm: %q", got)
	}
	if got := parseCPUModel([]byte("nothing useful"), "riscv64"); got != "riscv64" {
		t.Errorf("fallback: %q", got)
	}
	if kernelRelease() == "" || cpuModel() == "" {
		t.Error("empty machine description")
	}
}

// TestMarkdownMode checks the header's mode: a run of one part says which
// (a --tools-only run once said "full").
func TestMarkdownMode(t *testing.T) {
	tools := []ToolResult{{}}
	for _, tt := range []struct {
		name string
		rep  Report
		want string
	}{
		{"full", Report{Tools: tools, Secure: tools, Results: []Result{{}}, Scale: []ScaleResult{{}}}, "- mode: full;"},
		{"tools only", Report{Tools: tools, Secure: tools}, "- mode: tools only (--tools-only: the tools and encrypted flows tables);"},
		{"secure only", Report{Secure: tools}, "- mode: encrypted flows only (--secure-only);"},
		{"scale only", Report{Names: []NamesResult{{}}}, "- mode: many flows and names only (--scale-only);"},
		{"smoke", Report{Smoke: true, Tools: tools}, "- mode: smoke (short runs: figures are not meaningful);"},
	} {
		if md := tt.rep.Markdown(); !strings.Contains(md, tt.want) {
			t.Errorf("%s: header lacks %q:\n%s", tt.name, tt.want, md[:min(len(md), 300)])
		}
	}
}
