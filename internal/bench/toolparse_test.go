package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseOping(t *testing.T) {
	out := "Pinging obench.server with 64 bytes of data (3 packets):\n\n" +
		"\n--- obench.server ping statistics ---\n" +
		"3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 1.500 ms\n" +
		"rtt min/avg/max/mdev = 40.000/52.250/71.500/10.000 µs\n"
	st, err := ParseOping(out)
	if err != nil {
		t.Fatal(err)
	}
	want := OpingStats{Sent: 3, Received: 3, Elapsed: 1500 * time.Microsecond,
		Min: 40 * time.Microsecond, Avg: 52250 * time.Nanosecond, Max: 71500 * time.Nanosecond}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}

	// Milliseconds, and NaN for the mdev of one reply.
	st, err = ParseOping("1 packets transmitted, 1 received, 0 out-of-order, 0% packet loss, time: 1000.250 ms\n" +
		"rtt min/avg/max/mdev = 0.304/0.304/0.304/NaN ms\n")
	if err != nil {
		t.Fatal(err)
	}
	if st.Avg != 304*time.Microsecond || st.Elapsed != 1000250*time.Microsecond {
		t.Errorf("got %+v", st)
	}
}

func TestParseOpingErrors(t *testing.T) {
	for name, out := range map[string]string{
		"empty":         "",
		"alloc failure": "Failed to allocate flow: -1007.\n",
		"no rtt line":   "5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss, time: 5.000 ms\n",
		"nothing back":  "5 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 5.000 ms\n",
		"more than sent": "5 packets transmitted, 6 received, 0 out-of-order, 0% packet loss, time: 5.000 ms\n" +
			"rtt min/avg/max/mdev = 1.000/1.000/1.000/0.000 ms\n",
		"garbled": "5 packets transmitted, 5 received, time: 5 ms\nrtt = 1/2/3 ms\n",
	} {
		if st, err := ParseOping(out); err == nil {
			t.Errorf("%s: parsed %+v, want an error", name, st)
		}
	}
}

// ocbrOut is the output of an ocbr server: its start, a test of flow 64 with
// two full intervals, its end (ended or timed out) and the last report.
func ocbrOut(end string) string {
	return "Server started, interval is 1 s, timeout is 1 s.\nNew flow.\n" +
		"Flow   64:    100000 packets (     6400000 bytes) in      1000 ms => 100000.0000 pps,  51.2000 Mbps\n" +
		"Flow   64:    300000 packets (    19200000 bytes) in      1000 ms => 300000.0000 pps, 153.6000 Mbps\n" +
		"Test on flow 64 " + end + "\n" +
		"Flow   64:     50000 packets (     3200000 bytes) in       500 ms => 100000.0000 pps,  51.2000 Mbps\n"
}

func TestParseOcbrServer(t *testing.T) {
	tt, done, err := ParseOcbrServer(ocbrOut("ended"))
	if err != nil || !done {
		t.Fatalf("done %v, err %v", done, err)
	}
	if tt.FD != 64 || len(tt.Full) != 2 || tt.Final.Packets != 50000 || tt.TimedOut || tt.Packets() != 450000 {
		t.Errorf("got %+v", tt)
	}
	// Ended by the client: the last interval counts.
	if got := tt.Rate(); math.Abs(got-450000/2.5) > 1e-6 {
		t.Errorf("rate %v, want %v", got, 450000/2.5)
	}

	// Timed out: the last interval holds the silence, and does not count.
	tt, done, err = ParseOcbrServer(ocbrOut("timed out"))
	if err != nil || !done || !tt.TimedOut {
		t.Fatalf("done %v, err %v, %+v", done, err, tt)
	}
	if got := tt.Rate(); math.Abs(got-200000) > 1e-6 {
		t.Errorf("rate %v, want 200000", got)
	}
}

func TestParseOcbrServerNotDone(t *testing.T) {
	full := ocbrOut("ended")
	// Cut before the last report is complete: the test is not over yet.
	for _, cut := range []int{0, strings.Index(full, "Test on"), len(full) - 10} {
		if tt, done, err := ParseOcbrServer(full[:cut]); done || err != nil {
			t.Errorf("cut at %d: done %v, err %v, %+v", cut, done, err, tt)
		}
	}
}

func TestParseOcbrServerTwoFlows(t *testing.T) {
	out := "Flow   64:    100000 packets (     6400000 bytes) in      1000 ms => 100000.0000 pps,  51.2000 Mbps\n" +
		"Flow   65:    100000 packets (     6400000 bytes) in      1000 ms => 100000.0000 pps,  51.2000 Mbps\n"
	if _, _, err := ParseOcbrServer(out); err == nil {
		t.Error("reports of two flows in one test parsed")
	}
}

func TestOcbrSent(t *testing.T) {
	out := "Client started, duration 1, rate 1000000 b/s, size 64 B.\n" +
		"sent statistics:    912345 packets,     58390080 bytes in      1000 ms, 467.1206 Mb/s\n"
	if n := ocbrSent(out); n != 912345 {
		t.Errorf("sent %d", n)
	}
	if n := ocbrSent("Failed to allocate flow.\n"); n != 0 {
		t.Errorf("sent %d from a failure", n)
	}
}

func TestComputeToolRatios(t *testing.T) {
	rows := []ToolResult{
		{Path: UnixID, Impl: ImplKernel, Test: OpingFlood, Size: 64, RoundTripsPerSec: 40000},
		{Path: UnixID, Impl: ImplKernel, Test: OpingPaced, Size: 64, AvgRTTNs: 50000},
		{Path: DirectID, Impl: ImplOurs, QoS: "raw", Test: OpingFlood, Size: 64, RoundTripsPerSec: 60000},
		{Path: DirectID, Impl: ImplOurs, QoS: "data", Test: OpingFlood, Size: 64, RoundTripsPerSec: 30000},
		{Path: DirectID, Impl: ImplOurs, QoS: "raw", Test: OpingPaced, Size: 64, AvgRTTNs: 25000},
		{Path: DirectID, Impl: ImplReference, QoS: "raw", Test: OpingFlood, Size: 64, RoundTripsPerSec: 20000},
		{Path: LocalIPCPID, Impl: ImplOurs, QoS: "raw", Test: OpingFlood, Size: 64, Error: "boom"},
		{Path: LocalIPCPID, Impl: ImplOurs, QoS: "raw", Test: OcbrFlood, Size: 64, PacketsPerSec: 1},
	}
	ComputeToolRatios(rows)
	want := []struct{ kernel, ref float64 }{{0, 0}, {0, 0}, {1.5, 3}, {0.75, 0}, {0.5, 0}, {0.5, 0}, {0, 0}, {0, 0}}
	for i, w := range want {
		if r := rows[i]; math.Abs(r.KernelRatio-w.kernel) > 1e-9 || math.Abs(r.RefRatio-w.ref) > 1e-9 {
			t.Errorf("row %d: ×kernel %v ×ref %v, want %v %v", i, r.KernelRatio, r.RefRatio, w.kernel, w.ref)
		}
	}
}

func TestToolsMarkdown(t *testing.T) {
	rep := &Report{ToolFloodCount: 20000, ToolPacedCount: 300, OcbrSeconds: 3, Tools: []ToolResult{
		{Path: UnixID, Label: "kernel: unix seqpacket socketpair", Impl: ImplKernel, Test: OpingFlood, Size: 64,
			Sent: 10, Received: 10, RoundTripsPerSec: 40000, AvgRTTNs: 25000, CPUNs: 1, CPUPerPacketNs: 9000},
		{Path: DirectID, Label: "direct flow", Impl: ImplOurs, QoS: "raw", Test: OpingFlood, Size: 64,
			Sent: 10, Received: 10, RoundTripsPerSec: 60000, AvgRTTNs: 16000, CPUNs: 1, CPUPerPacketNs: 12000},
		{Path: LocalIPCPID, Label: "local IPCP", Impl: ImplOurs, QoS: "raw", Test: OpingFlood, Size: 64,
			Error: "oping client: exit status 1: Failed to allocate flow: -1007."},
		{Path: EthDIXID, Label: "eth-dix layer", Impl: ImplOurs, QoS: "raw", Test: OcbrFlood, Size: 64,
			Skipped: "needs root"},
	}}
	ComputeToolRatios(rep.Tools)
	md := rep.toolsMarkdown()
	for _, s := range []string{
		"### `oping -f -c 20000 -s 64`: back-to-back pings",
		"| path | round trips/s | ×kernel | avg RTT µs | lost | CPU µs/pkt |",
		"| kernel: unix seqpacket socketpair | 40,000 |  | 25.0 | 0 | 9.00 |",
		"| direct flow | 60,000 | 1.50 | 16.0 | 0 | 12.0 |",
		"| local IPCP | error: oping client: exit status 1: Failed to allocate flow: -1007. | — | — | — | — |",
		"### `ocbr -f -s 64 -d 3`: one-way flood",
		"| eth-dix layer | skipped: needs root | — | — | — |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("no %q in\n%s", s, md)
		}
	}
	if strings.Contains(md, "×ref") {
		t.Errorf("a ×ref column without reference rows:\n%s", md)
	}
}

func TestCommandLines(t *testing.T) {
	h := &Harness{cfg: DefaultConfig(false)}
	for _, c := range []struct {
		m    ToolMeasure
		q    string
		ref  bool
		want string
	}{
		{ToolMeasure{OpingFlood, 64}, "raw", false, "oping -f -c 20000 -s 64 -q raw"},
		{ToolMeasure{OpingPaced, 64}, "data", false, "oping -i 5 -c 300 -s 64 -q data"},
		{ToolMeasure{OcbrFlood, 1000}, "data", false, "ocbr -f -s 1000 -d 3 -q data"},
		// The reference's ocbr has no -q: its flows are raw.
		{ToolMeasure{OcbrFlood, 64}, "raw", true, "ocbr -f -s 64 -d 3"},
		{ToolMeasure{OpingFlood, 64}, "raw", true, "oping -f -c 20000 -s 64 -q raw"},
	} {
		tool, args, _ := h.toolArgs(c.m, c.q)
		if c.ref {
			tool, args, _ = h.refToolArgs(c.m)
		}
		if got := commandLine(tool, args); got != c.want {
			t.Errorf("%v %s ref=%v: %q, want %q", c.m, c.q, c.ref, got, c.want)
		}
		if args[0] != "-n" || args[1] != serverName {
			t.Errorf("%v: client arguments %q do not name the server first", c.m, args)
		}
	}
}

// TestToolsMissingPrograms runs the tools part where no program it needs
// exists: every row is an error row saying why, and the run fails.
func TestToolsMissingPrograms(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	cfg := DefaultConfig(true)
	cfg.ToolPaths = DefaultToolPaths()[:2]
	cfg.Reference = ""
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.self = dir + "/obench"
	defer h.Cleanup()
	rep := &Report{Tools: h.runTools(context.Background())}
	if want := len(ToolPlan()) * (1 + 2*len(ToolQoS)); len(rep.Tools) != want {
		t.Fatalf("%d rows, want %d", len(rep.Tools), want)
	}
	for _, r := range rep.Tools {
		if r.Error == "" || r.Sent != 0 || !math.IsNaN(r.Figure()) {
			t.Errorf("%s %s: %+v, want an error row", r.Label, r.Command, r)
		}
	}
	if !strings.Contains(rep.Tools[len(rep.Tools)-1].Error, "irmd is neither next to") {
		t.Errorf("error %q does not say what is missing", rep.Tools[len(rep.Tools)-1].Error)
	}
	if !rep.Failed() {
		t.Error("the run did not fail")
	}
}
