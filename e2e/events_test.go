package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// waitEvents collects events from s until want returns true or 10 s pass.
func waitEvents(t *testing.T, s *flow.EventSet, want func([]flow.Event) bool) []flow.Event {
	t.Helper()
	var all []flow.Event
	deadline := time.Now().Add(10 * time.Second)
	for !want(all) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		evs, err := s.Events(ctx)
		cancel()
		if err != nil {
			t.Fatalf("waiting for events (have %d): %v", len(all), err)
		}
		all = append(all, evs...)
	}
	return all
}

func count(evs []flow.Event, typ flow.EventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestEventSetManyFlows waits on 50 flows at once: one EventPkt per queued
// message, each read then returns without blocking.
func TestEventSetManyFlows(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local1", "local-layer")
	e.register("echo.events", pid)
	e.serve("echo.events")
	set, err := flow.NewEventSet()
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	const n = 50
	flows := map[*flow.Flow]int{}
	for i := range n {
		f := e.alloc("echo.events", qos.Raw)
		if err := set.Add(f); err != nil {
			t.Fatal(err)
		}
		f.SetFlags(flow.FlagRdWr | flow.FlagRNoBlock)
		flows[f] = i
	}
	for f, i := range flows {
		for j := range 3 {
			f.Write([]byte(fmt.Sprintf("%d/%d", i, j)))
		}
	}
	evs := waitEvents(t, set, func(evs []flow.Event) bool { return count(evs, flow.EventPkt) >= 3*n })
	if got := count(evs, flow.EventPkt); got != 3*n {
		t.Fatalf("%d packet events, want %d", got, 3*n)
	}
	buf := make([]byte, 64)
	next := map[*flow.Flow]int{}
	for _, ev := range evs {
		k, err := ev.Flow.Read(buf)
		if err != nil {
			t.Fatalf("read after EventPkt: %v", err)
		}
		want := fmt.Sprintf("%d/%d", flows[ev.Flow], next[ev.Flow])
		if string(buf[:k]) != want {
			t.Fatalf("read %q, want %q", buf[:k], want)
		}
		next[ev.Flow]++
	}
	// Nothing more is pending: a short wait times out.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := set.Events(ctx); !isErrno(err, flow.ETIMEDOUT) {
		t.Fatalf("wait on a drained set: %v, want ETIMEDOUT", err)
	}
	// A flow belongs to one set at a time.
	other, err := flow.NewEventSet()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for f := range flows {
		if err := other.Add(f); !isErrno(err, flow.EPERM) {
			t.Fatalf("adding a flow to a second set: %v, want EPERM", err)
		}
		set.Del(f)
		if set.Has(f) {
			t.Fatal("Del left the flow in the set")
		}
		if err := other.Add(f); err != nil {
			t.Fatal(err)
		}
		break
	}
}

// TestEventSetUpDownDealloc checks EventDown/EventUp from the peer's flags and
// EventDealloc when the peer deallocates.
func TestEventSetUpDownDealloc(t *testing.T) {
	e := setup(t, rig.Options{})
	if err := e.irm.BindProcess(e.ctx(), os.Getpid(), "updown"); err != nil {
		t.Fatal(err)
	}
	accepted := make(chan *flow.Flow, 1)
	go func() {
		f, err := flow.Accept(e.ctx())
		if err != nil {
			t.Error(err)
			close(accepted)
			return
		}
		accepted <- f
	}()
	f := e.alloc("updown", qos.Raw)
	peer := <-accepted
	if peer == nil {
		t.FailNow()
	}
	set, err := flow.NewEventSet()
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	set.Add(f)

	peer.SetFlags(flow.FlagRdWr | flow.FlagDown)
	waitEvents(t, set, func(evs []flow.Event) bool { return count(evs, flow.EventDown) == 1 })
	f.SetReadTimeout(time.Second)
	if _, err := f.Read(make([]byte, 8)); !isErrno(err, flow.EFLOWDOWN) {
		t.Fatalf("read from a flow marked down: %v, want EFLOWDOWN", err)
	}
	if _, err := f.Write([]byte("x")); !isErrno(err, flow.EFLOWDOWN) {
		t.Fatalf("write to a flow marked down: %v, want EFLOWDOWN", err)
	}
	peer.SetFlags(flow.FlagRdWr)
	waitEvents(t, set, func(evs []flow.Event) bool { return count(evs, flow.EventUp) == 1 })
	peer.Write([]byte("up again"))
	buf := make([]byte, 16)
	if n, err := f.Read(buf); err != nil || string(buf[:n]) != "up again" {
		t.Fatalf("read after up: %q, %v", buf[:n], err)
	}

	peer.Close()
	waitEvents(t, set, func(evs []flow.Event) bool { return count(evs, flow.EventDealloc) == 1 })
	if _, err := f.Read(buf); !isErrno(err, flow.EFLOWDOWN) {
		t.Fatalf("read after the peer left: %v, want EFLOWDOWN", err)
	}
}

// TestEventSetLimit checks that a process gets 31 event sets, as the reference.
func TestEventSetLimit(t *testing.T) {
	setup(t, rig.Options{})
	var sets []*flow.EventSet
	defer func() {
		for _, s := range sets {
			s.Close()
		}
	}()
	for range 31 {
		s, err := flow.NewEventSet()
		if err != nil {
			t.Fatalf("set %d: %v", len(sets)+1, err)
		}
		sets = append(sets, s)
	}
	if _, err := flow.NewEventSet(); !isErrno(err, flow.ENOMEM) {
		t.Fatalf("32nd set: %v, want ENOMEM", err)
	}
	sets[0].Close()
	s, err := flow.NewEventSet()
	if err != nil {
		t.Fatalf("set after freeing one: %v", err)
	}
	sets[0] = s
}
