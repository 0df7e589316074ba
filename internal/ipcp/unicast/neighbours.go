package unicast

// Neighbours: the member's Data Transfer and Management connections over
// N-1 flows, and the link-state routing that runs over them.
//
// Each connection gets a link id, unique for the member's life, which the
// forwarding tables and the Router name it by. A Data Transfer connection
// is an n1.Link added to the data transfer (its reader hands every packet
// to dt.Receive); a Management connection has a reader that hands every
// SDU to the Router. The Router's answers (LSUs to flood) are written by
// the goroutine that caused them, after the Router returned. A timer
// goroutine runs the Router's periodic work.
//
// A connection ends when its flow fails (the peer went, the lower layer
// went), when it is disconnected, or at Close; its link leaves the data
// transfer and the Router at once, so routes are recomputed without it.

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/addr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dt"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/n1"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// neighbours holds a member's connections.
type neighbours struct {
	dt     *dt.DT
	router *routing.Router
	dir    *directory
	log    *slog.Logger
	limit  func(id, n int) // a Data Transfer link carries SDUs of at most n bytes

	mu     sync.Mutex
	nextID int
	conns  map[int]*nconn
	closed bool

	kick chan struct{} // the Router's deadline may have moved
	done chan struct{}
	wg   sync.WaitGroup
}

// nconn is one connection.
type nconn struct {
	id   int
	comp string // connmgr.CompDT or connmgr.CompMgmt
	c    connmgr.Conn
	link *n1.Link // Data Transfer only
	once sync.Once
}

func newNeighbours(d *dt.DT, r *routing.Router, dirc *directory, log *slog.Logger, limit func(id, n int)) *neighbours {
	n := &neighbours{dt: d, router: r, dir: dirc, log: log, limit: limit, nextID: 1, conns: map[int]*nconn{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	n.wg.Add(1)
	go n.timer()
	return n
}

// add takes an established connection of component comp (from Connect
// or from the responder) and puts it to work. It fails only after close.
// It returns the connection's id.
func (n *neighbours) add(comp string, c connmgr.Conn) (int, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		c.Flow.Close()
		return 0, fmt.Errorf("the IPCP is shutting down")
	}
	nc := &nconn{id: n.nextID, comp: comp, c: c}
	n.nextID++
	n.mu.Unlock()

	// The connection is published (close and remove find it) only once
	// its link is set: drop reads it. A flow that fails before then is
	// dropped once it is published.
	published := make(chan struct{})
	if comp == connmgr.CompDT {
		// The reader reports a failed flow; drop waits for the reader to
		// end, so it runs in a goroutine of its own.
		nc.link = n1.Start(c.Flow, nc.id, n.dt.Receive, func(int, error) {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				<-published
				n.drop(nc, "its flow failed")
			}()
		})
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		close(published)
		n.drop(nc, "the IPCP is shutting down")
		return 0, fmt.Errorf("the IPCP is shutting down")
	}
	n.conns[nc.id] = nc
	n.mu.Unlock()
	close(published)

	peer := addr.Format(c.Peer.Addr)
	switch comp {
	case connmgr.CompDT:
		// Before the link carries flows: a flow's first packet over it
		// may be the one too long.
		if l, ok := c.Flow.(sduLimiter); ok && n.limit != nil {
			n.limit(nc.id, l.MaxWrite())
		}
		if err := n.dt.AddLink(nc.id, nc.link, c.Flow.QoS().Cube()); err != nil {
			n.drop(nc, err.Error())
			return 0, err
		}
		n.send(n.router.AddDT(time.Now(), c.Peer.Addr, nc.id))
		n.dir.routesChanged()
	case connmgr.CompMgmt:
		n.wg.Add(1)
		go n.readMgmt(nc)
		n.send(n.router.AddMgmt(c.Peer.Addr, nc.id))
	}
	n.poke()
	n.log.Info(fmt.Sprintf("%s connection %d to %s (%s) up.", comp, nc.id, peer, dstOrAccepted(c.Dst)))
	return nc.id, nil
}

// remove ends connection id, if it is still there.
func (n *neighbours) remove(id int, why string) {
	n.mu.Lock()
	nc := n.conns[id]
	n.mu.Unlock()
	if nc != nil {
		n.drop(nc, why)
	}
}

func dstOrAccepted(s string) string {
	if s == "" {
		return "accepted"
	}
	return s
}

// drop ends connection nc (once): it leaves the Router and the data
// transfer, and its flow is closed.
func (n *neighbours) drop(nc *nconn, why string) {
	nc.once.Do(func() {
		n.mu.Lock()
		delete(n.conns, nc.id)
		closed := n.closed
		n.mu.Unlock()
		switch nc.comp {
		case connmgr.CompDT:
			n.router.RemoveDT(time.Now(), nc.id)
			n.dt.RemoveLink(nc.id)
			nc.link.Close()
		case connmgr.CompMgmt:
			n.router.RemoveMgmt(nc.id)
			nc.c.Flow.Close()
		}
		n.poke()
		if !closed {
			n.log.Info(fmt.Sprintf("%s connection %d to %s down: %s.", nc.comp, nc.id, addr.Format(nc.c.Peer.Addr), why))
		}
	})
}

// readMgmt passes the SDUs of a Management connection to the Router until
// its flow fails.
func (n *neighbours) readMgmt(nc *nconn) {
	defer n.wg.Done()
	buf := make([]byte, 2*wire.LSULen) // longer SDUs are refused whole
	for {
		k, err := nc.c.Flow.Read(buf)
		if err != nil {
			n.drop(nc, "its flow failed")
			return
		}
		n.send(n.router.Receive(time.Now(), nc.id, buf[:k]))
		n.dir.routesChanged()
		n.poke()
	}
}

// send writes the Router's LSUs to their Management links. A failed write
// is left to the link's reader to notice.
func (n *neighbours) send(out []routing.Out) {
	if len(out) == 0 {
		return
	}
	var b [wire.LSULen]byte
	for _, o := range out {
		n.mu.Lock()
		nc := n.conns[o.Link]
		n.mu.Unlock()
		if nc == nil || nc.comp != connmgr.CompMgmt {
			continue
		}
		if _, err := nc.c.Flow.Write(o.LSU.Append(b[:0])); err != nil {
			n.log.Debug(fmt.Sprintf("LSU to %s not sent: %v.", addr.Format(nc.c.Peer.Addr), err))
		}
	}
}

func (n *neighbours) poke() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// timer runs the Router's periodic work at its deadlines.
func (n *neighbours) timer() {
	defer n.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		t.Reset(max(time.Until(n.router.NextDeadline()), 0))
		select {
		case <-t.C:
			n.send(n.router.Tick(time.Now()))
			n.dir.routesChanged()
		case <-n.kick:
		case <-n.done:
			return
		}
	}
}

// disconnect ends the connections of component comp ("" for both) that
// were made to dst by Connect. None is not an error, as in the reference.
func (n *neighbours) disconnect(dst, comp string) {
	n.mu.Lock()
	var victims []*nconn
	for _, nc := range n.conns {
		if nc.c.Dst == dst && (comp == "" || nc.comp == comp) {
			victims = append(victims, nc)
		}
	}
	n.mu.Unlock()
	for _, nc := range victims {
		n.drop(nc, "disconnected")
	}
}

// close ends every connection and the timer.
func (n *neighbours) close() {
	n.mu.Lock()
	n.closed = true
	all := make([]*nconn, 0, len(n.conns))
	for _, nc := range n.conns {
		all = append(all, nc)
	}
	n.mu.Unlock()
	for _, nc := range all {
		n.drop(nc, "the IPCP is shutting down")
	}
	close(n.done)
	n.wg.Wait()
}
