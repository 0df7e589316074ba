// Command obc sends a message to a broadcast layer, or listens to one:
//
//	obc -n LAYER [-m MESSAGE]   join LAYER, send MESSAGE once, leave
//	obc -l -n LAYER             join LAYER and print every message
//
// The writer sends the message with its terminating NUL, as the
// reference's obc (a C string), and the listener prints each message up
// to its first NUL, so the two implementations' obc talk to each other.
// The output lines and exit codes are the reference's.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
)

const (
	defaultMessage = "Ouroboros multicast rocks!"
	bufSize        = 256 // read buffer, bytes; longer messages are cut
	exitJoinFailed = 255 // the reference's main returns -1
)

const usageText = `Usage: obc [OPTION]...
Sends a message to a broadcast network

  -n --name                 Name of the broadcast layer
  -m --message              A message to send
  [-l, --listen             Listen mode]
      --help                Display this help text and exit
`

// run is the whole program; it returns the exit code. As in the
// reference, a missing name prints "Please specify a name." and the usage
// (exit 1), and --help the usage (exit 0); an unknown argument is named
// before the usage and gives 1 (deliberate deviation: the reference exits
// 0 for anything it does not know).
func run(ctx context.Context, args []string, stdout io.Writer) int {
	var name string
	msg := defaultMessage
	listen := false
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		switch a {
		case "-l", "--listen":
			listen = true
		case "-h", "--help":
			fmt.Fprint(stdout, usageText)
			return 0
		case "-n", "--name", "-m", "--message":
			if len(args) == 0 {
				return tool.Report(stdout, tool.Missing("obc", a), usageText)
			}
			if a == "-n" || a == "--name" {
				name = args[0]
			} else {
				msg = args[0]
			}
			args = args[1:]
		default:
			return tool.Report(stdout, tool.Unknown("obc", a), usageText)
		}
	}
	if name == "" {
		fmt.Fprint(stdout, "Please specify a name.\n\n"+usageText)
		return 1
	}
	if listen {
		return reader(ctx, name, stdout)
	}
	return writer(ctx, name, msg, stdout)
}

// join joins the broadcast layer name; on failure it says so on stdout
// and why on stderr, and returns nil.
func join(ctx context.Context, name string, stdout io.Writer) *flow.Flow {
	f, err := flow.Join(ctx, name)
	if err != nil {
		fmt.Fprintln(stdout, "Failed to join broadcast.")
		tool.Why("obc", err)
		return nil
	}
	return f
}

// writer joins the layer and sends msg once, with its NUL.
func writer(ctx context.Context, name, msg string, stdout io.Writer) int {
	f := join(ctx, name, stdout)
	if f == nil {
		return exitJoinFailed
	}
	defer f.Close()
	if _, err := f.Write(append([]byte(msg), 0)); err != nil {
		fmt.Fprintln(stdout, "Failed to write packet.")
		tool.Why("obc", err)
	}
	return 0
}

// reader joins the layer and prints every message until the flow fails or
// ctx ends (a signal).
func reader(ctx context.Context, name string, stdout io.Writer) int {
	fmt.Fprintln(stdout, "Starting a reader.")
	f := join(ctx, name, stdout)
	if f == nil {
		return exitJoinFailed
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	fmt.Fprintln(stdout, "New flow.")
	buf := make([]byte, bufSize)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintln(stdout, "Failed to read.")
			}
			return 0
		}
		if n == 0 {
			continue // the end of a message longer than the buffer
		}
		fmt.Fprintf(stdout, "Message is %s.\n", cString(buf[:n]))
	}
}

// cString is b read as a C string: up to the first NUL, if any.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func main() {
	ctx, cancel := tool.StopContext()
	code := run(ctx, os.Args[1:], os.Stdout)
	cancel()
	flow.Fini()
	os.Exit(code)
}
