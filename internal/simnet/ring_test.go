package simnet

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/qos"
)

// stream writes numbered packets on f every gap until stop, and counts
// what arrives on g; both directions run at once.
type stream struct {
	wg       sync.WaitGroup
	stop     chan struct{}
	mu       sync.Mutex
	sent     [2]int
	received [2]int
}

func startStream(f, g *Flow, gap time.Duration) *stream {
	s := &stream{stop: make(chan struct{})}
	for dir, ends := range [2][2]*Flow{{f, g}, {g, f}} {
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			for i := uint64(0); ; i++ {
				select {
				case <-s.stop:
					return
				case <-time.After(gap):
				}
				if ends[0].Write(binary.BigEndian.AppendUint64(nil, i)) == nil {
					s.mu.Lock()
					s.sent[dir]++
					s.mu.Unlock()
				}
			}
		}()
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-s.stop:
					return
				default:
				}
				if _, err := ends[1].Read(10 * gap); err == nil {
					s.mu.Lock()
					s.received[dir]++
					s.mu.Unlock()
				}
			}
		}()
	}
	return s
}

// counts returns packets received each way so far.
func (s *stream) counts() [2]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

func (s *stream) end() (sent, received [2]int) {
	close(s.stop)
	s.wg.Wait()
	return s.sent, s.received
}

// flowing waits until packets arrive again both ways on s (at most limit).
func flowing(t *testing.T, s *stream, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	before := s.counts()
	for time.Since(start) < limit {
		time.Sleep(100 * time.Millisecond)
		now := s.counts()
		if now[0] > before[0]+5 && now[1] > before[1]+5 {
			return time.Since(start)
		}
	}
	t.Fatalf("flow stalled for %v: %v before, %v now", limit, before, s.counts())
	return 0
}

// TestRing: six members in a ring, a flow between opposite members with
// data both ways; the link its route takes is cut and later restored.
// Routes are recomputed each time, and the flow keeps going (the same
// flow: no new allocation). With LFA, the member at the cut switches to its
// loop-free alternate at once (so a's side never stops); the far side of
// the cut learns of it only when the cut link's announcements age out, and
// until then packets loop there until their TTL runs out (counted).
func TestRing(t *testing.T) {
	for _, algo := range []routing.Algorithm{routing.Simple, routing.LFA, routing.ECMP} {
		t.Run(algo.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Short link-state timers (a layer parameter) keep the virtual
				// time, and so the packets to simulate, small.
				n := New(t, Config{Algo: algo, Seed: 6, Update: 5 * time.Second, Timeout: 20 * time.Second})
				var ns []*Node
				for i := range 6 {
					ns = append(ns, n.AddNode(string(rune('a'+i))))
				}
				var ls []*Link
				for i := range 6 {
					ls = append(ls, n.Connect(ns[i], ns[(i+1)%6], LinkConfig{Delay: time.Millisecond}))
				}
				took := n.WaitConverged(10*time.Millisecond, time.Minute)
				t.Logf("converged in %v", took)
				ns[3].Register("opposite")
				f, err := ns[0].Alloc("opposite", qos.Raw)
				if err != nil {
					t.Fatal(err)
				}
				g, err := ns[3].Accept(time.Second)
				if err != nil {
					t.Fatal(err)
				}
				s := startStream(f, g, 100*time.Millisecond)
				flowing(t, s, time.Second)
				// Cut the first link of a's route to d.
				path, _ := n.Route(ns[0], ns[3])
				cut := ls[0]
				if path[1] == ns[5] {
					cut = ls[5]
				}
				before := s.counts()
				cut.Cut()
				took = n.WaitConverged(100*time.Millisecond, 3*time.Minute)
				resumed := flowing(t, s, 3*time.Minute)
				after := s.counts()
				t.Logf("link %s-%s cut: routes converged in %v; flow resumed %v later; received %v before the cut, %v after convergence",
					cut.A.Name, cut.B.Name, took, resumed, before, after)
				cut.Restore()
				took = n.WaitConverged(100*time.Millisecond, 3*time.Minute)
				flowing(t, s, time.Minute)
				if p, _ := n.Route(ns[0], ns[3]); len(p) != 4 {
					t.Errorf("route after restoring: %v", names(p))
				}
				t.Logf("link restored: routes converged in %v", took)
				sent, received := s.end()
				t.Logf("a→d sent %d received %d; d→a sent %d received %d; TTL drops at the cut's far end %d",
					sent[0], received[0], sent[1], received[1], cut.B.DT.Stats().TTL+cut.A.DT.Stats().TTL)
				if ns[0].FA.Flows() != 1 || ns[3].FA.Flows() != 1 {
					t.Errorf("flows: %d, %d", ns[0].FA.Flows(), ns[3].FA.Flows())
				}
			})
		})
	}
}

// randomMesh connects n members: a random tree, then extra random links
// until the average degree is about deg.
func randomMesh(t testing.TB, net *Net, n int, deg float64, seed uint64, lc LinkConfig) []*Node {
	r := rand.New(rand.NewPCG(seed, 2))
	var ns []*Node
	for i := range n {
		ns = append(ns, net.AddNode("n"+string(rune('A'+i%26))+string(rune('0'+i/26))))
	}
	type pair struct{ a, b int }
	have := map[pair]bool{}
	link := func(a, b int) {
		if a == b || have[pair{a, b}] || have[pair{b, a}] {
			return
		}
		have[pair{a, b}] = true
		net.Connect(ns[a], ns[b], lc)
	}
	for i := 1; i < n; i++ {
		link(i, r.IntN(i))
	}
	for len(have) < int(deg*float64(n)/2) {
		link(r.IntN(n), r.IntN(n))
	}
	return ns
}

// TestMesh: twenty members in a random mesh converge, and flows between
// random pairs carry data both ways.
func TestMesh(t *testing.T) {
	for _, algo := range []routing.Algorithm{routing.Simple, routing.ECMP} {
		t.Run(algo.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := New(t, Config{Algo: algo, Seed: 20})
				ns := randomMesh(t, n, 20, 3.5, 20, LinkConfig{Delay: 2 * time.Millisecond})
				took := n.WaitConverged(10*time.Millisecond, time.Minute)
				t.Logf("20 members converged in %v", took)
				r := rand.New(rand.NewPCG(7, 7))
				for i := range 10 {
					a, b := ns[r.IntN(20)], ns[r.IntN(20)]
					if a == b {
						continue
					}
					name := "svc" + string(rune('0'+i))
					b.Register(name)
					f, err := a.Alloc(name, qos.Raw)
					if err != nil {
						t.Fatalf("%s to %s: %v", a.Name, b.Name, err)
					}
					g, err := b.Accept(time.Second)
					if err != nil {
						t.Fatal(err)
					}
					for j := range 10 {
						f.Write([]byte{byte(j)})
						if got, err := g.Read(time.Second); err != nil || got[0] != byte(j) {
							t.Fatalf("%s→%s: %v %v", a.Name, b.Name, got, err)
						}
						g.Write([]byte{byte(j)})
						if got, err := f.Read(time.Second); err != nil || got[0] != byte(j) {
							t.Fatalf("%s→%s: %v %v", b.Name, a.Name, got, err)
						}
					}
					f.Close()
					g.Close()
				}
			})
		})
	}
}
