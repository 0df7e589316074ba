package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// The README marks its tutorial's shell block and the output it shows with
// these comments, each on the line before the block.
const (
	tutorialMark       = "<!-- tutorial: e2e/tutorial_test.go runs this block -->"
	tutorialOutputMark = "<!-- tutorial output: e2e/tutorial_test.go checks this -->"
)

// readmeBlock returns the fenced block that follows mark in the README.
func readmeBlock(t *testing.T, readme, mark string) string {
	t.Helper()
	i := strings.Index(readme, mark)
	if i < 0 {
		t.Fatalf("README.md has no %q", mark)
	}
	rest := readme[i+len(mark):]
	open := strings.Index(rest, "```")
	if open < 0 {
		t.Fatalf("no fenced block after %q", mark)
	}
	rest = rest[open:]
	body := rest[strings.Index(rest, "\n")+1:]
	end := strings.Index(body, "\n```")
	if end < 0 {
		t.Fatalf("unterminated block after %q", mark)
	}
	return body[:end+1]
}

// TestREADMETutorial runs the README's tutorial exactly as written, pasted
// into bash as one block, with the freshly built commands first on PATH and
// mktemp's directory in a private temporary directory; then it stops the
// background jobs the tutorial started. Every command must succeed (nothing
// on stderr but the irmd's log) and the client's output must have the lines
// the README shows, with other times.
func TestREADMETutorial(t *testing.T) {
	bin := rig.Bin(t)
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	script := readmeBlock(t, readme, tutorialMark)
	shown := readmeBlock(t, readme, tutorialOutputMark)
	if strings.Contains(script, "sudo") {
		t.Skip("the tutorial needs root")
	}

	tmp := t.TempDir()
	// Stop what the tutorial left running, the last job first: the server
	// before the irmd (a server whose irmd goes away first rightly reports
	// that it failed to accept a flow), then the irmd, which stops the IPCP.
	stop := "\nfor j in $(jobs -p | tac); do kill $j 2>/dev/null; wait $j; done\nwait\n"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-s")
	cmd.Stdin = strings.NewReader(script + stop)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "TMPDIR="+tmp,
		"OUROBOROS_RUN_DIR="+filepath.Join(tmp, "unset")) // the tutorial sets its own
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything left behind
	}
	out := stdout.String() + stderr.String()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			t.Fatalf("tutorial: %v\n%s", err, rig.Tail(out, rig.TailLines))
		}
		// The exit status is the wait's, after the kill: not the tutorial's.
	}
	for _, bad := range []string{"Failed", "failed", "rror", "Cannot", "not found"} {
		if strings.Contains(out, bad) {
			t.Errorf("tutorial output has %q:\n%s", bad, rig.Tail(out, rig.TailLines))
		}
	}
	if !strings.Contains(out, "|           local-ipcp |      local |          local-layer |") {
		t.Errorf("irm ipcp list does not show the IPCP:\n%s", rig.Tail(out, rig.TailLines))
	}
	// Every line the README shows, in order, with any figures in place of
	// the times, in ms or µs.
	num := regexp.MustCompile(`[0-9]+\.[0-9]+`)
	rest := out
	for _, line := range strings.Split(strings.TrimSuffix(shown, "\n"), "\n") {
		if line == "" {
			continue
		}
		parts := num.Split(line, -1)
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		// oping prints a time under 0.1 ms in µs (as the reference does).
		pat := strings.ReplaceAll(strings.Join(parts, `[0-9]+\.[0-9]+`), `[0-9]+\.[0-9]+ ms`, `[0-9]+\.[0-9]+ (?:ms|µs)`)
		re := regexp.MustCompile("(?m)^" + pat + "$")
		loc := re.FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("the tutorial did not print %q (in order):\n%s", line, rig.Tail(out, rig.TailLines))
		}
		rest = rest[loc[1]:]
	}
}
