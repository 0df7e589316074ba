package oap

import (
	"errors"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(0, specTS) // 2026-01-01T00:00:00Z

func TestFreshness(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name string
		ts   time.Duration // timestamp relative to now
		want error
	}{
		{"now", 0, nil},
		{"100 ms ahead", 100 * ms, nil},
		{"100.999999 ms ahead (delta truncates to -100)", 101*ms - 1, nil},
		{"101 ms ahead", 101 * ms, ErrFuture},
		{"1 s ahead", time.Second, ErrFuture},
		{"20 s old", -20 * time.Second, nil},
		{"20.000999999 s old", -(20*time.Second + ms - 1), nil},
		{"20.001 s old", -(20*time.Second + ms), ErrOutdated},
		{"30 s old", -30 * time.Second, ErrOutdated},
	} {
		var c0 ReplayCache
		err := c0.Check([IDLen]byte{1}, uint64(t0.Add(c.ts).UnixNano()), t0)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	var c0 ReplayCache
	for _, ts := range []uint64{1<<63 - 1, 1 << 63, 1<<64 - 1} {
		if err := c0.Check([IDLen]byte{}, ts, t0); !errors.Is(err, ErrFuture) {
			t.Errorf("timestamp %#x: %v", ts, err)
		}
	}
	if err := c0.Check([IDLen]byte{}, 0, t0); !errors.Is(err, ErrOutdated) {
		t.Errorf("timestamp 0: %v", err)
	}
	if err := c0.Check([IDLen]byte{}, 0, time.Unix(-5, 0)); err != nil {
		t.Errorf("clock before 1970 is taken as the epoch: %v", err)
	}
}

func TestReplay(t *testing.T) {
	c := NewReplayCache(0)
	id, ts := [IDLen]byte{7}, uint64(t0.UnixNano())
	if err := c.Check(id, ts, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(id, ts, t0.Add(time.Second)); !errors.Is(err, ErrReplay) {
		t.Errorf("same id and timestamp: %v, want ErrReplay", err)
	}
	if err := c.Check(id, ts+1, t0); err != nil {
		t.Errorf("same id, other timestamp: %v", err)
	}
	if err := c.Check([IDLen]byte{8}, ts, t0); err != nil {
		t.Errorf("other id, same timestamp: %v", err)
	}
	// Just inside the age limit the entry is still there.
	last := t0.Add(MaxAge + time.Millisecond - 1)
	if err := c.Check(id, ts, last); !errors.Is(err, ErrReplay) {
		t.Errorf("replay at %v: %v, want ErrReplay", last.Sub(t0), err)
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	// Later, the request is outdated and its entry gets pruned.
	later := t0.Add(MaxAge + time.Millisecond)
	if err := c.Check(id, ts, later); !errors.Is(err, ErrOutdated) {
		t.Errorf("replay at %v: %v, want ErrOutdated", later.Sub(t0), err)
	}
	// Pruned: (7, ts) and (8, ts); kept: (7, ts+1), 1 ns younger, and the new one.
	if err := c.Check([IDLen]byte{9}, uint64(later.UnixNano()), later); err != nil || c.Len() != 2 {
		t.Errorf("after pruning: %v, Len = %d, want 2", err, c.Len())
	}
}

func TestReplayCacheFull(t *testing.T) {
	c := NewReplayCache(3)
	ts := uint64(t0.UnixNano())
	for i := range 3 {
		if err := c.Check([IDLen]byte{byte(i)}, ts, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Check([IDLen]byte{3}, ts, t0); !errors.Is(err, ErrReplayCacheFull) {
		t.Errorf("4th entry: %v, want ErrReplayCacheFull", err)
	}
	// A replay is still recognised as such when the cache is full.
	if err := c.Check([IDLen]byte{0}, ts, t0); !errors.Is(err, ErrReplay) {
		t.Errorf("replay into full cache: %v", err)
	}
	// Once the old entries expire there is room again.
	now := t0.Add(MaxAge + time.Millisecond)
	if err := c.Check([IDLen]byte{3}, uint64(now.UnixNano()), now); err != nil {
		t.Errorf("after expiry: %v", err)
	}
}

// TestReplayConcurrent runs many checkers at once (go test -race): each
// (id, timestamp) is accepted exactly once.
func TestReplayConcurrent(t *testing.T) {
	var c ReplayCache
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				now := t0.Add(time.Duration(g) * time.Millisecond)
				if c.Check([IDLen]byte{byte(i)}, uint64(t0.UnixNano()), now) == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if accepted != 200 || c.Len() != 200 {
		t.Errorf("accepted %d, Len %d; want 200", accepted, c.Len())
	}
}
