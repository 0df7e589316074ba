package flow

import "github.com/ouroboros-go/ouroboros/internal/oerr"

// Errno is an Ouroboros error number. The values are the
// reference's; see the constants below.
type Errno = oerr.Errno

// Error numbers.
const (
	EPERM      = oerr.EPERM
	EBADF      = oerr.EBADF
	EAGAIN     = oerr.EAGAIN
	ENOMEM     = oerr.ENOMEM
	EINVAL     = oerr.EINVAL
	EPIPE      = oerr.EPIPE
	EMSGSIZE   = oerr.EMSGSIZE
	ENOTSUP    = oerr.ENOTSUP
	ECONNRESET = oerr.ECONNRESET
	ETIMEDOUT  = oerr.ETIMEDOUT
	ENOTALLOC  = oerr.ENOTALLOC
	EIPCPTYPE  = oerr.EIPCPTYPE
	EIRMD      = oerr.EIRMD
	EIPCP      = oerr.EIPCP
	EIPCPSTATE = oerr.EIPCPSTATE
	EFLOWDOWN  = oerr.EFLOWDOWN
	EFLOWPEER  = oerr.EFLOWPEER
	ENAME      = oerr.ENAME
	ECRYPT     = oerr.ECRYPT
	EAUTH      = oerr.EAUTH
)
