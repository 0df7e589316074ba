package ctrl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// ErrNotSent marks a failed CallAbort whose request never reached the peer
// (no connection, or the send failed): the peer did nothing with it.
var ErrNotSent = errors.New("request not sent")

// AbortGrace bounds the wait for the reply to an abandoned CallAbort.
const AbortGrace = 5 * time.Second

// CallAbort is Call for a request the peer may work on for long (a flow
// allocation), where the caller must learn what the peer did even when it
// gives up: cancelling ctx half-closes the connection, which the peer sees as
// "this request is abandoned", and the reply is still read, for up to
// AbortGrace (and never past the timeout).
// An error that wraps ErrNotSent means the peer never saw the request; any
// other error without a reply means it may have.
func CallAbort(ctx context.Context, path string, timeout time.Duration, req, rep proto.Message, fds ...int) ([]*os.File, error) {
	c, err := Dial(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %v: %w: %w", path, err, oerr.EIRMD, ErrNotSent)
	}
	defer c.Close()
	if timeout > 0 {
		c.SetDeadline(time.Now().Add(timeout))
	}
	if err := Send(c, req, fds...); err != nil {
		return nil, fmt.Errorf("send: %w: %w", err, ErrNotSent)
	}
	stop := context.AfterFunc(ctx, func() {
		c.CloseWrite()
		if timeout <= 0 || AbortGrace < timeout {
			c.SetReadDeadline(time.Now().Add(AbortGrace))
		}
	})
	defer stop()
	files, err := Recv(c, rep)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("no reply in time: %w", oerr.ETIMEDOUT)
		}
		return nil, err
	}
	return files, nil
}

// WatchAbort calls abort when the peer of c half-closes or closes the
// connection after its request (CallAbort's cancellation). The returned stop
// ends the watch; call it before closing c.
func WatchAbort(c *net.UnixConn, abort func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		// The peer sends nothing after its request: any return is the end.
		if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
			abort()
		}
	}()
	return func() {
		c.SetReadDeadline(time.Unix(1, 0))
		<-done
	}
}
