package simnet

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// LinkConfig shapes both directions of a link between two members.
type LinkConfig struct {
	Delay time.Duration // one-way propagation delay
	Loss  float64       // probability that a packet is lost, 0..1
	// Rate, if non-zero, is the time a packet takes to leave (one packet
	// per Rate): a sender faster than that builds a queue, which the
	// congestion avoidance sees.
	Rate time.Duration
	// Queue is the number of packets a direction holds before it drops;
	// 256 if 0.
	Queue int
}

// ErrDown is returned by a write on a link that was cut.
var ErrDown = errors.New("simnet: link is down")

// Link joins two members with a Data Transfer and a Management
// connection, each a pair of directions.
type Link struct {
	net    *Net
	A, B   *Node
	cfg    LinkConfig
	mu     sync.Mutex
	up     bool
	ports  [4]*port // DT A→B, DT B→A, Mgmt A→B, Mgmt B→A
	closed bool
}

// port is one direction of a connection, as its sender sees it: Write
// queues a copy, a goroutine delivers it to the receiver after the delay.
type port struct {
	link   *Link
	from   *Node
	to     *Node
	mgmt   bool
	id     int // the link id at the sender
	peerID int // the link id at the receiver (the incoming link there)
	q      chan packet
	down   atomic.Bool
	done   chan struct{}
	// Counters.
	sent, lost, full atomic.Uint64
}

type packet struct {
	at   time.Time // when it reaches the receiver (before serialisation)
	data []byte
}

// Write implements dt.Link: it copies pkt and queues it.
func (p *port) Write(pkt []byte) error {
	if p.down.Load() {
		return ErrDown
	}
	if p.link.net.lose(p.link.cfg.Loss) {
		p.lost.Add(1)
		return nil
	}
	select {
	case p.q <- packet{at: time.Now().Add(p.link.cfg.Delay), data: append([]byte(nil), pkt...)}:
		p.sent.Add(1)
	default:
		p.full.Add(1)
	}
	return nil
}

// Queued implements dt.Link.
func (p *port) Queued() int { return len(p.q) }

// run delivers queued packets in order until the port closes.
func (p *port) run() {
	defer p.link.net.wg.Done()
	for {
		var pk packet
		select {
		case pk = <-p.q:
		case <-p.done:
			return
		}
		if d := time.Until(pk.at); d > 0 {
			if !p.sleep(d) {
				return
			}
		}
		if r := p.link.cfg.Rate; r > 0 && !p.sleep(r) {
			return
		}
		if p.down.Load() {
			continue
		}
		if p.mgmt {
			p.to.receiveLSU(p.peerID, pk.data)
		} else {
			p.to.DT.Receive(p.peerID, pk.data)
		}
	}
}

func (p *port) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.done:
		return false
	}
}

// Cut takes the link down: both members see their connections go (as
// when a lower layer's flow is deallocated), and packets in flight are
// lost.
func (l *Link) Cut() {
	l.mu.Lock()
	if !l.up {
		l.mu.Unlock()
		return
	}
	l.up = false
	ports := l.ports
	l.mu.Unlock()
	for _, p := range ports {
		p.down.Store(true)
		close(p.done)
	}
	now := time.Now()
	for _, p := range ports {
		if p.mgmt {
			p.from.Router.RemoveMgmt(p.id)
		} else {
			p.from.DT.RemoveLink(p.id)
			p.from.Router.RemoveDT(now, p.id)
		}
		p.from.dropPort(p.id)
	}
}

// Restore brings a cut link back as new connections (new link ids),
// Management first, as a connect does.
func (l *Link) Restore() {
	l.mu.Lock()
	if l.up {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.net.open(l)
}

// Up reports whether the link is up.
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up
}

// Inject writes raw bytes on the Data Transfer connection from a to the
// other end, as a broken or hostile neighbour would.
func (l *Link) Inject(from *Node, pkt []byte) error {
	l.mu.Lock()
	p := l.ports[0]
	if from == l.B {
		p = l.ports[1]
	}
	l.mu.Unlock()
	return p.Write(pkt)
}

// InjectMgmt is Inject on the Management connection.
func (l *Link) InjectMgmt(from *Node, sdu []byte) error {
	l.mu.Lock()
	p := l.ports[2]
	if from == l.B {
		p = l.ports[3]
	}
	l.mu.Unlock()
	return p.Write(sdu)
}
