package oap

import (
	"container/heap"
	"fmt"
	"math"
	"sync"
	"time"
)

// Freshness limits of a request timestamp, checked by the server, as in the
// reference. They require the clocks of client and server hosts to agree within
// 100 ms one way and 20 s the other.
const (
	MaxFuture = 100 * time.Millisecond // a request may be at most this far ahead of now
	MaxAge    = 20 * time.Second       // ... and at most this old (OAP_REPLAY_TIMER)
)

// DefaultReplayLimit is the capacity of a ReplayCache made with a limit ≤ 0 or
// used as a zero value: 65536 entries of under 100 bytes each, enough for a
// sustained 3000 accepted flow allocations per second over the 20 s window.
const DefaultReplayLimit = 1 << 16

// ReplayCache remembers the (id, timestamp) of the requests accepted in the
// last 20 s, so that a server rejects a request it has already seen. It is
// safe for concurrent use. The zero value is ready to use with
// DefaultReplayLimit.
//
// The cache is bounded. When it is full, after dropping expired entries, Check
// rejects new requests with ErrReplayCacheFull instead of evicting: an evicted
// entry could be replayed, so a flood of fresh, distinct requests makes the
// server refuse allocations (for at most MaxAge) but never accept a replay.
type ReplayCache struct {
	mu    sync.Mutex
	limit int
	seen  map[replayKey]struct{}
	order replayHeap // the keys of seen, oldest timestamp first
}

type replayKey struct {
	id [IDLen]byte
	ts int64 // ns since the Unix epoch; fits, fresh timestamps are ≤ now+100 ms
}

// NewReplayCache returns a cache holding at most limit entries
// (DefaultReplayLimit if limit ≤ 0).
func NewReplayCache(limit int) *ReplayCache {
	return &ReplayCache{limit: limit}
}

// Len returns the number of remembered requests, expired ones included until
// the next Check.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// Check applies the reference's freshness and replay checks to a request with
// the given id and timestamp (ns since the Unix epoch) received at now, and
// remembers it if it passes. With delta = (now − timestamp) in whole milliseconds, truncated
// toward zero as in the reference, it rejects delta < −100 (ErrFuture) and
// delta > 20000 (ErrOutdated); then a request seen before with the same id and
// timestamp (ErrReplay).
//
// Entries are dropped once their timestamp is 20.001 s old, the point from
// which the request fails the age check anyway. (The reference drops them 1 ms
// earlier, at 20 s, which leaves a 1 ms window for a replay.)
func (c *ReplayCache) Check(id [IDLen]byte, ts uint64, now time.Time) error {
	nowNs := max(now.UnixNano(), 0) // clock before 1970: broken, treat as the epoch
	if ts > math.MaxInt64 || ts > uint64(nowNs)+uint64(MaxFuture+time.Millisecond) {
		// Far ahead; keeps the int64 arithmetic below from overflowing.
		return fmt.Errorf("%w: %d ns ahead", ErrFuture, ts-uint64(nowNs))
	}
	delta := (nowNs - int64(ts)) / int64(time.Millisecond)
	switch {
	case delta < -MaxFuture.Milliseconds():
		return fmt.Errorf("%w: %d ms ahead (max %d)", ErrFuture, -delta, MaxFuture.Milliseconds())
	case delta > MaxAge.Milliseconds():
		return fmt.Errorf("%w: %d ms old (max %d)", ErrOutdated, delta, MaxAge.Milliseconds())
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[replayKey]struct{})
	}
	// Drop the entries that can no longer pass the age check.
	expired := nowNs - int64(MaxAge) - int64(time.Millisecond)
	for len(c.order) > 0 && c.order[0].ts <= expired {
		delete(c.seen, heap.Pop(&c.order).(replayKey))
	}
	k := replayKey{id, int64(ts)}
	if _, ok := c.seen[k]; ok {
		return fmt.Errorf("%w: id %x, timestamp %d", ErrReplay, id, ts)
	}
	limit := c.limit
	if limit <= 0 {
		limit = DefaultReplayLimit
	}
	if len(c.seen) >= limit {
		return fmt.Errorf("%w: %d requests in the last %v", ErrReplayCacheFull, len(c.seen), MaxAge)
	}
	c.seen[k] = struct{}{}
	heap.Push(&c.order, k)
	return nil
}

// replayHeap is a min-heap of keys by timestamp (container/heap).
type replayHeap []replayKey

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].ts < h[j].ts }
func (h replayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *replayHeap) Push(x any)        { *h = append(*h, x.(replayKey)) }
func (h *replayHeap) Pop() any {
	old := *h
	k := old[len(old)-1]
	*h = old[:len(old)-1]
	return k
}
