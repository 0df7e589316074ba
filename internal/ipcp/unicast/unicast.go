// Package unicast is the unicast IPCP's composition root: it builds the
// components of a layer member (address, data transfer, flow allocator,
// directory) and wires them into the operations of the IPCP skeleton
// (package ipcp), which ipcpd-unicast runs.
//
// What works in this version: the bootstrap of the first member of a layer
// (its whole configuration checked and kept for enrollment), registration,
// query, and flows between applications on this member. Such a flow uses
// the same machinery as one across the layer: the flow allocator's
// FLOW_REQ and FLOW_REPLY (kept inside the member), EIDs, the congestion
// avoidance, and the data transfer's PCI, which delivers a packet for our
// own address locally by EID. There are no N-1 flows yet: enrollment,
// connect and disconnect answer ENOTSUP, and names registered at other
// members cannot be found.
//
// Threads: each N+1 flow that is up has a reader goroutine that takes the
// application's packets (one byte of kind, then the SDU, read into a
// buffer with room for the DT PCI in front) and writes them by the flow
// allocator; data for our own EIDs reaches the other application in the
// same goroutine. The flow allocator has its worker, the directory its
// timer.
package unicast

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/enroll"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/addr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dt"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/fa"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// MPL is the maximum packet lifetime the IPCP announces for its flows, in
// ms (the reference's flow allocator passes 100 ms).
const MPL = 100

// skeleton is what the member needs of the IPCP skeleton; *ipcp.IPCP has
// it, and tests use a fake.
type skeleton interface {
	FlowReqArr(ctx context.Context, h []byte, q qos.Spec, mplMs uint32, pk []byte, prepare func(*ipcp.Flow)) (*ipcp.Flow, error)
	FlowAllocReply(ctx context.Context, id int, response int32, mplMs uint32, pk []byte) error
	Flow(id int) *ipcp.Flow
}

// Unicast is a unicast IPCP's behaviour.
type Unicast struct {
	ipcp.Unsupported
	sk    skeleton
	log   *slog.Logger
	cm    *connmgr.Manager
	lower connmgr.Lower

	ctx    context.Context // ends at Close: bounds calls to the IRMd and the acceptor
	cancel context.CancelFunc

	mu      sync.Mutex // guards the fields below; the components do not change once boot is set
	boot    bool
	layer   Layer
	addr    uint64
	dt      *dt.DT
	fa      *fa.FA
	dir     *directory
	nb      *neighbours
	router  *routing.Router
	pff     *pff.Table        // of every QoS cube
	conf    *pb.IpcpConfigMsg // what enrollees get
	closed  bool              // Close was called
	joining bool              // a bootstrap or enrollment is under way

	// sduMax is the largest SDU the layer's flows carry, in bytes, once
	// a link limits it (0 before); it only goes down (mtu.go).
	sduMax atomic.Int32
	limits struct {
		sync.Mutex                      // taken after readers, never before
		told       map[*ipcp.Flow]int32 // the limit each flow was told last
	}

	readers struct {
		sync.Mutex
		done map[*ipcp.Flow]chan struct{} // closed when the flow's reader ends
	}
	wg sync.WaitGroup // readers and the acceptor
}

// New returns the unicast IPCP's operations for p; its N-1 flows are
// those of the flow API.
func New(p *ipcp.IPCP) ipcp.Ops { return newUnicast(p, p.Log(), connmgr.FlowLower{}) }

func newUnicast(sk skeleton, log *slog.Logger, lower connmgr.Lower) *Unicast {
	u := &Unicast{sk: sk, log: log, lower: lower, cm: connmgr.New(lower, log)}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.readers.done = map[*ipcp.Flow]chan struct{}{}
	u.limits.told = map[*ipcp.Flow]int32{}
	return u
}

// Bootstrap makes this IPCP the first member of a layer: it checks the
// configuration, draws its address and starts the components.
func (u *Unicast) Bootstrap(_ context.Context, conf *pb.IpcpConfigMsg) (string, hash.Algo, error) {
	if err := u.claim(); err != nil {
		return "", 0, err
	}
	defer u.unclaim()
	l, err := parseConfig(conf)
	if err != nil {
		return "", 0, err
	}
	if l.EIDSize != eidSize {
		u.log.Warn(fmt.Sprintf("EID size %d is not supported, using %d.", l.EIDSize, eidSize))
		l.EIDSize = eidSize
	}
	a, err := addr.New(l.AddrAuth, l.AddrSize, nil)
	if err != nil {
		return "", 0, fmt.Errorf("%v: %w", err, oerr.EINVAL)
	}
	// As in the reference, the first member is its own DHT peer, and the
	// configuration handed out at enrollment names it.
	l.DHT.Peer = a
	if err := u.start(l, a); err != nil {
		return "", 0, err
	}
	u.log.Info(fmt.Sprintf("Bootstrapped layer %s as address %s (hash %s, ttl %d, routing %v, "+
		"congestion %v, dht alpha %d k %d expire %v refresh %v replicate %v).",
		l.Name, addr.Format(a), l.Hash, l.MaxTTL, l.Routing, l.CA,
		l.DHT.Alpha, l.DHT.K, l.DHT.TExpire, l.DHT.TRefresh, l.DHT.TReplicate))
	return l.Name, l.Hash, nil
}

// start builds and starts the components of a member with address a, in
// the reference's order: data transfer and routing, directory, flow
// allocator, then the connection manager's responder (Data Transfer,
// Management and Enrollment connections). l.DHT.Peer is the member the
// directory bootstraps through (ourselves for the first member).
func (u *Unicast) start(l Layer, a uint64) error {
	tab := pff.New(l.Routing.PFFPolicy())
	d, err := dt.New(dt.Config{Addr: a, TTL: l.MaxTTL, CA: l.CA, PFF: [dt.Cubes]*pff.Table{tab}})
	if err != nil {
		return fmt.Errorf("data transfer: %v: %w", err, oerr.EINVAL)
	}
	r := routing.NewRouter(routing.RouterConfig{Self: a, Algo: l.Routing, PFF: []*pff.Table{tab},
		Update: l.TUpdate, Timeout: l.TTimeo, Recalc: l.TRecalc}, time.Now())
	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	rnd := mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	dirc, err := newDirectory(l.DHT, a, rnd, sendDHT(func(dst, eid uint64, pkt []byte) error {
		return d.Send(dst, qos.CubeBE, eid, pkt)
	}, u.log), func(a uint64) bool {
		_, ok := tab.NextHop(a)
		return ok
	}, u.log)
	if err != nil {
		return fmt.Errorf("directory: %v: %w", err, oerr.EINVAL)
	}
	f, err := fa.New(fa.Config{DT: d, Dir: dirc, Upper: (*upper)(u), HashLen: l.Hash.Len(), CA: l.CA, Log: u.log})
	if err != nil {
		dirc.close()
		return fmt.Errorf("flow allocator: %v: %w", err, oerr.EINVAL)
	}
	d.Register(wire.DTEIDFlowAllocator, f.Post)
	d.Register(wire.DTEIDDHT, dirc.receive)
	d.SetFlowHandler(f.Receive)
	f.Start()
	nb := newNeighbours(d, r, dirc, u.log, u.linkLimit)
	// Later members bootstrap their directory through us.
	conf := l.message(a)
	u.mu.Lock()
	if u.closed { // Close came while we started: it cannot see these
		u.mu.Unlock()
		nb.close()
		f.Close()
		dirc.close()
		return fmt.Errorf("the IPCP is closing: %w", oerr.EIPCPSTATE)
	}
	u.boot, u.layer, u.addr, u.dt, u.fa, u.dir, u.nb, u.router, u.pff, u.conf = true, l, a, d, f, dirc, nb, r, tab, conf
	u.wg.Add(1) // for Serve, under mu: Close, once it set closed, waits for it
	u.mu.Unlock()

	u.cm.Register(connmgr.DTInfo(a), func(c connmgr.Conn) { nb.add(connmgr.CompDT, c) })
	u.cm.Register(connmgr.MgmtInfo(a), func(c connmgr.Conn) { nb.add(connmgr.CompMgmt, c) })
	u.cm.Register(connmgr.EnrollInfo(), func(c connmgr.Conn) {
		if err := enroll.Serve(u.ctx, c.Flow, conf, u.log); err != nil {
			if u.ctx.Err() != nil {
				return // Close ended it
			}
			u.log.Warn(fmt.Sprintf("Enrollment failed: %v.", err))
			return
		}
		u.log.Info("Enrollment completed.")
	})
	go func() {
		defer u.wg.Done()
		u.cm.Serve(u.ctx)
	}()
	return nil
}

// claim starts a bootstrap or an enrollment: there is one at a time, and
// none once the IPCP is a member or closed (EIPCPSTATE). The skeleton
// checks the state too, but it changes only when the operation returns,
// so two requests could otherwise both start the components.
func (u *Unicast) claim() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.boot || u.joining || u.closed {
		return oerr.EIPCPSTATE
	}
	u.joining = true
	return nil
}

// unclaim ends what claim started, successful or not.
func (u *Unicast) unclaim() {
	u.mu.Lock()
	u.joining = false
	u.mu.Unlock()
}

// booted returns the components, or EIPCPSTATE before the bootstrap.
func (u *Unicast) booted() (*fa.FA, *directory, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.boot {
		return nil, nil, oerr.EIPCPSTATE
	}
	return u.fa, u.dir, nil
}

// Addr returns the member's address (0 before the bootstrap).
func (u *Unicast) Addr() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.addr
}

// Enroll makes this IPCP a member of the layer that dst (the name of a
// member, or of the layer, in a lower layer) belongs to: it gets the
// layer's configuration from the member over an Enrollment connection,
// draws its address, starts its components and acknowledges. A failure
// leaves the IPCP as it was, so enrollment can be tried again.
func (u *Unicast) Enroll(ctx context.Context, dst string) (string, hash.Algo, error) {
	if err := u.claim(); err != nil {
		return "", 0, err
	}
	defer u.unclaim()
	c, err := u.cm.Connect(ctx, connmgr.EnrollInfo(), dst, qos.Raw)
	if err != nil {
		return "", 0, fmt.Errorf("%v: %w", err, oerr.EIPCP)
	}
	defer c.Flow.Close()
	id, conf, err := enroll.Request(ctx, c.Flow, typeUnicast, u.log)
	if err != nil {
		return "", 0, fmt.Errorf("enrollment with %s: %v: %w", dst, err, oerr.EIPCP)
	}
	l, err := parseConfig(conf)
	if err != nil {
		return "", 0, fmt.Errorf("the configuration from %s: %w", dst, err)
	}
	if l.EIDSize != eidSize {
		return "", 0, fmt.Errorf("the layer's EID size %d is not supported: %w", l.EIDSize, oerr.ENOTSUP)
	}
	if l.DHT.Peer == 0 {
		l.DHT.Peer = c.Peer.Addr // an enroller that does not name itself
	}
	a, err := addr.New(l.AddrAuth, l.AddrSize, nil)
	if err != nil {
		return "", 0, fmt.Errorf("%v: %w", err, oerr.EINVAL)
	}
	if err := u.start(l, a); err != nil {
		return "", 0, err
	}
	if err := enroll.SendAck(c.Flow, id, 0); err != nil {
		u.log.Warn(fmt.Sprintf("Failed to acknowledge the enrollment: %v.", err))
	}
	u.log.Info(fmt.Sprintf("Enrolled in layer %s through %s as address %s (directory peer %s).",
		l.Name, dst, addr.Format(a), addr.Format(l.DHT.Peer)))
	return l.Name, l.Hash, nil
}

// compName maps the component a connect or disconnect names to the
// connection manager's: "" or "*" is both.
func compName(comp string) (string, error) {
	switch comp {
	case "", "*":
		return "", nil
	case connmgr.CompDT, "dt":
		return connmgr.CompDT, nil
	case connmgr.CompMgmt, "mgmt":
		return connmgr.CompMgmt, nil
	}
	return "", fmt.Errorf("unknown component %q: %w", comp, oerr.EINVAL)
}

// neighbourTimeout is the peer timeout of the N-1 flows Connect opens, in
// ms: each end sends a keepalive after a quarter of it without traffic,
// and a flow that hears nothing for this long fails, which drops its
// connection and moves routes off it (an alternate at once, with lfa).
// The lower layers do not tell when a neighbour dies or its link goes
// down; the default peer timeout of a flow (two minutes) would leave the
// routes on a dead link that long.
const neighbourTimeout = 4000

// Connect opens a Management or Data Transfer connection (or both,
// Management first) to the member called dst in a lower layer. The
// Management flow is raw; the Data Transfer flow has QoS q and carries the
// QoS cube q maps to. Both have the peer timeout neighbourTimeout. When
// both are asked for and the Data Transfer one fails, the Management one
// is closed again: a failed connect leaves nothing behind (the
// reference's CLI, connecting them one by one, keeps it, and a retry then
// makes a second one).
func (u *Unicast) Connect(ctx context.Context, dst, comp string, q qos.Spec) error {
	u.mu.Lock()
	boot, a, nb := u.boot, u.addr, u.nb
	u.mu.Unlock()
	if !boot {
		return oerr.EIPCPSTATE
	}
	comp, err := compName(comp)
	if err != nil {
		return err
	}
	q.Timeout = neighbourTimeout
	mgmt := 0 // the Management connection made here
	if comp == "" || comp == connmgr.CompMgmt {
		mq := qos.Raw
		mq.Timeout = neighbourTimeout
		c, err := u.cm.Connect(ctx, connmgr.MgmtInfo(a), dst, mq)
		if err != nil {
			return fmt.Errorf("%v: %w", err, oerr.EIPCP)
		}
		if mgmt, err = nb.add(connmgr.CompMgmt, c); err != nil {
			return err
		}
	}
	if comp == "" || comp == connmgr.CompDT {
		c, err := u.cm.Connect(ctx, connmgr.DTInfo(a), dst, q)
		if err == nil {
			_, err = nb.add(connmgr.CompDT, c)
		} else {
			err = fmt.Errorf("%v: %w", err, oerr.EIPCP)
		}
		if err != nil {
			if mgmt != 0 {
				nb.remove(mgmt, "the Data Transfer connection failed")
			}
			return err
		}
	}
	return nil
}

// Disconnect closes the connections of the component (both for "" or
// "*") that Connect opened to dst. None is not an error.
func (u *Unicast) Disconnect(_ context.Context, dst, comp string) error {
	u.mu.Lock()
	boot, nb := u.boot, u.nb
	u.mu.Unlock()
	if !boot {
		return oerr.EIPCPSTATE
	}
	comp, err := compName(comp)
	if err != nil {
		return err
	}
	nb.disconnect(dst, comp)
	return nil
}

// Reg publishes the name hash h in the directory (idempotent).
func (u *Unicast) Reg(h []byte) error {
	_, d, err := u.booted()
	if err != nil {
		return err
	}
	return d.register(h)
}

// Unreg withdraws the name hash h (a name not registered is fine).
func (u *Unicast) Unreg(h []byte) error {
	_, d, err := u.booted()
	if err != nil {
		return err
	}
	return d.unregister(h)
}

// Query succeeds iff the directory finds a member that registered h.
func (u *Unicast) Query(ctx context.Context, h []byte) error {
	_, d, err := u.booted()
	if err != nil {
		return err
	}
	_, err = d.query(ctx, h)
	return err
}

// Close stops the components and waits for their goroutines; the skeleton
// has closed every N+1 flow's channel, which ends the readers. Calls after
// the first return at once (the neighbours and the directory close their
// channels once only).
func (u *Unicast) Close() {
	u.mu.Lock()
	closed := u.closed
	u.closed = true
	u.mu.Unlock()
	if closed {
		return
	}
	u.cancel()
	u.mu.Lock()
	f, d, nb := u.fa, u.dir, u.nb
	u.mu.Unlock()
	if nb != nil {
		nb.close()
	}
	if f != nil {
		f.Close()
	}
	if d != nil {
		d.close()
	}
	u.wg.Wait()
}

// isGone reports whether err means the flow allocator no longer has the flow.
func isGone(err error) bool { return errors.Is(err, fa.ErrNotAlloc) || errors.Is(err, fa.ErrState) }
