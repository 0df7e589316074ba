// Package rundir locates the run directory that every Ouroboros process of one
// instance shares: the IRMd's socket (irm.sock) and one socket per IPCP
// (ipcp.<pid>.sock) live there. The default is the reference's /var/run/ouroboros;
// OUROBOROS_RUN_DIR overrides it so that tests and unprivileged users run private
// instances.
package rundir

import (
	"os"
	"path/filepath"
	"strconv"
)

// Default is the reference's socket directory.
const Default = "/var/run/ouroboros"

// Env is the environment variable that overrides Default.
const Env = "OUROBOROS_RUN_DIR"

// Dir returns the run directory in force: $OUROBOROS_RUN_DIR, else Default.
func Dir() string {
	if d := os.Getenv(Env); d != "" {
		return d
	}
	return Default
}

// IRMSocket is the path of the IRMd socket in dir.
func IRMSocket(dir string) string { return filepath.Join(dir, "irm.sock") }

// IPCPSocket is the path of the control socket of the IPCP with the given pid.
func IPCPSocket(dir string, pid int) string {
	return filepath.Join(dir, "ipcp."+strconv.Itoa(pid)+".sock")
}

// LockFile is the path of the IRMd's single-instance lock in dir.
func LockFile(dir string) string { return filepath.Join(dir, "irmd.lock") }
