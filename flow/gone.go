package flow

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

// ErrIRMDGone is the error of every call that needs the IRMd (Alloc, Accept,
// Init, NewEventSet, Listen, Close's deallocation) when no IRMd serves the
// run directory any more: its socket is gone or refuses connections, or it
// closed a pending request without answering and is no longer there. Test
// for it with errors.Is; the error also matches EIRMD, and its text names
// the run directory, such as
//
//	IPC Resource Manager daemon at /var/run/ouroboros is gone (nothing listens on its socket)
//
// Retrying at once cannot succeed: a program should stop (the tools exit
// with status 1), or wait and retry. The first call that finds an IRMd in
// the run directory again announces the process to it anew; the names the
// process was bound to went with the old IRMd and must be bound again.
var ErrIRMDGone = errors.New("IPC Resource Manager daemon is gone")

// irmdGone is the error behind ErrIRMDGone: where and why.
type irmdGone struct {
	dir   string
	cause string // in words, such as "its socket does not exist"
	known bool   // the process had announced itself to an IRMd there
}

func (e *irmdGone) Error() string {
	if !e.known {
		return fmt.Sprintf("no IPC Resource Manager daemon at %s (%s)", e.dir, e.cause)
	}
	return fmt.Sprintf("IPC Resource Manager daemon at %s is gone (%s)", e.dir, e.cause)
}

func (e *irmdGone) Is(target error) bool { return target == ErrIRMDGone }

func (e *irmdGone) Unwrap() error { return oerr.EIRMD }

// The probe that tells a dying IRMd from one that merely closed a request:
// at most probeTries requests, each bounded by probeTimeout.
const (
	probeTimeout = time.Second
	probeTries   = 3
)

// goneCause tells whether err, the failure of a request of p to its IRMd,
// means that no IRMd is there any more, and says why in words. A request
// the IRMd closed without a reply is followed by a probe: the process
// announces itself again (which an IRMd that knows it accepts as it is).
// Reaching the socket proves nothing, as a dying IRMd's socket accepts
// connections until it is closed; an answer proves it alive, and a refused
// connection proves it gone. A probe that times out proves nothing either:
// a slow IRMd is not reported gone.
func goneCause(p *process, err error) (string, bool) {
	if cause, ok := dialGone(err); ok {
		return cause, true
	}
	if !errors.Is(err, ctrl.ErrNoReply) && !ctrl.IsClosed(err) {
		return "", false
	}
	for range probeTries {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		_, perr := ctrl.Call(ctx, rundir.IRMSocket(p.dir), 0, p.announcement(), &pb.IrmMsg{})
		cancel()
		if cause, ok := dialGone(perr); ok {
			return "it closed a pending request; " + cause, true
		}
		if perr == nil || (!errors.Is(perr, ctrl.ErrNoReply) && !ctrl.IsClosed(perr)) {
			return "", false
		}
	}
	return "", false
}

// dialGone reports whether a failed connection to irm.sock means that no IRMd
// listens there: the socket file is missing, or nothing listens on it (the
// IRMd was killed and the file stayed).
func dialGone(err error) (string, bool) {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return "its socket does not exist", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens on its socket", true
	}
	return "", false
}
