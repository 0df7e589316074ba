package main

import (
	"context"
	"fmt"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"io"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/qos"
)

// greeting is what the client sends: 15 characters and the terminating NUL of
// the C string the reference sends, 16 bytes.
const greeting = "Client says hi!\x00"

// exitFailure is the client's exit code on failure: 1, as for every tool of
// ours (the reference's main returns -1, which the shell sees as 255).
const exitFailure = 1

// runClient allocates a flow to name (QoS raw, no timeout), says hi and
// prints the reply.
func runClient(ctx context.Context, name string, out io.Writer) int {
	f, err := flow.Alloc(ctx, name, qos.Raw)
	if err != nil {
		fmt.Fprintln(out, "Failed to allocate flow.")
		tool.Why("oecho", err)
		return exitFailure
	}
	defer f.Close()
	// A signal releases a blocked Read or Write by deallocating the flow.
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	if msg := talk(f, out); msg != "" {
		fmt.Fprintln(out, msg)
		return exitFailure
	}
	return 0
}

// talk sends the greeting on rw, waits for one message and prints it. It
// returns the line describing a failure, or "".
func talk(rw io.ReadWriter, out io.Writer) string {
	if _, err := rw.Write([]byte(greeting)); err != nil {
		return "Failed to write packet."
	}
	buf := make([]byte, bufSize)
	n, err := rw.Read(buf)
	if err != nil {
		return "Failed to read packet."
	}
	fmt.Fprintf(out, "Server replied with %s\n", cString(buf[:n]))
	return ""
}
