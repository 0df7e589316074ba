package rig

import (
	"fmt"
	"strings"
	"testing"
)

func logOf(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestTailShortLogWhole(t *testing.T) {
	log := logOf("==00001== irmd(II): a", "==00001== irmd(EE): b")
	if got := Tail(log, 40); got != log {
		t.Errorf("Tail of a 2-line log = %q, want it whole", got)
	}
	if got := Tail("", 40); got != "" {
		t.Errorf("Tail of an empty log = %q", got)
	}
}

// TestTailSelection: 1,200 lines with a few warnings and errors early on
// give those lines, then the last 40, in order, with headers counting them.
func TestTailSelection(t *testing.T) {
	var lines []string
	for i := range 1200 {
		switch i {
		case 10:
			lines = append(lines, "==00007== irmd(WW): early warning")
		case 500:
			lines = append(lines, "==00008== ipcpd-eth-dix(EE): the error that matters")
		case 700:
			lines = append(lines, "panic: runtime error")
		default:
			lines = append(lines, fmt.Sprintf("==00007== irmd(II): line %d", i))
		}
	}
	got := strings.Split(strings.TrimSuffix(Tail(logOf(lines...), 40), "\n"), "\n")
	want := []string{
		"[3 warning and error lines of the first 1160 lines]",
		"==00007== irmd(WW): early warning",
		"==00008== ipcpd-eth-dix(EE): the error that matters",
		"panic: runtime error",
		"[last 40 of 1200 lines]",
	}
	want = append(want, lines[1160:]...)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Tail gave %d lines:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
}

// TestTailBoundsNotable: a log full of warnings gives the first and last
// NotableLines/2 of them with a count of the rest, so the output is bounded
// whatever the log.
func TestTailBoundsNotable(t *testing.T) {
	var lines []string
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("==00007== irmd(WW): warning %d", i))
	}
	out := Tail(logOf(lines...), 40)
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if n := len(got); n != 1+NotableLines+1+1+40 {
		t.Fatalf("Tail of 5,000 warnings has %d lines, want %d:\n%s", n, 1+NotableLines+1+1+40, out)
	}
	for _, w := range []string{
		"[4960 warning and error lines of the first 4960 lines; the first and last 10]",
		"irmd(WW): warning 0\n", "irmd(WW): warning 9\n", "[... 4940 more ...]",
		"irmd(WW): warning 4950\n", "irmd(WW): warning 4959\n", "[last 40 of 5000 lines]",
		"irmd(WW): warning 4960\n", "irmd(WW): warning 4999\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("Tail lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "warning 10\n") || strings.Contains(out, "warning 4949\n") {
		t.Errorf("Tail kept warnings it should have counted:\n%s", out)
	}
}

func TestRaceReport(t *testing.T) {
	out := logOf("New flow 64.", "==================", "WARNING: DATA RACE", "Write at 0x1 by goroutine 7:",
		"  main.f()", "==================", "Received 64 bytes.")
	got := raceReport(out)
	want := "WARNING: DATA RACE\nWrite at 0x1 by goroutine 7:\n  main.f()\n=================="
	if got != want {
		t.Errorf("raceReport = %q, want %q", got, want)
	}
}

func TestLogFileName(t *testing.T) {
	got := logFileFor(t, "/tmp/o7s-run-123")
	if !strings.HasSuffix(got, "/o7s-logs/TestLogFileName-o7s-run-123.log") {
		t.Errorf("log file %q", got)
	}
}
