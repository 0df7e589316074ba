package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// TestSlowIPCPBoot: an IPCP process that takes 6 s to start (as on a loaded
// host) is waited for, not killed as failed to boot. The irmd runs from a
// copy next to an ipcpd-local that sleeps before it starts the real one.
func TestSlowIPCPBoot(t *testing.T) {
	in := rig.Start(t, rig.Options{})
	dir := t.TempDir()
	copyFile(t, filepath.Join(in.Bin, "irmd"), filepath.Join(dir, "irmd"))
	script := "#!/bin/sh\nsleep 6\nexec " + filepath.Join(in.Bin, "ipcpd-local") + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "ipcpd-local"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	killIRMd(t, in)
	irmd := in.StartCmd(exec.Command(filepath.Join(dir, "irmd"), "--stdout", "--run-dir", in.Dir))
	irmd.WaitOutput(t, "daemon started", 10*time.Second)
	out, errOut, code := in.Run("irm", "ipcp", "create", "type", "local", "name", "slow")
	if code != 0 || !strings.Contains(irmd.Out.String(), "Created IPCP") {
		t.Fatalf("irm ipcp create with an IPCP that starts in 6 s: exit %d\n%s%s\nirmd:\n%s", code, out, errOut, irmd.Tail())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
