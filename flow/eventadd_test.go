package flow

import (
	"context"
	"testing"
	"time"
)

// TestEventSetAddWakesWaiter adds a flow whose receive queue is already full
// to a set that a goroutine is waiting on. No packet can arrive to wake the
// waiter after the Add (the flow's receive goroutine waits for room in the
// queue), so the Add itself must: the waiter gets the queued messages.
func TestEventSetAddWakesWaiter(t *testing.T) {
	a, b := pair(t, noKeepalive, noKeepalive)
	fill(a) // b's queue is full, and the channel behind it
	b.mu.Lock()
	full := b.queued() >= rxCap
	b.mu.Unlock()
	if !full {
		t.Fatalf("the receive queue holds fewer than %d messages after fill", rxCap)
	}
	set, err := newTestSet(b.p)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	type result struct {
		n   int
		err error
	}
	waited := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		evs, err := set.Events(ctx)
		waited <- result{len(evs), err}
	}()
	time.Sleep(50 * time.Millisecond) // most likely waiting by now; the test holds either way
	if err := set.Add(b); err != nil {
		t.Fatal(err)
	}
	r := <-waited
	if r.err != nil || r.n == 0 {
		t.Fatalf("the waiter got %d events, %v; want the queued messages' events", r.n, r.err)
	}
}
