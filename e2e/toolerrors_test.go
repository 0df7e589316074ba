package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

// invocation is one run of a tool and what it must show: its exit code and
// substrings of its standard output and standard error ("" = not checked).
type invocation struct {
	args   []string // the tool, then its arguments
	code   int
	stdout string
	stderr string
}

// check runs inv with run and reports a mismatch with the output, cut to
// a bounded length.
func (inv invocation) check(t *testing.T, run func(name string, args ...string) (string, string, int)) {
	t.Helper()
	stdout, stderr, code := run(inv.args[0], inv.args[1:]...)
	if code != inv.code || !strings.Contains(stdout, inv.stdout) || !strings.Contains(stderr, inv.stderr) {
		t.Errorf("%s: exit %d, want %d; stdout must contain %q, stderr %q\nstdout: %s\nstderr: %s",
			strings.Join(inv.args, " "), code, inv.code, inv.stdout, inv.stderr, cut(stdout), cut(stderr))
	}
}

// cut bounds the output a failure prints.
func cut(s string) string {
	const max = 2000
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// runIn returns a runner of the built tools with dir as their run
// directory, bounded by a timeout.
func runIn(t *testing.T, bin, dir string) func(name string, args ...string) (string, string, int) {
	return func(name string, args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Env = append(os.Environ(), rundir.Env+"="+dir)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return o.String(), e.String(), 0
		case errors.As(err, &ee) && ctx.Err() == nil:
			return o.String(), e.String(), ee.ExitCode()
		}
		t.Fatalf("%s %v: %v", name, args, err)
		return "", "", 0
	}
}

// TestToolErrorsWithoutIRMd runs every tool wrongly, or with no irmd in its
// run directory: each failure exits non-zero and says why in words, and
// -h is listed and answered with exit 0.
func TestToolErrorsWithoutIRMd(t *testing.T) {
	bin := rig.Bin(t)
	dir := t.TempDir() // a run directory with no irmd
	noIRMd := "no IPC Resource Manager daemon at " + dir
	a := func(s string) []string { return strings.Fields(s) }
	for _, inv := range []invocation{
		// No irmd: the reference's line on stdout, the reason on stderr.
		{a("oping -n x -c 1"), 1, "Failed to allocate flow: -1002.", noIRMd},
		{a("oping -l"), 1, noIRMd, ""},
		{a("oecho"), 1, "Failed to allocate flow.", noIRMd},
		{a("oecho -l"), 1, noIRMd, ""},
		{a("ocbr -n x -d 1"), 1, "Failed to allocate flow.", noIRMd},
		{a("ocbr -l"), 1, noIRMd, ""},
		{a("operf -n x -d 1"), 1, "Failed to allocate flow.", noIRMd},
		{a("operf -l"), 1, noIRMd, ""},
		{a("irm ipcp list"), 1, "", "Failed to communicate with the Ouroboros IPC Resource Manager daemon."},

		// Unknown options are named; exit 1.
		{a("oping -x"), 1, `oping: unknown option "-x".`, ""},
		{a("operf -x"), 1, `operf: unknown option "-x".`, ""},
		{a("ocbr -x"), 1, `ocbr: unknown option "-x".`, ""},
		{a("oecho foo"), 1, `oecho: unknown option "foo".`, ""},
		{a("irmd --bogus"), 1, "", `irmd: unknown option "--bogus".`},
		{a("irmd --datapath bogus"), 1, "", `irmd: invalid value "bogus" for --datapath: want shm or socket.`},
		{a("irmd --run-dir"), 1, "", "irmd: option --run-dir needs a directory."},
		{a("obench --bogus"), 1, "", "flag provided but not defined: -bogus"},
		{a("oping -n"), 1, "oping: option -n needs a value.", ""},
		{a("oecho -n"), 1, "oecho: option -n needs a value.", ""},

		// Bad values are refused, naming the value.
		{a("oping -n x -c abc"), 1, `oping: invalid value "abc" for -c`, ""},
		{a("oping -n x -c -1"), 1, `oping: invalid value "-1" for -c`, ""},
		{a("oping -n x -i 0.5s"), 1, `oping: invalid value "0.5s" for -i: want a whole number`, ""},
		{a("oping -n x -i 5y"), 1, "Unknown time unit: y.", ""},
		{a("ocbr -n x -d abc"), 1, `ocbr: invalid value "abc" for -d`, ""},
		{a("operf -n x -d abc"), 1, `operf: invalid value "abc" for -d`, ""},

		// Helps list -h and use the same spellings.
		{a("oping -h"), 0, "-h, --help", ""},
		{a("operf -h"), 0, "-h, --help", ""},
		{a("ocbr -h"), 0, "Usage: ocbr [OPTION]...", ""},
		{a("ocbr --help"), 0, "-n, --server-name", ""},
		{a("oecho -h"), 0, "-n, --server-name         Name of the server (default oecho)", ""},
		{a("oecho --help"), 0, "-h, --help", ""},
		{a("irmd -h"), 0, "-h, --help", ""},
		{a("obench -h"), 0, "", "-h, --help"},
		{a("irm name list --help"), 0, "Usage: irm name list [<name prefix>]", ""},
	} {
		inv.check(t, runIn(t, bin, dir))
	}
}

// TestToolErrorsWithIRMd runs the tools wrongly against a running irmd: an
// unknown name is said in words, a failed bootstrap leaves no IPCP behind
// and says why, duplicate IPCP names are refused and a destroy that matches
// nothing says so.
func TestToolErrorsWithIRMd(t *testing.T) {
	in := rig.Start(t, rig.Options{})
	a := func(s string) []string { return strings.Fields(s) }
	unknown := "unknown name: no layer reaches it and no local process is bound to it"
	noIPCPs := invocation{a("irm ipcp list"), 0, "No IPCPs in system.", ""}
	steps := []invocation{
		{a("oping -n nosuch -c 1"), 1, "Failed to allocate flow: -1007.", "oping: allocate flow to nosuch: naming error (" + unknown + ")"},
		{a("oecho -n nosuch"), 1, "Failed to allocate flow.", unknown},
		{a("ocbr -n nosuch -d 1"), 1, "Failed to allocate flow.", unknown},
		{a("operf -n nosuch -d 1"), 1, "Failed to allocate flow.", unknown},

		// A bootstrap that fails removes the IPCP it created.
		{a("irm ipcp bootstrap name e1 type eth-dix layer l"), 1, "", "Missing argument: dev <interface name>."},
		noIPCPs,
		{a("irm ipcp bootstrap name e1 type eth-dix dev nosuchdev layer l"), 1, "",
			`Failed to bootstrap IPCP e1 in layer l: no network device "nosuchdev".`},
		noIPCPs,
		{a("irm ipcp bootstrap name u1 type udp4 ip 999.1.1.1 layer l"), 1, "", `Invalid IP address: "999.1.1.1".`},
		{a("irm ipcp bootstrap name u1 type udp4 layer l"), 1, "", "Missing argument: ip <IP address>."},
		noIPCPs,

		// Duplicate names, and destroying what does not exist.
		{a("irm ipcp create name c1 type local"), 0, "", ""},
		{a("irm ipcp create name c1 type local"), 1, "", `An IPCP named "c1" already exists.`},
		{a("irm ipcp destroy name nope"), 1, "", `No IPCP named "nope".`},

		// Names get spillover however they are created.
		{a("irm name create n1"), 0, "", ""},
		{a("irm name list n1"), 0, "spillover", ""},
	}
	if _, err := os.Stat(filepath.Join(in.Bin, "ipcpd-unicast")); err != nil {
		steps = append(steps, invocation{a("irm ipcp enroll name x layer y"), 1, "",
			"the irmd does not find ipcpd-unicast"})
	}
	for _, inv := range steps {
		inv.check(t, in.Run)
	}
	// One IPCP: the enrollment created none, the duplicate was refused.
	if rows := rig.Lines(in.Irm("ipcp", "list"), " c1 "); len(rows) != 1 {
		t.Errorf("irm ipcp list: %d rows for c1, want 1", len(rows))
	}
	if t.Failed() {
		t.Logf("irmd log:\n%s", in.Tail())
	}
}
