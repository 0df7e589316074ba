package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// TestShutdown stops the irmd with SIGTERM: its IPCPs and registered
// processes exit, the sockets and the lock are removed, the log says goodbye.
func TestShutdown(t *testing.T) {
	in := rig.Start(t, rig.Options{})
	in.Irm("ipcp", "bootstrap", "type", "local", "name", "loc", "layer", "l")
	srv := in.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	in.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "srv")
	var ipcp int
	for _, l := range rig.Lines(in.Irm("ipcp", "list"), " loc ") {
		f := rig.Fields(l)
		ipcp, _ = strconv.Atoi(f[0])
	}
	if ipcp == 0 {
		t.Fatal("no IPCP listed")
	}
	if _, err := os.Stat(filepath.Join(in.Dir, "ipcp."+strconv.Itoa(ipcp)+".sock")); err != nil {
		t.Fatalf("IPCP socket: %v", err)
	}
	in.Stop()
	if !srv.Wait(10 * time.Second) {
		t.Fatal("the oping server survived the irmd")
	}
	if err := syscall.Kill(ipcp, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("the IPCP survived the irmd: kill(%d, 0) = %v", ipcp, err)
	}
	for _, f := range []string{"irm.sock", "irmd.lock", "ipcp." + strconv.Itoa(ipcp) + ".sock"} {
		if _, err := os.Stat(filepath.Join(in.Dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", f, err)
		}
	}
	for _, want := range []string{"IRMd shutting down...", "Ouroboros IPC Resource Manager daemon exited. Bye."} {
		if len(rig.Lines(in.Log(), want)) != 1 {
			t.Errorf("log lacks %q:\n%s", want, in.Tail())
		}
	}
}
