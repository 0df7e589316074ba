package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"io"

	"github.com/ouroboros-go/ouroboros/flow"
)

// runServer answers one client at a time, strictly in turn: accept, read one
// message, send it back, deallocate. It returns when accepting fails or ctx
// ends; both exit 0, as the reference's server, except when the IRMd is gone
// (flow.ErrIRMDGone): that is said in words and exits 1.
func runServer(ctx context.Context, out io.Writer) int {
	fmt.Fprintln(out, "Starting the server.")
	for {
		f, err := flow.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			if errors.Is(err, flow.ErrIRMDGone) {
				fmt.Fprintf(out, "Failed to %v. Exiting.\n", err)
				return 1
			}
			fmt.Fprintln(out, "Failed to accept flow.")
			tool.Why("oecho", err)
			return 1
		}
		fmt.Fprintln(out, "New flow.")
		// A signal releases a blocked Read or Write by deallocating the flow.
		stop := context.AfterFunc(ctx, func() { f.Close() })
		if msg := echo(f, out); msg != "" && ctx.Err() == nil {
			fmt.Fprintln(out, msg)
		}
		stop()
		f.Close()
	}
}

// echo reads one message from rw, prints it and sends it back unchanged. It
// returns the line describing a failure, or "".
func echo(rw io.ReadWriter, out io.Writer) string {
	buf := make([]byte, bufSize)
	n, err := rw.Read(buf)
	if err != nil {
		return "Failed to read packet."
	}
	fmt.Fprintf(out, "Message from client is %s.\n", cString(buf[:n]))
	if _, err := rw.Write(buf[:n]); err != nil {
		return "Failed to write packet."
	}
	return ""
}
