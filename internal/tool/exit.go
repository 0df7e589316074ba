package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/ouroboros-go/ouroboros/flow"
)

// ExitError ends a tool before it runs: Msg (if any) is printed, then the
// usage text (if Usage), and the tool exits with Code. The argument parsers
// return it.
type ExitError struct {
	Code  int
	Msg   string
	Usage bool
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit %d: %s", e.Code, e.Msg) }

// Report prints err as the tools do (its message, then usage if asked for)
// on w and returns the exit code. An error that is not an *ExitError is
// printed and gives 1.
func Report(w io.Writer, err error, usage string) int {
	var e *ExitError
	if !errors.As(err, &e) {
		fmt.Fprintln(w, err)
		return 1
	}
	if e.Msg != "" {
		fmt.Fprintln(w, e.Msg)
	}
	if e.Usage {
		fmt.Fprint(w, usage)
	}
	return e.Code
}

// StopContext returns a context that SIGINT, SIGTERM and SIGHUP cancel, so
// a tool stops cleanly (statistics, deallocation); SIGPIPE is ignored, as
// in the reference tools.
func StopContext() (context.Context, context.CancelFunc) {
	signal.Ignore(syscall.SIGPIPE)
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
}

// IRMDGone reports whether err says that the IRMd is gone (flow.ErrIRMDGone),
// and returns the line a tool prints before it stops with exit status 1
// (retrying cannot succeed), such as
//
//	Failed to accept flow: IPC Resource Manager daemon at /var/run/ouroboros is gone (...). Exiting.
func IRMDGone(what string, err error) (string, bool) {
	if !errors.Is(err, flow.ErrIRMDGone) {
		return "", false
	}
	inner := err // the innermost error that says it, without the callers' prefixes
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.Is(e, flow.ErrIRMDGone) {
			inner = e
		}
	}
	return fmt.Sprintf("%s: %v. Exiting.\n", what, inner), true
}
