package simnet

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/addr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Config is the layer's configuration, shared by its members.
type Config struct {
	Algo routing.Algorithm
	CA   ca.Policy
	Hash hash.Algo // directory hash; SHA3_256 by default (the zero value is SHA3-224)
	TTL  uint8     // 0: the default
	// Link-state timers; zero means the defaults.
	Update, Timeout, Recalc, Hold time.Duration
	Seed                          uint64 // addresses and losses
	Log                           *slog.Logger
}

// Net is a layer whose members run in this process. Build it inside
// synctest.Test: time is virtual, every goroutine belongs to the bubble,
// and Close (registered with t.Cleanup) ends them all.
type Net struct {
	cfg Config
	t   testing.TB

	mu    sync.Mutex
	rng   *rand.Rand
	nodes []*Node
	links []*Link
	gone  []uint64 // addresses of stopped members
	dir   *Dir

	wg sync.WaitGroup
}

// New returns an empty layer. It is closed when the test ends.
func New(t testing.TB, cfg Config) *Net {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Hash == 0 {
		cfg.Hash = hash.SHA3_256
	}
	n := &Net{cfg: cfg, t: t, rng: rand.New(rand.NewPCG(cfg.Seed, 1)), dir: &Dir{m: map[string]uint64{}}}
	t.Cleanup(n.Close)
	return n
}

// Dir is the static directory standing in for the DHT: name hash →
// address of the member the name is registered at.
type Dir struct {
	mu sync.Mutex
	m  map[string]uint64
}

// Query implements fa.Directory.
func (d *Dir) Query(h []byte) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.m[string(h)]; ok {
		return a, nil
	}
	return 0, oerr.ENAME
}

func (n *Net) lose(p float64) bool {
	if p <= 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.Float64() < p
}

// Read implements io.Reader over the layer's random source (addresses).
func (n *Net) Read(b []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range b {
		b[i] = byte(n.rng.Uint32())
	}
	return len(b), nil
}

// AddNode starts a new member named name with a fresh flat address.
func (n *Net) AddNode(name string) *Node {
	a, err := addr.New(addr.FlatRandom, addr.FlatAddrSize, n)
	if err != nil {
		n.t.Fatal(err)
	}
	nd, err := newNode(n, name, a)
	if err != nil {
		n.t.Fatal(err)
	}
	n.mu.Lock()
	n.nodes = append(n.nodes, nd)
	n.mu.Unlock()
	return nd
}

// Nodes returns the members in the order they were added.
func (n *Net) Nodes() []*Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Node(nil), n.nodes...)
}

// Connect joins a and b with a link: a Management connection, then a
// Data Transfer connection, as `irm ipcp connect` does.
func (n *Net) Connect(a, b *Node, cfg LinkConfig) *Link {
	if cfg.Queue <= 0 {
		cfg.Queue = 256
	}
	l := &Link{net: n, A: a, B: b, cfg: cfg}
	n.mu.Lock()
	n.links = append(n.links, l)
	n.mu.Unlock()
	n.open(l)
	return l
}

// open creates the four directions of l with new link ids and announces
// the connections to both members.
func (n *Net) open(l *Link) {
	mk := func(from, to *Node, mgmt bool) *port {
		return &port{link: l, from: from, to: to, mgmt: mgmt, id: from.newLinkID(),
			q: make(chan packet, l.cfg.Queue), done: make(chan struct{})}
	}
	dab, dba := mk(l.A, l.B, false), mk(l.B, l.A, false)
	mab, mba := mk(l.A, l.B, true), mk(l.B, l.A, true)
	dab.peerID, dba.peerID, mab.peerID, mba.peerID = dba.id, dab.id, mba.id, mab.id
	l.mu.Lock()
	l.ports = [4]*port{dab, dba, mab, mba}
	l.up = true
	l.mu.Unlock()
	for _, p := range l.ports {
		p.from.addPort(p)
		n.wg.Add(1)
		go p.run()
	}
	now := time.Now()
	l.A.send(l.A.Router.AddMgmt(l.B.Addr, mab.id))
	l.B.send(l.B.Router.AddMgmt(l.A.Addr, mba.id))
	for _, p := range []*port{dab, dba} {
		if err := p.from.DT.AddLink(p.id, p, qos.CubeBE); err != nil {
			n.t.Errorf("add link: %v", err)
		}
		p.from.send(p.from.Router.AddDT(now, p.to.Addr, p.id))
	}
}

// Close cuts every link, stops every member and waits for all goroutines.
func (n *Net) Close() {
	n.mu.Lock()
	links, nodes := n.links, n.nodes
	n.links, n.nodes = nil, nil
	n.mu.Unlock()
	for _, l := range links {
		l.Cut()
	}
	for _, nd := range nodes {
		nd.stop()
	}
	n.wg.Wait()
}

// Route follows the forwarding tables from src to dst and returns the
// members on the way (src first, dst last), or an error naming the member
// where the packet would be dropped or loop.
func (n *Net) Route(src, dst *Node) ([]*Node, error) {
	path := []*Node{src}
	cur := src
	for range len(n.Nodes()) + 1 {
		if cur == dst {
			return path, nil
		}
		fd, ok := cur.PFF.NextHop(dst.Addr)
		if !ok {
			return path, fmt.Errorf("%s has no route to %s", cur.Name, dst.Name)
		}
		p := cur.port(fd)
		if p == nil || p.down.Load() {
			return path, fmt.Errorf("%s routes to %s over a link that is gone", cur.Name, dst.Name)
		}
		cur = p.to
		path = append(path, cur)
	}
	return path, fmt.Errorf("loop from %s to %s: %v", src.Name, dst.Name, names(path))
}

func names(ns []*Node) []string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Name)
	}
	return s
}

// Converged reports whether every member has a shortest (in hops),
// loop-free route over up links to every member it can reach, and no route
// to those it cannot, nor to a stopped member. It returns the first
// problem found.
func (n *Net) Converged() error {
	nodes := n.Nodes()
	if err := n.stoppedRoute(nodes); err != nil {
		return err
	}
	adj := n.upAdjacency()
	for _, a := range nodes {
		dist := hops(adj, a)
		for _, b := range nodes {
			if a == b {
				continue
			}
			path, err := n.Route(a, b)
			d, reach := dist[b]
			switch {
			case reach && err != nil:
				return err
			case !reach && err == nil:
				return fmt.Errorf("%s routes to %s, which it cannot reach", a.Name, b.Name)
			case reach && len(path)-1 != d:
				return fmt.Errorf("%s routes to %s in %d hops, not %d: %v", a.Name, b.Name, len(path)-1, d, names(path))
			}
		}
	}
	return nil
}

func (n *Net) upAdjacency() map[*Node][]*Node {
	n.mu.Lock()
	links := append([]*Link(nil), n.links...)
	n.mu.Unlock()
	adj := map[*Node][]*Node{}
	for _, l := range links {
		if l.Up() {
			adj[l.A] = append(adj[l.A], l.B)
			adj[l.B] = append(adj[l.B], l.A)
		}
	}
	return adj
}

// hops returns the hop count from s to every member it reaches.
func hops(adj map[*Node][]*Node, s *Node) map[*Node]int {
	dist := map[*Node]int{s: 0}
	q := []*Node{s}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		for _, w := range adj[v] {
			if _, ok := dist[w]; !ok {
				dist[w] = dist[v] + 1
				q = append(q, w)
			}
		}
	}
	return dist
}

// WaitConverged sleeps (virtual time) in steps of step until Converged,
// and returns how long that took, or fails the test after limit.
func (n *Net) WaitConverged(step, limit time.Duration) time.Duration {
	start := time.Now()
	for {
		err := n.Converged()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			n.t.Fatalf("not converged after %v: %v", limit, err)
		}
		time.Sleep(step)
	}
}
