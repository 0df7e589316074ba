package bench

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A child's output goes to a file, as the reference's tools' does, not to a
// pipe whose reader (the harness) would wake for every line a server prints;
// String sees what it wrote, during its life and after.
func TestChildOutputIsAFile(t *testing.T) {
	ps := &procs{}
	defer ps.cleanup()
	cmd := exec.Command("sh", "-c", `if [ -p /dev/stdout ]; then echo "stdout: pipe"; else echo "stdout: not a pipe"; fi; echo err >&2; echo ready; exec sleep 30`)
	c, err := ps.start("sh", cmd, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitOutput("ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out := c.out.String()
	if !strings.Contains(out, "stdout: not a pipe\n") || !strings.Contains(out, "err\n") {
		t.Errorf("the child's output:\n%s\nwant its standard output in a file, not a pipe, and its standard error with it", out)
	}
	ps.stop(c)
	if got := c.out.String(); got != out {
		t.Errorf("after the child stopped the output reads\n%s\nwant\n%s", got, out)
	}
}
