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
// An empty data packet is the keepalive. KindDown and
// KindUp carry the FLOW_DOWN/FLOW_UP signal of fccntl(FLOWFDOWN) to the peer.
// This format is local to one host; it never appears on a network link.
package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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
	// KindMTU: from an IPCP to its application, the largest SDU the layer
	// below carries on this flow, as 4 bytes, big-endian (MTURecord,
	// TellMTU). An IPCP whose layer carries less than MaxSDU sends it
	// first, before the flow is handed over; the application's Write then
	// refuses a bigger message at once (EMSGSIZE) instead of the IPCP
	// dropping it.
	KindMTU Kind = 3
)

// MinMTU is the smallest limit a KindMTU record may set, in bytes: below
// it (an Ethernet IPCP needs more to carry a name query) the record is
// malformed. The peer of a direct flow writes into the same channel, so a
// record may come from it; at worst it makes this end refuse messages over
// MinMTU on that one flow, which the peer can hinder as well by not
// reading.
const MinMTU = 256

// MTURecord is the SDU of a KindMTU record saying n bytes.
func MTURecord(n int) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(n))
}

// TellMTU puts a KindMTU record saying n in the channel without waiting:
// an IPCP's end tells its application the largest SDU of the layer.
func (e *Endpoint) TellMTU(n int) error {
	return e.TryWritePacket(KindMTU, append([]byte{0}, MTURecord(n)...))
}

// ParseMTU reads a KindMTU record's SDU; ok is false for a malformed one
// (not 4 bytes, or a limit under MinMTU). A limit over MaxSDU is MaxSDU.
func ParseMTU(sdu []byte) (n int, ok bool) {
	if len(sdu) != 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(sdu)
	if v < MinMTU {
		return 0, false
	}
	return int(min(v, MaxSDU)), true
}

// MaxSDU is the largest SDU the channel carries, in bytes.
const MaxSDU = 65536

// bufSize is the socket buffer we ask for on each end.
const bufSize = 1 << 20

// ErrTooBig is returned for an SDU larger than MaxSDU.
var ErrTooBig = errors.New("SDU larger than the channel's maximum")

// End is one end of a channel as files, ready to be passed to a process:
// the socket, and the shared memory when the channel has rings.
type End []*os.File

// Close closes the files.
func (e End) Close() {
	for _, f := range e {
		f.Close()
	}
}

// Pair creates a connected pair of channel ends. With shm, the packets travel
// through rings in shared memory and the socket only carries doorbells;
// without, they travel through the socket.
func Pair(shm bool) (a, b End, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	for _, fd := range fds {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, bufSize)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bufSize)
	}
	a = End{os.NewFile(uintptr(fds[0]), "flow")}
	b = End{os.NewFile(uintptr(fds[1]), "flow")}
	if shm {
		m, err := newShm()
		if err != nil {
			a.Close()
			b.Close()
			return nil, nil, err
		}
		dup, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			m.Close()
			a.Close()
			b.Close()
			return nil, nil, fmt.Errorf("dup: %w", err)
		}
		a = append(a, m)
		b = append(b, os.NewFile(uintptr(dup), "o7s-flow"))
	}
	return a, b, nil
}

// Endpoint is one end of a channel. Reads and writes may run concurrently with
// each other; concurrent writers are safe (each packet is atomic). One
// goroutine reads (ReadPacket) at a time; with shared memory, writers that
// wait for space are woken through that reader, so an end whose writers may
// block must have a goroutine in ReadPacket. With shared memory, another
// goroutine may take packets from the ring while that reader sleeps
// (HotRead).
type Endpoint struct {
	c   *net.UnixConn
	shm *shm // nil: packets travel through the socket

	// txLen is the length of the last packet written to the socket, for
	// TxQueued's estimate (socket path only).
	txLen atomic.Int64
}

// New wraps a channel end; it takes ownership of the files.
func New(end End) (*Endpoint, error) {
	if len(end) != 1 && len(end) != 2 {
		end.Close()
		return nil, fmt.Errorf("flow channel of %d files", len(end))
	}
	c, err := net.FileConn(end[0])
	end[0].Close()
	if err != nil {
		if len(end) == 2 {
			end[1].Close()
		}
		return nil, fmt.Errorf("flow channel: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		if len(end) == 2 {
			end[1].Close()
		}
		return nil, errors.New("flow channel is not a unix socket")
	}
	e := &Endpoint{c: uc}
	if len(end) == 2 {
		if e.shm, err = mapShm(end[1]); err != nil {
			uc.Close()
			return nil, fmt.Errorf("flow channel: %w", err)
		}
	}
	return e, nil
}

// Shared reports whether the channel uses shared memory.
func (e *Endpoint) Shared() bool { return e.shm != nil }

// ReadPacket reads one datagram into buf (which must hold MaxSDU+1 bytes) and
// returns its kind and SDU (a slice of buf). It returns io.EOF once the peer has
// gone and everything it sent has been read.
func (e *Endpoint) ReadPacket(buf []byte) (Kind, []byte, error) {
	return e.ReadPacketInto(func(int) []byte { return buf })
}

// ReadPacketInto is ReadPacket for a reader that holds no buffer while it
// waits (thousands of idle flows would otherwise pin MaxSDU+1 bytes each):
// once a datagram is there, it calls get(n) for a buffer of at least n bytes,
// n being the datagram's size (the kind byte and the SDU), and reads into it.
// The SDU it returns is a slice of that buffer.
func (e *Endpoint) ReadPacketInto(get func(n int) []byte) (Kind, []byte, error) {
	if e.shm != nil {
		return e.shmRead(get)
	}
	// ECONNRESET is not the end: Linux reports a peer that closed with
	// packets of ours unread (a keepalive, a signal) as that error, once,
	// ahead of the packets the peer sent before it closed, which are still
	// queued; the reads after it return them, then the end of stream. So
	// it is read past, at most resets times (each report clears the error;
	// a peer closes once).
	const resets = 2
	for try := 0; ; try++ {
		size, err := e.pendingSize()
		if errors.Is(err, syscall.ECONNRESET) && try < resets {
			continue
		}
		if err != nil {
			if errors.Is(err, syscall.ECONNRESET) {
				return 0, nil, io.EOF
			}
			return 0, nil, err
		}
		if size == 0 {
			return 0, nil, io.EOF
		}
		buf := get(min(size, MaxSDU+1))
		n, err := e.c.Read(buf)
		if errors.Is(err, syscall.ECONNRESET) && try < resets {
			// The peer closed between the peek and the read: the
			// packet peeked is still first in the queue.
			n, err = e.c.Read(buf)
		}
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
}

// WritePacket sends one datagram: pkt must start with one byte of headroom,
// which WritePacket fills with kind; the SDU is pkt[1:].
func (e *Endpoint) WritePacket(kind Kind, pkt []byte) error {
	if len(pkt)-1 > MaxSDU {
		return ErrTooBig
	}
	if e.shm != nil {
		return e.shmWrite(kind, pkt, false)
	}
	pkt[0] = byte(kind)
	e.txLen.Store(int64(len(pkt)))
	_, err := e.c.Write(pkt)
	return err
}

// pendingSize waits (in the netpoller, up to the read deadline) for the next
// datagram on the socket and returns its size without taking it; 0 means the
// peer has gone.
func (e *Endpoint) pendingSize() (int, error) {
	rc, err := e.c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	peek := func(fd uintptr) {
		for {
			n, _, rerr = unix.Recvfrom(int(fd), nil, unix.MSG_PEEK|unix.MSG_TRUNC|unix.MSG_DONTWAIT)
			if rerr != unix.EINTR {
				break
			}
		}
	}
	err = rc.Read(func(fd uintptr) bool {
		peek(fd)
		if rerr == nil && n == 0 {
			// An end of stream is believed only when seen twice: the peer's
			// last packet may be queued between Linux's two looks (see
			// ctrl.ReadMsg).
			peek(fd)
		}
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "unixpacket", Err: os.NewSyscallError("recvfrom", rerr)}
	}
	return n, nil
}

// Buffers for readers that use ReadPacketInto: a goroutine takes one when a
// packet is there and gives it back once the packet is handled, so memory
// follows the packets in flight, not the number of flows.
var (
	smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBuf); return &b }}
	largeBufs = sync.Pool{New: func() any { b := make([]byte, MaxSDU+1); return &b }}
)

// smallBuf is the size of the buffers of the small class, in bytes: a
// datagram of up to this size (kind byte included) takes one of them.
const smallBuf = 2048 + 1

// GetBuf returns a pooled buffer of at least n bytes (n <= MaxSDU+1); give it
// back with PutBuf.
func GetBuf(n int) *[]byte {
	if n <= smallBuf {
		return smallBufs.Get().(*[]byte)
	}
	return largeBufs.Get().(*[]byte)
}

// PutBuf gives back a buffer from GetBuf; nothing may use it afterwards.
func PutBuf(b *[]byte) {
	if len(*b) == smallBuf {
		smallBufs.Put(b)
	} else {
		largeBufs.Put(b)
	}
}

// SetReadDeadline sets the deadline of ReadPacket. With shared memory the
// reading goroutine sets the socket's deadline itself: it is poked to.
func (e *Endpoint) SetReadDeadline(t time.Time) error {
	if e.shm == nil {
		return e.c.SetReadDeadline(t)
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	e.shm.rdl.Store(ns)
	e.poke()
	return nil
}

// SetWriteDeadline sets the deadline of WritePacket.
func (e *Endpoint) SetWriteDeadline(t time.Time) error {
	if e.shm != nil {
		var ns int64
		if !t.IsZero() {
			ns = t.UnixNano()
		}
		if e.shm.wdl.Swap(ns) != ns {
			e.shm.wakeWriters() // waiting writers re-read the deadline
		}
		return nil
	}
	return e.c.SetWriteDeadline(t)
}

// Close closes this end; the peer reads EOF after the queued packets.
func (e *Endpoint) Close() error {
	err := e.c.Close()
	if e.shm != nil {
		e.shmClose()
	}
	return err
}

// SetTxLimit caps the packets queued to the peer at n (n <= 0: no cap)
// on the shared-memory data path: a write finds the flow full at n packets
// and waits (or fails, not blocking) as when its bytes run out. The socket
// data path is not capped: its queue is the kernel's, in bytes.
func (e *Endpoint) SetTxLimit(n int) {
	if e.shm == nil {
		return
	}
	e.shm.txMu.Lock()
	e.shm.tx.SetMaxRecords(n)
	e.shm.txMu.Unlock()
}

// sockOverhead is about what the kernel charges a Unix socket's send
// queue per packet beyond its bytes (the socket buffer's bookkeeping).
const sockOverhead = 768

// TxQueued returns the number of packets sent but not yet read by the
// peer: counted exactly with shared memory; with the socket, estimated from
// the bytes the kernel holds (SIOCOUTQ, which counts its bookkeeping too)
// and the length of the last packet written. The unicast layer's
// congestion marking reads it as a queue length in packets, as the
// reference's FLOWGTXQLEN is.
func (e *Endpoint) TxQueued() int {
	if e.shm != nil {
		e.shm.mu.RLock()
		defer e.shm.mu.RUnlock()
		if e.shm.mapping == nil {
			return 0
		}
		return e.shm.tx.Records()
	}
	rc, err := e.c.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	})
	if n <= 0 {
		return 0
	}
	per := int(e.txLen.Load()) + sockOverhead
	return (n + per - 1) / per
}

// IsDown reports whether err means the channel is gone (peer closed or local close).
func IsDown(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// ErrWouldBlock is returned by TryWritePacket when the channel is full.
var ErrWouldBlock = errors.New("flow channel full")

// TryWritePacket is WritePacket without waiting: it returns ErrWouldBlock when
// the channel has no room. No write deadline applies to it.
func (e *Endpoint) TryWritePacket(kind Kind, pkt []byte) error {
	if len(pkt)-1 > MaxSDU {
		return ErrTooBig
	}
	if e.shm != nil {
		return e.shmWrite(kind, pkt, true)
	}
	pkt[0] = byte(kind)
	e.txLen.Store(int64(len(pkt)))
	rc, err := e.c.SyscallConn()
	if err != nil {
		return err
	}
	// Control, not Write: a non-blocking send needs no netpoller, and the
	// netpoller's write path fails at once when the socket's write deadline
	// (set for a blocking WritePacket) has passed, which would turn every
	// later TryWritePacket into "i/o timeout" until the deadline moved.
	var werr error
	err = rc.Control(func(fd uintptr) {
		for {
			_, werr = unix.SendmsgN(int(fd), pkt, nil, nil, unix.MSG_DONTWAIT)
			if werr != unix.EINTR {
				break
			}
		}
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

// WaitRoom blocks until a packet of n bytes (the SDU, without the kind
// byte) would probably be taken by TryWritePacket, up to the write deadline
// (SetWriteDeadline), and returns nil, or the error a write would return
// (deadline, peer gone, closed). It writes nothing: a writer that must do
// something between finding room and writing (a flow seals its packets in
// the order they enter the channel) waits here, then tries again. Over the
// socket, room is the socket being writable (its send buffer at most three
// quarters used, by the kernel's rule for datagram sockets, so one packet
// fits); over the rings, Put's own rule. Another writer may take the room
// first: TryWritePacket then says so again.
func (e *Endpoint) WaitRoom(n int) error {
	if e.shm != nil {
		return e.shmWaitRoom(n)
	}
	rc, err := e.c.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Write(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		for {
			_, perr := unix.Poll(fds, 0)
			if perr != unix.EINTR {
				// Writable, or an error or hang-up the write will report.
				return perr != nil || fds[0].Revents != 0
			}
		}
	})
}

// Pending reports, without waiting or taking anything, whether a packet is
// waiting to be read. The flow's liveness check asks it before declaring a
// peer gone: a packet that arrived while this process was too busy to read it
// proves the peer alive.
func (e *Endpoint) Pending() bool {
	if s := e.shm; s != nil {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.mapping != nil && !s.rx.Empty()
	}
	rc, err := e.c.SyscallConn()
	if err != nil {
		return false
	}
	var n int
	var rerr error
	err = rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			n, _, rerr = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if rerr != unix.EINTR {
				break
			}
		}
	})
	return err == nil && rerr == nil && n > 0
}
