// Package oerr defines Errno, the error numbers of Ouroboros. The values are the
// reference's: Linux errno values plus the Ouroboros codes
// from 1000 up. They cross the IRMd control protocol as negative numbers in the
// result field, so they are fixed. The public flow package re-exports them.
package oerr

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// Errno is an Ouroboros error number. It works with errors.Is: ETIMEDOUT matches
// os.ErrDeadlineExceeded, EFLOWDOWN and EFLOWPEER match net.ErrClosed, and Linux
// values match the syscall.Errno of the same number.
type Errno int32

// Linux values used by Ouroboros.
const (
	EPERM      Errno = 1
	ENOENT     Errno = 2
	EBADF      Errno = 9
	EAGAIN     Errno = 11
	ENOMEM     Errno = 12
	EEXIST     Errno = 17
	EINVAL     Errno = 22
	EPIPE      Errno = 32
	EMSGSIZE   Errno = 90
	ENOTSUP    Errno = 95
	ECONNRESET Errno = 104
	ETIMEDOUT  Errno = 110
)

// Ouroboros values (include/ouroboros/errno.h in the reference).
const (
	ENOTALLOC  Errno = 1000 // flow not allocated
	EIPCPTYPE  Errno = 1001 // wrong IPCP type
	EIRMD      Errno = 1002 // IRMd unreachable or reply malformed
	EIPCP      Errno = 1003 // no IPCP reaches the destination, or IPCP failure
	EIPCPSTATE Errno = 1004 // IPCP in the wrong state
	EFLOWDOWN  Errno = 1005 // flow is down
	EFLOWPEER  Errno = 1006 // peer silent longer than the QoS timeout
	ENAME      Errno = 1007 // naming error
	ECRYPT     Errno = 1008 // encryption error
	EAUTH      Errno = 1009 // authentication error
)

var text = map[Errno]string{
	ENOTALLOC:  "flow not allocated",
	EIPCPTYPE:  "wrong IPCP type",
	EIRMD:      "IRMd not reachable or reply malformed",
	EIPCP:      "no IPCP reaches the destination or IPCP failure",
	EIPCPSTATE: "IPCP in wrong state",
	EFLOWDOWN:  "flow is down",
	EFLOWPEER:  "flow peer timed out",
	ENAME:      "naming error",
	ECRYPT:     "encryption error",
	EAUTH:      "authentication error",
}

func (e Errno) Error() string {
	if s, ok := text[e]; ok {
		return s
	}
	if e > 0 && e < 1000 {
		return syscall.Errno(e).Error()
	}
	return "errno " + itoa(int(e))
}

// Name returns the symbolic name, such as "ENAME", or "" if unknown.
func (e Errno) Name() string {
	for n, v := range names {
		if v == e {
			return n
		}
	}
	return ""
}

var names = map[string]Errno{
	"EPERM": EPERM, "ENOENT": ENOENT, "EBADF": EBADF, "EAGAIN": EAGAIN, "ENOMEM": ENOMEM,
	"EEXIST": EEXIST, "EINVAL": EINVAL, "EPIPE": EPIPE, "EMSGSIZE": EMSGSIZE, "ENOTSUP": ENOTSUP,
	"ECONNRESET": ECONNRESET, "ETIMEDOUT": ETIMEDOUT, "ENOTALLOC": ENOTALLOC,
	"EIPCPTYPE": EIPCPTYPE, "EIRMD": EIRMD, "EIPCP": EIPCP, "EIPCPSTATE": EIPCPSTATE,
	"EFLOWDOWN": EFLOWDOWN, "EFLOWPEER": EFLOWPEER, "ENAME": ENAME, "ECRYPT": ECRYPT,
	"EAUTH": EAUTH,
}

// Timeout reports whether the error is a timeout (for net.Error).
func (e Errno) Timeout() bool { return e == ETIMEDOUT || e == EAGAIN }

// Temporary reports whether retrying may succeed.
func (e Errno) Temporary() bool { return e == EAGAIN || e == ETIMEDOUT }

// Is makes errors.Is(err, os.ErrDeadlineExceeded) true for ETIMEDOUT and
// errors.Is(err, net.ErrClosed) true for a flow that went down.
func (e Errno) Is(target error) bool {
	switch target {
	case os.ErrDeadlineExceeded:
		return e == ETIMEDOUT
	case net.ErrClosed:
		return e == EFLOWDOWN || e == EFLOWPEER
	}
	if se, ok := target.(syscall.Errno); ok {
		return int32(se) == int32(e)
	}
	return false
}

// Result converts an error to the negative number carried in a result field:
// 0 for nil, -errno for an Errno (or syscall.Errno), -1 otherwise.
func Result(err error) int32 {
	if err == nil {
		return 0
	}
	var e Errno
	if errors.As(err, &e) {
		return -int32(e)
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		return -int32(se)
	}
	return -1
}

// FromResult converts a result field to an error: nil for >= 0, Errno otherwise.
func FromResult(r int32) error {
	if r >= 0 {
		return nil
	}
	return Errno(-r)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
