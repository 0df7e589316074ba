package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseOperfFlow(t *testing.T) {
	out := "Ouroboros perf server started.\nNew flow 65.\nDoing a unidirectional test.\nFlow 65 ended.\n" +
		"Flow 65: 150000 packets, 9600000 bytes received in 2999.870 ms, 25.601 Mb/s.\n" +
		"Flow 66: 1 packets, 64 bytes received in 0.000 ms, 0.000 Mb/s.\n"
	l, ok := ParseOperfFlow(out)
	want := OperfFlowLine{FD: 65, Packets: 150000, Bytes: 9600000, Elapsed: 2999870 * time.Microsecond}
	if !ok || l != want {
		t.Errorf("got %+v %v, want %+v", l, ok, want)
	}
	for name, out := range map[string]string{
		"none":        "Ouroboros perf server started.\nNew flow 65.\n",
		"unfinished":  "Flow 65: 150000 packets, 9600000 bytes received in 2999.870 ms, 25.6",
		"bi flow end": "Doing a bidirectional test.\nFlow 65 ended.\n",
		"garbled":     "Flow 65: 150000 packets received in 3 s.\n",
	} {
		if l, ok := ParseOperfFlow(out); ok {
			t.Errorf("%s: parsed %+v", name, l)
		}
	}
}

func TestParseOperfClient(t *testing.T) {
	bi := "Doing a bidirectional test.\nFlooding obench.server with 64 byte packets for 3 seconds.\n\n" +
		"\n--- obench.server perf statistics ---\n" +
		"300 packets transmitted, 290 received, 4% packet loss, time: 3000.000 ms, bandwidth: 0.050 Mb/s.\n" +
		`{"tool":"operf","role":"client","server":"obench.server","test":"bi","qos":"raw","size":64,"flood":true,` +
		`"rate_bps":1000000,"duration_ms":3000,"elapsed_ms":3000,"sent":300,"sent_bytes":19200,"sent_mbps":0.051,` +
		`"received":290,"loss_percent":4,"bandwidth_mbps":0.05}` + "\n"
	s, err := ParseOperfClient(bi)
	if err != nil {
		t.Fatal(err)
	}
	if s.Sent != 300 || s.Received == nil || *s.Received != 290 || s.Elapsed != 3000 || s.Test != "bi" {
		t.Errorf("bi: got %+v", s)
	}
	uni := `{"tool":"operf","role":"client","server":"x","test":"uni","qos":"data","size":64,"flood":true,` +
		`"rate_bps":1000000,"duration_ms":1000,"elapsed_ms":1000.5,"sent":5000,"sent_bytes":320000,"sent_mbps":2.5}`
	if s, err := ParseOperfClient(uni); err != nil || s.Sent != 5000 || s.Received != nil {
		t.Errorf("uni: got %+v, %v", s, err)
	}
	for name, out := range map[string]string{
		"empty":        "",
		"human only":   "300 packets transmitted, 290 received, 4% packet loss, time: 3000.000 ms, bandwidth: 0.050 Mb/s.\n",
		"failed":       `{"tool":"operf","role":"client","test":"uni","sent":0,"error":"Failed to allocate flow."}`,
		"server":       `{"tool":"operf","role":"server","flows":[],"packets":0,"bytes":0}`,
		"bi, no count": `{"tool":"operf","role":"client","test":"bi","elapsed_ms":5,"sent":3}`,
		"more back":    `{"tool":"operf","role":"client","test":"bi","elapsed_ms":5,"sent":3,"received":4}`,
		"nothing sent": `{"tool":"operf","role":"client","test":"uni","elapsed_ms":5,"sent":0}`,
		"bad JSON":     `{"tool":"operf","role":`,
	} {
		if s, err := ParseOperfClient(out); err == nil {
			t.Errorf("%s: parsed %+v, want an error", name, s)
		}
	}
}

func TestParseEvLines(t *testing.T) {
	tt, ok := parseEvServer("ready\ntest: 100 flows, 123456 packets in 2000000000 ns\ntest: 1 flows, 1 packets in 1 ns\n")
	if want := (evServerTest{Flows: 100, Packets: 123456, Elapsed: 2 * time.Second}); !ok || tt != want {
		t.Errorf("server: got %+v %v, want %+v", tt, ok, want)
	}
	if tt, ok := parseEvServer("ready\ntest: 100 flows, 12 packets in 20"); ok {
		t.Errorf("server: parsed an unfinished line: %+v", tt)
	}
	n, err := parseEvDrive("sent 98765 packets on 100 flows in 2000000123 ns\n")
	if err != nil || n != 98765 {
		t.Errorf("driver: got %d, %v", n, err)
	}
	if n, err := parseEvDrive("obench peer evdrive: flow 3 of 100: EAGAIN\n"); err == nil {
		t.Errorf("driver: parsed %d from a failure", n)
	}
}

func TestEvPeerMainArgs(t *testing.T) {
	for _, args := range [][]string{
		{roleEvServer},
		{roleEvDrive, "x", "100", "64"},
		{roleEvDrive, "x", "0", "64", "1s"},
		{roleEvDrive, "x", "100", "64", "soon"},
		{roleEvDrive, "x", "100", "100000", "1s"},
	} {
		if err := evPeerMain(args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

func TestComputeEventSetRatios(t *testing.T) {
	h := &Harness{cfg: Config{OcbrSeconds: 3}}
	rows := h.eventSetRows(ToolPath{ID: DirectID, Label: "direct flow"})
	rows = append(rows, h.eventSetRows(ToolPath{ID: LocalIPCPID, Label: "local IPCP"})...)
	for i, pps := range []float64{1000, 900, 800, 1600, 500, 600, 0, 700} {
		rows[i].PacketsPerSec = pps
	}
	rows[6].Error = "driver failed"
	ComputeEventSetRatios(rows)
	for i, want := range []float64{0, 0.9, 0, 2, 0, 1.2, 0, 0} {
		if math.Abs(rows[i].Ratio-want) > 1e-9 {
			t.Errorf("row %d (%s %s %d): ratio %v, want %v", i, rows[i].Server, rows[i].Client, rows[i].Flows,
				rows[i].Ratio, want)
		}
	}
}

func TestToolsExtraMarkdown(t *testing.T) {
	rep := &Report{OcbrSeconds: 3, ClockTick: 100}
	rep.Operf = []ToolResult{
		{Path: UnixID, Label: "kernel: unix seqpacket socketpair", Impl: ImplKernel, Test: OperfFlood, Size: 64,
			Sent: 3000, Received: 3000, PacketsPerSec: 1000, CPUNs: 1e6, CPUPerPacketNs: 333},
		{Path: UnixID, Label: "kernel: unix seqpacket socketpair", Impl: ImplKernel, Test: OperfEcho, Size: 64,
			Sent: 3000, Received: 3000, PacketsPerSec: 1000},
		{Path: DirectID, Label: "direct flow", Impl: ImplOurs, QoS: "raw", Test: OperfFlood, Size: 64,
			Sent: 2000, Received: 1500, PacketsPerSec: 500, CPUNs: 1e6, CPUPerPacketNs: 666},
		{Path: DirectID, Label: "direct flow", Impl: ImplOurs, QoS: "raw", Test: OperfEcho, Size: 64,
			Error: "operf client: Failed to allocate flow."},
	}
	ComputeToolRatios(rep.Operf)
	if r := rep.Operf[2]; math.Abs(r.KernelRatio-0.5) > 1e-9 {
		t.Errorf("operf ×kernel %v, want 0.5", r.KernelRatio)
	}
	h := &Harness{cfg: Config{OcbrSeconds: 3}}
	rep.EventSet = h.eventSetRows(ToolPath{ID: DirectID, Label: "direct flow"})
	for i := range rep.EventSet {
		rep.EventSet[i].Sent, rep.EventSet[i].Received, rep.EventSet[i].PacketsPerSec = 100, 100, 1234567
	}
	rep.EventSet[3].Error = "eventset server exited"
	ComputeEventSetRatios(rep.EventSet)
	rep.Idle = []IdleResult{
		{Path: DirectID, Label: "direct flow", State: IdleNoFlow, WindowNs: int64(5 * time.Second),
			Procs: []IdleProc{{Name: "oping -l"}, {Name: "irmd", CPUNs: 10e6}}},
		{Path: DirectID, Label: "direct flow", State: IdleOneFlow, WindowNs: int64(5 * time.Second),
			Procs: []IdleProc{{Name: "oping -l", CPUNs: 20e6}, {Name: "oping"}, {Name: "irmd"}}},
		{Path: LocalIPCPID, Label: "local IPCP", State: IdleNoFlow, Error: "setup: no ipcpd-local"},
	}
	if !rep.Failed() {
		t.Errorf("a report with failed rows did not fail")
	}
	md := rep.Markdown()
	for _, want := range []string{
		"\n### `operf -f -s 64 -d 3s`: one-way flood",
		"\n### `operf -t bi -f -s 64 -d 3s`: flood echoed",
		"\n| direct flow | 500 | 0.50 | 500 (25.00%) | 0.67 |\n",
		"\n| direct flow | error: operf client: Failed to allocate flow. | — | — | — |\n",
		"\n### One EventSet serving 1 and 100 busy flows\n",
		"\n| direct flow | `ocbr -l` (blocking Read) | 1 from `ocbr -f` | 1,234,567 |  | 0 | < 1 tick |\n",
		"\n| direct flow | one EventSet | 1 from `ocbr -f` | 1,234,567 | 1.00 | 0 | < 1 tick |\n",
		"\n| direct flow | one EventSet | 100 from one driver process | error: eventset server exited | — | — | — |\n",
		"\n| path | state | oping -l | irmd | oping |\n",
		"\n| direct flow | no flow | 0.0 | 2.0 | — |\n",
		"\n| direct flow | one idle flow | 4.0 | 0.0 | 0.0 |\n",
		"\n| local IPCP | no flow | error: setup: no ipcpd-local | — | — |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
}
