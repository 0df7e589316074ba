// Command obench is the benchmark harness: in one run on one machine it
// runs the tools users run (oping -f, oping -i 5, ocbr -f, operf) between real
// processes over every path below and over unicast layers (over udp4, one
// and two hops, and over eth-dix), raw and reliable, next to the kernel
// doing the same job between two Go processes, and next to the reference
// implementation's tools where it is installed (--reference); then it
// measures the latency and throughput of Ouroboros flows (direct, through a
// local IPCP of a private irmd, between two private hosts over a udp4 layer
// on 127.0.0.1 and 127.0.0.2, and between two private hosts over an eth-dix
// layer on a veth pair, one host in obench's network namespace and the other
// in a namespace of its own; each raw and reliable) next to the kernel doing
// the same job (a Unix SOCK_SEQPACKET socketpair, UDP on 127.0.0.1), prints a
// Markdown table of every figure with its ratio to the kernel's (a reliable
// flow's: to the raw flow of the same path), and writes the results as JSON
// and Markdown. `make bench` runs it through bench/run.
//
// It needs irmd, ipcpd-local, ipcpd-udp4, ipcpd-unicast, ipcpd-eth-dix, oping,
// ocbr and operf next to its own executable or on $PATH, and runs its own
// server processes (hidden subcommand "peer"). The eth-dix layer (and the
// unicast layer over it) needs root and the ip tool (it creates the veth pair
// and the namespace, and deletes them on every exit, Ctrl-C included);
// without them its rows say "skipped" and why.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == bench.PeerCommand {
		os.Exit(bench.PeerMain(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

func usage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintf(fs.Output(), `Usage: obench [OPTION]...
Runs the oping and ocbr tools over Ouroboros flows (direct, local IPCP, two
hosts over a udp4 layer on loopback, a unicast layer over that udp4 layer,
a unicast layer of three hosts in a line over udp4, two hosts over an eth-dix
layer on a veth pair, a unicast layer over that eth-dix layer; each raw and
reliable) next to the kernel doing the same job over
a Unix socketpair, and the reference implementation's tools where it is
installed; operf over the direct and local IPCP paths, a server on one
EventSet with 1 and 100 busy flows, the CPU time of an idle server and
an idle flow, and ocbr over encrypted flows (AES-256-GCM, ChaCha20-Poly1305)
next to plaintext ones, direct and over the udp4 layer. Then measures the flows themselves next to the kernel (Unix
socketpair, UDP on loopback): latency,
ping-pong, one-way and echo throughput, and CPU time per packet; then the
allocation rate and memory per flow with many concurrent flows, and the time
of one allocation with few and with many names. Prints a
Markdown table and writes JSON and Markdown results into the output directory.
Needs irmd, ipcpd-local, ipcpd-udp4, ipcpd-unicast, ipcpd-eth-dix, oping, ocbr and operf next to
obench or on $PATH; the eth-dix layer needs root and the ip tool (skipped otherwise).

`)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "  -h, --help\n    \tprint this help and exit\n")
	}
}

func run(args []string) int {
	fs := flag.NewFlagSet("obench", flag.ContinueOnError)
	smoke := fs.Bool("smoke", false, "short runs (a few seconds in all), for CI")
	duration := fs.Duration("duration", 0, "length of each ping-pong and flood measurement, and of the latency pings at 1 ms each (default 2s, 100ms with --smoke)")
	scaleOnly := fs.Bool("scale-only", false, "only the many-flows and many-names measurements")
	toolsOnly := fs.Bool("tools-only", false, "only the tools tables (oping, ocbr, operf, EventSet, idle, and the kernel; the reference's where installed) and the encrypted flows table")
	secureOnly := fs.Bool("secure-only", false, "only the encrypted flows table (ocbr -f -s 1000 over a direct flow and the udp4 layer, plaintext, AES-256-GCM and ChaCha20-Poly1305)")
	reference := fs.String("reference", "", "directory of the reference implementation (with cnode.sh) whose tools run next to ours on the direct, local IPCP and unicast-over-udp4 paths; \"none\" for none (default "+bench.DefaultReference+" if installed; never in smoke runs)")
	out := fs.String("out", "bench/out", "directory for the JSON and Markdown results (bench/out is ignored by git)")
	fs.Usage = usage(fs)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "obench: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 1
	}
	cfg := bench.DefaultConfig(*smoke)
	if *duration < 0 {
		fmt.Fprintln(os.Stderr, "obench: --duration must be positive")
		return 1
	}
	if *duration > 0 {
		cfg.Duration = *duration
		cfg.LatencyCount = max(10, int(*duration/cfg.LatencyInterval))
	}
	cfg.Log = os.Stderr
	cfg.ScaleOnly = *scaleOnly
	if *scaleOnly && *toolsOnly || *secureOnly && (*scaleOnly || *toolsOnly) {
		fmt.Fprintln(os.Stderr, "obench: --scale-only, --tools-only and --secure-only exclude each other")
		return 1
	}
	cfg.SecureOnly = *secureOnly
	if *toolsOnly || *secureOnly {
		cfg.Paths = []bench.Path{}
		cfg.ScaleFlows, cfg.Names = nil, nil
	}
	switch *reference {
	case "":
	case "none":
		cfg.Reference = ""
	default:
		cfg.Reference = *reference
	}

	h, err := bench.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "obench:", err)
		return 1
	}
	defer h.Cleanup()
	// Ctrl-C or SIGTERM: stop every process and remove every directory now,
	// whatever the measurement is blocked on.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "obench: %v: cleaning up\n", s)
		h.Cleanup()
		os.Exit(130)
	}()

	rep := h.Run(context.Background())
	h.Cleanup()
	md := rep.Markdown()
	fmt.Print(md)
	jsonPath, mdPath, err := rep.WriteFiles(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "obench: writing results:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "obench: results in %s and %s (%v)\n", jsonPath, mdPath,
		time.Duration(rep.ElapsedNs).Round(time.Second/10))
	skipped := map[string]bool{}
	for _, r := range rep.Results {
		if r.Skipped != "" && !skipped[r.Label] {
			skipped[r.Label] = true
			fmt.Fprintf(os.Stderr, "obench: skipped %s: %s\n", r.Label, r.Skipped)
		}
	}
	if rep.Failed() {
		fmt.Fprintln(os.Stderr, "obench: some measurements failed (see the table)")
		return 1
	}
	return 0
}
