package flow

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// StreamChunk is the default largest message a Conn writes: larger writes
// are split. Layers do not fragment (neither does the reference) and an
// application does not learn the layer's packet size, so the default fits
// every shim layer: an Ethernet frame of 1500 bytes carries it with the
// FRCT header, a CRC and the shim's own header. SetChunk raises it for
// layers that carry more (the local IPCP and direct flows carry 64 KiB).
const StreamChunk = 1400

// Conn is a flow used as a byte stream, with the semantics of a TCP
// connection in Go (net.Conn):
//
//   - Read returns whatever bytes have arrived, up to len(p), across message
//     boundaries; it blocks only when nothing has arrived.
//   - Write sends all of p, split into messages of at most StreamChunk bytes.
//   - The peer's Close is io.EOF (after everything it sent); deadlines give
//     errors with Timeout() == true that match os.ErrDeadlineExceeded.
//
// The stream is reliable and ordered only if the flow is (qos.Data: loss 0
// and in_order); Dial and Listen make sure of that.
type Conn struct {
	f *Flow

	rmu  sync.Mutex // serialises Reads; guards rbuf, rest
	rbuf []byte     // one message
	rest []byte     // unread part of rbuf

	wmu   sync.Mutex // keeps the chunks of one Write together; guards chunk
	chunk int        // largest message written, bytes
}

// NewConn wraps f as a byte stream. The Conn owns f: closing one closes both.
func NewConn(f *Flow) *Conn {
	f.SetFlags(f.Flags() &^ FlagRNoPart)
	return &Conn{f: f, chunk: StreamChunk}
}

// SetChunk sets the largest message Write sends (default StreamChunk),
// between 1 byte and the largest message the flow takes.
func (c *Conn) SetChunk(n int) error {
	if n < 1 || n > c.f.maxWrite() {
		return fmt.Errorf("chunk of %d bytes: want 1..%d: %w", n, c.f.maxWrite(), oerr.EINVAL)
	}
	c.wmu.Lock()
	c.chunk = n
	c.wmu.Unlock()
	return nil
}

// Flow returns the underlying flow.
func (c *Conn) Flow() *Flow { return c.f }

// Read reads up to len(p) bytes.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n := 0
	for n < len(p) {
		if len(c.rest) == 0 {
			if n > 0 && c.f.RxQueueLen() == 0 {
				break // return what we have rather than wait
			}
			if err := c.fill(); err != nil {
				if n > 0 {
					break // report it on the next Read
				}
				return 0, err
			}
			continue
		}
		k := copy(p[n:], c.rest)
		c.rest = c.rest[k:]
		n += k
	}
	return n, nil
}

// fill reads the next whole message into rbuf.
func (c *Conn) fill() error {
	if c.rbuf == nil {
		c.rbuf = make([]byte, MaxSDU)
	}
	for {
		k, err := c.f.Read(c.rbuf)
		if err != nil {
			return streamErr(err)
		}
		if k > 0 {
			c.rest = c.rbuf[:k]
			return nil
		}
		// An empty message carries no bytes.
	}
}

// streamErr maps flow errors to what net.Conn users expect.
func streamErr(err error) error {
	switch {
	case errors.Is(err, oerr.EFLOWDOWN):
		return io.EOF
	case errors.Is(err, oerr.ETIMEDOUT):
		var oe *net.OpError
		if errors.As(err, &oe) {
			oe.Err = os.ErrDeadlineExceeded
			return oe
		}
		return os.ErrDeadlineExceeded
	}
	return err
}

// Write writes all of p, or returns how much was written and why it stopped.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for n < len(p) {
		k := min(len(p)-n, c.chunk)
		if _, err := c.f.Write(p[n : n+k]); err != nil {
			if errors.Is(err, oerr.EFLOWDOWN) {
				var oe *net.OpError
				if errors.As(err, &oe) {
					oe.Err = net.ErrClosed // the peer is gone: like EPIPE
					return n, oe
				}
			}
			return n, streamErr(err)
		}
		n += k
	}
	return n, nil
}

// Close closes the stream and its flow; on a reliable flow it lingers until
// the peer acknowledged what was written (see Flow.SetLinger).
func (c *Conn) Close() error { return c.f.Close() }

// LocalAddr returns the local end's address.
func (c *Conn) LocalAddr() net.Addr { return c.f.LocalAddr() }

// RemoteAddr returns the name the flow was allocated to.
func (c *Conn) RemoteAddr() net.Addr { return c.f.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.f.SetDeadline(t) }

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.f.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

var _ net.Conn = (*Conn)(nil)
