package broadcast

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/enroll"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// MPL is the maximum packet lifetime the IPCP announces for joined
// flows, in ms (the reference's IPCP_BROADCAST_MPL).
const MPL = 100

// maxLayerName is the longest layer name (layer_info_msg).
const maxLayerName = 255

var typeBroadcast = uint32(irm.Broadcast)

// skeleton is what the member needs of the IPCP skeleton; *ipcp.IPCP has
// it, and tests use a fake.
type skeleton interface {
	FlowAllocReply(ctx context.Context, id int, response int32, mplMs uint32, pk []byte) error
}

// Broadcast is a broadcast IPCP's behaviour (ipcp.Ops).
type Broadcast struct {
	ipcp.Unsupported
	sk  skeleton
	log *slog.Logger
	cm  *connmgr.Manager
	fl  *flooder

	ctx    context.Context // ends at Close: bounds the acceptor and the enrollments it serves
	cancel context.CancelFunc

	mu      sync.Mutex // guards the fields below
	boot    bool       // bootstrapped or enrolled; layer, algo and conf are set
	joining bool       // a bootstrap or enrollment is under way
	closed  bool
	layer   string
	algo    hash.Algo
	conf    *pb.IpcpConfigMsg // what enrollees get
	conns   map[*port]connmgr.Conn
	joined  map[int]*joinedFlow // by flow id

	wg sync.WaitGroup // readers and the acceptor
}

// New returns the broadcast IPCP's operations for p; its N-1 flows are
// those of the flow API.
func New(p *ipcp.IPCP) ipcp.Ops { return newBroadcast(p, p.Log(), connmgr.FlowLower{}) }

func newBroadcast(sk skeleton, log *slog.Logger, lower connmgr.Lower) *Broadcast {
	b := &Broadcast{sk: sk, log: log, cm: connmgr.New(lower, log), fl: newFlooder(log),
		conns: map[*port]connmgr.Conn{}, joined: map[int]*joinedFlow{}}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// Bootstrap makes this IPCP the first member of a broadcast layer. The
// configuration is the layer's name; the directory hash is SHA3-256
// whatever was asked, as in the reference.
func (b *Broadcast) Bootstrap(_ context.Context, conf *pb.IpcpConfigMsg) (string, hash.Algo, error) {
	if err := b.claim(); err != nil {
		return "", 0, err
	}
	defer b.unclaim()
	name := conf.GetLayerInfo().GetName()
	if err := checkLayerName(name); err != nil {
		return "", 0, err
	}
	if conf.IpcpType != nil && conf.GetIpcpType() != typeBroadcast {
		return "", 0, fmt.Errorf("bootstrap for IPCP type %d: %w", conf.GetIpcpType(), oerr.EINVAL)
	}
	if a := hash.Algo(conf.GetLayerInfo().GetDirHashAlgo()); a != hash.SHA3_256 {
		b.log.Info(fmt.Sprintf("Hash %v asked for; a broadcast layer uses SHA3_256.", a))
	}
	stored := &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String(name), DirHashAlgo: proto.Uint32(uint32(hash.SHA3_256))},
		IpcpType:  proto.Uint32(typeBroadcast),
	}
	if err := b.start(name, hash.SHA3_256, stored); err != nil {
		return "", 0, err
	}
	b.log.Info(fmt.Sprintf("Bootstrapped broadcast layer %s.", name))
	return name, hash.SHA3_256, nil
}

func checkLayerName(name string) error {
	if name == "" {
		return fmt.Errorf("no layer name: %w", oerr.EINVAL)
	}
	if len(name) > maxLayerName {
		return fmt.Errorf("layer name of %d bytes, at most %d: %w", len(name), maxLayerName, oerr.EINVAL)
	}
	return nil
}

// Enroll makes this IPCP a member of the broadcast layer that dst (the
// name of a member, or of the layer, in a lower layer) belongs to: it gets
// the layer's name from the member, starts and acknowledges. A failure
// leaves the IPCP as it was, so enrollment can be tried again.
func (b *Broadcast) Enroll(ctx context.Context, dst string) (string, hash.Algo, error) {
	if err := b.claim(); err != nil {
		return "", 0, err
	}
	defer b.unclaim()
	c, err := b.cm.Connect(ctx, connmgr.EnrollInfo(), dst, qos.Raw)
	if err != nil {
		return "", 0, fmt.Errorf("%v: %w", err, oerr.EIPCP)
	}
	defer c.Flow.Close()
	id, conf, err := enroll.Request(ctx, c.Flow, typeBroadcast, b.log)
	if err != nil {
		return "", 0, fmt.Errorf("enrollment with %s: %v: %w", dst, err, oerr.EIPCP)
	}
	name := conf.GetLayerInfo().GetName()
	algo := hash.Algo(conf.GetLayerInfo().GetDirHashAlgo())
	if err := checkLayerName(name); err != nil {
		return "", 0, fmt.Errorf("the configuration from %s: %w", dst, err)
	}
	if algo.Len() == 0 || algo == hash.MD5 {
		return "", 0, fmt.Errorf("the configuration from %s: hash algorithm %d: %w", dst, uint32(algo), oerr.EINVAL)
	}
	if err := b.start(name, algo, conf); err != nil {
		return "", 0, err
	}
	if err := enroll.SendAck(c.Flow, id, 0); err != nil {
		b.log.Warn(fmt.Sprintf("Failed to acknowledge the enrollment: %v.", err))
	}
	b.log.Info(fmt.Sprintf("Enrolled in broadcast layer %s through %s.", name, dst))
	return name, algo, nil
}

// start makes the member operational: the connection manager answers
// Enrollment and Data Transfer connections from now on.
func (b *Broadcast) start(layer string, algo hash.Algo, conf *pb.IpcpConfigMsg) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fmt.Errorf("the IPCP is closing: %w", oerr.EIPCPSTATE)
	}
	b.boot, b.layer, b.algo, b.conf = true, layer, algo, conf
	b.wg.Add(1) // for Serve, under mu: Close, once it set closed, waits for it
	b.mu.Unlock()
	b.cm.Register(connmgr.EnrollInfo(), func(c connmgr.Conn) {
		if err := enroll.Serve(b.ctx, c.Flow, conf, b.log); err != nil {
			if b.ctx.Err() == nil {
				b.log.Warn(fmt.Sprintf("Enrollment failed: %v.", err))
			}
			return
		}
		b.log.Info("Enrollment completed.")
	})
	b.cm.Register(connmgr.BroadcastDTInfo(), func(c connmgr.Conn) { b.addConn(c) })
	go func() {
		defer b.wg.Done()
		b.cm.Serve(b.ctx)
	}()
	return nil
}

// claim starts a bootstrap or an enrollment: one at a time, and none once
// the IPCP is a member or closed (EIPCPSTATE).
func (b *Broadcast) claim() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.boot || b.joining || b.closed {
		return oerr.EIPCPSTATE
	}
	b.joining = true
	return nil
}

func (b *Broadcast) unclaim() {
	b.mu.Lock()
	b.joining = false
	b.mu.Unlock()
}

func (b *Broadcast) booted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.boot
}

// checkComp accepts the component a connect or disconnect names when it is
// Data Transfer ("" and "*" mean all, which for a broadcast IPCP is Data
// Transfer alone).
func (b *Broadcast) checkComp(comp string) error {
	switch comp {
	case "", "*", "dt", connmgr.CompDT:
		return nil
	case "mgmt", connmgr.CompMgmt:
		b.log.Error("A broadcast IPCP has no Management component: connect component dt.")
		return fmt.Errorf("no Management component in a broadcast layer: %w", oerr.ENOTSUP)
	}
	return fmt.Errorf("unknown component %q: %w", comp, oerr.EINVAL)
}

// Connect opens a Data Transfer connection to the member called dst in a
// lower layer, with QoS q as given (raw by default, with its peer timeout
// of 120 s). Unlike the unicast IPCP, it does not shorten the peer timeout
// to notice a dead neighbour sooner: a reference member that accepted a
// connection with a 4 s timeout stopped flooding (its obc writer hung),
// and with no timeout its obc writer crashed (TestReferenceBroadcast).
func (b *Broadcast) Connect(ctx context.Context, dst, comp string, q qos.Spec) error {
	if !b.booted() {
		return oerr.EIPCPSTATE
	}
	if err := b.checkComp(comp); err != nil {
		return err
	}
	c, err := b.cm.Connect(ctx, connmgr.BroadcastDTInfo(), dst, q)
	if err != nil {
		return fmt.Errorf("%v: %w", err, oerr.EIPCP)
	}
	if c.Peer.Comp != connmgr.CompDT {
		// The peer answered "unknown component" (an all-zero message,
		// which the broadcast DT's empty protocol would pass).
		c.Flow.Close()
		b.log.Error(fmt.Sprintf("%s has no broadcast Data Transfer component.", dst))
		return fmt.Errorf("%s refused the Data Transfer connection: %w", dst, oerr.EIPCP)
	}
	if !b.addConn(c) {
		return fmt.Errorf("the IPCP is closing: %w", oerr.EIPCPSTATE)
	}
	return nil
}

// addConn floods over an established Data Transfer connection from now
// on: its reader hands every packet to the flooder until the flow fails.
func (b *Broadcast) addConn(c connmgr.Conn) bool {
	peer := c.Dst
	if peer == "" {
		peer = "an accepted peer"
	}
	f := c.Flow
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		f.Close()
		return false
	}
	p := b.fl.add("", func(pkt []byte) error { _, err := f.Write(pkt); return err })
	if p == nil {
		b.mu.Unlock()
		f.Close()
		return false
	}
	p.name = fmt.Sprintf("Data Transfer connection %d with %s", p.id, peer)
	b.conns[p] = c
	b.wg.Add(1)
	b.mu.Unlock()
	b.log.Info(fmt.Sprintf("%s up.", p.name))
	go func() {
		defer b.wg.Done()
		buf := make([]byte, datapath.MaxSDU)
		for {
			n, err := f.Read(buf)
			if err != nil {
				b.dropConn(p, "its flow failed")
				return
			}
			b.fl.receive(p, buf[:n])
		}
	}()
	return true
}

// dropConn ends the connection of port p, if it is still there.
func (b *Broadcast) dropConn(p *port, why string) {
	b.mu.Lock()
	c, ok := b.conns[p]
	delete(b.conns, p)
	closed := b.closed
	b.mu.Unlock()
	if !ok {
		return
	}
	b.fl.remove(p)
	c.Flow.Close()
	if !closed {
		b.log.Info(fmt.Sprintf("%s down: %s.", p.name, why))
	}
}

// Disconnect closes the Data Transfer connections that Connect opened to
// dst. None is not an error.
func (b *Broadcast) Disconnect(_ context.Context, dst, comp string) error {
	if !b.booted() {
		return oerr.EIPCPSTATE
	}
	if err := b.checkComp(comp); err != nil {
		return err
	}
	b.mu.Lock()
	var victims []*port
	for p, c := range b.conns {
		if c.Dst == dst {
			victims = append(victims, p)
		}
	}
	b.mu.Unlock()
	for _, p := range victims {
		b.dropConn(p, "disconnected")
	}
	return nil
}

// FlowJoin adds an application's flow f to the layer: h must be the hash
// of this layer's name (the reference accepts some other hashes too). The
// flow gets every packet flooded from now on, and what the application
// writes is flooded.
func (b *Broadcast) FlowJoin(ctx context.Context, f *ipcp.Flow, h []byte) error {
	b.mu.Lock()
	boot, layer, algo := b.boot, b.layer, b.algo
	b.mu.Unlock()
	if !boot {
		return oerr.EIPCPSTATE
	}
	want, err := hash.Sum(algo, layer)
	if err != nil || !bytes.Equal(h, want) {
		b.log.Error(fmt.Sprintf("Refused flow %d: it asks to join layer %s, not %s.", f.ID, hash.Short(h), layer))
		return fmt.Errorf("not this layer's hash: %w", oerr.EINVAL)
	}
	ep := f.EP
	scratch := make([]byte, 1+wire.BroadcastMTU)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return oerr.EIPCPSTATE
	}
	p := b.fl.add(fmt.Sprintf("Flow %d (process %d)", f.ID, f.PID), func(pkt []byte) error {
		buf := scratch[:1+len(pkt)]
		copy(buf[1:], pkt)
		return ep.WritePacket(datapath.KindData, buf)
	})
	if p == nil {
		b.mu.Unlock()
		return oerr.EIPCPSTATE
	}
	j := &joinedFlow{p: p, done: make(chan struct{})}
	b.joined[f.ID] = j
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		defer close(j.done)
		buf := make([]byte, datapath.MaxSDU+1)
		for {
			kind, sdu, err := ep.ReadPacketInto(func(int) []byte { return buf })
			if err != nil {
				// The application left, or the flow was released: stop
				// flooding to it (the release follows or came).
				b.leave(f.ID, p)
				return
			}
			if kind == datapath.KindData {
				b.fl.receive(p, sdu)
			}
		}
	}()
	if err := b.sk.FlowAllocReply(ctx, f.ID, 0, MPL, nil); err != nil {
		b.leave(f.ID, p)
		return err
	}
	b.log.Info(fmt.Sprintf("Flow %d of process %d joined layer %s.", f.ID, f.PID, layer))
	return nil
}

// joinedFlow is an application's flow to the layer.
type joinedFlow struct {
	p    *port
	done chan struct{} // closed when its reader has ended
}

// drainWait bounds how long a release waits for the reader of a joined
// flow to flood what the application wrote before it left.
const drainWait = time.Second

// leave takes the joined flow id (port p) out of the flood, once.
func (b *Broadcast) leave(id int, p *port) bool {
	b.mu.Lock()
	if j := b.joined[id]; j == nil || j.p != p {
		b.mu.Unlock()
		return false
	}
	delete(b.joined, id)
	layer := b.layer
	b.mu.Unlock()
	b.fl.remove(p)
	b.log.Info(fmt.Sprintf("Flow %d left layer %s.", id, layer))
	return true
}

// FlowDealloc takes flow f out of the layer; the skeleton closes its
// channel next, which ends its reader and writer. The application closed
// its end first: its reader gets what it wrote before, then the end of
// the channel; the release waits for that (up to drainWait), so that a
// message written just before leaving is flooded.
func (b *Broadcast) FlowDealloc(f *ipcp.Flow) {
	b.mu.Lock()
	j := b.joined[f.ID]
	b.mu.Unlock()
	if j == nil {
		return
	}
	select {
	case <-j.done:
	case <-time.After(drainWait):
	}
	b.leave(f.ID, j.p)
}

// Close ends every connection and the acceptor and waits for the
// goroutines; the skeleton has closed the joined flows' channels.
func (b *Broadcast) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	conns := b.conns
	b.conns = map[*port]connmgr.Conn{}
	b.mu.Unlock()
	b.cancel()
	ports := b.fl.close()
	for _, c := range conns {
		c.Flow.Close()
	}
	for _, p := range ports {
		<-p.done // its flow is closed: a blocked write has failed
	}
	b.wg.Wait()
	if boot := b.booted(); boot {
		b.log.Info(fmt.Sprintf("Flooded %d packets, dropped %d duplicates.", b.fl.flooded.Load(), b.fl.dups.Load()))
	}
}
