package flow

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
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
	set := newSetOf(t, liveB, deadB)
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

	waitOnce := func() chan waitResult { return waitAsync(ctx, set) }
	// deliver writes byte b on the live flow and checks that the wait res
	// reports it, then reads it.
	deliver := func(res chan waitResult, b byte) {
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
	waitOnceHot := func() chan waitResult {
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

// TestHotWaitLeavesNothingArmed: a set's Wait that waited on its one flow's
// ring and took nothing before it went to sleep on the set, a non-blocking
// Read that found nothing, and a Wait on a set of several flows after a
// blocking Read that took its packet from the ring end what the hot read
// left armed (EndHot). Otherwise the receive goroutine slept lazily for a hot reader
// that was not coming, and the peer's next packet rang no doorbell: it
// waited in the ring for up to a hot window (an oping server whose client
// pinged every 10 to 20 ms answered one ping in three 10 ms late).
func TestHotWaitLeavesNothingArmed(t *testing.T) {
	if !testShm() {
		t.Skip("waiting on a flow's ring needs the shared-memory channel")
	}
	a, b := pair(t, rawNoKeepalive, rawNoKeepalive)
	set := newSetOf(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	buf := make([]byte, 16)
	for round := 0; round < 3; round++ {
		// A packet: the flow is active, so the next wait waits on its ring.
		if _, err := a.Write([]byte{byte(round)}); err != nil {
			t.Fatal(err)
		}
		evs, err := set.Events(ctx)
		if err != nil || len(evs) != 1 || evs[0].Type != EventPkt {
			t.Fatalf("round %d: events %v, %v; want one FLOW_PKT", round, evs, err)
		}
		if n, err := b.Read(buf); err != nil || n != 1 || buf[0] != byte(round) {
			t.Fatalf("round %d: read %v, %v", round, buf[:n], err)
		}
		short, cancelShort := context.WithTimeout(ctx, 3*datapath.HotWindow)
		_, err = set.Events(short)
		cancelShort()
		if !errors.Is(err, oerr.ETIMEDOUT) {
			t.Fatalf("round %d: a wait with nothing to report returned %v, want ETIMEDOUT", round, err)
		}
		if b.ep.HotArmed() {
			t.Fatalf("round %d: a set's wait that took nothing left the ring armed for a hot reader", round)
		}
	}

	if err := b.SetFlags(FlagNonBlock); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte{9}); err != nil {
		t.Fatal(err)
	}
	if evs, err := set.Events(ctx); err != nil || len(evs) != 1 || evs[0].Type != EventPkt {
		t.Fatalf("events %v, %v; want one FLOW_PKT", evs, err)
	}
	if n, err := b.Read(buf); err != nil || n != 1 || buf[0] != 9 {
		t.Fatalf("non-blocking read %v, %v", buf[:n], err)
	}
	if _, err := b.Read(buf); !errors.Is(err, oerr.EAGAIN) {
		t.Fatalf("non-blocking read of an empty flow: %v, want EAGAIN", err)
	}
	if b.ep.HotArmed() {
		t.Fatal("a non-blocking read that found nothing left the ring armed for a hot reader")
	}
	if err := b.SetFlags(FlagRdWr); err != nil {
		t.Fatal(err)
	}

	// A blocking Read that took its packet from the ring itself leaves the
	// ring armed for the next Read; a Wait on a set of several flows that
	// then sleeps ends it.
	// A new set: the last one's own hot wait on b would end it too.
	set.Del(b)
	set2, err := newTestSet(b.p)
	if err != nil {
		t.Fatal(err)
	}
	defer set2.Close()
	_, c := pair(t, rawNoKeepalive, rawNoKeepalive)
	for _, f := range []*Flow{b, c} {
		if err := set2.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	armed := false
	for try := 0; try < 50 && !armed; try++ {
		// A packet first, so that the Read waits on the ring (the flow
		// is active); then one while it waits there. On a loaded machine
		// the packet may come before the Read waits: try again.
		if _, err := a.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		if n, err := b.Read(buf); err != nil || n != 1 {
			t.Fatalf("read %v, %v", buf[:n], err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := b.Read(make([]byte, 16))
			done <- err
		}()
		time.Sleep(time.Millisecond)
		if _, err := a.Write([]byte{2}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		armed = b.ep.HotArmed()
		drainEvents(ctx, t, set2) // the events of these packets
		if armed && b.ep.HotArmed() {
			t.Fatal("a set's wait on several flows slept with a flow's ring left armed by a Read")
		}
	}
	if !armed {
		t.Skip("no Read took its packet from the ring itself in 50 tries (a loaded machine)")
	}
}

// TestEventSetHotBesideQuietFlow: a set whose other flow is alive but quiet
// (its peer sent nothing for longer than the hot window, as a client across
// a layer that left without a word: no message tells a server that a flow
// is deallocated) waits for its busy flow's packets in the waiting goroutine
// itself, as a set whose other flows are gone does. A packet on the quiet
// flow ends that wait and is reported; while both flows are busy, Wait waits
// on neither ring; once the first one is quiet again, it waits on the busy
// one's again.
func TestEventSetHotBesideQuietFlow(t *testing.T) {
	if !testShm() {
		t.Skip("waiting on a flow's ring needs the shared-memory channel")
	}
	busyA, busyB := pair(t, rawNoKeepalive, rawNoKeepalive)
	quietA, quietB := pair(t, rawNoKeepalive, rawNoKeepalive)
	set := newSetOf(t, busyB, quietB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitOnce := func() chan waitResult { return waitAsync(ctx, set) }
	// deliver writes byte b from a to b, checks that the wait res reports
	// it on b, and reads it.
	deliver := func(res chan waitResult, a, b *Flow, x byte) {
		t.Helper()
		if _, err := a.Write([]byte{x}); err != nil {
			t.Fatal(err)
		}
		r := <-res
		if r.err != nil || len(r.evs) != 1 || r.evs[0].Flow != b || r.evs[0].Type != EventPkt {
			t.Fatalf("packet %d: events %v, %v; want one FLOW_PKT of %p", x, r.evs, r.err, b)
		}
		buf := make([]byte, 16)
		if n, err := b.Read(buf); err != nil || n != 1 || buf[0] != x {
			t.Fatalf("packet %d: read %v, %d bytes, %v", x, buf[:n], n, err)
		}
	}
	quietLong := func(f *Flow) bool {
		return monoNow()-f.lastRcv.Load() > int64(datapath.HotWindow)
	}
	// waitOnceHot starts a wait that waits on the busy flow's ring, once
	// the quiet flow has been quiet for longer than the hot window (a
	// flow counts as having received when it starts). The busy flow's
	// packet refreshes it first; on a loaded machine its window can pass
	// before the wait starts, and then the wait is ended with a packet and
	// tried again.
	waitOnceHot := func() chan waitResult {
		t.Helper()
		for !quietLong(quietB) {
			time.Sleep(time.Millisecond)
		}
		for {
			deliver(waitOnce(), busyA, busyB, 0)
			res := waitOnce()
			for end := time.Now().Add(100 * time.Millisecond); set.hotFlow.Load() != busyB && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
			if set.hotFlow.Load() == busyB {
				return res
			}
			if ctx.Err() != nil {
				t.Fatal("Wait never waited on the busy flow's ring beside a quiet flow")
			}
			deliver(res, busyA, busyB, 0)
		}
	}
	deliver(waitOnceHot(), busyA, busyB, 1)
	if set.hot != busyB {
		t.Fatal("the busy flow's packet did not reach Wait on its ring")
	}

	// The quiet flow speaks: the wait on the busy flow's ring ends and its
	// packet is reported.
	deliver(waitOnceHot(), quietA, quietB, 2)

	// Both flows busy: no wait on either ring.
	res := waitOnce()
	for end := time.Now().Add(5 * time.Millisecond); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if quietLong(quietB) || quietLong(busyB) {
			break // a window passed (a loaded machine): nothing to check
		}
		if h := set.hotFlow.Load(); h != nil {
			t.Fatalf("Wait waited on one ring with two flows busy")
		}
	}
	deliver(res, busyA, busyB, 3)

	// Quiet again: the busy flow's ring is waited on again.
	deliver(waitOnceHot(), busyA, busyB, 4)
}
