// Command oecho is the smallest Ouroboros client and server: the client allocates a flow to the application named "oecho", sends
// one greeting and prints the answer; the server answers one client at a time
// by sending each message back unchanged.
//
//	oecho -l    serve (bind the program or process to the name oecho first)
//	oecho       say hi to the server
//	oecho -n x  say hi to the server bound to the name x
//
// The tool doubles as an example of the public API: it uses only the flow and
// qos packages. main.go parses the command line, client.go and server.go are
// the two sides.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
)

const (
	serverName = "oecho" // default name of the server (the reference's only one)
	bufSize    = 256     // read buffer, bytes; longer messages are cut
)

const usageText = `Usage: oecho [OPTION]...
Sends an echo between a server and a client

  -l, --listen              Run as the server
  -n, --server-name         Name of the server (default oecho)

  -h, --help                Print this help and exit
`

// run is the whole program; it returns the exit code. -h/--help prints the
// usage and exits 0; an unknown argument is named, then the usage, exit 1
// (deliberate deviation: the reference exits 0 for anything it does not
// know). -n is ours: the reference always uses the name oecho.
func run(args []string, stdout io.Writer) int {
	listen := false
	name := serverName
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		switch a {
		case "-l", "--listen":
			listen = true
		case "-h", "--help":
			fmt.Fprint(stdout, usageText)
			return 0
		case "-n", "--server-name":
			if len(args) == 0 || args[0] == "" {
				return tool.Report(stdout, tool.Missing("oecho", a), usageText)
			}
			name, args = args[0], args[1:]
		default:
			return tool.Report(stdout, tool.Unknown("oecho", a), usageText)
		}
	}
	// The reference dies on SIGINT; we stop cleanly so that main can tell the
	// IRMd we are leaving.
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()
	if listen {
		return runServer(ctx, stdout)
	}
	return runClient(ctx, name, stdout)
}

func main() {
	code := run(os.Args[1:], os.Stdout)
	flow.Fini() // closes what is left and tells the IRMd we are leaving
	os.Exit(code)
}

// cString is b read as a C string: up to the first NUL, if any.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
