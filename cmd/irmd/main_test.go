package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageConfig: the help names --config.
func TestUsageConfig(t *testing.T) {
	var b strings.Builder
	usage(&b)
	if !strings.Contains(b.String(), "--config <file>") {
		t.Fatalf("usage has no --config:\n%s", b.String())
	}
}

// TestConfigRefusedBeforeStart: --config without a file, or with a file
// that has a mistake, exits 1 and leaves no run directory behind.
func TestConfigRefusedBeforeStart(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "irmd.conf")
	if err := os.WriteFile(conf, []byte("[local.l]\nbootstrap = 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	for _, args := range [][]string{
		{"--stdout", "--run-dir", run, "--config"},
		{"--stdout", "--run-dir", run, "--config", conf},
		{"--stdout", "--run-dir", run, "--config", filepath.Join(dir, "none")},
	} {
		if code := runQuiet(t, args); code != 1 {
			t.Errorf("irmd %q: exit %d, want 1", args, code)
		}
		if _, err := os.Stat(run); !os.IsNotExist(err) {
			t.Fatalf("irmd %q left %s: %v", args, run, err)
		}
	}
}

// runQuiet calls run with stdout and stderr sent to /dev/null.
func runQuiet(t *testing.T, args []string) int {
	t.Helper()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = null, null
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	return run(args)
}

// TestMaxConnsRefused: --max-conns without a number, or with one that is not
// a positive count, exits 1 before anything starts.
func TestMaxConnsRefused(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	expectRefused(t, run, "--max-conns", [][]string{{}, {"0"}, {"-3"}, {"many"}, {"10x"}})
	expectUsage(t, "--max-conns <n>")
}

// expectRefused runs the irmd with option opt followed by each of values
// and checks that it exits 1 without creating its run directory run.
func expectRefused(t *testing.T, run, opt string, values [][]string) {
	t.Helper()
	for _, v := range values {
		args := append([]string{"--stdout", "--run-dir", run, opt}, v...)
		if code := runQuiet(t, args); code != 1 {
			t.Errorf("irmd %q: exit %d, want 1", args, code)
		}
		if _, err := os.Stat(run); !os.IsNotExist(err) {
			t.Fatalf("irmd %q left %s: %v", args, run, err)
		}
	}
}

// expectUsage checks that the usage text shows want.
func expectUsage(t *testing.T, want string) {
	t.Helper()
	var b strings.Builder
	usage(&b)
	if !strings.Contains(b.String(), want) {
		t.Fatalf("usage has no %s:\n%s", want, b.String())
	}
}

// TestSecurityDirRefused: --security-dir without a directory, or with one
// that does not exist or is a file, exits 1 before anything starts.
func TestSecurityDirRefused(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	expectRefused(t, run, "--security-dir", [][]string{{}, {""}, {filepath.Join(dir, "none")}, {file}})
	expectUsage(t, "--security-dir <dir>")
}
