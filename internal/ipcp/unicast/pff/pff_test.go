package pff

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
)

func hop(t *testing.T, tab *Table, dst uint64, want int) {
	t.Helper()
	fd, ok := tab.NextHop(dst)
	if !ok || fd != want {
		t.Errorf("%v: next hop to %d = %d, %v; want %d", tab.Policy(), dst, fd, ok, want)
	}
}

// TestInsertLookupDelete is the reference's forwarding-table test: 262
// destinations (more than its 256 buckets, so 4 and 260 share one), each
// forwarding to a flow numbered like it; lookups; a delete that leaves the
// other destination of the bucket alone.
func TestInsertLookupDelete(t *testing.T) {
	for _, p := range []Policy{Simple, Alternate, Multipath} {
		tab := New(p)
		for k := range 256 + 4 + 2 {
			if err := tab.Add(uint64(k), []int{k}); err != nil {
				t.Fatalf("%v: add %d: %v", p, k, err)
			}
		}
		if tab.Len() != 262 {
			t.Errorf("%v: %d entries", p, tab.Len())
		}
		hop(t, tab, 4, 4)
		hop(t, tab, 260, 260)
		if err := tab.Delete(4); err != nil {
			t.Fatal(err)
		}
		if fd, ok := tab.NextHop(4); ok || fd != -1 {
			t.Errorf("%v: 4 still forwards to %d", p, fd)
		}
		hop(t, tab, 260, 260)
		if err := tab.Delete(4); !errors.Is(err, ErrNoEntry) {
			t.Errorf("%v: second delete: %v", p, err)
		}
		if err := tab.Add(260, []int{1}); !errors.Is(err, ErrExists) {
			t.Errorf("%v: duplicate add: %v", p, err)
		}
		if err := tab.Add(9999, nil); !errors.Is(err, ErrNoNextHop) {
			t.Errorf("%v: add without next hop: %v", p, err)
		}
		if err := tab.Update(260, []int{70}); err != nil {
			t.Fatal(err)
		}
		hop(t, tab, 260, 70)
	}
}

func TestSimple(t *testing.T) {
	tab := New(Simple)
	tab.Replace(map[uint64][]int{10: {64, 65}, 20: {65}, 30: nil})
	hop(t, tab, 10, 64)
	hop(t, tab, 10, 64)
	hop(t, tab, 20, 65)
	if _, ok := tab.NextHop(30); ok || tab.Len() != 2 {
		t.Error("destination without next hop kept")
	}
	if r := tab.Routes(); !slices.Equal(r[10], []int{64}) {
		t.Errorf("simple keeps %v", r[10])
	}
	tab.FlowDown(64) // ignored
	hop(t, tab, 10, 64)
	if err := tab.FlowUp(64); err != nil {
		t.Error(err)
	}
	tab.Replace(nil)
	if tab.Len() != 0 {
		t.Error("Replace(nil) kept entries")
	}
}

func TestMultipath(t *testing.T) {
	tab := New(Multipath)
	tab.Replace(map[uint64][]int{10: {64, 65, 66}, 20: {67}})
	var got []int
	for range 7 {
		fd, _ := tab.NextHop(10)
		got = append(got, fd)
	}
	if want := []int{64, 65, 66, 64, 65, 66, 64}; !slices.Equal(got, want) {
		t.Errorf("round robin %v, want %v", got, want)
	}
	hop(t, tab, 20, 67)
	hop(t, tab, 20, 67)
}

// TestAlternate walks the alternate table through flows going down and
// up, including a recomputation while a flow is down.
func TestAlternate(t *testing.T) {
	tab := New(Alternate)
	tab.Replace(map[uint64][]int{'A': {1, 2, 3}, 'B': {2, 1}, 'C': {1}})
	hop(t, tab, 'A', 1)
	hop(t, tab, 'B', 2)

	tab.FlowDown(1)
	hop(t, tab, 'A', 2) // first alternate
	hop(t, tab, 'B', 2) // untouched
	hop(t, tab, 'C', 1) // no alternate: stays

	tab.FlowDown(2)
	hop(t, tab, 'A', 3) // 2 down, 1 down: the next one
	hop(t, tab, 'B', 2) // everything down: stays

	if err := tab.FlowUp(1); err != nil {
		t.Fatal(err)
	}
	hop(t, tab, 'A', 1) // back to the primary
	hop(t, tab, 'B', 2) // its primary is 2, still down
	hop(t, tab, 'C', 1)
	if err := tab.FlowUp(1); !errors.Is(err, ErrUnknownFlow) {
		t.Errorf("FlowUp of a flow that is up: %v", err)
	}

	// A recomputation while 2 is down starts B on its alternate.
	tab.Replace(map[uint64][]int{'B': {2, 1}, 'D': {2}})
	hop(t, tab, 'B', 1)
	hop(t, tab, 'D', 2)
	if err := tab.FlowUp(2); err != nil {
		t.Fatal(err)
	}
	hop(t, tab, 'B', 2)
	if r := tab.Routes(); !slices.Equal(r['B'], []int{2, 1}) {
		t.Errorf("routes %v", r)
	}
}

// TestNoAllocs: the lookup allocates nothing, for every policy.
func TestNoAllocs(t *testing.T) {
	for _, p := range []Policy{Simple, Alternate, Multipath} {
		tab := New(p)
		tab.Replace(map[uint64][]int{1: {64, 65}, 2: {66}})
		if n := testing.AllocsPerRun(100, func() {
			tab.NextHop(1)
			tab.NextHop(3)
		}); n != 0 {
			t.Errorf("%v: %v allocations per lookup", p, n)
		}
	}
}

// TestConcurrent runs lookups against writers. Every answer must be a flow
// of one of the tables ever published for that destination. Run with -race.
func TestConcurrent(t *testing.T) {
	for _, p := range []Policy{Simple, Alternate, Multipath} {
		t.Run(p.String(), func(t *testing.T) {
			leakcheck.Check(t)
			tab := New(p)
			// Destination d always forwards to flows 100+d or 200+d.
			routes := func(swap bool) map[uint64][]int {
				m := map[uint64][]int{}
				for d := range 50 {
					a, b := 100+d, 200+d
					if swap {
						a, b = b, a
					}
					m[uint64(d)] = []int{a, b}
				}
				return m
			}
			tab.Replace(routes(false))
			var wg sync.WaitGroup
			errc := make(chan error, 4)
			for r := range 3 {
				wg.Go(func() {
					for i := range 20000 {
						d := (i + r) % 60
						fd, ok := tab.NextHop(uint64(d))
						if d >= 50 {
							if ok {
								errc <- fmt.Errorf("hop %d to unknown destination %d", fd, d)
								return
							}
							continue
						}
						if !ok || (fd != 100+d && fd != 200+d) {
							errc <- fmt.Errorf("hop %d, %v to %d", fd, ok, d)
							return
						}
					}
				})
			}
			wg.Go(func() {
				for i := range 300 {
					tab.Replace(routes(i%2 == 1))
					tab.FlowDown(100 + i%50)
					_ = tab.FlowUp(100 + i%50)
				}
			})
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Error(err)
			}
		})
	}
}

// BenchmarkNextHop looks destinations up in a 1000-entry table.
func BenchmarkNextHop(b *testing.B) {
	for _, p := range []Policy{Simple, Alternate, Multipath} {
		b.Run(p.String(), func(b *testing.B) {
			tab := New(p)
			m := map[uint64][]int{}
			for d := range 1000 {
				m[uint64(d)*2654435761%(1<<32)] = []int{64 + d%8, 72 + d%8}
			}
			tab.Replace(m)
			keys := make([]uint64, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := tab.NextHop(keys[i&1023%len(keys)]); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
	}
}
