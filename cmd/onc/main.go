// Command onc is a netcat for Ouroboros: it connects its standard input and
// output to one flow.
//
//	onc -l NAME                  bind to NAME, accept one flow, pipe it to stdout/stdin
//	onc NAME                     allocate a flow to NAME and pipe it
//	onc -l NAME > file           receive a file ...
//	onc NAME < file              ... and send it; both exit 0 when it is through
//	onc -q raw NAME              an unreliable flow (messages may be lost)
//
// The flow is reliable by default (qos.Data: FRCT with retransmission), so
// the bytes arrive complete and in order; -q picks another QoS cube.
//
// # End of stream
//
// An Ouroboros flow has no half-close, and the end of a flow is not
// signalled across a shim layer (the peer learns it only from the keepalive
// timeout, two minutes). onc therefore frames what it sends (wire.go): one
// type byte per message, data, end of stream, or the allocator's hello. The
// rules:
//
//   - when standard input reaches end of file, onc sends the end of its
//     stream and keeps receiving (a half-close);
//   - when the peer's end of stream arrives, standard output is complete; onc
//     exits 0 as soon as its own input is done too. If its standard input
//     is a terminal it does not wait for it: it sends its end and exits at
//     once (-d sends the end at the start and never reads standard input);
//   - the flow going down before the peer's end of stream is an error (the
//     peer died or left): exit status 1; so is the peer leaving after its
//     end while onc still sends;
//   - before it exits, onc closes the flow, which on a reliable flow waits
//     until the peer acknowledged everything sent;
//   - the allocator sends a hello first, and the acceptor of a reliable flow
//     sends nothing before the allocator's first message arrived: across a
//     shim layer the acceptor's first packets can reach the allocator's host
//     before the flow exists there, and be dropped.
//
// On a flow that is not reliable (-q raw, best, video, voice) the messages,
// the end included, may be lost: a lost end leaves the peer waiting (stop
// it with a signal).
//
// So onc NAME < file and onc -l NAME > file move a file and both exit 0,
// whatever the listener's standard input is (a terminal, /dev/null in a
// background job of a script, or a pipe that ends).
//
// # Names
//
// onc -l binds its own process to NAME (creating the name if needed), as
// irm bind process does; that is all a peer on the same host needs. A peer
// on another host reaches NAME only if it is registered in a layer both
// hosts are in: -r LAYER registers it (irm name register NAME layer LAYER).
//
// Diagnostics go to standard error (standard output carries only the
// peer's data): errors always, progress with -v.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"github.com/ouroboros-go/ouroboros/qos"
)

const usageText = `Usage: onc [OPTION]... NAME
Connects standard input and output to an Ouroboros flow (a netcat).

  -l, --listen              Bind to NAME and accept one flow (default:
                            allocate a flow to NAME)
  -r, --register LAYER      With -l: also register NAME in LAYER, so peers
                            on other hosts reach it (may be repeated)
  -q, --qos QOS             QoS of the flow: raw, best, video, voice or
                            data (default data: reliable, in order); a
                            listener takes the QoS the allocator asked for
  -d, --no-stdin            Do not read standard input; only receive
  -v, --verbose             Say what happens on standard error

  -h, --help                Print this help and exit

onc sends the end of its stream when standard input ends, and exits when
both ends of the stream are done (see the README). Exit status: 0 when the
peer's stream ended normally, 1 on any failure.
`

// config is the parsed command line.
type config struct {
	name    string
	listen  bool
	layers  []string // -r
	qos     qos.Spec
	qosName string
	noStdin bool
	verbose bool
}

// parseArgs reads the command line. Options and NAME may come in any order;
// "--" ends the options. It returns a *tool.ExitError for --help and for
// every mistake.
func parseArgs(args []string) (config, error) {
	cfg := config{qos: qos.Data, qosName: "data"}
	named := false
	setName := func(a string) error {
		if named {
			return &tool.ExitError{Code: 1, Msg: fmt.Sprintf("onc: more than one name (%q and %q).", cfg.name, a), Usage: true}
		}
		if a == "" {
			return &tool.ExitError{Code: 1, Msg: "onc: the name is empty.", Usage: true}
		}
		cfg.name, named = a, true
		return nil
	}
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		switch a {
		case "-h", "--help":
			return cfg, &tool.ExitError{Code: 0, Usage: true}
		case "-l", "--listen":
			cfg.listen = true
		case "-d", "--no-stdin":
			cfg.noStdin = true
		case "-v", "--verbose":
			cfg.verbose = true
		case "-q", "--qos", "-r", "--register":
			if len(args) == 0 || args[0] == "" {
				return cfg, tool.Missing("onc", a)
			}
			v := args[0]
			args = args[1:]
			if a == "-q" || a == "--qos" {
				s, err := qos.ByName(v)
				if err != nil {
					return cfg, &tool.ExitError{Code: 1, Msg: "onc: " + err.Error() + "."}
				}
				cfg.qos, cfg.qosName = s, v
			} else {
				cfg.layers = append(cfg.layers, v)
			}
		case "--":
			for _, n := range args {
				if err := setName(n); err != nil {
					return cfg, err
				}
			}
			args = nil
		default:
			if len(a) > 1 && a[0] == '-' {
				return cfg, tool.Unknown("onc", a)
			}
			if err := setName(a); err != nil {
				return cfg, err
			}
		}
	}
	if !named {
		return cfg, &tool.ExitError{Code: 1, Msg: "onc: no name given.", Usage: true}
	}
	if len(cfg.layers) > 0 && !cfg.listen {
		return cfg, &tool.ExitError{Code: 1, Msg: "onc: -r registers the name a listener binds to; it needs -l.", Usage: true}
	}
	return cfg, nil
}

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args)
	if err != nil {
		var e *tool.ExitError
		if errors.As(err, &e) && e.Code == 0 {
			return tool.Report(stdout, err, usageText)
		}
		return tool.Report(stderr, err, usageText)
	}
	ctx, cancel := tool.StopContext()
	defer cancel()
	s := &session{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr,
		stdinIsTerminal: isTerminal(stdin)}
	return s.run(ctx)
}

func main() {
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	flow.Fini() // closes what is left and tells the IRMd we are leaving
	os.Exit(code)
}
