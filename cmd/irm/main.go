// Command irm manages the Ouroboros IPC Resource Manager daemon: IPC processes,
// bindings and names.
//
//	irm ipcp bootstrap type eth-llc name llc layer llc dev lo
//	irm name register my.server layer llc
//	irm bind program /usr/bin/oping name oping auto -- --listen
//
// Every keyword may be shortened to a prefix; the first keyword in the
// command's table that the word is a prefix of wins, so "irm b p" is
// "irm bind program". The exit status is 0 on success and 1 on any failure.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/irm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, &irm.Client{})
	stop()
	os.Exit(code)
}

const topUsage = `Usage: irm [OPERATION]

where OPERATION in { ipcp bind unbind name }
`

var top = &group{path: "irm", usage: topUsage}

// The tables refer to the groups, so they are filled in init.
func init() {
	top.commands = []command{
		{"ipcp", ipcpGroup.dispatch, ipcpUsage},
		{"bind", bindGroup.dispatch, bindUsage},
		{"unbind", unbindGroup.dispatch, unbindUsage},
		{"name", nameGroup.dispatch, nameUsage},
		{"help", func(e *env, _ []string) error { return e.help(topUsage) }, ""},
	}
}

// dispatch runs the group as a command of its parent.
func (g *group) dispatch(e *env, args []string) error { return e.dispatch(g, args) }

// run executes one irm command line (without the program name) and returns
// the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, c *irm.Client) int {
	e := &env{ctx: ctx, out: stdout, err: stderr, c: c}
	err := e.dispatch(top, args)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errFailed):
	case errors.Is(err, oerr.EIRMD):
		e.errorf("Failed to communicate with the Ouroboros IPC Resource Manager daemon.")
	default:
		// The reference prints nothing when the IRMd refuses a request; we
		// say why on stderr (stdout stays as the reference's).
		e.errorf("irm: %v.", err)
	}
	return 1
}
