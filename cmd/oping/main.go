// Command oping checks that a server is reachable over Ouroboros and reports
// round-trip times, as the reference's oping. The packets it
// sends are those of the reference, so a Go client works with a C server and
// the other way round (the layout is in msg.go).
//
//	oping -l                          serve (bind the program or process to a name first)
//	oping -n my.oping.server          ping once a second until Ctrl-C
//	oping -n my.oping.server -c 5 -i 10ms -s 1000
//
// The tool doubles as an example of the public API: it uses only the flow and
// qos packages. main.go parses the command line, client.go is the pinging side,
// server.go the answering side, msg.go the packet layout and stats.go the
// statistics and every line the client prints.
package main

import (
	"fmt"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"io"
	"os"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Defaults and limits of the command line, the reference's.
const (
	defaultCount    = 2147483647 // INT_MAX: "ping until stopped"
	defaultInterval = 1000       // ms
	maxInterval     = 10000      // ms; longer intervals are truncated
)

// config is the parsed command line. Times are in milliseconds.
type config struct {
	listen    bool
	poll      bool // server: wait for events with a zero timeout
	busy      bool // server: serve one flow with a busy-polling read loop
	count     uint32
	duration  int64 // ms, 0 = not given
	flood     bool
	floodBusy bool
	interval  int64 // ms
	name      string
	nameSet   bool
	qos       qos.Spec
	size      int // bytes on the wire per request
	quiet     bool
	timeOfDay bool
}

// exitError ends the program (see tool.ExitError).
type exitError = tool.ExitError

const usageText = `Usage: oping [OPTION]...

Checks liveness between a client and a server
and reports the Round Trip Time (RTT)

  -l, --listen              Run as a server

      --poll                Server: poll for packets instead of waiting
      --busy                Server: serve a single client with a busy loop

  -c, --count               Number of packets to send
  -d, --duration            Run for this long (overrides --count)
  -f, --flood               Send the next packet as soon as a reply arrives
  -F, --flood-busy          As --flood, busy-polling for the reply
  -i, --interval            Time between packets (default 1000 ms, at most 10 s)
  -n, --server-name         Name of the oping server to ping
  -q, --qos                 QoS cube: raw (default), best, video, voice, data
  -s, --size                Packet size in bytes (64 to 1500, default 64)
  -Q, --quiet               Print only the final statistics
  -D, --timeofday           Print the time of day in front of each reply

Times take a unit: ms (default), s, m, h or d, as in -i 200, -i 1s, -d 10m.

  -h, --help                Print this help and exit
`

// parseArgs reads the command line the way the reference does: left to right,
// exact option names, an option that takes a value only when a value follows
// (otherwise it is unknown). Notes the reference prints while parsing (unknown
// QoS cube, truncated interval or size) are written to w. A returned error is
// an *exitError.
func parseArgs(args []string, w io.Writer) (config, error) {
	cfg := config{count: defaultCount, interval: defaultInterval, qos: qos.Raw, size: minSize}
	for len(args) > 0 {
		arg := args[0]
		hasVal := len(args) > 1
		val := ""
		if hasVal {
			val = args[1]
		}
		used := 1
		switch {
		case arg == "-l" || arg == "--listen":
			cfg.listen = true
		case arg == "--poll":
			cfg.poll = true
		case arg == "--busy":
			cfg.busy = true
		case arg == "-f" || arg == "--flood":
			cfg.flood = true
		case arg == "-F" || arg == "--flood-busy":
			cfg.floodBusy = true
		case arg == "-Q" || arg == "--quiet":
			cfg.quiet = true
		case arg == "-D" || arg == "--timeofday":
			cfg.timeOfDay = true
		case arg == "-h" || arg == "--help":
			// Deliberate deviation: the reference treats --help as unknown
			// (usage, exit 1); every command of ours answers it with exit 0.
			return cfg, &exitError{Code: 0, Usage: true}
		case hasVal && (arg == "-c" || arg == "--count"):
			// Deliberate deviation: the reference reads garbage as 0 and
			// wraps -1 to 4294967295; we refuse both.
			n, ok := tool.Int(val, 0, 1<<32-1)
			if !ok {
				return cfg, tool.BadValue("oping", arg, val, "want a whole number of packets, 0 to 4294967295")
			}
			cfg.count = uint32(n) // the reference stores it in a uint32_t
			used = 2
		case hasVal && (arg == "-d" || arg == "--duration"):
			ms, err := parseTime(arg, val)
			if err != nil {
				return cfg, err
			}
			cfg.duration = ms
			used = 2
		case hasVal && (arg == "-i" || arg == "--interval"):
			ms, err := parseTime(arg, val)
			if err != nil {
				return cfg, err
			}
			cfg.interval = ms
			used = 2
		case hasVal && (arg == "-n" || arg == "--server-name"):
			cfg.name, cfg.nameSet = val, true
			used = 2
		case hasVal && (arg == "-q" || arg == "--qos"):
			spec, err := qos.ByName(val)
			if err != nil {
				fmt.Fprintln(w, "Unknown QoS cube, defaulting to raw.")
				spec = qos.Raw
			}
			cfg.qos = spec
			used = 2
		case hasVal && (arg == "-s" || arg == "--size"):
			n, rest := tool.Strtol(val) // a suffix is ignored, as by the reference
			if rest == val {
				return cfg, tool.BadValue("oping", arg, val, "want a whole number of bytes")
			}
			cfg.size = int(n)
			used = 2
		case !hasVal && valueOption[arg]:
			return cfg, tool.Missing("oping", arg)
		default:
			return cfg, tool.Unknown("oping", arg)
		}
		args = args[used:]
	}

	if cfg.interval > maxInterval {
		fmt.Fprintln(w, "Ping interval truncated to 10s.")
		cfg.interval = maxInterval
	}
	switch {
	case cfg.size > maxSize:
		fmt.Fprintf(w, "Packet size truncated to %d bytes.\n", maxSize)
		cfg.size = maxSize
	case cfg.size < minSize:
		fmt.Fprintf(w, "Packet size set to %d bytes.\n", minSize)
		cfg.size = minSize
	}
	// -d overrides -c whatever their order; with -i 0 the reference assumes
	// ten packets per millisecond. The count uses the interval after its
	// truncation to 10 s (which one the reference uses is not known; this one
	// keeps count × interval = duration).
	if cfg.duration > 0 {
		if cfg.interval == 0 {
			cfg.count = uint32(cfg.duration * 10)
		} else {
			cfg.count = uint32(cfg.duration / cfg.interval)
		}
	}
	if !cfg.listen && !cfg.nameSet {
		return cfg, &exitError{Code: 1, Msg: "No server specified.", Usage: true}
	}
	return cfg, nil
}

// run is the whole program; it returns the exit code.
func run(args []string, stdout io.Writer) int {
	out := &printer{W: stdout}
	cfg, err := parseArgs(args, stdout)
	if err != nil {
		return tool.Report(stdout, err, usageText)
	}

	ctx, cancel := tool.StopContext()
	defer cancel()
	if cfg.listen {
		return runServer(ctx, cfg, out)
	}
	return runClient(ctx, cfg, out)
}

func main() {
	code := run(os.Args[1:], os.Stdout)
	flow.Fini() // closes what is left and tells the IRMd we are leaving
	os.Exit(code)
}

type printer = tool.Printer

// valueOption lists the options that take a value, to tell a missing value
// from an unknown option.
var valueOption = map[string]bool{
	"-c": true, "--count": true, "-d": true, "--duration": true, "-i": true, "--interval": true,
	"-n": true, "--server-name": true, "-q": true, "--qos": true, "-s": true, "--size": true,
}

// parseTime reads a whole number with an optional unit (ms, s, m, h, d;
// none = ms) and returns milliseconds. A value that does not start with a
// whole number (such as 0.5s or abc) is refused as a bad value; a number
// followed by something other than a unit gives the reference's
// "Unknown time unit: <suffix>.".
func parseTime(arg, s string) (int64, error) {
	_, unit := tool.Strtol(s)
	if unit == s || (unit != "" && unit[0] == '.') {
		return 0, tool.BadValue("oping", arg, s, "want a whole number with an optional unit (ms, s, m, h, d), such as 500ms or 2s")
	}
	ms, unit, ok := tool.ParseTime(s)
	if !ok {
		return 0, &exitError{Code: 1, Msg: fmt.Sprintf("Unknown time unit: %s.", unit)}
	}
	return ms, nil
}
