package simnet

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dt"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/fa"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Node is one member of the layer: data transfer, flow allocator, routing
// and a forwarding table, with a stand-in for its IRMd and applications.
type Node struct {
	Name   string
	Addr   uint64
	DT     *dt.DT
	FA     *fa.FA
	Router *routing.Router
	PFF    *pff.Table

	net  *Net
	kick chan struct{} // the router's deadline moved
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	ports    map[int]*port
	nextLink int
	names    map[string]bool // registered here (by hash)
	nextFlow int
	flows    map[int]*Flow
	left     []*Link // the links Net.Stop cut
}

func newNode(n *Net, name string, a uint64) (*Node, error) {
	nd := &Node{Name: name, Addr: a, net: n, kick: make(chan struct{}, 1), done: make(chan struct{}),
		ports: map[int]*port{}, nextLink: 64, names: map[string]bool{}, nextFlow: 1, flows: map[int]*Flow{}}
	nd.PFF = pff.New(n.cfg.Algo.PFFPolicy())
	var err error
	nd.DT, err = dt.New(dt.Config{Addr: a, TTL: n.cfg.TTL, CA: n.cfg.CA, PFF: [dt.Cubes]*pff.Table{nd.PFF}})
	if err != nil {
		return nil, err
	}
	nd.FA, err = fa.New(fa.Config{DT: nd.DT, Dir: n.dir, Upper: (*upper)(nd), HashLen: n.cfg.Hash.Len(),
		CA: n.cfg.CA, Rand: n, Log: n.cfg.Log})
	if err != nil {
		return nil, err
	}
	nd.DT.Register(wire.DTEIDFlowAllocator, nd.FA.Post)
	nd.DT.SetFlowHandler(nd.FA.Receive)
	nd.Router = routing.NewRouter(routing.RouterConfig{Self: a, Algo: n.cfg.Algo, PFF: []*pff.Table{nd.PFF},
		Update: n.cfg.Update, Timeout: n.cfg.Timeout, Recalc: n.cfg.Recalc, Hold: n.cfg.Hold}, time.Now())
	nd.FA.Start()
	n.wg.Add(1)
	go nd.timer()
	return nd, nil
}

func (nd *Node) newLinkID() int {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	id := nd.nextLink
	nd.nextLink++
	return id
}

func (nd *Node) addPort(p *port) {
	nd.mu.Lock()
	nd.ports[p.id] = p
	nd.mu.Unlock()
}

func (nd *Node) dropPort(id int) {
	nd.mu.Lock()
	delete(nd.ports, id)
	nd.mu.Unlock()
}

func (nd *Node) port(id int) *port {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.ports[id]
}

// send writes the router's LSUs to their Management links, and wakes the
// timer in case the deadline moved.
func (nd *Node) send(out []routing.Out) {
	for _, o := range out {
		if p := nd.port(o.Link); p != nil {
			p.Write(o.LSU.Append(make([]byte, 0, wire.LSULen)))
		}
	}
	select {
	case nd.kick <- struct{}{}:
	default:
	}
}

func (nd *Node) receiveLSU(link int, sdu []byte) {
	nd.send(nd.Router.Receive(time.Now(), link, sdu))
}

// timer runs the router's periodic work at its deadlines.
func (nd *Node) timer() {
	defer nd.net.wg.Done()
	t := time.NewTimer(time.Until(nd.Router.NextDeadline()))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			nd.send(nd.Router.Tick(time.Now()))
		case <-nd.kick:
		case <-nd.done:
			return
		}
		t.Reset(time.Until(nd.Router.NextDeadline()))
	}
}

func (nd *Node) stop() {
	nd.once.Do(func() {
		close(nd.done)
		nd.FA.Close()
	})
}

// Register registers name at this member: the directory maps it here and
// flow requests for it are accepted.
func (nd *Node) Register(name string) {
	nd.registerHash(nd.hash(name))
}

func (nd *Node) registerHash(h []byte) {
	nd.mu.Lock()
	nd.names[string(h)] = true
	nd.mu.Unlock()
	nd.net.dir.mu.Lock()
	nd.net.dir.m[string(h)] = nd.Addr
	nd.net.dir.mu.Unlock()
}

func (nd *Node) hash(name string) []byte {
	h, err := hash.Sum(nd.net.cfg.Hash, name)
	if err != nil {
		panic(err)
	}
	return h
}

// Flow is an application's end of an N+1 flow of the layer.
type Flow struct {
	ID    int
	node  *Node
	rx    chan []byte
	reply chan int32
	mu    sync.Mutex
	drops int
}

// Alloc allocates a flow to name from this member, as an application's
// flow allocation through its IRMd would, and waits for the answer (at
// most 10 s).
func (nd *Node) Alloc(name string, q qos.Spec) (*Flow, error) {
	f := nd.newFlow()
	if err := nd.FA.Alloc(f.ID, nd.hash(name), q, []byte("oap")); err != nil {
		nd.forget(f.ID)
		return nil, err
	}
	select {
	case r := <-f.reply:
		if r != 0 {
			nd.forget(f.ID)
			return nil, fmt.Errorf("allocation refused: %d", r)
		}
		return f, nil
	case <-time.After(10 * time.Second):
		nd.FA.Dealloc(f.ID)
		nd.forget(f.ID)
		return nil, oerr.ETIMEDOUT
	}
}

func (nd *Node) newFlow() *Flow {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	f := &Flow{ID: nd.nextFlow, node: nd, rx: make(chan []byte, 1024), reply: make(chan int32, 1)}
	nd.nextFlow++
	nd.flows[f.ID] = f
	return f
}

func (nd *Node) forget(id int) {
	nd.mu.Lock()
	delete(nd.flows, id)
	nd.mu.Unlock()
}

// Accept returns the next flow that arrived for a name registered here,
// waiting at most d.
func (nd *Node) Accept(d time.Duration) (*Flow, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		nd.mu.Lock()
		for id, f := range nd.flows {
			if f.reply == nil {
				f.reply = make(chan int32, 1) // taken
				nd.mu.Unlock()
				_ = id
				return f, nil
			}
		}
		nd.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	return nil, oerr.ETIMEDOUT
}

// Write sends an SDU on the flow.
func (f *Flow) Write(b []byte) error {
	return f.node.FA.Write(f.ID, append(make([]byte, wire.DTPCILen, wire.DTPCILen+len(b)), b...))
}

// Read returns the next SDU, waiting at most d.
func (f *Flow) Read(d time.Duration) ([]byte, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case b := <-f.rx:
		return b, nil
	case <-t.C:
		return nil, oerr.ETIMEDOUT
	}
}

// Close deallocates the flow at this end.
func (f *Flow) Close() {
	f.node.FA.Dealloc(f.ID)
	f.node.forget(f.ID)
}

// upper is a Node as its flow allocator's IRMd side: names registered
// here are accepted at once by an application that Accept hands out.
type upper Node

func (u *upper) FlowReqArr(h []byte, q qos.Spec, pk []byte, prepare func(int)) (int, error) {
	nd := (*Node)(u)
	nd.mu.Lock()
	ok := nd.names[string(h)]
	nd.mu.Unlock()
	if !ok {
		return 0, oerr.ENAME
	}
	nd.mu.Lock()
	f := &Flow{ID: nd.nextFlow, node: nd, rx: make(chan []byte, 1024)}
	nd.nextFlow++
	nd.mu.Unlock()
	prepare(f.ID)
	nd.mu.Lock()
	nd.flows[f.ID] = f
	nd.mu.Unlock()
	// The application accepts; the IRMd answers the IPCP, as it would,
	// from another goroutine.
	nd.net.wg.Add(1)
	go func() {
		defer nd.net.wg.Done()
		if err := nd.FA.AllocResp(f.ID, 0, []byte("oap-resp")); err != nil && !errors.Is(err, fa.ErrNotAlloc) {
			nd.net.cfg.Log.Info(fmt.Sprintf("%s: response: %v", nd.Name, err))
		}
	}()
	return f.ID, nil
}

func (u *upper) FlowAllocReply(id int, response int32, pk []byte) {
	nd := (*Node)(u)
	nd.mu.Lock()
	f := nd.flows[id]
	nd.mu.Unlock()
	if f != nil && f.reply != nil {
		select {
		case f.reply <- response:
		default:
		}
	}
}

func (u *upper) Deliver(id int, sdu []byte) error {
	nd := (*Node)(u)
	nd.mu.Lock()
	f := nd.flows[id]
	nd.mu.Unlock()
	if f == nil {
		return oerr.ENOTALLOC
	}
	select {
	case f.rx <- append([]byte(nil), sdu...):
		return nil
	default:
		f.mu.Lock()
		f.drops++
		f.mu.Unlock()
		return oerr.EAGAIN
	}
}
