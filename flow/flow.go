package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// rxCap bounds the messages queued for Read; past it, the receive goroutine
// stops reading and the sender is back-pressured by the channel.
const rxCap = 1024

// MaxSDU is the largest message a flow carries on this host, in bytes.
const MaxSDU = datapath.MaxSDU

// Flow is an allocated flow. Its methods are safe for concurrent use.
type Flow struct {
	p      *process
	ep     *datapath.Endpoint
	info   ctrl.FlowInfo
	fd     int
	remote string

	mu       sync.Mutex
	space    *sync.Cond // signalled when rxq has room or the flow closes
	rxq      [][]byte   // queued messages, oldest first, from rxq[rxHead]
	rxHead   int
	rxFree   [][]byte // recycled receive buffers (io.go)
	partial  []byte   // unread rest of a message read in pieces
	donePart bool     // the next Read returns 0: end of a message read in pieces
	peerErr  error    // EFLOWDOWN or EFLOWPEER once the peer is gone or silent
	downFlag bool     // the peer marked the flow down (KindDown)
	closed   bool
	flags    Flags
	rcvTimeo time.Duration // fccntl FLOWSRCVTIMEO; 0 = none
	sndTimeo time.Duration // fccntl FLOWSSNDTIMEO; 0 = none
	set      *EventSet
	reported int // FLOW_PKT events handed out and not yet consumed by a Read

	rxKick  chan struct{} // capacity 1: a message arrived or the state changed
	done    chan struct{} // closed by Close
	rxDone  chan struct{} // closed when the receive goroutine exits
	rd, wr  deadline
	ka      *time.Timer
	lastRcv atomic.Int64 // stamp (monoNow) of the last packet from the peer
	lastSnd atomic.Int64 // stamp (monoNow) of the last packet to the peer

	// rxHolding: the receive goroutine took a datagram from the channel and
	// has not handled it yet (it may wait for room in rxq).
	rxHolding atomic.Bool

	fr          *frctFlow     // FRCT state if the QoS asks for in-order delivery; nil otherwise
	lingerBound time.Duration // see SetLinger
	crc         bool          // QoS ber = 0: packets carry a CRC-32 (crc.go)
	sduCap      int           // if > 0, the largest message Write takes (Join: the layer's MTU)
	// lowerMax, if > 0, is the largest SDU the layer below carries on this
	// flow (its IPCP said so, datapath.KindMTU): a packet of the flow, with
	// its FRCT header, cipher overhead and CRC, is at most this long.
	lowerMax  atomic.Int32
	malformed atomic.Int64 // packets dropped as malformed (short, or a bad CRC)

	// pc encrypts and decrypts every packet of an encrypted flow (the IRMd
	// gave a cipher and key with the flow), between FRCT and the CRC; nil
	// on a plaintext flow (crypt.go).
	pc      *crypt.PacketCipher
	badAuth atomic.Int64 // packets dropped because they failed authentication
	// sealMu orders the packets of an encrypted flow: a packet is sealed
	// and put in the channel under it, so packets enter the channel in the
	// order they were sealed (writeSealed). Never held while waiting.
	sealMu  sync.Mutex
	pending *pendingPacket // sealed, waiting for room; written before any other (under sealMu)

	peerName string // the peer's authenticated name (PeerName); set before start
}

func newFlowOn(p *process, ep *datapath.Endpoint, info ctrl.FlowInfo, remote string) *Flow {
	f := &Flow{p: p, ep: ep, info: info, remote: remote, flags: FlagDefault,
		rxKick: make(chan struct{}, 1), done: make(chan struct{}), rxDone: make(chan struct{}),
		rd: makeDeadline(), wr: makeDeadline()}
	f.space = sync.NewCond(&f.mu)
	f.lingerBound = DefaultLinger
	f.crc = info.QoS.BER == 0
	if info.QoS.InOrder != 0 {
		f.fr = newFRCT(f)
	}
	now := monoNow()
	f.lastRcv.Store(now)
	f.lastSnd.Store(now)
	return f
}

func (f *Flow) start() {
	// The receive goroutine does not poll: a Read waits for the peer's next
	// record itself (hotRead), and polling would take the CPU from the peer.
	f.ep.SetPolling(false)
	if f.ep.Pending() {
		// What the IPCP put in the channel before the flow was handed
		// over (the layer's largest SDU) is taken now, so that the first
		// Write knows it.
		f.takeOne()
	}
	go f.receive()
	if t := f.info.QoS.Timeout; t != 0 {
		l := liveness{timeout: time.Duration(t) * time.Millisecond}
		f.mu.Lock()
		f.ka = time.AfterFunc(l.timeout/4, func() { f.keepalive(l) })
		f.mu.Unlock()
	}
}

// FD returns the flow descriptor, a number >= 64 unique in this process while
// the flow is open (the reference's fd, used in logs and by the tools).
func (f *Flow) FD() int { return f.fd }

// ID returns the flow id the IRMd assigned.
func (f *Flow) ID() int { return f.info.ID }

// PeerPID returns the pid of the process at the other end of the channel: the
// IPCP, or the peer application of a direct local flow.
func (f *Flow) PeerPID() int { return f.info.N1Pid }

// MPL returns the maximum packet lifetime the layer announced (flow_info mpl,
// in ms as the IPCPs report it).
func (f *Flow) MPL() time.Duration { return time.Duration(f.info.MPL) * time.Millisecond }

// QoS returns the flow's QoS spec (fccntl FLOWGQOSSPEC). An acceptor gets the
// allocator's spec.
func (f *Flow) QoS() qos.Spec { return f.info.QoS }

// Flags returns the open flags (fccntl FLOWGFLAGS).
func (f *Flow) Flags() Flags {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags
}

// SetFlags replaces the open flags (fccntl FLOWSFLAGS). Setting FlagDown marks
// the flow down at both ends: the peer gets EventDown, and reads (after the
// queue drains) and writes fail with EFLOWDOWN on both sides; clearing it
// brings the flow up again (the peer gets EventUp). The reference signals
// FLOW_UP on every call without FlagDown; here only a change is signalled.
func (f *Flow) SetFlags(fl Flags) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return f.opErr("fccntl", net.ErrClosed)
	}
	changed := (f.flags^fl)&FlagDown != 0
	f.flags = fl & 0xffff
	f.mu.Unlock()
	if !changed {
		return nil
	}
	f.kick()
	kind := datapath.KindUp
	if fl&FlagDown != 0 {
		kind = datapath.KindDown
	}
	// The signal travels in band; give a full channel a moment, not forever.
	// (Polling, not a write deadline: that would cut short a concurrent Write.)
	pkt := []byte{0}
	for deadline := time.Now().Add(signalWait); ; {
		err := f.ep.TryWritePacket(kind, pkt)
		switch {
		case err == nil || datapath.IsDown(err):
			return nil
		case !errors.Is(err, datapath.ErrWouldBlock):
			return f.opErr("fccntl", err)
		case time.Now().After(deadline):
			return f.opErr("fccntl", oerr.EAGAIN)
		}
		time.Sleep(time.Millisecond)
	}
}

// signalWait bounds how long SetFlags waits to tell the peer about FlagDown.
const signalWait = time.Second

// SetReadTimeout sets a per-call receive timeout (fccntl FLOWSRCVTIMEO); 0
// disables it. A Read that waits longer fails with ETIMEDOUT.
func (f *Flow) SetReadTimeout(d time.Duration) {
	f.mu.Lock()
	f.rcvTimeo = d
	f.mu.Unlock()
}

// ReadTimeout returns the receive timeout and whether one is set (FLOWGRCVTIMEO).
func (f *Flow) ReadTimeout() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rcvTimeo, f.rcvTimeo != 0
}

// SetWriteTimeout sets a per-call send timeout (fccntl FLOWSSNDTIMEO); 0 disables it.
func (f *Flow) SetWriteTimeout(d time.Duration) {
	f.mu.Lock()
	f.sndTimeo = d
	f.mu.Unlock()
}

// WriteTimeout returns the send timeout and whether one is set (FLOWGSNDTIMEO).
func (f *Flow) WriteTimeout() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sndTimeo, f.sndTimeo != 0
}

// SetDeadline sets the read and write deadlines (net.Conn).
func (f *Flow) SetDeadline(t time.Time) error {
	f.SetReadDeadline(t)
	return f.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for pending and future Reads (net.Conn).
func (f *Flow) SetReadDeadline(t time.Time) error {
	f.rd.set(t)
	f.ep.InterruptHot() // a Read waiting in hotRead looks at the new deadline
	return nil
}

// SetWriteDeadline sets the deadline for pending and future Writes (net.Conn):
// a Write blocked on a full channel is bound by the new deadline at once.
func (f *Flow) SetWriteDeadline(t time.Time) error {
	f.wr.set(t)
	f.ep.SetWriteDeadline(t)
	return nil
}

// RxQueueLen returns the number of messages waiting to be read (FLOWGRXQLEN).
func (f *Flow) RxQueueLen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.queued()
	if f.partial != nil {
		n++
	}
	return n
}

// TxQueueLen returns the number of packets written but not yet taken by
// the peer's receive goroutine (FLOWGTXQLEN): exact on the shared-memory
// data path, estimated from the kernel's byte count on the socket one.
func (f *Flow) TxQueueLen() int { return f.ep.TxQueued() }

// SetTxQueueLimit caps the packets written and not yet taken by the peer
// at n (n <= 0: no cap, the default): at n a Write waits for room as when
// the flow's buffer is full. It applies on the shared-memory data path;
// on the socket one the kernel's buffer, in bytes, is the only limit. A
// layer built over flows uses it to keep its lower queues short (the
// unicast layer marks congestion from their length).
func (f *Flow) SetTxQueueLimit(n int) { f.ep.SetTxLimit(n) }

// Addr is the address of a flow end: an application name.
type Addr struct{ Name string }

// Network returns "ouroboros".
func (Addr) Network() string  { return "ouroboros" }
func (a Addr) String() string { return a.Name }

// LocalAddr returns the local end's address (net.Conn); the name is not known
// to the library and is empty.
func (f *Flow) LocalAddr() net.Addr { return Addr{} }

// RemoteAddr returns the name the flow was allocated to (empty for accepted flows).
func (f *Flow) RemoteAddr() net.Addr { return Addr{Name: f.remote} }

func (f *Flow) opErr(op string, err error) error {
	e := &net.OpError{Op: op, Net: "ouroboros", Err: err}
	if f.remote != "" {
		e.Addr = Addr{Name: f.remote}
	}
	return e
}

// Close deallocates the flow: queued messages are dropped, pending Reads and
// Writes fail with net.ErrClosed, the peer reads what it already has and then
// EFLOWDOWN, and the IRMd releases the flow.
func (f *Flow) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return f.opErr("close", net.ErrClosed)
	}
	f.closed = true
	f.rxq, f.rxHead = nil, 0
	f.partial = nil
	set := f.set
	f.space.Broadcast()
	f.mu.Unlock()
	close(f.done)
	f.mu.Lock()
	if f.ka != nil {
		f.ka.Stop()
	}
	f.mu.Unlock()
	if set != nil {
		set.Del(f)
	}
	var keep time.Duration
	if f.fr != nil {
		keep = f.linger()
		f.fr.stop(f)
	}
	f.ep.Close()
	<-f.rxDone
	f.dropCipher() // after the last packet of the receive goroutine and FRCT
	f.p.delFlow(f)
	return f.dealloc(keep)
}

// dealloc tells the IRMd this end is gone. keep is how long the layer must
// still hold the flow id (FRCT delta-t; 0 without FRCT).
func (f *Flow) dealloc(keep time.Duration) error {
	req := &pb.IrmMsg{
		Code:     pb.IrmMsgCode_IRM_FLOW_DEALLOC.Enum(),
		FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{ID: f.info.ID, NPid: f.p.pid}),
		Timeo:    ctrl.Timespec(keep),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := f.p.call(ctx, req)
	if err != nil && !errors.Is(err, oerr.ENOTALLOC) { // ENOTALLOC: already released (its IPCP died)
		return fmt.Errorf("deallocate flow %d: %w", f.info.ID, err)
	}
	return nil
}

// keepalive runs when liveness.check asks: it declares the peer gone when
// nothing came for the QoS timeout (EFLOWPEER, EventPeer) and otherwise sends
// an empty packet when this end has been silent for a quarter of it.
func (f *Flow) keepalive(l liveness) {
	now := time.Now()
	f.mu.Lock()
	if f.closed || f.peerErr != nil {
		f.mu.Unlock()
		return
	}
	lastRcv := monoTime(f.lastRcv.Load())
	if f.queued() >= rxCap {
		// A full queue means we, not the peer, are the bottleneck: the peer is alive.
		lastRcv = now
	}
	send, gone, next := l.check(now, lastRcv, monoTime(f.lastSnd.Load()))
	if gone && f.ep.Pending() {
		// A packet waits that this process has not read yet (it was busy, or
		// this timer ran late): the peer spoke, we did not listen.
		send, gone, next = l.check(now, now, monoTime(f.lastSnd.Load()))
	}
	if gone {
		f.peerErr = oerr.EFLOWPEER
		f.mu.Unlock()
		f.kick()
		f.post(EventPeer)
		return
	}
	ka := f.ka
	f.mu.Unlock()
	if send {
		// Never block: a full channel means the peer has data to read anyway.
		var pkt [1]byte
		if f.ep.TryWritePacket(datapath.KindData, pkt[:]) == nil {
			f.lastSnd.Store(monoOf(now))
		}
	}
	ka.Reset(next.Sub(now))
}

// kick wakes one waiting reader (and EventSet waits) without blocking.
func (f *Flow) kick() {
	select {
	case f.rxKick <- struct{}{}:
	default:
	}
}

// post reports an event to the flow's event set, if it has one.
func (f *Flow) post(t EventType) {
	f.mu.Lock()
	s := f.set
	f.mu.Unlock()
	if s != nil {
		s.post(f, t)
	}
}

var _ net.Conn = (*Flow)(nil)
