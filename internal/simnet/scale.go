package simnet

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// RoutingSim runs the routing of a large layer alone: one Router and one
// forwarding table per member, links with a fixed delay, and a discrete
// event loop in virtual time, in one goroutine. It is what the Router being
// sans-I/O buys: a thousand members flood and converge in seconds of real
// time, which the full simulation (a goroutine per link direction, the
// data path included) could not do. Events at the same instant are taken
// member by member (see events), so that a member's database stays in the
// cache while a wave of LSUs reaches it; that is what makes the thousand
// members' forty million LSUs cost seconds rather than minutes.
type RoutingSim struct {
	cfg   SimConfig
	epoch time.Time
	now   time.Time
	q     events
	seq   uint64
	nodes []*simNode
	links []*simLink
}

// SimConfig configures a RoutingSim.
type SimConfig struct {
	Algo routing.Algorithm
	// Delay is the one-way delay of every link; 1 ns if not positive (an
	// LSU must not reach a member at the instant it was sent).
	Delay time.Duration
	// Link-state timers (zero: the defaults) and the recomputation hold.
	Update, Timeout, Hold time.Duration
}

type simNode struct {
	r        *routing.Router
	pff      *pff.Table
	mgmt     []idRef   // Management link id → simLink index
	dt       []idRef   // DT link id → neighbour node index
	next     int       // next link id
	deadline time.Time // timer scheduled at
	sent     uint64    // LSUs sent
}

// idRef maps a member's link id to a simLink or a node index. A member
// has a handful of links, so a slice searched in order beats a map.
type idRef struct{ id, to int }

func lookup(refs []idRef, id int) (int, bool) {
	for _, r := range refs {
		if r.id == id {
			return r.to, true
		}
	}
	return 0, false
}

func remove(refs []idRef, id int) []idRef {
	return slices.DeleteFunc(refs, func(r idRef) bool { return r.id == id })
}

type simLink struct {
	a, b         int
	mgmtA, mgmtB int // Management link ids at a and b
	dtA, dtB     int
	up           bool
}

// NewRoutingSim builds n members (addresses 1..n) joined by edges, all
// connected at the start of virtual time.
func NewRoutingSim(n int, edges [][2]int, cfg SimConfig) *RoutingSim {
	if cfg.Delay <= 0 {
		cfg.Delay = time.Nanosecond
	}
	s := &RoutingSim{cfg: cfg, epoch: time.Unix(1_000_000, 0)}
	s.now = s.epoch
	for i := range n {
		t := pff.New(cfg.Algo.PFFPolicy())
		r := routing.NewRouter(routing.RouterConfig{Self: uint64(i + 1), Algo: cfg.Algo, PFF: []*pff.Table{t},
			Update: cfg.Update, Timeout: cfg.Timeout, Hold: cfg.Hold}, s.now)
		s.nodes = append(s.nodes, &simNode{r: r, pff: t, next: 64})
	}
	for _, e := range edges {
		s.links = append(s.links, &simLink{a: e[0], b: e[1]})
		s.connect(len(s.links) - 1)
	}
	for i := range s.nodes {
		s.schedule(i)
	}
	return s
}

func (s *RoutingSim) connect(li int) {
	l := s.links[li]
	na, nb := s.nodes[l.a], s.nodes[l.b]
	l.mgmtA, l.mgmtB, l.dtA, l.dtB = na.next, nb.next, na.next+1, nb.next+1
	na.next += 2
	nb.next += 2
	l.up = true
	na.mgmt, nb.mgmt = append(na.mgmt, idRef{l.mgmtA, li}), append(nb.mgmt, idRef{l.mgmtB, li})
	na.dt, nb.dt = append(na.dt, idRef{l.dtA, l.b}), append(nb.dt, idRef{l.dtB, l.a})
	s.send(l.a, na.r.AddMgmt(uint64(l.b+1), l.mgmtA))
	s.send(l.b, nb.r.AddMgmt(uint64(l.a+1), l.mgmtB))
	s.send(l.a, na.r.AddDT(s.now, uint64(l.b+1), l.dtA))
	s.send(l.b, nb.r.AddDT(s.now, uint64(l.a+1), l.dtB))
}

// Cut takes link li down at the current time, as both ends see their
// connections go; LSUs in flight on it are lost.
func (s *RoutingSim) Cut(li int) {
	l := s.links[li]
	l.up = false
	for _, end := range [2]struct{ n, mgmt, dt int }{{l.a, l.mgmtA, l.dtA}, {l.b, l.mgmtB, l.dtB}} {
		nd := s.nodes[end.n]
		nd.r.RemoveMgmt(end.mgmt)
		nd.r.RemoveDT(s.now, end.dt)
		nd.mgmt = remove(nd.mgmt, end.mgmt)
		nd.dt = remove(nd.dt, end.dt)
		s.schedule(end.n)
	}
}

// Restore brings link li back with new connections.
func (s *RoutingSim) Restore(li int) {
	s.connect(li)
	s.schedule(s.links[li].a)
	s.schedule(s.links[li].b)
}

// send puts node i's LSUs on their links.
func (s *RoutingSim) send(i int, out []routing.Out) {
	nd := s.nodes[i]
	for _, o := range out {
		li, ok := lookup(nd.mgmt, o.Link)
		if !ok {
			continue
		}
		l := s.links[li]
		to, at := l.b, l.mgmtB
		if l.b == i {
			to, at = l.a, l.mgmtA
		}
		nd.sent++
		s.seq++
		s.q.push(event{at: int64(s.now.Add(s.cfg.Delay).Sub(s.epoch)), seq: s.seq, node: int32(to), link: int32(at), lsu: o.LSU})
	}
}

// schedule makes sure node i's timer event is queued for its deadline.
func (s *RoutingSim) schedule(i int) {
	nd := s.nodes[i]
	d := nd.r.NextDeadline()
	if d.Equal(nd.deadline) {
		return
	}
	nd.deadline = d
	s.seq++
	s.q.push(event{at: int64(d.Sub(s.epoch)), seq: s.seq, node: int32(i), link: -1})
}

// RunFor processes events for d of virtual time.
func (s *RoutingSim) RunFor(d time.Duration) {
	end := s.now.Add(d)
	endNs := int64(end.Sub(s.epoch))
	var buf [wire.LSULen]byte
	for s.q.len() > 0 && s.q.peek().at <= endNs {
		e := s.q.pop()
		s.now = s.epoch.Add(time.Duration(e.at))
		i := int(e.node)
		nd := s.nodes[i]
		if e.link < 0 {
			if !s.now.Equal(nd.deadline) {
				continue // superseded
			}
			nd.deadline = time.Time{}
			s.send(i, nd.r.Tick(s.now))
		} else {
			if _, ok := lookup(nd.mgmt, int(e.link)); !ok {
				continue // the link went while the LSU was in flight
			}
			s.send(i, nd.r.Receive(s.now, int(e.link), e.lsu.Append(buf[:0])))
		}
		s.schedule(i)
	}
	s.now = end
}

// Now returns the virtual time.
func (s *RoutingSim) Now() time.Time { return s.now }

// Sent returns the LSUs every member sent so far, in total.
func (s *RoutingSim) Sent() uint64 {
	var n uint64
	for _, nd := range s.nodes {
		n += nd.sent
	}
	return n
}

// Converged checks, from each of the sources, that the forwarding tables
// lead to every member over up links in the fewest hops.
func (s *RoutingSim) Converged(sources []int) error {
	adj := make([][]int, len(s.nodes))
	for _, l := range s.links {
		if l.up {
			adj[l.a] = append(adj[l.a], l.b)
			adj[l.b] = append(adj[l.b], l.a)
		}
	}
	for _, src := range sources {
		dist := bfs(adj, src)
		for dst := range s.nodes {
			if dst == src {
				continue
			}
			cur, h := src, 0
			for cur != dst && h <= len(s.nodes) {
				fd, ok := s.nodes[cur].pff.NextHop(uint64(dst + 1))
				if !ok {
					break
				}
				nb, ok := lookup(s.nodes[cur].dt, fd)
				if !ok {
					break
				}
				cur, h = nb, h+1
			}
			switch {
			case dist[dst] < 0 && cur == dst:
				return fmt.Errorf("%d reaches unreachable %d", src+1, dst+1)
			case dist[dst] >= 0 && cur != dst:
				return fmt.Errorf("%d does not reach %d (stuck at %d)", src+1, dst+1, cur+1)
			case dist[dst] >= 0 && h != dist[dst]:
				return fmt.Errorf("%d reaches %d in %d hops, not %d", src+1, dst+1, h, dist[dst])
			}
		}
	}
	return nil
}

func bfs(adj [][]int, s int) []int {
	dist := make([]int, len(adj))
	for i := range dist {
		dist[i] = -1
	}
	dist[s] = 0
	q := []int{s}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		for _, w := range adj[v] {
			if dist[w] < 0 {
				dist[w] = dist[v] + 1
				q = append(q, w)
			}
		}
	}
	return dist
}

// RandomMesh returns the links of a connected random graph of n members:
// a random tree, then random extra links until the average degree is deg.
func RandomMesh(n int, deg float64, seed uint64) [][2]int {
	r := rand.New(rand.NewPCG(seed, 3))
	have := map[[2]int]bool{}
	var out [][2]int
	add := func(a, b int) {
		if a == b || have[[2]int{a, b}] || have[[2]int{b, a}] {
			return
		}
		have[[2]int{a, b}] = true
		out = append(out, [2]int{a, b})
	}
	for i := 1; i < n; i++ {
		add(i, r.IntN(i))
	}
	for len(out) < int(deg*float64(n)/2) {
		add(r.IntN(n), r.IntN(n))
	}
	return out
}

// ScaleResult is what MeasureScale reports.
type ScaleResult struct {
	Nodes, Links int
	// Initial convergence: virtual time from all links up to converged
	// routes, and LSUs sent per member meanwhile.
	Initial     time.Duration
	InitialLSUs float64
	// Steady state: LSUs sent per member per refresh period (t_update).
	PeriodLSUs float64
	// After a link cut: virtual time until every sampled member routes
	// around it, and LSUs per member meanwhile.
	AfterCut     time.Duration
	AfterCutLSUs float64
}

// MeasureScale builds a random mesh of n members with average degree deg,
// waits for convergence, runs one refresh period, cuts a link of the mesh
// that leaves it connected, and waits for convergence again. Convergence
// is checked every step from sources members (and both ends of the cut).
// Without cut it stops after the refresh period: the ageing a cut waits
// for costs several more periods of flooding.
func MeasureScale(n int, deg float64, cfg SimConfig, step time.Duration, sources int, limit time.Duration, cut bool) (ScaleResult, error) {
	edges := RandomMesh(n, deg, uint64(n))
	s := NewRoutingSim(n, edges, cfg)
	res := ScaleResult{Nodes: n, Links: len(edges)}
	r := rand.New(rand.NewPCG(uint64(n), 4))
	var src []int
	for range sources {
		src = append(src, r.IntN(n))
	}
	wait := func() (time.Duration, error) {
		start := s.now
		for {
			s.RunFor(step)
			err := s.Converged(src)
			if err == nil {
				return s.now.Sub(start), nil
			}
			if s.now.Sub(start) > limit {
				return 0, fmt.Errorf("not converged after %v: %v", limit, err)
			}
		}
	}
	var err error
	if res.Initial, err = wait(); err != nil {
		return res, err
	}
	res.InitialLSUs = float64(s.Sent()) / float64(n)
	period := cfg.Update
	if period == 0 {
		period = routing.DefaultUpdate
	}
	before := s.Sent()
	s.RunFor(period)
	res.PeriodLSUs = float64(s.Sent()-before) / float64(n)
	if !cut {
		return res, nil
	}
	// Cut a link off the spanning tree (one added for degree), so the
	// mesh stays connected.
	li := n - 1 + r.IntN(len(edges)-(n-1))
	src = append(src, edges[li][0], edges[li][1])
	before = s.Sent()
	s.Cut(li)
	if res.AfterCut, err = wait(); err != nil {
		return res, err
	}
	res.AfterCutLSUs = float64(s.Sent()-before) / float64(n)
	return res, nil
}
