package flow

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// Reads that leave their flow's ring armed for the next Read (a hot read
// took the ring) while the flow is in an event set: whoever is to wait next
// must end that (EndHot), or the flow's receive goroutine sleeps lazily,
// waiting for a Read to come back, and the flow's next packet reaches the
// set up to a hot window (10 ms) late.

// readHotOnce makes a blocking Read of b wait on its ring (a packet first
// makes the flow active) and take the packet second from it; it returns the
// Read's error and whether the ring was left armed. If set is not nil, what
// the first packet's Read left noted in it is ended first, as a Wait that
// waited in between would have, so that only the second Read's note counts.
func readHotOnce(t *testing.T, a, b *Flow, second, rbuf []byte, set *EventSet) (error, bool) {
	t.Helper()
	buf := make([]byte, 64)
	if _, err := a.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Read(buf); err != nil || n != 1 {
		t.Fatalf("read %v, %v", buf[:n], err)
	}
	if set != nil {
		set.beginWait(nil)
		set.endWait()
	}
	done := make(chan error, 1)
	go func() {
		_, err := b.Read(rbuf)
		done <- err
	}()
	time.Sleep(time.Millisecond)
	if _, err := a.Write(second); err != nil {
		t.Fatal(err)
	}
	err := <-done
	return err, b.ep.HotArmed()
}

// crowd adds to set more flows than Wait scans for one to wait on itself
// (maxHotScan; see EventSet.hotCandidate), so that it waits only on its
// kick channel, as a server's with many clients does.
func crowd(t *testing.T, set *EventSet) {
	t.Helper()
	for range maxHotScan {
		_, c := pair(t, rawNoKeepalive, rawNoKeepalive)
		if err := set.Add(c); err != nil {
			t.Fatal(err)
		}
	}
}

// newSetOf returns a new event set, of the process of the flows, holding
// them; the test closes it.
func newSetOf(t *testing.T, flows ...*Flow) *EventSet {
	t.Helper()
	set, err := newTestSet(flows[0].p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	for _, f := range flows {
		if err := set.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

// waitResult is what an EventSet.Events call returned.
type waitResult struct {
	evs []Event
	err error
}

// waitAsync calls set.Events in a goroutine of its own, and sends what it
// returned on the channel.
func waitAsync(ctx context.Context, set *EventSet) chan waitResult {
	c := make(chan waitResult, 1)
	go func() {
		evs, err := set.Events(ctx)
		c <- waitResult{evs, err}
	}()
	return c
}

// drainEvents collects the set's events until none came for three hot
// windows.
func drainEvents(ctx context.Context, t *testing.T, set *EventSet) {
	t.Helper()
	for {
		short, cancel := context.WithTimeout(ctx, 3*datapath.HotWindow)
		_, err := set.Events(short)
		cancel()
		if errors.Is(err, oerr.ETIMEDOUT) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestFailedHotReadLeavesNothingArmed: a Read that took its message from the
// ring itself and then failed (longer than the caller's buffer, with
// FlagRNoPart: EMSGSIZE) left the ring armed like a Read that succeeds, but
// was not noted in its set, so the set's Wait slept with it armed.
func TestFailedHotReadLeavesNothingArmed(t *testing.T) {
	if !testShm() {
		t.Skip("hot reads need the shared-memory channel")
	}
	a, b := pair(t, rawNoKeepalive, rawNoKeepalive)
	set := newSetOf(t, b)
	crowd(t, set)
	if err := b.SetFlags(FlagRdWr | FlagRNoPart); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for try := 0; try < 50; try++ {
		drainEvents(ctx, t, set)
		err, armed := readHotOnce(t, a, b, []byte{2, 2, 2, 2}, make([]byte, 2), set)
		if !errors.Is(err, oerr.EMSGSIZE) {
			t.Fatalf("read of a 4-byte message into 2 bytes with FlagRNoPart: %v, want EMSGSIZE", err)
		}
		if !armed {
			continue // the packet came before the Read waited (a loaded machine)
		}
		drainEvents(ctx, t, set)
		if b.ep.HotArmed() {
			t.Fatal("the set's Wait slept with the ring left armed by a hot Read that failed")
		}
		return
	}
	t.Skip("no Read took its packet from the ring itself in 50 tries (a loaded machine)")
}

// TestHotReadBesideWaitingSet: a Read that leaves its ring armed while
// another goroutine's Wait on the flow's set is already waiting (it ended
// what was noted before it began) ends that itself: the Wait, asleep, would
// not before it wakes, and a record that brings no event (a keepalive, an
// acknowledgement) would not wake it.
func TestHotReadBesideWaitingSet(t *testing.T) {
	if !testShm() {
		t.Skip("hot reads need the shared-memory channel")
	}
	a, b := pair(t, rawNoKeepalive, rawNoKeepalive)
	set := newSetOf(t, b)
	crowd(t, set)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() { // the set's waiter, as a server's event loop
		defer close(wdone)
		for wctx.Err() == nil {
			set.Events(wctx)
		}
	}()
	defer func() { wcancel(); <-wdone }()
	waitingUnarmed := func() bool {
		set.mu.Lock()
		w := set.waiting
		set.mu.Unlock()
		return w && !b.ep.HotArmed()
	}
	armedTries := 0
	for try := 0; try < 20; try++ {
		_, armed := readHotOnce(t, a, b, []byte{2}, make([]byte, 16), nil)
		if !armed {
			continue
		}
		armedTries++
		// The waiter may have woken for the packets' events; once it
		// waits again, the ring must not be armed.
		end := time.Now().Add(time.Second)
		for !waitingUnarmed() && time.Now().Before(end) {
			time.Sleep(100 * time.Microsecond)
		}
		if !waitingUnarmed() {
			t.Fatalf("try %d: the set's Wait waits with the ring left armed by a Read of another goroutine", try)
		}
	}
	if armedTries == 0 {
		t.Skip("no Read took its packet from the ring itself in 20 tries (a loaded machine)")
	}
}

// TestDelEndsNotedHotRead: a flow whose Read left its ring armed and which
// leaves the set before the set's Wait ended that has it ended by Del: no
// Wait of that set will.
func TestDelEndsNotedHotRead(t *testing.T) {
	if !testShm() {
		t.Skip("hot reads need the shared-memory channel")
	}
	a, b := pair(t, rawNoKeepalive, rawNoKeepalive)
	set := newSetOf(t, b)
	for try := 0; try < 50; try++ {
		if _, armed := readHotOnce(t, a, b, []byte{2}, make([]byte, 16), nil); !armed {
			continue
		}
		set.mu.Lock()
		_, noted := set.hotLeft[b]
		set.mu.Unlock()
		if !noted {
			t.Fatal("a Read that left its ring armed was not noted in its set")
		}
		set.Del(b)
		if b.ep.HotArmed() {
			t.Fatal("a flow removed from its set is left with its ring armed by a Read")
		}
		return
	}
	t.Skip("no Read took its packet from the ring itself in 50 tries (a loaded machine)")
}
