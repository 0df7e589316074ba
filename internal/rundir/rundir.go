// Package rundir locates the run directory that every Ouroboros process of one
// instance shares: the IRMd's socket (irm.sock) and one socket per IPCP
// (ipcp.<pid>.sock) live there. The default is the reference's /var/run/ouroboros;
// OUROBOROS_RUN_DIR overrides it so that tests and unprivileged users run private
// instances.
package rundir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
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

// StartWait bounds how long a client waits for an IRMd that is starting
// (see Starting).
const StartWait = 5 * time.Second

// Starting reports whether an IRMd looks to be starting in dir, so that a
// client that found no socket (or a socket that refused it) should try again
// shortly rather than fail: the IRMd's lock file names a live process (the
// IRMd takes the lock and writes its pid there before it opens irm.sock), or the directory itself changed less than
// StartWait ago (created moments before, as by "mktemp -d" right before
// "irmd &", or an IRMd is creating its files). A directory that does not
// exist, or that has been quiet for StartWait with no lock held, is not
// starting.
func Starting(dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	if time.Since(st.ModTime()) < StartWait {
		return true
	}
	// The lock file holds the pid of the IRMd that took the lock. Probing
	// the lock itself could make a starting IRMd's non-blocking lock fail,
	// so the pid is checked instead.
	b, err := os.ReadFile(LockFile(dir))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	return unix.Kill(pid, 0) != unix.ESRCH
}

// NotListening reports whether a connection to a socket failed because no
// one listens there yet: the socket file is missing or refuses connections.
func NotListening(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED)
}
