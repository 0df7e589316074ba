package ipcp

import (
	"context"
	"runtime/debug"
	"time"
)

// Giving memory back. An IPCP that carried thousands of flows holds their
// goroutine stacks and buffers until the Go runtime's scavenger returns the
// freed pages to the system, a little at a time; after a burst of flows
// closes, that can take minutes. The IPCP instead returns freed memory at
// once when the number of flows it holds has fallen to half of its peak
// (counting from a peak of at least releaseMinPeak flows), checking every
// releasePeriod: a lock and a length, nothing when idle but the ticker.
const (
	releasePeriod  = 2 * time.Second
	releaseMinPeak = 256
)

// releaser tracks the peak flow count since memory was last returned.
type releaser struct{ peak int }

// observe takes the current flow count and reports whether memory should be
// returned now; it then starts a new peak from n.
func (r *releaser) observe(n int) bool {
	if n > r.peak {
		r.peak = n
	}
	if r.peak >= releaseMinPeak && n <= r.peak/2 {
		r.peak = n
		return true
	}
	return false
}

// releaseMemory returns freed memory to the system whenever the flows
// fall to half of their peak, until ctx ends.
func releaseMemory(ctx context.Context, count func() int) {
	t := time.NewTicker(releasePeriod)
	defer t.Stop()
	var r releaser
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if r.observe(count()) {
				debug.FreeOSMemory()
			}
		}
	}
}
