// Package datapath is the packet channel between the two ends of a flow inside
// one host: an application and an IPCP, or two applications for a direct local
// flow. The IRMd creates the channel and hands one end to each process.
//
// This implementation is a SOCK_SEQPACKET socketpair per flow, its ends passed
// over the control socket as SCM_RIGHTS. The kernel gives message framing,
// back-pressure (a full socket buffer blocks the writer), wake-ups through the Go
// netpoller, and peer-death detection: when the other process exits or closes
// its end, reads return EOF after the queued packets, and writes fail.
//
// Every datagram starts with one Kind byte; data packets carry the SDU after it:
//
//	+------+---------------------------+
//	| kind | SDU (0..MaxSDU bytes)     |
//	+------+---------------------------+
//
// An empty data packet is the keepalive (spec/library.md §5.11). KindDown and
// KindUp carry the FLOW_DOWN/FLOW_UP signal of fccntl(FLOWFDOWN) to the peer.
// This format is local to one host; it never appears on a network link.
package datapath

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Kind is the first byte of a datagram on the channel.
type Kind byte

// Datagram kinds.
const (
	KindData Kind = 0 // an SDU (possibly empty: a keepalive)
	KindDown Kind = 1 // the peer marked the flow down
	KindUp   Kind = 2 // the peer marked the flow up again
)

// MaxSDU is the largest SDU the channel carries, in bytes.
const MaxSDU = 65536

// bufSize is the socket buffer we ask for on each end.
const bufSize = 1 << 20

// ErrTooBig is returned for an SDU larger than MaxSDU.
var ErrTooBig = errors.New("SDU larger than the channel's maximum")

// Pair creates a connected pair of channel ends as files, ready to be sent to
// two processes or wrapped with New.
func Pair() (a, b *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	for _, fd := range fds {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, bufSize)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bufSize)
	}
	return os.NewFile(uintptr(fds[0]), "flow"), os.NewFile(uintptr(fds[1]), "flow"), nil
}

// Endpoint is one end of a channel. Reads and writes may run concurrently with
// each other; concurrent writers are safe (each datagram is atomic).
type Endpoint struct {
	c *net.UnixConn
}

// New wraps a channel end. It takes ownership of f.
func New(f *os.File) (*Endpoint, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("flow channel: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("flow channel is not a unix socket")
	}
	return &Endpoint{c: uc}, nil
}

// ReadPacket reads one datagram into buf (which must hold MaxSDU+1 bytes) and
// returns its kind and SDU (a slice of buf). It returns io.EOF once the peer has
// gone and everything it sent has been read.
func (e *Endpoint) ReadPacket(buf []byte) (Kind, []byte, error) {
	n, err := e.c.Read(buf)
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return 0, nil, io.EOF
	case err != nil:
		return 0, nil, err
	case n == 0:
		return 0, nil, io.EOF
	}
	return Kind(buf[0]), buf[1:n], nil
}

// WritePacket sends one datagram: pkt must start with one byte of headroom,
// which WritePacket fills with kind; the SDU is pkt[1:].
func (e *Endpoint) WritePacket(kind Kind, pkt []byte) error {
	if len(pkt)-1 > MaxSDU {
		return ErrTooBig
	}
	pkt[0] = byte(kind)
	_, err := e.c.Write(pkt)
	return err
}

// SetReadDeadline sets the deadline of ReadPacket.
func (e *Endpoint) SetReadDeadline(t time.Time) error { return e.c.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of WritePacket.
func (e *Endpoint) SetWriteDeadline(t time.Time) error { return e.c.SetWriteDeadline(t) }

// CloseWrite tells the peer no more packets will come (it reads EOF) while
// this end can still read what is queued.
func (e *Endpoint) CloseWrite() error { return e.c.CloseWrite() }

// Close closes this end; the peer reads EOF after the queued packets.
func (e *Endpoint) Close() error { return e.c.Close() }

// TxQueued returns the number of bytes sent but not yet read by the peer.
func (e *Endpoint) TxQueued() int {
	rc, err := e.c.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	})
	return n
}

// IsDown reports whether err means the channel is gone (peer closed or local close).
func IsDown(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// ErrWouldBlock is returned by TryWritePacket when the channel is full.
var ErrWouldBlock = errors.New("flow channel full")

// TryWritePacket is WritePacket without waiting: it returns ErrWouldBlock when
// the channel has no room.
func (e *Endpoint) TryWritePacket(kind Kind, pkt []byte) error {
	if len(pkt)-1 > MaxSDU {
		return ErrTooBig
	}
	pkt[0] = byte(kind)
	rc, err := e.c.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		_, werr = unix.SendmsgN(int(fd), pkt, nil, nil, unix.MSG_DONTWAIT)
		return true
	})
	if err != nil {
		return err
	}
	if errors.Is(werr, unix.EAGAIN) {
		return ErrWouldBlock
	}
	if werr != nil {
		return &net.OpError{Op: "write", Net: "unixpacket", Err: os.NewSyscallError("sendmsg", werr)}
	}
	return nil
}
