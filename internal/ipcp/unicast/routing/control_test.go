package routing

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

func links(out []Out) []int {
	var l []int
	for _, o := range out {
		l = append(l, o.Link)
	}
	slices.Sort(l)
	return l
}

// TestRouterEvents walks one member B of a line A-B-C through its events:
// announcements, replication, flooding, our own adjacencies from others
// refused, refresh and ageing, and the forwarding table it keeps.
func TestRouterEvents(t *testing.T) {
	const a, b, c = 10, 20, 30
	t0 := time.Unix(1000, 0)
	tab := pff.New(pff.Simple)
	r := NewRouter(RouterConfig{Self: b, PFF: []*pff.Table{tab, tab}}, t0)
	// Management links 1 (to A) and 2 (to C), DT links 11 and 12.
	if out := r.AddMgmt(a, 1); len(out) != 0 {
		t.Errorf("replicated an empty database: %v", out)
	}
	r.AddMgmt(c, 2)
	out := r.AddDT(t0, a, 11)
	if want := (wire.LSU{Src: b, Dst: a}); len(out) != 2 || out[0].LSU != want || !slices.Equal(links(out), []int{1, 2}) {
		t.Fatalf("AddDT sent %v", out)
	}
	r.AddDT(t0, c, 12)
	// A's and C's announcements arrive: flooded to the other side only.
	out = r.Receive(t0, 1, wire.LSU{Src: a, Dst: b}.Append(nil))
	if !slices.Equal(links(out), []int{2}) {
		t.Errorf("flooded to %v", links(out))
	}
	if out := r.Receive(t0, 2, wire.LSU{Src: a, Dst: b}.Append(nil)); len(out) != 0 {
		t.Errorf("duplicate flooded: %v", out)
	}
	r.Receive(t0, 2, wire.LSU{Src: c, Dst: b}.Append(nil))
	if fd, ok := tab.NextHop(a); !ok || fd != 11 {
		t.Errorf("to A: %d %v", fd, ok)
	}
	if fd, ok := tab.NextHop(c); !ok || fd != 12 {
		t.Errorf("to C: %d %v", fd, ok)
	}
	// Garbage and our own adjacency from the network are dropped.
	r.Receive(t0, 1, []byte{1, 2, 3})
	r.Receive(t0, 1, wire.LSU{Src: b, Dst: 99, Seqno: 7}.Append(nil))
	if s := r.Stats(); s.Malformed != 2 || s.Accepted != 2 {
		t.Errorf("stats %+v", s)
	}
	// A new Management neighbour gets the whole database.
	if out := r.AddMgmt(40, 3); len(out) != 4 {
		t.Errorf("replicated %d LSUs, want 4", len(out))
	}
	r.RemoveMgmt(3)
	// Refresh: our two adjacencies, seqno 1, to both links. C's
	// announcement is refreshed by C, A's is not: A's ages out and the
	// route to A goes (the link is only half announced).
	if d := r.NextDeadline(); !d.Equal(t0.Add(DefaultUpdate)) {
		t.Errorf("deadline %v", d)
	}
	now := t0
	for i := range 5 {
		now = now.Add(DefaultUpdate)
		r.Receive(now, 2, wire.LSU{Src: c, Dst: b, Seqno: uint64(i + 1)}.Append(nil))
		out := r.Tick(now)
		if i == 0 && (len(out) != 4 || out[0].LSU.Seqno != 1) {
			t.Errorf("first refresh %v", out)
		}
	}
	if _, ok := tab.NextHop(a); ok {
		t.Error("route to A kept after its announcement aged out")
	}
	if _, ok := tab.NextHop(c); !ok {
		t.Error("route to C lost")
	}
	// The DT link to C goes: no route, and no LSU about it.
	r.RemoveDT(now, 12)
	if _, ok := tab.NextHop(c); ok {
		t.Error("route to C kept after its link went")
	}
}

// TestRouterHold: with a hold time, a burst of changes costs one
// computation, at the deadline.
func TestRouterHold(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tab := pff.New(pff.Simple)
	r := NewRouter(RouterConfig{Self: 1, PFF: []*pff.Table{tab}, Hold: time.Second}, t0)
	r.AddDT(t0, 2, 5)
	for i := uint64(2); i < 10; i++ {
		r.Receive(t0, 9, wire.LSU{Src: i, Dst: i + 1}.Append(nil))
		r.Receive(t0, 9, wire.LSU{Src: i + 1, Dst: i}.Append(nil))
	}
	r.Receive(t0, 9, wire.LSU{Src: 2, Dst: 1}.Append(nil))
	if tab.Len() != 0 || r.Stats().Recomputed != 0 {
		t.Fatal("computed before the hold time")
	}
	if d := r.NextDeadline(); !d.Equal(t0.Add(time.Second)) {
		t.Errorf("deadline %v", d)
	}
	r.Tick(t0.Add(time.Second))
	if tab.Len() != 9 || r.Stats().Recomputed != 1 {
		t.Errorf("%d routes after %d computations", tab.Len(), r.Stats().Recomputed)
	}
}

func FuzzRouterReceive(f *testing.F) {
	f.Add(wire.LSU{Src: 5, Dst: 6, Seqno: 1}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab := pff.New(pff.Alternate)
		r := NewRouter(RouterConfig{Self: 1, Algo: LFA, PFF: []*pff.Table{tab}}, time.Unix(0, 0))
		r.AddMgmt(2, 1)
		r.AddDT(time.Unix(0, 0), 2, 11)
		r.Receive(time.Unix(0, 0), 1, wire.LSU{Src: 2, Dst: 1}.Append(nil))
		r.Receive(time.Unix(1, 0), 1, b)
		if fd, ok := tab.NextHop(2); !ok || fd != 11 {
			t.Fatalf("route to the neighbour lost: %d %v", fd, ok)
		}
	})
}

// TestRouterFloodOrder: LSUs go out on the Management links in ascending
// order of link, whatever the order the links came in, each link once;
// a refresh goes in ascending order of destination; a removed link gets
// nothing.
func TestRouterFloodOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewRouter(RouterConfig{Self: 1, PFF: []*pff.Table{pff.New(pff.Simple)}}, t0)
	for _, l := range []int{9, 2, 5, 2} {
		r.AddMgmt(uint64(100+l), l)
	}
	order := func(out []Out) []int {
		var l []int
		for _, o := range out {
			l = append(l, o.Link)
		}
		return l
	}
	if out := r.AddDT(t0, 7, 70); !slices.Equal(order(out), []int{2, 5, 9}) {
		t.Errorf("AddDT flooded on %v", order(out))
	}
	if out := r.Receive(t0, 5, wire.LSU{Src: 7, Dst: 1}.Append(nil)); !slices.Equal(order(out), []int{2, 9}) {
		t.Errorf("Receive flooded on %v", order(out))
	}
	r.AddDT(t0, 3, 30)
	r.RemoveMgmt(5)
	out := r.Tick(t0.Add(DefaultUpdate))
	var got []string
	for _, o := range out {
		got = append(got, fmt.Sprintf("%d:%d", o.Link, o.LSU.Dst))
	}
	if want := []string{"2:3", "9:3", "2:7", "9:7"}; !slices.Equal(got, want) {
		t.Errorf("refresh sent %v, want %v", got, want)
	}
}
