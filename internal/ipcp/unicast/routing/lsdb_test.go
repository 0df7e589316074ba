package routing

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestLSDBSeqnos(t *testing.T) {
	db := NewLSDB(1)
	cases := []struct {
		lsu               wire.LSU
		accepted, changed bool
	}{
		{wire.LSU{Src: 2, Dst: 3, Seqno: 5}, true, true},   // new: accepted whatever its seqno
		{wire.LSU{Src: 2, Dst: 3, Seqno: 5}, false, false}, // duplicate
		{wire.LSU{Src: 2, Dst: 3, Seqno: 4}, false, false}, // stale
		{wire.LSU{Src: 2, Dst: 3, Seqno: 6}, true, false},  // refresh
		{wire.LSU{Src: 3, Dst: 2, Seqno: 0}, true, true},   // the other end
		{wire.LSU{Src: 3, Dst: 3, Seqno: 9}, false, false}, // self-loop
		{wire.LSU{Src: 0, Dst: 3, Seqno: 9}, false, false}, // no address
	}
	for i, c := range cases {
		a, ch := db.Update(c.lsu, t0)
		if a != c.accepted || ch != c.changed {
			t.Errorf("%d: Update(%+v) = %v, %v; want %v, %v", i, c.lsu, a, ch, c.accepted, c.changed)
		}
	}
	if db.Len() != 2 || db.Graph().Announced(2, 3) != 2 {
		t.Errorf("%d adjacencies, 2-3 announced %d", db.Len(), db.Graph().Announced(2, 3))
	}
	want := []wire.LSU{{Src: 3, Dst: 2, Seqno: 0}, {Src: 2, Dst: 3, Seqno: 6}}
	if got := db.All(); !slices.Equal(got, want) {
		t.Errorf("All = %+v, want %+v", got, want)
	}
}

// TestLSDBTick: own adjacencies are refreshed with the next seqno (the first
// periodic LSU has seqno 1); others age out once older than the timeout,
// and that changes the topology.
func TestLSDBTick(t *testing.T) {
	const timeout = 60 * time.Second
	db := NewLSDB(1)
	lsu, changed := db.AddNeighbour(2, t0)
	if lsu != (wire.LSU{Src: 1, Dst: 2}) || !changed {
		t.Fatalf("AddNeighbour = %+v, %v", lsu, changed)
	}
	db.Update(wire.LSU{Src: 2, Dst: 1}, t0)
	if h := mustTable(t, db.Graph(), Simple, 1).Lookup(2); !slices.Equal(h, []uint64{2}) {
		t.Fatalf("route to 2: %v", h)
	}

	lsus, changed := db.Tick(t0.Add(15*time.Second), timeout)
	if !slices.Equal(lsus, []wire.LSU{{Src: 1, Dst: 2, Seqno: 1}}) || changed {
		t.Errorf("first tick: %+v, %v", lsus, changed)
	}
	// Exactly at the timeout nothing ages.
	lsus, changed = db.Tick(t0.Add(timeout), timeout)
	if !slices.Equal(lsus, []wire.LSU{{Src: 1, Dst: 2, Seqno: 2}}) || changed || db.Len() != 2 {
		t.Errorf("tick at the timeout: %+v, %v, %d adjacencies", lsus, changed, db.Len())
	}
	// Past it, 2's announcement goes; ours, refreshed, stays.
	lsus, changed = db.Tick(t0.Add(timeout+time.Nanosecond), timeout)
	if !slices.Equal(lsus, []wire.LSU{{Src: 1, Dst: 2, Seqno: 3}}) || !changed || db.Len() != 1 {
		t.Errorf("tick past the timeout: %+v, %v, %d adjacencies", lsus, changed, db.Len())
	}
	if _, err := db.Graph().Table(Simple, 1); err != nil {
		t.Fatal(err)
	}
	if tab, _ := db.Graph().Table(Simple, 1); tab.Lookup(2) != nil {
		t.Error("still routing over a half-announced link after ageing")
	}
	if !db.RemoveNeighbour(2) || db.RemoveNeighbour(2) || db.Len() != 0 || db.Graph().Len() != 0 {
		t.Errorf("RemoveNeighbour: %d adjacencies, %d vertices", db.Len(), db.Graph().Len())
	}
}

// TestLSDBRestart: a member that restarts announces seqno 0 again; peers
// ignore it until their copy ages out, then accept it.
func TestLSDBRestart(t *testing.T) {
	db := NewLSDB(1)
	db.Update(wire.LSU{Src: 2, Dst: 3, Seqno: 40}, t0)
	if a, _ := db.Update(wire.LSU{Src: 2, Dst: 3}, t0.Add(time.Second)); a {
		t.Fatal("seqno 0 accepted over 40")
	}
	db.Tick(t0.Add(61*time.Second), time.Minute)
	if a, ch := db.Update(wire.LSU{Src: 2, Dst: 3}, t0.Add(62*time.Second)); !a || !ch {
		t.Errorf("after ageing: %v, %v", a, ch)
	}
	if adj := db.Adjacencies(); len(adj) != 1 || adj[0].Seqno != 0 || !adj[0].Updated.Equal(t0.Add(62*time.Second)) {
		t.Errorf("Adjacencies = %+v", adj)
	}
}

// TestLSDBReconnect: an adjacency that comes back within the member's
// life goes on from its last seqno, so that a peer still holding the old
// copy accepts the announcement at once (seqno 0 would be ignored there
// until the copy aged out, and the link would then drop out of its
// routes).
func TestLSDBReconnect(t *testing.T) {
	a, b := NewLSDB(1), NewLSDB(2)
	lsu, _ := a.AddNeighbour(2, t0)
	b.Update(lsu, t0)
	var lsus []wire.LSU
	for i := range 5 {
		lsus, _ = a.Tick(t0.Add(time.Duration(i+1)*time.Second), time.Minute)
		b.Update(lsus[0], t0.Add(time.Duration(i+1)*time.Second))
	}
	a.RemoveNeighbour(2)
	lsu, changed := a.AddNeighbour(2, t0.Add(10*time.Second))
	if lsu != (wire.LSU{Src: 1, Dst: 2, Seqno: 6}) || !changed {
		t.Fatalf("AddNeighbour again = %+v, %v", lsu, changed)
	}
	if ok, _ := b.Update(lsu, t0.Add(10*time.Second)); !ok {
		t.Error("the peer ignores the announcement of the link back")
	}
	if lsu, _ := a.AddNeighbour(3, t0); lsu.Seqno != 0 {
		t.Errorf("a new neighbour's adjacency has seqno %d", lsu.Seqno)
	}
}

// TestFloodConverges floods LSUs over random connected topologies the way
// members do (accepted updates go on to every other neighbour, a new
// neighbour gets the whole database) and checks that every member ends with
// the same database, and that following next hops from any member reaches
// any other along a shortest path, for every algorithm.
func TestFloodConverges(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := range 20 {
		n := 2 + r.IntN(20)
		addrs := make([]uint64, n)
		for i := range addrs {
			addrs[i] = uint64(1000 + i*7 + r.IntN(5))
		}
		var links [][2]int
		for i := 1; i < n; i++ {
			links = append(links, [2]int{i, r.IntN(i)})
		}
		for range r.IntN(n) {
			if a, b := r.IntN(n), r.IntN(n); a != b {
				links = append(links, [2]int{a, b})
			}
		}

		dbs := make([]*LSDB, n)
		nbs := make([][]int, n)
		for i := range dbs {
			dbs[i] = NewLSDB(addrs[i])
		}
		type msg struct {
			to, from int
			lsu      wire.LSU
		}
		var queue []msg
		send := func(from int, lsu wire.LSU, except int) {
			for _, nb := range nbs[from] {
				if nb != except {
					queue = append(queue, msg{nb, from, lsu})
				}
			}
		}
		for _, l := range links {
			a, b := l[0], l[1]
			if slices.Contains(nbs[a], b) {
				continue
			}
			nbs[a], nbs[b] = append(nbs[a], b), append(nbs[b], a)
			// Each end: replicate the database to the new management
			// neighbour, then announce the new adjacency to all.
			for _, x := range [][2]int{{a, b}, {b, a}} {
				for _, lsu := range dbs[x[0]].All() {
					queue = append(queue, msg{x[1], x[0], lsu})
				}
				lsu, _ := dbs[x[0]].AddNeighbour(addrs[x[1]], t0)
				send(x[0], lsu, -1)
			}
		}
		for len(queue) > 0 {
			m := queue[0]
			queue = queue[1:]
			if ok, _ := dbs[m.to].Update(m.lsu, t0); ok {
				send(m.to, m.lsu, m.from)
			}
		}

		ref := dbs[0].All()
		for i, db := range dbs {
			if got := db.All(); !slices.Equal(got, ref) {
				t.Fatalf("iter %d: member %d has %d adjacencies, member 0 %d", iter, i, len(got), len(ref))
			}
		}
		index := map[uint64]int{}
		for i, a := range addrs {
			index[a] = i
		}
		for _, algo := range []Algorithm{Simple, LFA, ECMP} {
			tabs := make([]Table, n)
			for i := range dbs {
				tabs[i] = mustTable(t, dbs[i].Graph(), algo, addrs[i])
			}
			for s := range n {
				_, dist, _ := refShortest(dbs[s].Graph(), addrs[s])
				for d := range n {
					if s == d {
						continue
					}
					at, hops := s, 0
					for at != d && hops <= n {
						h := tabs[at].Lookup(addrs[d])
						if h == nil {
							t.Fatalf("iter %d %v: no route from %d to %d", iter, algo, addrs[at], addrs[d])
						}
						at = index[h[0]]
						hops++
					}
					if hops != dist[addrs[d]] {
						t.Fatalf("iter %d %v: %d to %d in %d hops, shortest %d", iter, algo, addrs[s], addrs[d], hops, dist[addrs[d]])
					}
				}
			}
		}
	}
}
