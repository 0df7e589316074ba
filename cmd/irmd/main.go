// Command irmd is the IPC Resource Manager daemon: one per host, or one per
// run directory for private instances.
//
//	irmd [--stdout] [--run-dir <dir>] [--security-dir <dir>] [--group <group>] [--max-conns <n>] [--no-direct] [--datapath socket|shm] [--config <file>] [--debug] [--version] [--help]
//
// With --config the file is read and checked before anything starts: a
// mistake in it is reported (file, line, key) and irmd exits 1. Its steps are
// carried out once the daemon answers requests; if one fails the daemon
// shuts down and exits 1.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/term"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/irmd"
	"github.com/ouroboros-go/ouroboros/internal/irmd/conffile"
	"github.com/ouroboros-go/ouroboros/internal/olog"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: irmd [OPTION]...

Runs the Ouroboros IPC Resource Manager daemon.

  --stdout         Log to stdout instead of the system log
  --run-dir <dir>  Run directory for the sockets (default $`+rundir.Env+` or `+rundir.Default+`)
  --security-dir <dir>
                   Per-name security files: server/<name>/ and client/<name>/
                   (enc.conf, crt.pem, key.pem), trusted CAs in cacert/ and
                   intermediates in untrusted/, read at start
                   (default `+crypt.DefaultSecurityDir+`)
  --group <group>  Members of this group may manage the stack, as root may;
                   the socket is then open to this group only (mode 0660)
  --max-conns <n>  Connections to irm.sock one user may hold at once (default 1024;
                   root and the daemon's own user are not counted)
  --no-direct      Never connect two local processes directly (always use an IPCP)
  --datapath <d>   How flows carry packets on this host: shm (shared-memory rings,
                   the default) or socket (one socketpair per flow)
  --config <file>  Read this configuration file (TOML) at start: it creates,
                   bootstraps or enrolls, binds, registers and connects IPCPs
                   and binds programs to names; a failing step stops the daemon
  --debug          Also log debug messages
  --version        Print the version and exit
  -h, --help       Print this help and exit
`)
}

func main() { os.Exit(run(os.Args[1:])) }

// bad reports a wrong command line on stderr, the reason first, then the
// usage, and returns the exit status 1.
func bad(why string) int {
	fmt.Fprintf(os.Stderr, "irmd: %s.\n", why)
	usage(os.Stderr)
	return 1
}

func run(args []string) int {
	cfg := irmd.Config{Syslog: true}
	stdout, debug := false, false
	config := ""
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--stdout":
			stdout = true
			cfg.Syslog = false
		case "--run-dir":
			if i+1 >= len(args) || args[i+1] == "" {
				return bad("option --run-dir needs a directory")
			}
			i++
			cfg.Dir = args[i]
		case "--security-dir":
			if i+1 >= len(args) || args[i+1] == "" {
				return bad("option --security-dir needs a directory")
			}
			i++
			dir, err := filepath.Abs(args[i])
			if err == nil {
				var st os.FileInfo
				if st, err = os.Stat(dir); err == nil && !st.IsDir() {
					err = fmt.Errorf("not a directory")
				}
			}
			if err != nil {
				return bad(fmt.Sprintf("invalid security directory %q: %v", args[i], err))
			}
			cfg.SecurityDir = dir
		case "--group":
			if i+1 >= len(args) || args[i+1] == "" {
				return bad("option --group needs a group name")
			}
			i++
			cfg.Group = args[i]
		case "--max-conns":
			if i+1 >= len(args) {
				return bad("option --max-conns needs a number")
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n < 1 {
				return bad(fmt.Sprintf("invalid value %q for --max-conns: want a number of connections, at least 1", args[i+1]))
			}
			i++
			cfg.MaxConnsPerUID = n
		case "--no-direct":
			cfg.NoDirect = true
		case "--datapath":
			if i+1 >= len(args) {
				return bad("option --datapath needs a value: shm or socket")
			}
			if args[i+1] != "socket" && args[i+1] != "shm" {
				return bad(fmt.Sprintf("invalid value %q for --datapath: want shm or socket", args[i+1]))
			}
			i++
			cfg.Sockets = args[i] == "socket"
		case "--debug":
			debug = true
		case "--version":
			fmt.Printf("Ouroboros version %s\n", irmd.Version)
			return 0
		case "--help", "-h":
			usage(os.Stdout)
			return 0
		case "--config":
			if i+1 >= len(args) || args[i+1] == "" {
				return bad("option --config needs a file")
			}
			i++
			config = args[i]
		default:
			return bad(fmt.Sprintf("unknown option %q", args[i]))
		}
	}
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	if stdout {
		cfg.Log = olog.New(os.Stdout, "irmd", olog.Options{Level: level,
			Colour: term.IsTerminal(int(os.Stdout.Fd()))})
	} else {
		cfg.Log = olog.NewSyslog("irmd", "irmd", level)
	}
	if config != "" {
		// Checked before anything starts: a mistake leaves nothing behind.
		f, err := conffile.ReadFile(config)
		if err != nil {
			cfg.Log.Error(fmt.Sprintf("Failed to parse config file: %v.", err))
			fmt.Fprintf(os.Stderr, "irmd: failed to parse the configuration file: %v.\n", err)
			return 1
		}
		cfg.Setup = f
	}
	if cfg.Dir != "" {
		// Processes we spawn find us through the environment.
		os.Setenv(rundir.Env, cfg.Dir)
	}
	d, err := irmd.New(cfg)
	if err != nil {
		cfg.Log.Error(err.Error() + ".")
		fmt.Fprintln(os.Stderr, "irmd:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM,
		syscall.SIGHUP, syscall.SIGQUIT)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1) // logs the flow census
	defer func() { signal.Stop(usr1); close(usr1) }()
	go func() {
		for range usr1 {
			d.LogCensus()
		}
	}()
	if err := d.Serve(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "irmd:", err)
		return 1
	}
	return 0
}
