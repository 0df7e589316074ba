// Package ctrl carries the control messages of the IRMd protocol: one protobuf
// message per SOCK_SEQPACKET datagram, one request and one reply per connection.
// A message is at most BufSize bytes; there is no framing
// beyond the datagram boundary.
//
// A message may carry file descriptors as SCM_RIGHTS ancillary data. That is how
// our IRMd hands each end of a flow's data channel (internal/datapath) to the
// application and to the IPCP. A reference peer ignores the ancillary data.
package ctrl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// BufSize is SOCK_BUF_SIZE: the largest control message, in bytes.
const BufSize = 10240

// maxFDs bounds the descriptors accepted with one message.
const maxFDs = 4

// ErrTooBig is returned when a message does not fit in BufSize.
var ErrTooBig = errors.New("control message larger than 10240 bytes")

// ErrNoReply is wrapped by Recv's error when the peer closed the connection
// without sending a message (it refused the request, or it died).
var ErrNoReply = errors.New("connection closed without a reply")

// ErrNoFiles is returned when descriptors sent with a message were dropped on
// receipt, almost always because the receiving process is at its limit of
// open files (RLIMIT_NOFILE; each flow holds one). Recv still decodes the
// message, so that the receiver can release what it describes.
var ErrNoFiles = fmt.Errorf("descriptors passed with the message were dropped: "+
	"this process has reached its limit of open files (ulimit -n): %w", oerr.ENOMEM)

// Dial connects to the Unix SOCK_SEQPACKET socket at path.
func Dial(ctx context.Context, path string) (*net.UnixConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}

// Listen opens a SOCK_SEQPACKET listener at path, removing a stale socket file
// first (but not a live one: if something answers there, it fails).
func Listen(path string) (*net.UnixListener, error) {
	if c, err := net.DialTimeout("unixpacket", path, 100*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s is in use by a running process", path)
	}
	os.Remove(path)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(true)
	return l, nil
}

// Send writes one message, with optional descriptors as SCM_RIGHTS.
func Send(c *net.UnixConn, m proto.Message, fds ...int) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	if len(b) > BufSize {
		return ErrTooBig
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(b, oob, nil)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("short write: %d of %d bytes", n, len(b))
	}
	return nil
}

// Recv reads one message into m and returns the descriptors that came with it
// as files (the caller owns them). A closed connection gives io.EOF-like errors;
// bytes that do not unpack give an error wrapping oerr.EIRMD.
func Recv(c *net.UnixConn, m proto.Message) ([]*os.File, error) {
	buf := make([]byte, BufSize)
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	n, oobn, flags, _, err := ReadMsg(c, buf, oob)
	if err != nil {
		return nil, err
	}
	// A reply may carry a flow key (sym_key): its wire bytes are zeroed
	// once unpacked (Unmarshal copies bytes fields out of buf).
	defer clear(buf[:n])
	files, ferr := parseRights(oob[:oobn])
	if flags&unix.MSG_CTRUNC != 0 && ferr == nil {
		CloseFiles(files)
		if n > 0 && flags&unix.MSG_TRUNC == 0 {
			proto.Unmarshal(buf[:n], m)
		}
		return nil, ErrNoFiles
	}
	if ferr != nil {
		CloseFiles(files)
		return nil, ferr
	}
	if n == 0 {
		CloseFiles(files)
		return nil, fmt.Errorf("%w: %w", ErrNoReply, oerr.EIRMD)
	}
	if flags&unix.MSG_TRUNC != 0 {
		CloseFiles(files)
		return nil, ErrTooBig
	}
	if err := proto.Unmarshal(buf[:n], m); err != nil {
		CloseFiles(files)
		return nil, fmt.Errorf("unpack %d bytes: %v: %w", n, err, oerr.EIRMD)
	}
	return files, nil
}

// ReadMsg is c.ReadMsgUnix on a SOCK_SEQPACKET socket, made safe against a
// false end of stream. Linux's non-blocking receive on such a socket looks
// at the queue, finds it empty, then looks at the shutdown flag: a peer that
// sends its last message and closes between the two looks is reported as
// gone (a zero-length read, io.EOF) with that message still queued. The
// peer queues its message before it closes, so a second read, once the
// close is seen, finds the message if there is one: an end of stream is
// only believed when it is read twice. The second read does not wait: a
// zero-length datagram also reads as io.EOF, and nothing may follow it.
//
// Nor is ECONNRESET the end: a peer that closes with messages of ours
// unread is reported so, once, ahead of the messages it sent before it
// closed, which are still queued; ReadMsg reads on past it.
func ReadMsg(c *net.UnixConn, buf, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	n, oobn, flags, addr, err = c.ReadMsgUnix(buf, oob)
	if errors.Is(err, syscall.ECONNRESET) {
		n, oobn, flags, addr, err = c.ReadMsgUnix(buf, oob) // the peer is gone: this does not wait
	}
	if !errors.Is(err, io.EOF) {
		return
	}
	rc, cerr := c.SyscallConn()
	if cerr != nil {
		return
	}
	var n2, oobn2, flags2 int
	var rerr error
	if rc.Control(func(fd uintptr) {
		for {
			n2, oobn2, flags2, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
			if rerr != unix.EINTR {
				return
			}
		}
	}) != nil || rerr != nil || n2 == 0 {
		return // EAGAIN: it was an empty datagram; 0: the end, seen twice
	}
	return n2, oobn2, flags2, nil, nil
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "flow"))
		}
	}
	return files, nil
}

// CloseFiles closes every file (descriptors that came with a message and are
// not wanted).
func CloseFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// Call does one request/reply exchange on a new connection to path: it sends
// req (with fds) and reads the reply into rep. A zero timeout waits forever;
// ctx cancellation closes the connection, which the peer sees as an abort.
// Failing to reach the peer gives an error wrapping oerr.EIRMD.
func Call(ctx context.Context, path string, timeout time.Duration, req, rep proto.Message, fds ...int) ([]*os.File, error) {
	c, err := Dial(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w: %w", path, err, oerr.EIRMD)
	}
	defer c.Close()
	if timeout > 0 {
		c.SetDeadline(time.Now().Add(timeout))
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := Send(c, req, fds...); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // its deadline stopped the send
		}
		return nil, fmt.Errorf("send: %w", err)
	}
	files, err := Recv(c, rep)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("no reply within %v: %w", timeout, oerr.ETIMEDOUT)
		}
		return nil, err
	}
	return files, nil
}

// Cred is what the kernel says about the process at the other end of a
// connection (SO_PEERCRED): its pid, effective uid and effective gid at the
// moment it connected. Unlike anything in a message, it cannot be forged.
type Cred struct {
	PID int
	UID uint32
	GID uint32
}

// PeerCred returns the credentials of the process at the other end of c.
func PeerCred(c *net.UnixConn) (Cred, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var cred *unix.Ucred
	var cerr error
	err = rc.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return Cred{}, err
	}
	return Cred{PID: int(cred.Pid), UID: cred.Uid, GID: cred.Gid}, nil
}

// IsClosed reports whether err means the peer closed the connection.
func IsClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed)
}
