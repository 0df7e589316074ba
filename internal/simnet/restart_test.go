package simnet

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/qos"
)

// exchange sends k numbered packets each way between the ends of a flow,
// one at a time, and fails unless each arrives intact.
func exchange(t *testing.T, f, g *Flow, k int) {
	t.Helper()
	for i := range k {
		for _, e := range [2][2]*Flow{{f, g}, {g, f}} {
			msg := fmt.Appendf(nil, "packet %d", i)
			if err := e[0].Write(msg); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			if got, err := e[1].Read(time.Second); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("read %q, %v; want %q", got, err, msg)
			}
		}
	}
}

// crossing returns two members whose route runs through via (neither of
// them via), or false if there is none.
func crossing(n *Net, via *Node) (a, b *Node, ok bool) {
	for _, a := range n.Nodes() {
		for _, b := range n.Nodes() {
			if a == b || a == via || b == via {
				continue
			}
			if p, err := n.Route(a, b); err == nil && slices.Contains(p, via) {
				return a, b, true
			}
		}
	}
	return nil, nil, false
}

// connectedWithout reports whether the members stay connected over up
// links without v.
func connectedWithout(n *Net, v *Node) bool {
	adj := n.upAdjacency()
	var start *Node
	for _, nd := range n.Nodes() {
		if nd != v {
			start = nd
			break
		}
	}
	seen := map[*Node]bool{start: true}
	q := []*Node{start}
	for len(q) > 0 {
		x := q[0]
		q = q[1:]
		for _, y := range adj[x] {
			if y != v && !seen[y] {
				seen[y] = true
				q = append(q, y)
			}
		}
	}
	return len(seen) == len(n.Nodes())-1
}

// TestMeshRestart: a member of the twenty-member mesh stops (its process
// dies: its links go, nobody announces it) and starts again as a fresh
// member with a new address and empty state, linked to the same
// neighbours, with the same names. While it is gone the routes converge
// without it (nobody keeps a route to its address, once its adjacencies
// aged out), a flow that ran across it goes on around it, and a flow to
// its name cannot be allocated; once it is back, every member routes to
// its new address, its name leads to it again, and flows to it and across
// it carry every packet.
func TestMeshRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(t, Config{Seed: 21})
		randomMesh(t, n, 20, 3.5, 21, LinkConfig{Delay: 2 * time.Millisecond})
		n.WaitConverged(10*time.Millisecond, time.Minute)

		// The member to restart: one whose loss leaves the mesh connected
		// and that a route runs through.
		var v, s, d *Node
		for _, c := range n.Nodes() {
			if a, b, ok := crossing(n, c); ok && connectedWithout(n, c) {
				v, s, d = c, a, b
				break
			}
		}
		if v == nil {
			t.Fatal("no member to restart: none is crossed and leaves the mesh connected")
		}
		t.Logf("restarting %s (%#x); %s→%s runs through it", v.Name, v.Addr, s.Name, d.Name)
		v.Register("service")
		f, err := s.Alloc("service", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		g, err := v.Accept(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, f, g, 10)
		f.Close()
		d.Register("across")
		fa, err := s.Alloc("across", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		ga, err := d.Accept(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		st := startStream(fa, ga, 20*time.Millisecond)
		flowing(t, st, 10*time.Second)

		n.Stop(v)
		took := n.WaitConverged(time.Second, 3*time.Minute)
		t.Logf("%s stopped: routes converged without it in %v", v.Name, took)
		if p, _ := n.Route(s, d); slices.Contains(p, v) {
			t.Errorf("route %v still runs through the stopped member", names(p))
		}
		took = flowing(t, st, time.Second)
		t.Logf("%s→%s flowing around it (within %v of convergence)", s.Name, d.Name, took)
		if _, err := s.Alloc("service", qos.Raw); err == nil {
			t.Error("allocated a flow to a name of the stopped member")
		}

		w := n.Restart(v, v.Name+"+")
		took = n.WaitConverged(10*time.Millisecond, time.Minute)
		t.Logf("%s restarted as %s (%#x): routes converged in %v", v.Name, w.Name, w.Addr, took)
		f, err = s.Alloc("service", qos.Raw)
		if err != nil {
			t.Fatalf("flow to the restarted member's name: %v", err)
		}
		g, err = w.Accept(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, f, g, 100)

		a, b, ok := crossing(n, w)
		if !ok {
			t.Fatal("no route runs through the restarted member")
		}
		b.Register("through")
		f2, err := a.Alloc("through", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		g2, err := b.Accept(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		before := w.DT.Stats().Forwarded
		exchange(t, f2, g2, 100)
		if fw := w.DT.Stats().Forwarded - before; fw < 200 {
			t.Errorf("%s→%s through %s: it forwarded %d packets, want at least 200", a.Name, b.Name, w.Name, fw)
		}
		flowing(t, st, time.Second)
		sent, received := st.end()
		t.Logf("%s→%s over the stop and restart: sent %v, received %v", s.Name, d.Name, sent, received)
	})
}
