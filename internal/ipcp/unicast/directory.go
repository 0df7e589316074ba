package unicast

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dir"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// lookupWait bounds how long a query waits for a remote lookup: a few
// rounds of the DHT's request timeout.
const lookupWait = 4 * dir.TResp

// directory drives the DHT state machine (package dir) for the daemon: it
// serialises the calls under one lock, gives it the time, sends what it
// puts in its outbox as DT packets to the DHT's EID of the peers, runs its
// Tick at its deadlines and hands finished lookups to the queries waiting
// for them.
//
// Names registered here resolve to our own address (the DHT never answers
// with our own address, since for another member that would be wrong).
type directory struct {
	self uint64
	send func(dst uint64, msg []byte) // a DHT message to a peer
	log  *slog.Logger

	mu    sync.Mutex
	node  *dir.Node
	local map[string]bool          // name hashes registered here
	waits map[uint64][]chan uint64 // lookup id → queries waiting for it

	kick chan struct{} // the deadline may have moved
	done chan struct{}
	wg   sync.WaitGroup
}

// newDirectory starts the DHT of the member with address self. cfg.Peer 0
// or self means the first member of the layer.
//
// reachable says whether routing has a path to an address: a lookup skips
// values it refuses (see dir.Node.SetUsable), so that a member that
// restarted with a new address is found there. nil accepts every address.
func newDirectory(cfg dir.Config, self uint64, rnd *rand.Rand, send func(uint64, []byte), reachable func(uint64) bool, log *slog.Logger) (*directory, error) {
	n, err := dir.New(cfg, self, rnd)
	if err != nil {
		return nil, err
	}
	n.SetUsable(reachable)
	d := &directory{self: self, send: send, log: log, node: n, local: map[string]bool{},
		waits: map[uint64][]chan uint64{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	d.mu.Lock()
	n.Start(time.Now())
	out := d.collectLocked()
	d.mu.Unlock()
	d.flush(out)
	d.wg.Add(1)
	go d.timer()
	return d, nil
}

// collectLocked takes the messages to send and hands finished lookups to
// their waiters. Called with d.mu held; the caller sends after unlocking,
// so that no lock is held while the data transfer runs.
func (d *directory) collectLocked() []dir.Out {
	for _, r := range d.node.Results() {
		for _, ch := range d.waits[r.ID] {
			ch <- r.Addr // buffered, one per waiter
		}
		delete(d.waits, r.ID)
	}
	return d.node.Outbox()
}

func (d *directory) flush(out []dir.Out) {
	for _, o := range out {
		d.send(o.To, o.Msg)
	}
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// timer runs the DHT's Tick at its deadlines until close.
func (d *directory) timer() {
	defer d.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		d.mu.Lock()
		next := d.node.NextDeadline()
		d.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		t.Reset(wait)
		select {
		case <-t.C:
			d.mu.Lock()
			d.node.Tick(time.Now())
			out := d.collectLocked()
			d.mu.Unlock()
			d.flush(out)
		case <-d.kick:
		case <-d.done:
			return
		}
	}
}

// routesChanged tells the DHT that the data transfer may reach members it
// could not reach before: a bootstrap that went nowhere is tried again.
func (d *directory) routesChanged() {
	d.mu.Lock()
	d.node.Rejoin(time.Now())
	out := d.collectLocked()
	d.mu.Unlock()
	d.flush(out)
}

// close stops the timer; waiting queries fail.
func (d *directory) close() {
	close(d.done)
	d.wg.Wait()
}

// receive is the data transfer's handler for the DHT's EID.
func (d *directory) receive(_ uint64, _ uint8, b []byte) {
	b = append([]byte(nil), b...) // the DT's buffer is only ours during the call
	d.mu.Lock()
	err := d.node.Receive(time.Now(), b)
	out := d.collectLocked()
	d.mu.Unlock()
	if err != nil {
		d.log.Debug(fmt.Sprintf("Dropped a DHT message: %v.", err))
	}
	d.flush(out)
}

// register publishes our address under the name hash h.
func (d *directory) register(h []byte) error {
	d.mu.Lock()
	err := d.node.Register(time.Now(), h)
	if err == nil {
		d.local[string(h)] = true
	}
	out := d.collectLocked()
	d.mu.Unlock()
	d.flush(out)
	return err
}

// unregister withdraws our address from under h.
func (d *directory) unregister(h []byte) error {
	d.mu.Lock()
	err := d.node.Unregister(time.Now(), h)
	delete(d.local, string(h))
	d.mu.Unlock()
	return err
}

// Query resolves h for the flow allocator (fa.Directory), waiting at most
// lookupWait for a remote lookup.
func (d *directory) Query(h []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupWait)
	defer cancel()
	return d.query(ctx, h)
}

// query resolves h to the address of a member that registered it: ours if
// it is registered here, else the DHT's answer. Not found is ENAME.
func (d *directory) query(ctx context.Context, h []byte) (uint64, error) {
	d.mu.Lock()
	if d.local[string(h)] {
		d.mu.Unlock()
		return d.self, nil
	}
	a, id, err := d.node.Lookup(time.Now(), h)
	var ch chan uint64
	if err == nil && a == 0 && id != 0 {
		ch = make(chan uint64, 1)
		d.waits[id] = append(d.waits[id], ch)
	}
	out := d.collectLocked()
	d.mu.Unlock()
	d.flush(out)
	switch {
	case err != nil:
		return 0, fmt.Errorf("directory: %v: %w", err, oerr.EINVAL)
	case a != 0:
		return a, nil
	case ch == nil:
		return 0, fmt.Errorf("directory: name not found: %w", oerr.ENAME)
	}
	select {
	case a = <-ch:
	case <-ctx.Done():
	case <-d.done:
	}
	if a == 0 {
		d.unwait(id, ch)
		select { // the answer may have come while we gave up
		case a = <-ch:
		default:
		}
	}
	if a == 0 {
		return 0, fmt.Errorf("directory: name not found: %w", oerr.ENAME)
	}
	return a, nil
}

// unwait forgets a waiter that gave up.
func (d *directory) unwait(id uint64, ch chan uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ws := d.waits[id]
	for i, w := range ws {
		if w == ch {
			d.waits[id] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(d.waits[id]) == 0 {
		delete(d.waits, id)
	}
}

// sendDHT returns the directory's send function over a data transfer.
func sendDHT(send func(dst uint64, eid uint64, pkt []byte) error, log *slog.Logger) func(uint64, []byte) {
	return func(dst uint64, msg []byte) {
		pkt := append(make([]byte, wire.DTPCILen, wire.DTPCILen+len(msg)), msg...)
		if err := send(dst, wire.DTEIDDHT, pkt); err != nil {
			log.Debug(fmt.Sprintf("DHT message to %#x not sent: %v.", dst, err))
		}
	}
}
