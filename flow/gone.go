package flow

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
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

// probeTimeout bounds the connection attempt that tells a dying IRMd from
// one that merely refused a request.
const probeTimeout = time.Second

// goneCause tells whether err, the failure of a request to the IRMd at dir,
// means that no IRMd is there any more, and says why in words. A request the
// IRMd closed without a reply is followed by one connection attempt: an IRMd
// that is still there (and, say, refused a malformed request) is not gone.
func goneCause(dir string, err error) (string, bool) {
	if cause, ok := dialGone(err); ok {
		return cause, true
	}
	if !errors.Is(err, ctrl.ErrNoReply) && !ctrl.IsClosed(err) {
		return "", false
	}
	c, derr := net.DialTimeout("unixpacket", rundir.IRMSocket(dir), probeTimeout)
	if derr == nil {
		c.Close()
		return "", false
	}
	if cause, ok := dialGone(derr); ok {
		return "it closed a pending request; " + cause, true
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
