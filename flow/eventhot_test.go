package flow

import (
	"context"
	"testing"
	"time"
)

// TestEventSetHotBesideDeadFlow: a set whose other flows can deliver nothing
// more (their peers are gone, as the flows of an oping server whose earlier
// clients left, until its cleaner closes them) waits for its one live flow's
// packets in the waiting goroutine itself (hotFlow), as a set of one flow
// does, instead of through that flow's receive goroutine and the set's
// wake-up channel. A flow added meanwhile ends that wait, and its packets
// are reported.
func TestEventSetHotBesideDeadFlow(t *testing.T) {
	if !testShm() {
		t.Skip("waiting on a flow's ring needs the shared-memory channel")
	}
	liveA, liveB := pair(t, rawNoKeepalive, rawNoKeepalive)
	deadA, deadB := pair(t, rawNoKeepalive, rawNoKeepalive)
	set, err := newTestSet(liveB.p)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, f := range []*Flow{liveB, deadB} {
		if err := set.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	deadA.Close()
	evs, err := set.Events(ctx) // the dead flow's FLOW_DEALLOC
	if err != nil || len(evs) != 1 || evs[0].Flow != deadB || evs[0].Type != EventDealloc {
		t.Fatalf("events %v, %v; want FLOW_DEALLOC of the closed flow", evs, err)
	}
	select {
	case <-deadB.rxDone:
	case <-ctx.Done():
		t.Fatal("the receive goroutine of a flow whose peer closed never ended")
	}

	type result struct {
		evs []Event
		err error
	}
	waitOnce := func() chan result {
		c := make(chan result, 1)
		go func() {
			evs, err := set.Events(ctx)
			c <- result{evs, err}
		}()
		return c
	}
	// deliver writes byte b on the live flow and checks that the wait res
	// reports it, then reads it.
	deliver := func(res chan result, b byte) {
		t.Helper()
		if _, err := liveA.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
		r := <-res
		if r.err != nil || len(r.evs) != 1 || r.evs[0].Flow != liveB || r.evs[0].Type != EventPkt {
			t.Fatalf("packet %d: events %v, %v; want one FLOW_PKT of the live flow", b, r.evs, r.err)
		}
		buf := make([]byte, 16)
		if n, err := liveB.Read(buf); err != nil || n != 1 || buf[0] != b {
			t.Fatalf("packet %d: read %v, %d bytes, %v", b, buf[:n], n, err)
		}
	}
	// waitOnceHot starts a wait that waits on the live flow's ring. A flow
	// quiet for longer than the hot window (10 ms) is not waited on, so a
	// packet first refreshes it; on a loaded machine the window can pass
	// before the wait starts (it did, in a loaded CI run), and then the
	// wait is ended with a packet and tried again.
	waitOnceHot := func() chan result {
		t.Helper()
		for {
			deliver(waitOnce(), 0)
			res := waitOnce()
			for end := time.Now().Add(100 * time.Millisecond); set.hotFlow.Load() != liveB && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
			if set.hotFlow.Load() == liveB {
				return res
			}
			if ctx.Err() != nil {
				t.Fatal("Wait never waited on the live flow's ring")
			}
			deliver(res, 0)
		}
	}
	deliver(waitOnceHot(), 1)
	if set.hot != liveB {
		t.Fatal("the live flow's packet did not reach Wait on its ring")
	}

	// A second live flow: the wait on the first one's ring ends, and a
	// packet on the new one is reported.
	res := waitOnceHot()
	newA, newB := pair(t, rawNoKeepalive, rawNoKeepalive)
	if err := set.Add(newB); err != nil {
		t.Fatal(err)
	}
	if _, err := newA.Write([]byte{7}); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || len(r.evs) != 1 || r.evs[0].Flow != newB || r.evs[0].Type != EventPkt {
		t.Fatalf("events %v, %v; want one FLOW_PKT of the added flow", r.evs, r.err)
	}
}
