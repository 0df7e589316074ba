package broadcast

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// Flooding parameters.
const (
	// Window is how long a member remembers a packet it flooded: a copy
	// with the same bytes arriving within it is dropped (see the package
	// documentation for the rule and its cost).
	Window = 2 * time.Second
	// dedupCap bounds the packets remembered (16 bytes each, plus the
	// map): beyond dedupCap/Window packets a second, the oldest are
	// forgotten early and the window shrinks.
	dedupCap = 1 << 17
	// queueLen is the number of packets waiting for one port's writer;
	// when it is full, that port's packets are dropped (the others'
	// are not held up by a member that does not keep up).
	queueLen = 1024
)

// port is a member of the flood: an N-1 Data Transfer connection to
// another member or an N+1 flow of an application that joined the layer.
// A reader goroutine (the owner's) hands what arrives on it to
// flooder.receive; a writer goroutine writes what out carries to it.
type port struct {
	id    int
	name  string             // for the log: "connection 3 to bc.b", "flow 70"
	out   chan []byte        // packets to write; each is shared, read-only, by the ports it was queued on
	write func([]byte) error // writes one packet; only the writer goroutine calls it

	drops  atomic.Int64  // packets dropped because out was full
	tooBig atomic.Int64  // packets longer than the MTU that came from this port
	done   chan struct{} // closed when the writer goroutine has ended
}

// flooder forwards every packet that arrives on a port to every other
// port, unchanged, once: a packet whose bytes it saw less than Window ago
// is dropped. Packets longer than wire.BroadcastMTU, and empty ones (the
// flows' keepalives), are dropped too.
type flooder struct {
	log *slog.Logger

	mu     sync.RWMutex // guards ports and closed; held for reading while packets are queued
	ports  map[int]*port
	nextID int
	closed bool

	dmu sync.Mutex // guards dd
	dd  *dedup

	flooded atomic.Int64 // packets flooded
	dups    atomic.Int64 // duplicates dropped
}

func newFlooder(log *slog.Logger) *flooder {
	return &flooder{log: log, ports: map[int]*port{}, nextID: 1, dd: newDedup(Window, dedupCap)}
}

// add makes a port that write writes to and starts its writer. It returns
// nil once the flooder is closed.
func (fl *flooder) add(name string, write func([]byte) error) *port {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return nil
	}
	p := &port{id: fl.nextID, name: name, out: make(chan []byte, queueLen), write: write,
		done: make(chan struct{})}
	fl.nextID++
	fl.ports[p.id] = p
	go func() {
		defer close(p.done)
		for pkt := range p.out {
			p.write(pkt) // a failed write is the port's reader's to notice, as in the reference
		}
	}()
	return p
}

// remove takes p out of the flood; its writer ends once it has written
// (or failed to write) what is queued. It reports whether p was there.
func (fl *flooder) remove(p *port) bool {
	fl.mu.Lock()
	if fl.ports[p.id] != p {
		fl.mu.Unlock()
		return false
	}
	delete(fl.ports, p.id)
	close(p.out) // no sender: they hold mu for reading
	fl.mu.Unlock()
	if d, b := p.drops.Load(), p.tooBig.Load(); d > 0 || b > 0 {
		fl.log.Info(fmt.Sprintf("%s: %d packets dropped because it did not keep up, %d longer than %d bytes refused.",
			p.name, d, b, wire.BroadcastMTU))
	}
	return true
}

// receive floods pkt, which arrived on from (nil: from nowhere, for
// tests), to every other port. pkt is not kept: the ports get a copy.
func (fl *flooder) receive(from *port, pkt []byte) {
	if len(pkt) == 0 {
		return // a keepalive of the flow it came on
	}
	if len(pkt) > wire.BroadcastMTU {
		if from != nil && from.tooBig.Add(1) == 1 {
			fl.log.Warn(fmt.Sprintf("Dropped a %d-byte packet from %s: a broadcast layer carries at most %d bytes "+
				"(later ones are counted).", len(pkt), from.name, wire.BroadcastMTU))
		}
		return
	}
	fl.dmu.Lock()
	dup := fl.dd.check(pkt, time.Now())
	fl.dmu.Unlock()
	if dup {
		fl.dups.Add(1)
		return
	}
	fl.flooded.Add(1)
	var cp []byte
	fl.mu.RLock()
	defer fl.mu.RUnlock()
	for _, p := range fl.ports {
		if p == from {
			continue
		}
		if cp == nil {
			cp = bytes.Clone(pkt)
		}
		select {
		case p.out <- cp:
		default:
			if p.drops.Add(1) == 1 {
				fl.log.Warn(fmt.Sprintf("%s does not keep up: packets for it are dropped while its queue of %d is full.",
					p.name, queueLen))
			}
		}
	}
}

// close removes every port and refuses new ones. It returns the ports it
// removed, whose writers may still be writing.
func (fl *flooder) close() []*port {
	fl.mu.Lock()
	fl.closed = true
	all := make([]*port, 0, len(fl.ports))
	for _, p := range fl.ports {
		all = append(all, p)
	}
	fl.mu.Unlock()
	for _, p := range all {
		fl.remove(p)
	}
	return all
}

// count returns the number of ports.
func (fl *flooder) count() int {
	fl.mu.RLock()
	defer fl.mu.RUnlock()
	return len(fl.ports)
}
