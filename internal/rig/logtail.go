package rig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What a failing test prints of a log: its last TailLines lines and, from
// before them, at most NotableLines lines that report trouble, the first
// and the last halves of them. The whole log goes to a file (Instance.LogFile).
const (
	TailLines    = 40
	NotableLines = 20
)

// notable marks the lines worth printing wherever they are in a log: the
// warning and error levels of the log format, and crashes.
var notable = []string{"(WW)", "(EE)", "panic", "DATA RACE", "fatal error"}

func isNotable(line string) bool {
	for _, s := range notable {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// Tail returns the part of log a failing test prints: the lines that report
// warnings, errors and crashes from before the last n lines (at most
// NotableLines of them: the first and the last halves), then the last n
// lines, each part under a line saying what it is and how much was left out.
// A log of at most n lines is returned whole.
func Tail(log string, n int) string {
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	if log == "" {
		lines = nil
	}
	if len(lines) <= n {
		return log
	}
	head, tail := lines[:len(lines)-n], lines[len(lines)-n:]
	var marked []string
	for _, l := range head {
		if isNotable(l) {
			marked = append(marked, l)
		}
	}
	var b strings.Builder
	if len(marked) > 0 {
		fmt.Fprintf(&b, "[%d warning and error lines of the first %d lines", len(marked), len(head))
		if len(marked) > NotableLines {
			fmt.Fprintf(&b, "; the first and last %d", NotableLines/2)
			skipped := len(marked) - NotableLines
			marked = append(append(marked[:NotableLines/2:NotableLines/2],
				fmt.Sprintf("[... %d more ...]", skipped)), marked[len(marked)-NotableLines/2:]...)
		}
		b.WriteString("]\n")
		for _, l := range marked {
			b.WriteString(l + "\n")
		}
	}
	fmt.Fprintf(&b, "[last %d of %d lines]\n", n, len(lines))
	for _, l := range tail {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// logFileFor returns where the whole log of an instance of t, running in
// dir, is saved when the test fails: o7s-logs in the system's temporary
// directory, which outlives the test (t.TempDir does not).
func logFileFor(t testing.TB, dir string) string {
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, t.Name())
	return filepath.Join(os.TempDir(), "o7s-logs", name+"-"+filepath.Base(dir)+".log")
}

// LogFile is where the instance's whole log is written if the test fails.
func (in *Instance) LogFile() string { return in.logFile }

// Tail returns the bounded excerpt of the instance's log that a failure
// message should carry (see Tail), with the place of the whole log.
func (in *Instance) Tail() string {
	in.tailShown.Store(true)
	return fmt.Sprintf("[irmd log of %s; the whole log is saved in %s if the test fails]\n%s",
		in.Dir, in.logFile, Tail(in.log.String(), TailLines))
}

// Tail returns the bounded excerpt of the process's output (see Tail).
func (p *Proc) Tail() string { return Tail(p.Out.String(), TailLines) }

// saveLog writes the whole log to LogFile and returns an error in words.
func (in *Instance) saveLog() error {
	if err := os.MkdirAll(filepath.Dir(in.logFile), 0o755); err != nil {
		return err
	}
	return os.WriteFile(in.logFile, []byte(in.log.String()), 0o644)
}

// reportLog is what Stop does for a failed test: save the whole log and
// print its tail, unless a failure message already carried it.
func (in *Instance) reportLog() {
	where := in.logFile
	if err := in.saveLog(); err != nil {
		where = fmt.Sprintf("nowhere (%v)", err)
	}
	n := strings.Count(in.log.String(), "\n")
	if in.tailShown.Load() {
		in.t.Logf("irmd log of %s: %d lines, saved in %s", in.Dir, n, where)
		return
	}
	in.t.Logf("irmd log of %s: %d lines, saved in %s:\n%s", in.Dir, n, where, Tail(in.log.String(), TailLines))
}

// raceReportLines bounds the race detector's report printed for a process.
const raceReportLines = 150

// raceReport returns the first data race report in out (the race
// detector's report runs from its WARNING line to a line of '='), at most
// raceReportLines lines of it.
func raceReport(out string) string {
	i := strings.Index(out, "WARNING: DATA RACE")
	if i < 0 {
		return Tail(out, TailLines)
	}
	lines := strings.Split(out[i:], "\n")
	for j, l := range lines {
		if j > 0 && strings.HasPrefix(l, "==================") {
			lines = lines[:j+1]
			break
		}
	}
	if len(lines) > raceReportLines {
		lines = append(lines[:raceReportLines], "[... report cut ...]")
	}
	return strings.Join(lines, "\n")
}
