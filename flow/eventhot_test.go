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
	waitHot := func(f *Flow) {
		t.Helper()
		for set.hotFlow.Load() != f {
			if ctx.Err() != nil {
				t.Fatal("Wait never waited on the live flow's ring")
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The first packet refreshes the live flow (a flow quiet for longer
	// than the hot window is not waited on), the second is taken hot.
	for i := range 2 {
		res := waitOnce()
		if i == 1 {
			waitHot(liveB)
		}
		if _, err := liveA.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		r := <-res
		if r.err != nil || len(r.evs) != 1 || r.evs[0].Flow != liveB || r.evs[0].Type != EventPkt {
			t.Fatalf("packet %d: events %v, %v; want one FLOW_PKT of the live flow", i, r.evs, r.err)
		}
		buf := make([]byte, 16)
		if n, err := liveB.Read(buf); err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("packet %d: read %v, %d bytes, %v", i, buf[:n], n, err)
		}
	}
	if set.hot != liveB {
		t.Fatal("the live flow's packet did not reach Wait on its ring")
	}

	// A second live flow: the wait on the first one's ring ends, and a
	// packet on the new one is reported.
	res := waitOnce()
	waitHot(liveB)
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
