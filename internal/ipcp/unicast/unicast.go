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

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/addr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dt"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/fa"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
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
	sk  skeleton
	log *slog.Logger

	ctx    context.Context // ends at Close: bounds calls to the IRMd
	cancel context.CancelFunc

	mu    sync.Mutex // guards the fields below until boot is set
	boot  bool
	layer Layer
	addr  uint64
	dt    *dt.DT
	fa    *fa.FA
	dir   *directory

	readers struct {
		sync.Mutex
		done map[*ipcp.Flow]chan struct{} // closed when the flow's reader ends
	}
	wg sync.WaitGroup // readers
}

// New returns the unicast IPCP's operations for p.
func New(p *ipcp.IPCP) ipcp.Ops { return newUnicast(p, p.Log()) }

func newUnicast(sk skeleton, log *slog.Logger) *Unicast {
	u := &Unicast{sk: sk, log: log}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.readers.done = map[*ipcp.Flow]chan struct{}{}
	return u
}

// errNotYet is the answer to the operations that need N-1 flows.
var errNotYet = fmt.Errorf("not implemented yet in this unicast IPCP (no N-1 flows): %w", oerr.ENOTSUP)

// Bootstrap makes this IPCP the first member of a layer: it checks the
// configuration, draws its address and starts the components.
func (u *Unicast) Bootstrap(_ context.Context, conf *pb.IpcpConfigMsg) (string, hash.Algo, error) {
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

// start builds and starts the components of a member with address a.
func (u *Unicast) start(l Layer, a uint64) error {
	tab := pff.New(l.Routing.PFFPolicy())
	d, err := dt.New(dt.Config{Addr: a, TTL: l.MaxTTL, CA: l.CA, PFF: [dt.Cubes]*pff.Table{tab}})
	if err != nil {
		return fmt.Errorf("data transfer: %v: %w", err, oerr.EINVAL)
	}
	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	rnd := mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	dirc, err := newDirectory(l.DHT, a, rnd, sendDHT(func(dst, eid uint64, pkt []byte) error {
		return d.Send(dst, qos.CubeBE, eid, pkt)
	}, u.log), u.log)
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
	u.mu.Lock()
	u.boot, u.layer, u.addr, u.dt, u.fa, u.dir = true, l, a, d, f, dirc
	u.mu.Unlock()
	return nil
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

// Enroll is not there yet: it needs N-1 flows.
func (u *Unicast) Enroll(context.Context, string) (string, hash.Algo, error) {
	return "", 0, fmt.Errorf("enrollment is %w", errNotYet)
}

// Connect is not there yet: it needs N-1 flows.
func (u *Unicast) Connect(context.Context, string, string, qos.Spec) error {
	return fmt.Errorf("connect is %w", errNotYet)
}

// Disconnect is not there yet: it needs N-1 flows.
func (u *Unicast) Disconnect(context.Context, string, string) error {
	return fmt.Errorf("disconnect is %w", errNotYet)
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
// has closed every N+1 flow's channel, which ends the readers.
func (u *Unicast) Close() {
	u.cancel()
	u.mu.Lock()
	f, d := u.fa, u.dir
	u.mu.Unlock()
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
