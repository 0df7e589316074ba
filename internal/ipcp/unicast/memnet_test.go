package unicast

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// memNet is an in-memory lower layer for members in one test: each member
// reaches the others by name, flows are pairs of SDU channels.
type memNet struct {
	mu    sync.Mutex
	names map[string]*memLower
}

func newMemNet() *memNet { return &memNet{names: map[string]*memLower{}} }

// lower returns a member's view of the network, reachable by names.
func (n *memNet) lower(names ...string) *memLower {
	l := &memLower{net: n, accept: make(chan *memEnd, 16)}
	n.mu.Lock()
	for _, s := range names {
		n.names[s] = l
	}
	n.mu.Unlock()
	return l
}

type memLower struct {
	net    *memNet
	accept chan *memEnd
	max    int // if > 0, the largest SDU this member's flows take

	mu    sync.Mutex
	flows []*memEnd // every end this member opened or accepted
}

func (l *memLower) Alloc(ctx context.Context, dst string, q qos.Spec) (connmgr.Flow, error) {
	l.net.mu.Lock()
	peer := l.net.names[dst]
	l.net.mu.Unlock()
	if peer == nil {
		return nil, fmt.Errorf("no member called %s", dst)
	}
	a, b := memPipe(q)
	for _, m := range []int{l.max, peer.max} { // a flow takes the smaller limit
		if m > 0 && (a.max == 0 || m < a.max) {
			a.max, b.max = m, m
		}
	}
	select {
	case peer.accept <- b:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	l.keep(a)
	peer.keep(b)
	return a, nil
}

func (l *memLower) Accept(ctx context.Context) (connmgr.Flow, error) {
	select {
	case f := <-l.accept:
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *memLower) keep(e *memEnd) {
	l.mu.Lock()
	l.flows = append(l.flows, e)
	l.mu.Unlock()
}

// cut closes every flow of this member, as if its lower layer died.
func (l *memLower) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.flows {
		e.Close()
	}
}

// memEnd is one end of an in-memory flow: SDUs keep their boundaries;
// closing an end makes its Read fail with net.ErrClosed and the peer's
// with io.EOF.
type memEnd struct {
	q         qos.Spec
	max       int // if > 0, the largest SDU Write takes
	in, out   chan []byte
	done      chan struct{}
	peerDone  chan struct{}
	closeOnce sync.Once

	mu sync.Mutex
	rd time.Time
}

func memPipe(q qos.Spec) (*memEnd, *memEnd) {
	ab, ba := make(chan []byte, 256), make(chan []byte, 256)
	a := &memEnd{q: q, in: ba, out: ab, done: make(chan struct{})}
	b := &memEnd{q: q, in: ab, out: ba, done: make(chan struct{})}
	a.peerDone, b.peerDone = b.done, a.done
	return a, b
}

func (e *memEnd) SetReadDeadline(t time.Time) error {
	e.mu.Lock()
	e.rd = t
	e.mu.Unlock()
	return nil
}

func (e *memEnd) Read(p []byte) (int, error) {
	e.mu.Lock()
	rd := e.rd
	e.mu.Unlock()
	var timeout <-chan time.Time
	if !rd.IsZero() {
		t := time.NewTimer(time.Until(rd))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case b := <-e.in:
		return copy(p, b), nil
	case <-e.done:
		return 0, net.ErrClosed
	case <-e.peerDone:
		select { // what was sent before the close is still read
		case b := <-e.in:
			return copy(p, b), nil
		default:
		}
		return 0, io.EOF
	case <-timeout:
		return 0, os.ErrDeadlineExceeded
	}
}

func (e *memEnd) Write(p []byte) (int, error) {
	select {
	case <-e.done:
		return 0, net.ErrClosed
	case <-e.peerDone:
		return 0, io.ErrClosedPipe
	default:
	}
	if e.max > 0 && len(p) > e.max {
		return 0, syscall.EMSGSIZE
	}
	select {
	case e.out <- append([]byte(nil), p...):
		return len(p), nil
	default: // a full queue drops, as a raw flow does
		return len(p), nil
	}
}

func (e *memEnd) Close() error    { e.closeOnce.Do(func() { close(e.done) }); return nil }
func (e *memEnd) TxQueueLen() int { return len(e.out) }
func (e *memEnd) QoS() qos.Spec   { return e.q }
func (e *memEnd) MaxWrite() int   { return e.max }
