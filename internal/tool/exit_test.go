package tool

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

// TestIRMDGone: the line names the run directory once, without the
// callers' prefixes, and other errors are not taken for a gone IRMd.
func TestIRMDGone(t *testing.T) {
	dir, err := os.MkdirTemp("", "o7s-tool-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	t.Setenv(rundir.Env, dir)
	err = flow.Init() // nothing listens in dir
	line, ok := IRMDGone("Failed to accept flow", fmt.Errorf("accept flow: %w", err))
	want := "Failed to accept flow: no IPC Resource Manager daemon at " + dir + " (its socket does not exist). Exiting.\n"
	if !ok || line != want {
		t.Errorf("IRMDGone(%v) = %q, %v; want %q", err, line, ok, want)
	}
	if line, ok := IRMDGone("Failed to accept flow", fmt.Errorf("accept flow: %w", flow.EIRMD)); ok {
		t.Errorf("a plain EIRMD taken for a gone IRMd: %q", line)
	}
	if _, ok := IRMDGone("x", errors.New("other")); ok {
		t.Error("an unrelated error taken for a gone IRMd")
	}
}
