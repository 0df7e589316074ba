package dir

import (
	"container/heap"
	"crypto/sha3"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// sim wires DHT nodes' outboxes to each other's Receive in virtual time:
// every message takes 1 to 10 ms and is lost with probability loss; every
// node's Tick runs at its deadline.
type sim struct {
	t     testing.TB
	now   time.Time
	rnd   *rand.Rand
	loss  float64
	nodes map[uint64]*simNode
	order []*simNode // in creation order
	q     simQueue
	seq   int

	delivered, lost int
	results         map[resKey]Result
	wrongLogged     int
	toDown          int // messages to departed nodes
}

type resKey struct {
	addr, id uint64
}

type simNode struct {
	n      *Node
	up     bool
	tickAt time.Time
}

type simEvent struct {
	at   time.Time
	seq  int
	to   uint64
	msg  []byte // nil: a tick
	tick time.Time
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func newSim(t testing.TB, seed uint64, loss float64) *sim {
	return &sim{t: t, now: t0, rnd: rand.New(rand.NewPCG(seed, 2)), loss: loss,
		nodes: map[uint64]*simNode{}, results: map[resKey]Result{}}
}

func (s *sim) push(e simEvent) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

// add creates and starts a node bootstrapping through peer (0: none).
func (s *sim) add(cfg Config, peer uint64) *simNode {
	var addr uint64
	for addr == 0 || s.nodes[addr] != nil {
		addr = uint64(s.rnd.Uint32())
	}
	cfg.Peer = peer
	n, err := New(cfg, addr, rand.New(rand.NewPCG(s.rnd.Uint64(), 3)))
	if err != nil {
		s.t.Fatal(err)
	}
	sn := &simNode{n: n, up: true}
	s.nodes[addr] = sn
	s.order = append(s.order, sn)
	n.Start(s.now)
	s.flush(sn)
	return sn
}

// flush sends a node's outbox, collects its results and schedules its tick.
func (s *sim) flush(sn *simNode) {
	for _, o := range sn.n.Outbox() {
		if s.rnd.Float64() < s.loss {
			s.lost++
			continue
		}
		lat := time.Millisecond + time.Duration(s.rnd.Int64N(int64(9*time.Millisecond)))
		s.push(simEvent{at: s.now.Add(lat), to: o.To, msg: o.Msg})
	}
	for _, r := range sn.n.Results() {
		s.results[resKey{sn.n.self.Addr, r.ID}] = r
	}
	if d := sn.n.NextDeadline(); !d.IsZero() && !d.Equal(sn.tickAt) {
		sn.tickAt = d
		if d.Before(s.now) {
			d = s.now
		}
		s.push(simEvent{at: d, to: sn.n.self.Addr, tick: sn.tickAt})
	}
}

// run handles the events up to until.
func (s *sim) run(until time.Time) {
	for s.q.Len() > 0 && !s.q[0].at.After(until) {
		e := heap.Pop(&s.q).(simEvent)
		s.now = e.at
		sn := s.nodes[e.to]
		if sn == nil || !sn.up {
			if e.msg != nil {
				s.toDown++
			}
			continue
		}
		if e.msg == nil {
			if !e.tick.Equal(sn.tickAt) {
				continue // superseded
			}
			sn.tickAt = time.Time{}
			sn.n.Tick(s.now)
		} else {
			s.delivered++
			if err := sn.n.Receive(s.now, e.msg); err != nil && !errors.Is(err, ErrNoRequest) {
				s.t.Fatalf("node %#x: %v", e.to, err)
			}
		}
		s.flush(sn)
	}
	s.now = until
}

// byCode returns the messages all nodes sent so far, per code.
func (s *sim) byCode() string {
	var c [5]uint64
	for _, sn := range s.order {
		for i, k := range sn.n.stats.Sent {
			c[i] += k
		}
	}
	return fmt.Sprintf("STORE %d, FIND_NODE %d+%d, FIND_VALUE %d+%d", c[0], c[1], c[2], c[3], c[4])
}

// sent returns the messages all nodes sent so far.
func (s *sim) sent() uint64 {
	var n uint64
	for _, sn := range s.order {
		for _, c := range sn.n.stats.Sent {
			n += c
		}
	}
	return n
}

func nameKey(i int) []byte {
	h := sha3.Sum256(fmt.Appendf(nil, "name-%d", i))
	return h[:]
}

// lookupStats is what a round of lookups measured.
type lookupStats struct {
	n, found, wrong, local int
	hops, maxHops, msgs    int
}

func (l lookupStats) String() string {
	return fmt.Sprintf("%d lookups: %d found (%d locally), %d wrong; hops mean %.2f max %d; requests per remote lookup %.1f",
		l.n, l.found, l.local, l.wrong, float64(l.hops)/float64(max(1, l.found-l.local)), l.maxHops,
		float64(l.msgs)/float64(max(1, l.n-l.local)))
}

// lookups has every node up look up m random names among those of owners,
// runs until all answered and checks each answer against want (0: the
// name must not be found).
func (s *sim) lookups(m int, names []int, want func(name int) uint64) lookupStats {
	type pending struct {
		key  resKey
		name int
	}
	var ps []pending
	var st lookupStats
	for _, sn := range s.order {
		if !sn.up {
			continue
		}
		for range m {
			name := names[s.rnd.IntN(len(names))]
			if want(name) == sn.n.self.Addr {
				continue // own names are not found by their owner
			}
			st.n++
			a, id, err := sn.n.Lookup(s.now, nameKey(name))
			switch {
			case err != nil:
				s.t.Fatalf("lookup: %v", err)
			case a != 0:
				st.local++
				if a == want(name) {
					st.found++
				} else {
					st.wrong++
				}
			case id != 0:
				ps = append(ps, pending{resKey{sn.n.self.Addr, id}, name})
			default:
				if want(name) != 0 {
					s.t.Errorf("node %#x has no contacts to look up with", sn.n.self.Addr)
				}
			}
			s.flush(sn)
		}
	}
	s.run(s.now.Add(time.Minute))
	for _, p := range ps {
		r, ok := s.results[p.key]
		switch {
		case !ok:
			s.t.Errorf("lookup %v of name %d did not end within a minute", p.key, p.name)
		case r.Addr == want(p.name):
			if r.Addr != 0 {
				st.found++
			}
			st.hops += r.Hops
			st.maxHops = max(st.maxHops, r.Hops)
		default:
			st.wrong++
			if s.wrongLogged < 5 {
				s.t.Logf("name %d looked up from %#x: %#x, want %#x", p.name, p.key.addr, r.Addr, want(p.name))
				s.wrongLogged++
			}
		}
		st.msgs += s.results[p.key].Msgs
	}
	clear(s.results)
	return st
}

func simConfig() Config {
	return Config{IDLen: 32}
}

// build joins n nodes through the first one, 20 ms apart, then every node
// registers name i, and the layer settles for 30 s.
func (s *sim) build(cfg Config, n int) (owner map[int]uint64, joinMsgs, regMsgs uint64) {
	first := s.add(cfg, 0)
	for range n - 1 {
		s.add(cfg, first.n.self.Addr)
		s.run(s.now.Add(20 * time.Millisecond))
	}
	s.run(s.now.Add(10 * time.Second))
	joinMsgs = s.sent()
	owner = map[int]uint64{}
	for i, sn := range s.order {
		if err := sn.n.Register(s.now, nameKey(i)); err != nil {
			s.t.Fatal(err)
		}
		owner[i] = sn.n.self.Addr
		s.flush(sn)
	}
	s.run(s.now.Add(30 * time.Second))
	return owner, joinMsgs, s.sent() - joinMsgs
}

// TestSimLookups joins 20, 100 and 1,000 nodes through one member, has
// every node register a name and look up random names, without loss and
// with 10 % of the messages lost: every lookup must find its name.
func TestSimLookups(t *testing.T) {
	for _, c := range []struct {
		n, lookups int
		loss       float64
	}{
		{20, 10, 0}, {100, 10, 0}, {1000, 3, 0},
		{20, 10, 0.1}, {100, 10, 0.1}, {1000, 3, 0.1},
	} {
		t.Run(fmt.Sprintf("%d nodes %.0f%% loss", c.n, 100*c.loss), func(t *testing.T) {
			if c.n >= 1000 && testing.Short() || c.n >= 100 && raceEnabled {
				t.Skip("not with -short or the race detector: minutes on a busy machine")
			}
			s := newSim(t, uint64(c.n), c.loss)
			owner, joinMsgs, regMsgs := s.build(simConfig(), c.n)
			contacts := 0
			for _, sn := range s.order {
				contacts += sn.n.Contacts()
			}
			names := make([]int, c.n)
			for i := range names {
				names[i] = i
			}
			before := s.sent()
			st := s.lookups(c.lookups, names, func(i int) uint64 { return owner[i] })
			t.Logf("%d nodes, %.0f%% loss: join %.1f msgs/node, register %.1f msgs/node, %.1f contacts/node; %v; lookups %.1f msgs/node",
				c.n, 100*c.loss, float64(joinMsgs)/float64(c.n), float64(regMsgs)/float64(c.n),
				float64(contacts)/float64(c.n), st, float64(s.sent()-before)/float64(c.n))
			if st.found != st.n || st.wrong != 0 {
				t.Errorf("%v", st)
			}
		})
	}
}

// TestSimLeave: a fifth of 100 members (30 under the race detector) leave. Their names expire
// everywhere within the values' lifetime; the names of the others stay
// found, kept alive by republishing although members that held them left.
func TestSimLeave(t *testing.T) {
	cfg := simConfig()
	cfg.TExpire, cfg.TReplicate, cfg.TRefresh = 300*time.Second, 30*time.Second, 60*time.Second
	n := 100
	if raceEnabled {
		n = 30 // the race detector makes 100 members take minutes
	}
	s := newSim(t, 7, 0)
	owner, _, _ := s.build(cfg, n)
	left := map[uint64]bool{}
	for i, sn := range s.order {
		if i%5 == 4 {
			sn.up = false
			left[sn.n.self.Addr] = true
		}
	}
	s.run(s.now.Add(3 * cfg.TExpire))
	for _, sn := range s.order {
		if !sn.up {
			continue
		}
		for k, e := range sn.n.st.m {
			for _, v := range e.remote {
				if a, _ := DecodeValue(v.val); left[a] {
					t.Fatalf("node %#x still holds %#x for %x, expiring %v (now %v)", sn.n.self.Addr, a, k[:4], v.exp, s.now)
				}
			}
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	want := func(i int) uint64 {
		if left[owner[i]] {
			return 0
		}
		return owner[i]
	}
	st := s.lookups(10, all, want)
	t.Logf("after %d of %d left: %v; %d messages to departed members; %.0f messages per node in all (%s)",
		len(left), n, st, s.toDown, float64(s.sent())/float64(n), s.byCode())
	if st.wrong != 0 {
		t.Errorf("%v", st)
	}
}
