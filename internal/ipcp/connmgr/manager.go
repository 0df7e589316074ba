package connmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/qos"
)

// Timeout bounds the wait for the peer's OCEP message, on either side
// (the reference's CONNMGR_RCV_TIMEOUT).
const Timeout = time.Second

// maxPending bounds the accepted flows whose OCEP message is still
// awaited: a peer that opens flows and says nothing holds at most this
// many goroutines, each for at most Timeout.
const maxPending = 64

// Flow is an N-1 flow as the connection manager uses it; *flow.Flow has
// these methods. Read returns one SDU per call.
type Flow interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	// TxQueueLen is the number of packets written and not yet taken by
	// the lower layer.
	TxQueueLen() int
	// QoS is the flow's QoS specification.
	QoS() qos.Spec
}

// Lower is how a member reaches the layers below it: Alloc opens a flow
// to a name in any of them, Accept waits for a flow to any name this
// process is bound to.
type Lower interface {
	Alloc(ctx context.Context, dst string, q qos.Spec) (Flow, error)
	Accept(ctx context.Context) (Flow, error)
}

// ErrGone is what a Lower's Accept returns (wrapped) when no flow can
// ever come: Serve then ends quietly.
var ErrGone = errors.New("connmgr: the lower layers are gone")

// Conn is an established connection: an N-1 flow dedicated to one
// component, and what the peer said about itself in OCEP.
type Conn struct {
	Flow Flow
	Peer ConnInfo
	// Dst is the name the initiator allocated the flow to; "" on the
	// responder's side, which does not learn it.
	Dst string
}

// Manager runs connection establishment over N-1 flows for the components
// registered with it.
//
// The responder side (Serve) accepts every flow the process is offered,
// reads the initiator's OCEP message within Timeout, answers with the
// registered component's ConnInfo (or an all-zero message for a component
// it does not have, closing the flow) and hands the connection to the
// component's handler, in a goroutine of its own. The exchange of each
// flow runs in its own goroutine, so a silent peer delays nobody else.
type Manager struct {
	lower Lower
	log   *slog.Logger

	mu    sync.Mutex
	comps map[string]component

	pending chan struct{} // a token per OCEP exchange in progress (responder)
	wg      sync.WaitGroup
}

type component struct {
	info   ConnInfo
	handle func(Conn)
}

// New returns a manager over lower with no components.
func New(lower Lower, log *slog.Logger) *Manager {
	return &Manager{lower: lower, log: log, comps: map[string]component{},
		pending: make(chan struct{}, maxPending)}
}

// Register makes the component info.Comp known to the responder: flows
// for it are answered with info and handed to handle. Registering a
// component again replaces it.
func (m *Manager) Register(info ConnInfo, handle func(Conn)) {
	m.mu.Lock()
	m.comps[info.Comp] = component{info: info, handle: handle}
	m.mu.Unlock()
}

// Unregister makes the responder refuse the component from now on.
func (m *Manager) Unregister(comp string) {
	m.mu.Lock()
	delete(m.comps, comp)
	m.mu.Unlock()
}

// Connect allocates a flow to dst with QoS q and establishes a connection
// of the component ours describes: it sends ours, waits at most Timeout
// (less if ctx ends first) for the peer's answer and checks that the peer speaks the same protocol,
// version and syntax. On failure the flow is closed. The flow's read
// deadline is cleared before Connect returns.
func (m *Manager) Connect(ctx context.Context, ours ConnInfo, dst string, q qos.Spec) (Conn, error) {
	msg, err := ours.Marshal()
	if err != nil {
		return Conn{}, err
	}
	f, err := m.lower.Alloc(ctx, dst, q)
	if err != nil {
		return Conn{}, fmt.Errorf("flow to %s: %w", dst, err)
	}
	peer, err := m.exchange(ctx, f, msg)
	if err == nil {
		err = ours.Compatible(peer)
	}
	if err != nil {
		f.Close()
		return Conn{}, fmt.Errorf("%s connection to %s: %w", ours.Comp, dst, err)
	}
	return Conn{Flow: f, Peer: peer, Dst: dst}, nil
}

// exchange sends msg on f and reads the peer's OCEP message, within
// Timeout (and ctx).
func (m *Manager) exchange(ctx context.Context, f Flow, msg []byte) (ConnInfo, error) {
	if _, err := f.Write(msg); err != nil {
		return ConnInfo{}, fmt.Errorf("sending OCEP: %w", err)
	}
	return readInfo(ctx, f)
}

// readInfo reads one OCEP message from f within Timeout (and ctx), and
// clears the read deadline afterwards. If ctx ends first, f is closed (so
// the read ends at once: Serve's context ending must not wait out a silent
// peer) and readInfo fails; the caller closes f on failure anyway.
func readInfo(ctx context.Context, f Flow) (ConnInfo, error) {
	dl := time.Now().Add(Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	f.SetReadDeadline(dl)
	defer f.SetReadDeadline(time.Time{})
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		f.Close()
	})
	buf := make([]byte, MaxOCEPLen+1)
	n, err := f.Read(buf)
	if !stop() {
		<-closed // no goroutine outlives the exchange
		return ConnInfo{}, fmt.Errorf("no OCEP answer: %w", ctx.Err())
	}
	if err != nil {
		return ConnInfo{}, fmt.Errorf("no OCEP answer: %w", err)
	}
	return ParseConnInfo(buf[:n])
}

// Serve accepts flows until ctx ends (or Accept fails for good), and
// waits for the exchanges and handlers it started. Exchanges in progress
// end (their flows closed) as soon as ctx ends; a handler that blocks
// must watch ctx itself. An Accept error is
// logged and retried after a pause, unless ctx is done.
func (m *Manager) Serve(ctx context.Context) {
	defer m.wg.Wait()
	for {
		f, err := m.lower.Accept(ctx)
		if ctx.Err() != nil {
			if err == nil {
				f.Close()
			}
			return
		}
		if errors.Is(err, ErrGone) {
			return // the IRMd went: the IPCP is being stopped
		}
		if err != nil {
			m.log.Warn(fmt.Sprintf("Failed to accept an N-1 flow: %v.", err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case m.pending <- struct{}{}:
		default:
			m.log.Warn("Too many N-1 flows waiting for connection establishment; closing a new one.")
			f.Close()
			continue
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.respond(ctx, f)
		}()
	}
}

// respond is the responder's exchange on an accepted flow.
func (m *Manager) respond(ctx context.Context, f Flow) {
	peer, err := readInfo(ctx, f)
	<-m.pending
	if err != nil {
		if ctx.Err() == nil { // not the IPCP stopping
			m.log.Warn(fmt.Sprintf("Closed an N-1 flow without connection establishment: %v.", err))
		}
		f.Close()
		return
	}
	m.mu.Lock()
	c, ok := m.comps[peer.Comp]
	m.mu.Unlock()
	if !ok {
		m.log.Warn(fmt.Sprintf("Refused a connection for unknown component %q.", peer.Comp))
		if b, err := (ConnInfo{}).Marshal(); err == nil {
			f.Write(b)
		}
		f.Close()
		return
	}
	b, err := c.info.Marshal()
	if err == nil {
		_, err = f.Write(b)
	}
	if err != nil {
		m.log.Warn(fmt.Sprintf("Failed to answer a %s connection: %v.", peer.Comp, err))
		f.Close()
		return
	}
	c.handle(Conn{Flow: f, Peer: peer})
}
