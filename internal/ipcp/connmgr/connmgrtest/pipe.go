// Package connmgrtest has in-memory N-1 flows and lower layers for the
// tests of the connection manager and of the protocols that run over its
// connections (enrollment).
//
// A flow is a pair of Ends joined by two SDU queues: each Write is one SDU
// and each Read returns one (truncated to the reader's buffer). Closing an
// End makes its own Read and Write fail with net.ErrClosed; the peer reads
// what was already queued and then io.EOF, and its writes fail with
// io.ErrClosedPipe. Read deadlines are time package timers and a new
// deadline wakes a blocked Read, so inside a testing/synctest bubble (Net,
// Pipe and the readers created in it) the flows run in virtual time.
package connmgrtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// queueLen is the number of SDUs a direction holds; a Write to a full
// queue is dropped, as on a raw flow.
const queueLen = 64

// End is one end of an in-memory flow; it is a connmgr.Flow.
type End struct {
	q        qos.Spec
	in, out  chan []byte
	done     chan struct{} // closed by Close
	peerDone chan struct{} // the peer's done
	once     sync.Once

	mu   sync.Mutex
	rd   time.Time
	wake chan struct{} // closed and replaced when rd changes
}

// Pipe returns the two ends of a new flow with QoS q.
func Pipe(q qos.Spec) (*End, *End) {
	ab, ba := make(chan []byte, queueLen), make(chan []byte, queueLen)
	a := &End{q: q, in: ba, out: ab, done: make(chan struct{}), wake: make(chan struct{})}
	b := &End{q: q, in: ab, out: ba, done: make(chan struct{}), wake: make(chan struct{})}
	a.peerDone, b.peerDone = b.done, a.done
	return a, b
}

// SetReadDeadline bounds the current and later Reads; the zero time
// removes the bound.
func (e *End) SetReadDeadline(t time.Time) error {
	e.mu.Lock()
	e.rd = t
	close(e.wake)
	e.wake = make(chan struct{})
	e.mu.Unlock()
	return nil
}

// ReadDeadline returns the deadline last set.
func (e *End) ReadDeadline() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rd
}

// Read returns the next SDU, waiting for it until the read deadline.
func (e *End) Read(p []byte) (int, error) {
	for {
		e.mu.Lock()
		rd, wake := e.rd, e.wake
		e.mu.Unlock()
		var timeout <-chan time.Time
		var t *time.Timer
		if !rd.IsZero() {
			d := time.Until(rd)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(d)
			timeout = t.C
		}
		n, err, again := e.wait(p, timeout, wake)
		if t != nil {
			t.Stop()
		}
		if !again {
			return n, err
		}
	}
}

// wait is one wait of Read; again means the deadline changed.
func (e *End) wait(p []byte, timeout <-chan time.Time, wake chan struct{}) (n int, err error, again bool) {
	select {
	case <-e.done:
		return 0, net.ErrClosed, false
	default:
	}
	select {
	case b := <-e.in:
		return copy(p, b), nil, false
	case <-e.done:
		return 0, net.ErrClosed, false
	case <-e.peerDone:
		select { // what was sent before the close is still read
		case b := <-e.in:
			return copy(p, b), nil, false
		default:
		}
		return 0, io.EOF, false
	case <-timeout:
		return 0, os.ErrDeadlineExceeded, false
	case <-wake:
		return 0, nil, true
	}
}

// Write queues p as one SDU.
func (e *End) Write(p []byte) (int, error) {
	select {
	case <-e.done:
		return 0, net.ErrClosed
	case <-e.peerDone:
		return 0, io.ErrClosedPipe
	default:
	}
	select {
	case e.out <- append([]byte(nil), p...):
	default: // a full queue drops
	}
	return len(p), nil
}

// Close closes this end; it is idempotent.
func (e *End) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}

// Closed reports whether this end was closed.
func (e *End) Closed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// PeerClosed reports whether the other end was closed.
func (e *End) PeerClosed() bool {
	select {
	case <-e.peerDone:
		return true
	default:
		return false
	}
}

// TxQueueLen is the number of SDUs written and not yet read.
func (e *End) TxQueueLen() int { return len(e.out) }

// QoS is the flow's QoS specification.
func (e *End) QoS() qos.Spec { return e.q }

// Net joins Lowers by name.
type Net struct {
	mu    sync.Mutex
	names map[string]*Lower
}

// NewNet returns a network with no names.
func NewNet() *Net { return &Net{names: map[string]*Lower{}} }

// Lower returns a member's lower layers, through which it is reachable as
// names (a later Lower with the same name takes it over).
func (n *Net) Lower(names ...string) *Lower {
	l := &Lower{net: n, accept: make(chan *End, queueLen)}
	n.mu.Lock()
	for _, s := range names {
		n.names[s] = l
	}
	n.mu.Unlock()
	return l
}

// Lower is one member's view of a Net; it is a connmgr.Lower.
type Lower struct {
	net    *Net
	accept chan *End

	mu     sync.Mutex
	allocs []*End // the ends Alloc returned
}

// Alloc opens a flow to the member called dst: its end is queued for
// that member's Accept. A name nobody has fails at once.
func (l *Lower) Alloc(ctx context.Context, dst string, q qos.Spec) (connmgr.Flow, error) {
	l.net.mu.Lock()
	peer := l.net.names[dst]
	l.net.mu.Unlock()
	if peer == nil {
		return nil, fmt.Errorf("no member called %q", dst)
	}
	a, b := Pipe(q)
	select {
	case peer.accept <- b:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	l.mu.Lock()
	l.allocs = append(l.allocs, a)
	l.mu.Unlock()
	return a, nil
}

// Accept waits for a flow to one of the member's names.
func (l *Lower) Accept(ctx context.Context) (connmgr.Flow, error) {
	e, err := l.AcceptEnd(ctx)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// AcceptEnd is Accept for a test that plays the member by hand.
func (l *Lower) AcceptEnd(ctx context.Context) (*End, error) {
	select {
	case e := <-l.accept:
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Dial opens a flow to dst and returns its End, for a test that plays the
// initiator by hand.
func (l *Lower) Dial(dst string) (*End, error) {
	f, err := l.Alloc(context.Background(), dst, qos.Raw)
	if err != nil {
		return nil, err
	}
	return f.(*End), nil
}

// Allocated returns the ends Alloc returned so far, oldest first.
func (l *Lower) Allocated() []*End {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*End(nil), l.allocs...)
}
