package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Dial allocates a reliable flow (qos.Data: FRCT with retransmission) to
// name and returns it as a byte stream.
func Dial(ctx context.Context, name string) (*Conn, error) {
	f, err := Alloc(ctx, name, qos.Data)
	if err != nil {
		return nil, err
	}
	return NewConn(f), nil
}

// Listener accepts reliable flows as byte streams (net.Listener).
//
// Flows are accepted per process in Ouroboros, not per name: a process
// that listens on two names, or also calls Accept, shares one queue of
// incoming flows. Flows that are not reliable (the allocator asked for a
// QoS with loss or without in-order delivery) are refused: they are closed,
// the allocator sees EFLOWDOWN, and the count shows in Refused.
type Listener struct {
	name   string
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	refused int
	closed  bool
}

// Bind binds this process to name, creating the name if needed (as irm bind
// process does): from then on flows allocated to name are given to this
// process's Accept. It announces the process to the IRMd first if needed, so
// a message-flow server needs this one call before Accept. Binding a name
// the process is already bound to succeeds. For peers on other hosts the
// name must also be registered in a layer (irm name register). The binding
// lasts as long as the process (or until irm unbind).
func Bind(ctx context.Context, name string) error {
	p, err := defaultProcess()
	if err != nil {
		return err
	}
	if err := bindProcess(ctx, p, name); err != nil {
		return fmt.Errorf("bind to %s: %w", name, err)
	}
	return nil
}

// bindProcess asks the IRMd to bind this process to name; already bound is
// not an error.
func bindProcess(ctx context.Context, p *process, name string) error {
	req := &pb.IrmMsg{
		Code: pb.IrmMsgCode_IRM_BIND_PROCESS.Enum(),
		Pid:  proto.Int32(int32(os.Getpid())),
		Name: proto.String(name),
	}
	if _, _, err := p.call(ctx, req); err != nil && !errors.Is(err, oerr.EEXIST) {
		return err
	}
	return nil
}

// Listen binds this process to name (see Bind) and returns a Listener for
// it: the byte-stream counterpart of Bind and Accept.
func Listen(name string) (*Listener, error) {
	p, err := defaultProcess()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := bindProcess(ctx, p, name); err != nil {
		cancel()
		return nil, fmt.Errorf("listen on %s: %w", name, err)
	}
	return &Listener{name: name, ctx: ctx, cancel: cancel}, nil
}

// Accept waits for the next reliable flow.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		f, err := Accept(l.ctx)
		if err != nil {
			if l.ctx.Err() != nil {
				return nil, &net.OpError{Op: "accept", Net: "ouroboros", Addr: l.Addr(), Err: net.ErrClosed}
			}
			return nil, &net.OpError{Op: "accept", Net: "ouroboros", Addr: l.Addr(), Err: err}
		}
		if q := f.QoS(); q.Loss != 0 || q.InOrder == 0 {
			f.Close()
			l.mu.Lock()
			l.refused++
			l.mu.Unlock()
			continue
		}
		return NewConn(f), nil
	}
}

// Refused returns how many unreliable flows Accept refused.
func (l *Listener) Refused() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

// Close stops accepting and unbinds the process from the name. Streams
// already accepted stay open.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "ouroboros", Addr: l.Addr(), Err: net.ErrClosed}
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	p, err := defaultProcess()
	if err != nil {
		return err
	}
	req := &pb.IrmMsg{
		Code: pb.IrmMsgCode_IRM_UNBIND_PROCESS.Enum(),
		Pid:  proto.Int32(int32(os.Getpid())),
		Name: proto.String(l.name),
	}
	if _, _, err := p.call(context.Background(), req); err != nil && !errors.Is(err, oerr.ENAME) {
		return fmt.Errorf("stop listening on %s: %w", l.name, err)
	}
	return nil
}

// Addr returns the name listened on.
func (l *Listener) Addr() net.Addr { return Addr{Name: l.name} }

var _ net.Listener = (*Listener)(nil)
