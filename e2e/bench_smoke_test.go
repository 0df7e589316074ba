package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/bench"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

// TestBenchSmoke runs the benchmark harness in smoke mode against real
// processes (its own private irmds, a local IPCP, two hosts over a udp4
// layer, two hosts over an eth-dix layer on a veth pair, unicast layers over
// them (one hop over each, two hops over udp4), its peers, the oping, ocbr
// and operf tools, encrypted flows) and checks that it prints its tables and writes its
// JSON and Markdown with every row, the tools' and reliable flows included, and that it leaves no veth pair or network
// namespace behind. Speed is never asserted, nor that a raw flow over UDP or
// Ethernet loses nothing. Without root the eth-dix rows must say why they
// were skipped.
func TestBenchSmoke(t *testing.T) {
	bin := rig.Bin(t)
	out := t.TempDir()
	// About a minute and a half alone, three and a half minutes on a
	// 2-core machine with a load of 12, more with the race detector.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "obench"), "--smoke", "--out", out)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, rundir.Env+"=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		checkNoBenchNets(t, cmd.Process.Pid)
	}
	if err != nil {
		t.Fatalf("obench --smoke: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if strings.Contains(stderr.String(), "WARNING: DATA RACE") {
		t.Errorf("data race:\n%s", stderr.String())
	}

	jsonFiles, _ := filepath.Glob(filepath.Join(out, "obench-*.json"))
	mdFiles, _ := filepath.Glob(filepath.Join(out, "obench-*.md"))
	if len(jsonFiles) != 1 || len(mdFiles) != 1 {
		t.Fatalf("results: %v %v, want one JSON and one Markdown file", jsonFiles, mdFiles)
	}
	js, err := os.ReadFile(jsonFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.ParseReport(js)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(mdFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != stdout.String() {
		t.Errorf("stdout is not the Markdown file:\n%s", stdout.String())
	}
	if !rep.Smoke || rep.GoVersion == "" || rep.CPU == "" || rep.Cores == 0 || rep.Kernel == "" {
		t.Errorf("report header: %+v", rep)
	}

	for _, table := range []string{"\n## Many flows", "\n## Many names"} {
		if !strings.Contains(stdout.String(), table) {
			t.Errorf("no table %q in the output", table[1:])
		}
	}

	checkToolRows(t, rep, stdout.String())
	checkToolExtraRows(t, rep, stdout.String())
	checkSecureRows(t, rep, stdout.String())

	plan := bench.Plan()
	paths := bench.DefaultPaths()
	if len(rep.Results) != len(paths)*len(plan) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(paths)*len(plan))
	}
	for i, p := range paths {
		skip := ""
		if p.Skip != nil {
			skip = p.Skip()
		}
		if strings.HasPrefix(p.ID, bench.EthDIXID) {
			switch {
			case os.Geteuid() != 0 && skip != "needs root for a veth pair and raw sockets":
				t.Errorf("%s: not root, but Skip says %q", p.ID, skip)
			case skip != "":
				t.Logf("%s skipped: %s", p.ID, skip)
			}
		}
		rows := 0
		// The tables of the plan come after the tools tables and before the
		// many-flows and many-names tables, whose rows also start with a
		// path's label.
		_, planTables, _ := strings.Cut(stdout.String(), "\n## The data path")
		planTables, _, _ = strings.Cut(planTables, "\n## Many ")
		for _, line := range strings.Split(planTables, "\n") {
			if strings.HasPrefix(line, "| "+p.Label+" | ") {
				rows++
			}
		}
		if rows != len(plan) {
			t.Errorf("table has %d rows for %s, want %d", rows, p.Label, len(plan))
		}
		for j, m := range plan {
			r := rep.Results[i*len(plan)+j]
			if r.Path != p.ID || r.Test != m.Test || r.Size != m.Size {
				t.Errorf("result %d is %s %s %d B, want %s %v", i*len(plan)+j, r.Path, r.Test, r.Size, p.ID, m)
				continue
			}
			if skip != "" {
				// Skipped: the reason, no figures, not a failure.
				if r.Skipped != skip || r.Error != "" || r.Sent != 0 || r.Ratios != nil {
					t.Errorf("%s %v: skipped for %q: %+v", p.ID, m, skip, r)
				}
				continue
			}
			if r.Error != "" || r.Skipped != "" || r.Received == 0 || r.Received > r.Sent || r.ElapsedNs <= 0 || len(r.PIDs) < 2 {
				t.Errorf("%s %v: %+v", p.ID, m, r)
			}
			// A reliable flow loses nothing, over UDP and Ethernet too.
			if p.QoS == "data" && r.Received != r.Sent {
				t.Errorf("%s %v: %d of %d packets arrived", p.ID, m, r.Received, r.Sent)
			}
			// Two hosts: this process, two irmds, two IPCPs, the server.
			if (strings.HasPrefix(p.ID, bench.UDP4LayerID) || strings.HasPrefix(p.ID, bench.EthDIXID)) &&
				len(r.PIDs) != 6 {
				t.Errorf("%s %v: CPU time of %v, want 6 processes", p.ID, m, r.PIDs)
			}
			if !p.Kernel && len(r.Ratios[bench.UnixID]) == 0 {
				t.Errorf("%s %v: no ratios to the kernel", p.ID, m)
			}
			// Every row has ratios to its baseline: a kernel path, or for a
			// reliable flow the raw flow of its path.
			if !p.Kernel && len(r.Ratios[p.Baseline]) == 0 {
				t.Errorf("%s %v: no ratios to %s", p.ID, m, p.Baseline)
			}
			if !p.Kernel && r.QoS != p.QoS {
				t.Errorf("%s %v: QoS %q, want %q", p.ID, m, r.QoS, p.QoS)
			}
		}
	}
}

// checkNoBenchNets fails the test if the obench process pid left a network
// namespace or an interface behind: the eth-dix layer's are named o7sb, the
// pid, and a, b (the ends of the veth pair) or n (the namespace), and a
// sequence number.
func checkNoBenchNets(t *testing.T, pid int) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil || os.Geteuid() != 0 {
		return
	}
	left := regexp.MustCompile(`(?m)^(?:[0-9]+: )?(o7sb` + strconv.Itoa(pid) + `[abn][0-9]+)\b`)
	for _, args := range [][]string{{"netns", "list"}, {"-o", "link", "show"}} {
		out, _ := exec.Command("ip", args...).Output()
		for _, m := range left.FindAllStringSubmatch(string(out), -1) {
			t.Errorf("obench left %s behind (ip %s)", m[1], strings.Join(args, " "))
		}
	}
}

// checkToolRows checks the tools rows of a smoke run: a kernel row and a row
// of ours for every path, QoS and tool command, in order, each with its
// figure and its ratio to the kernel's (or, on eth-dix without root, the
// reason it was skipped), and their tables in the Markdown. Figures are
// never compared with anything.
func checkToolRows(t *testing.T, rep *bench.Report, md string) {
	t.Helper()
	if !strings.Contains(md, "\n## What users run: the tools next to the kernel\n") {
		t.Errorf("no tools section in the output")
	}
	for _, title := range []string{"### `oping -f -c ", "### `oping -i 5 -c ", "### `ocbr -f -s 64 ", "### `ocbr -f -s 1000 "} {
		if !strings.Contains(md, "\n"+title) {
			t.Errorf("no table %q in the output", title)
		}
	}
	plan := bench.ToolPlan()
	var want []bench.ToolResult
	for _, m := range plan {
		want = append(want, bench.ToolResult{Path: bench.UnixID, Impl: bench.ImplKernel, Test: m.Test, Size: m.Size})
	}
	skip := map[string]string{}
	for _, p := range bench.DefaultToolPaths() {
		if p.Skip != nil {
			skip[p.ID] = p.Skip()
		}
		for _, q := range bench.ToolQoS {
			for _, m := range plan {
				want = append(want, bench.ToolResult{Path: p.ID, Impl: bench.ImplOurs, QoS: q, Test: m.Test, Size: m.Size})
			}
		}
	}
	var rows []bench.ToolResult
	for _, r := range rep.Tools {
		if r.Impl != bench.ImplReference { // optional, not in smoke runs
			rows = append(rows, r)
		}
	}
	if len(rows) != len(want) {
		t.Fatalf("%d tools rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Path != w.Path || r.Impl != w.Impl || r.QoS != w.QoS || r.Test != w.Test || r.Size != w.Size {
			t.Errorf("tools row %d is %s %s %s %s %d, want %s %s %s %s %d", i, r.Path, r.Impl, r.QoS, r.Test, r.Size,
				w.Path, w.Impl, w.QoS, w.Test, w.Size)
			continue
		}
		if why := skip[r.Path]; why != "" {
			if r.Skipped != why || r.Error != "" || r.Sent != 0 {
				t.Errorf("tools row %d (%s %s) skipped for %q: %+v", i, r.Label, r.Command, why, r)
			}
			continue
		}
		fig := r.Figure()
		if r.Error != "" || r.Skipped != "" || r.Received == 0 || r.Received > r.Sent || !(fig > 0) {
			t.Errorf("tools row %d (%s %s): %+v", i, r.Label, r.Command, r)
		}
		if r.Impl == bench.ImplOurs && !(r.KernelRatio > 0) {
			t.Errorf("tools row %d (%s %s): no ratio to the kernel", i, r.Label, r.Command)
		}
		if r.Impl == bench.ImplOurs && !strings.Contains(md, "\n| "+r.Label+" | ") {
			t.Errorf("tools row %d: no row %q in the output", i, r.Label)
		}
	}
}
