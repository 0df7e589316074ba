package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/qos"
)

// greeting is what the client sends: 15 characters and the terminating NUL of
// the C string the reference sends, 16 bytes.
const greeting = "Client says hi!\x00"

// exitFailure is the reference client's exit code on failure (main returns -1).
const exitFailure = 255

// runClient allocates a flow to "oecho" (QoS raw, no timeout), says hi and
// prints the reply.
func runClient(ctx context.Context, out io.Writer) int {
	f, err := flow.Alloc(ctx, serverName, qos.Raw)
	if err != nil {
		fmt.Fprintln(out, "Failed to allocate flow.")
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
