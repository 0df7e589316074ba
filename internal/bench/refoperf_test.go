package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Output of the reference's operf 0.23.0 (direct variant's and nodirect's
// alike), captured in a cnode.sh node with a local IPCP: the clients of
// "operf -n operf.x -f -s 64 -d 3s" and "operf -n operf.x -t bi -f -s 64
// -d 3s", and the server (operf -l) that served both.
const (
	refOperfUniOut = "Doing a unidirectional test.\nFlooding operf.x with 64 byte packets for 3 seconds.\n\nTest finished.\n"
	refOperfBiOut  = "Doing a bidirectional test.\nFlooding operf.x with 64 byte packets for 3 seconds.\n\n" +
		"Test finished.\nServer timed out.\n\n--- operf.x perf statistics ---\n" +
		"0 packets transmitted, 0 received, 0% packet loss, time: 0.141 ms, bandwidth: 0.000 Mb/s.\n"
	refOperfServerOut = "Ouroboros perf server started.\nNew flow 64.\nDoing a unidirectional test.\nFlow 64 timed out.\n" +
		"New flow 64.\nDoing a bidirectional test.\nFlow 64 timed out.\n"
)

func TestParseRefOperfBi(t *testing.T) {
	s, err := ParseRefOperfBi(refOperfBiOut)
	if err != nil || s.Sent != 0 || s.Received != 0 || s.Elapsed != 141*time.Microsecond {
		t.Errorf("captured output: %+v, %v", s, err)
	}
	working := strings.Replace(refOperfBiOut, "0 packets transmitted, 0 received, 0% packet loss, time: 0.141 ms",
		"1000 packets transmitted, 900 received, 10% packet loss, time: 100.500 ms", 1)
	s, err = ParseRefOperfBi(working)
	if err != nil || s.Sent != 1000 || s.Received != 900 || s.Elapsed != 100500*time.Microsecond {
		t.Errorf("statistics of a working client: %+v, %v", s, err)
	}
	for _, bad := range []string{
		refOperfUniOut, // no statistics
		"",
		strings.TrimSuffix(refOperfBiOut, "0 packets transmitted, 0 received, 0% packet loss, time: 0.141 ms, bandwidth: 0.000 Mb/s.\n"),
		strings.Replace(refOperfBiOut, "0 received", "many received", 1),
		strings.Replace(refOperfBiOut, "0 packets transmitted, 0 received", "5 packets transmitted, 6 received", 1),
	} {
		if s, err := ParseRefOperfBi(bad); err == nil {
			t.Errorf("%q: %+v, want an error", bad, s)
		}
	}
}

func TestParseRefOperfUni(t *testing.T) {
	if s := ParseRefOperfUni(refOperfServerOut); s != (RefOperfStats{}) {
		t.Errorf("captured server output: %+v, want nothing counted", s)
	}
	out := "New flow 64.\nDoing a unidirectional test.\n" +
		"Seqno 0 from fd 64: 1700000000.999000\n" +
		"Seqno 1 from fd 64: 1700000001.000000\n" +
		"Seqno 4 from fd 64: 1700000001.001000\n" +
		"Seqno 5 from fd 64: 1700000001.00" // being written
	s := ParseRefOperfUni(out)
	if s.Received != 3 || s.Sent != 5 || s.Elapsed != 2*time.Millisecond {
		t.Errorf("%+v, want 3 of 5 in 2 ms", s)
	}
}

// fakeOperfCnode stands in for the reference's cnode.sh for the operf rows:
// its operf client prints what FAKE_MODE says (broken: the reference
// 0.23.0's real output; working: figures) and leaves the server's lines in
// the node's bg.operf.log. FAKE_MODE=nostart fails the node's start.
const fakeOperfCnode = `#!/bin/sh
d=$O7S_REF_STATE/$2
case "$1" in
start)
	if [ "$FAKE_MODE" = nostart ]; then echo "cannot create the node" >&2; exit 1; fi
	mkdir -p "$d"
	[ "$3" = direct ] && echo "Flow 64 allocated (direct)." > "$d/irmd.log"
	exit 0 ;;
bg)
	echo "Ouroboros perf server started." > "$d/bg.$3.log"
	echo 4242 ;;
kill|stop) exit 0 ;;
exec)
	shift 2
	case "$*" in
	*"operf -n"*"-t bi"*)
		printf 'New flow 64.\nDoing a bidirectional test.\nFlow 64 timed out.\n' >> "$d/bg.operf.log"
		if [ "$FAKE_MODE" = working ]; then
			printf 'Test finished.\nServer timed out.\n\n--- x perf statistics ---\n1000 packets transmitted, 900 received, 10%% packet loss, time: 100.000 ms, bandwidth: 4.608 Mb/s.\n'
		else
			printf '%s' "$BI_OUT"
		fi ;;
	*"operf -n"*)
		if [ "$FAKE_MODE" = working ]; then
			printf 'New flow 64.\nSeqno 0 from fd 64: 10.000000\nSeqno 1 from fd 64: 10.000500\nSeqno 3 from fd 64: 10.001000\nFlow 64 timed out.\n' >> "$d/bg.operf.log"
		else
			printf 'New flow 64.\nDoing a unidirectional test.\nFlow 64 timed out.\n' >> "$d/bg.operf.log"
		fi
		printf '%s' "$UNI_OUT" ;;
	esac ;;
esac
`

// refOperfFake returns a harness whose reference is the fake cnode.sh.
func refOperfFake(t *testing.T, mode string) *Harness {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the reference rows run only as root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("the reference rows need /dev/fuse")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cnode.sh"), []byte(fakeOperfCnode), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_MODE", mode)
	t.Setenv("UNI_OUT", refOperfUniOut)
	t.Setenv("BI_OUT", refOperfBiOut)
	h, err := New(Config{OcbrSeconds: 1, Reference: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Cleanup)
	return h
}

// TestRefOperfRowsBroken: the reference's operf client, which sends no data
// packets, gives rows that say so, not errors, on both paths.
func TestRefOperfRowsBroken(t *testing.T) {
	h := refOperfFake(t, "broken")
	for _, p := range DefaultToolPaths()[:2] {
		rows := h.runRefOperfPath(context.Background(), p)
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows", p.Label, len(rows))
		}
		for _, r := range rows {
			if r.Error != "" || !strings.Contains(r.Skipped, "limitation of the reference: its operf client sends no data packets") {
				t.Errorf("%s %s: error %q, note %q", r.Label, r.Test, r.Error, r.Skipped)
			}
			if r.Impl != ImplReference || r.Path != p.ID || !strings.HasPrefix(r.Label, "reference: ") {
				t.Errorf("row %+v", r)
			}
		}
		if rows[0].Command != "operf -f -s 64 -d 1s" || rows[1].Command != "operf -t bi -f -s 64 -d 1s" {
			t.Errorf("commands %q, %q", rows[0].Command, rows[1].Command)
		}
	}
}

// TestRefOperfRowsMeasured: a reference operf that works gives figures, and
// our raw rows of the same path their ×ref; the table gets a ×ref column.
func TestRefOperfRowsMeasured(t *testing.T) {
	h := refOperfFake(t, "working")
	p := DefaultToolPaths()[0]
	rows := h.runRefOperfPath(context.Background(), p)
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	uni, bi := rows[0], rows[1]
	if uni.Error != "" || uni.Skipped != "" || uni.Received != 3 || uni.Sent != 4 || math.Abs(uni.PacketsPerSec-3000) > 1e-6 {
		t.Errorf("one-way row %+v", uni)
	}
	if bi.Error != "" || bi.Skipped != "" || bi.Received != 900 || bi.Sent != 1000 || math.Abs(bi.PacketsPerSec-9000) > 1e-6 {
		t.Errorf("echo row %+v", bi)
	}
	ours := []ToolResult{
		{Path: DirectID, Label: "direct flow", Impl: ImplOurs, QoS: "raw", Test: OperfFlood, Size: 64,
			Sent: 6000, Received: 6000, PacketsPerSec: 6000},
		{Path: DirectID, Label: "direct flow, reliable", Impl: ImplOurs, QoS: "data", Test: OperfFlood, Size: 64,
			Sent: 6000, Received: 6000, PacketsPerSec: 3000},
	}
	rep := &Report{OcbrSeconds: 1, Operf: append(ours, rows...)}
	ComputeToolRatios(rep.Operf)
	if r := rep.Operf[0]; math.Abs(r.RefRatio-2) > 1e-9 {
		t.Errorf("raw ×ref %v, want 2", r.RefRatio)
	}
	if r := rep.Operf[1]; r.RefRatio != 0 {
		t.Errorf("reliable ×ref %v, want none", r.RefRatio)
	}
	md := rep.operfMarkdown()
	for _, want := range []string{
		"| path | packets/s | ×kernel | ×ref | lost | CPU µs/pkt |\n",
		"\n| direct flow | 6,000 |  | 2.00 | 0 | < 1 tick |\n",
		"\n| reference: direct flow | 3,000 |  |  | 1 (25.00%) | — |\n",
		"Reference rows run the reference implementation's `operf`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
}

// TestRefOperfSetupFails: a reference node that cannot start gives error
// rows saying why, and does not fail the run.
func TestRefOperfSetupFails(t *testing.T) {
	h := refOperfFake(t, "nostart")
	rows := h.runRefOperfPath(context.Background(), DefaultToolPaths()[1])
	for _, r := range rows {
		if !strings.Contains(r.Error, "setup") || !strings.Contains(r.Error, "cannot create the node") {
			t.Errorf("%s: error %q", r.Test, r.Error)
		}
	}
	rep := &Report{OcbrSeconds: 1, Operf: rows}
	if rep.Failed() {
		t.Errorf("a failed reference setup failed the run")
	}
	if md := rep.operfMarkdown(); strings.Contains(md, "| ×ref |") || !strings.Contains(md, "| reference: local IPCP | error: setup") {
		t.Errorf("table:\n%s", md)
	}
}

// TestRefRows: the reference rows run only for a path with a variant, with
// a reference configured (not --reference none) and not in smoke runs.
func TestRefRows(t *testing.T) {
	p := DefaultToolPaths()[0]
	for _, c := range []struct {
		cfg  Config
		p    ToolPath
		want bool
	}{
		{Config{Reference: DefaultReference}, p, true},
		{Config{Reference: ""}, p, false},
		{Config{Reference: DefaultReference, Smoke: true}, p, false},
		{Config{Reference: DefaultReference}, DefaultToolPaths()[2], false}, // udp4 layer: no variant
	} {
		h := &Harness{cfg: c.cfg}
		if got := h.refRows(c.p); got != c.want {
			t.Errorf("%+v on %s: %v, want %v", c.cfg, c.p.Label, got, c.want)
		}
	}
}

// TestRefOperfRowsReal runs the operf reference rows once with the
// installed reference, on the direct and local IPCP paths: every row is
// measured or says why not (the 0.23.0 client sends no data packets), none
// is an error.
func TestRefOperfRowsReal(t *testing.T) {
	if why := ReferenceSkip(DefaultReference); why != "" {
		t.Skip(why)
	}
	h, err := New(Config{OcbrSeconds: 1, Reference: DefaultReference})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	for _, p := range DefaultToolPaths()[:2] {
		for _, r := range h.runRefOperfPath(context.Background(), p) {
			t.Logf("%s: %s: %.0f packets/s, %d of %d; note %q", r.Label, r.Command, r.PacketsPerSec, r.Received, r.Sent, r.Skipped)
			switch {
			case r.Error != "":
				t.Errorf("%s: %s: %s", r.Label, r.Command, r.Error)
			case r.Skipped == "" && (r.Received == 0 || r.PacketsPerSec <= 0):
				t.Errorf("%s: %s: no figures and no note", r.Label, r.Command)
			}
		}
	}
}
