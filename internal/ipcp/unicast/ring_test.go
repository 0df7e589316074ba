package unicast

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// ringConf is a layer with LFA routing whose adjacencies are refreshed
// every second and age out after three, so that the tests take seconds.
func ringConf() irm.Config {
	c := irm.DefaultConfig(irm.Unicast, "L")
	c.Unicast.LinkState = irm.LinkStateConfig{Policy: irm.LSLFA, Recalc: 1, Update: 1, Timeout: 3}
	return c
}

// conn is what a test sees of one of a member's connections.
type conn struct {
	id        int
	comp, dst string
	peer      uint64
}

// conns returns the member's connections, by id.
func (n *node) conns() []conn {
	nb := n.u.nb
	nb.mu.Lock()
	defer nb.mu.Unlock()
	var out []conn
	for _, nc := range nb.conns {
		out = append(out, conn{nc.id, nc.comp, nc.c.Dst, nc.c.Peer.Addr})
	}
	slices.SortFunc(out, func(a, b conn) int { return a.id - b.id })
	return out
}

// converged fails unless every member has a route to every other one.
func converged(nodes []*node) error {
	for i, a := range nodes {
		for j, b := range nodes {
			if i == j {
				continue
			}
			if _, ok := a.u.pff.NextHop(b.u.Addr()); !ok {
				return fmt.Errorf("member %d has no route to member %d", i, j)
			}
		}
	}
	return nil
}

// ring builds a layer of four members a, b, c, d ("a" also answers to the
// layer's name): a bootstraps, the others enroll through the layer's
// name, and the links a-b, b-c, c-d, d-a are connected, both of a's by a
// (so that a can disconnect either). It returns once routes are complete.
func ring(t *testing.T) (*memNet, []*node) {
	t.Helper()
	n := newMemNet()
	a, b, c, d := newNode(t, n, "a", "L"), newNode(t, n, "b"), newNode(t, n, "c"), newNode(t, n, "d")
	ctx := context.Background()
	if _, _, err := a.u.Bootstrap(ctx, ringConf().Message()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*node{b, c, d} {
		if _, _, err := m.u.Enroll(ctx, "L"); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []struct {
		from *node
		to   string
	}{{a, "b"}, {a, "d"}, {b, "c"}, {c, "d"}} {
		if err := e.from.u.Connect(ctx, e.to, "", qos.Raw); err != nil {
			t.Fatal(err)
		}
	}
	nodes := []*node{a, b, c, d}
	eventually(t, "routes in the ring", func() error { return converged(nodes) })
	return n, nodes
}

// exchange sends an SDU each way between x and y until one gets across in
// each direction (packets may be lost while routes change), within wait.
// Late copies of these probes are for drain to skip.
func exchange(t *testing.T, x, y *datapath.Endpoint) {
	t.Helper()
	buf := make([]byte, datapath.MaxSDU+1)
	for _, d := range []struct{ from, to *datapath.Endpoint }{{x, y}, {y, x}} {
		eventually(t, "a probe across", func() error {
			if err := d.from.WritePacket(datapath.KindData, []byte("\x00probe")); err != nil {
				return err
			}
			d.to.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, sdu, err := d.to.ReadPacket(buf)
			if err != nil {
				return err
			}
			if string(sdu) != "probe" {
				return fmt.Errorf("read %q", sdu)
			}
			return nil
		})
	}
}

// echoSkipping is echo where probes left over from exchange are skipped.
func echoSkipping(t *testing.T, x, y *datapath.Endpoint, n int) {
	t.Helper()
	buf := make([]byte, datapath.MaxSDU+1)
	for i := range n {
		for _, d := range []struct {
			from, to *datapath.Endpoint
			msg      string
		}{{x, y, fmt.Sprintf("ping %d", i)}, {y, x, fmt.Sprintf("pong %d", i)}} {
			if err := d.from.WritePacket(datapath.KindData, append([]byte{0}, d.msg...)); err != nil {
				t.Fatal(err)
			}
			for {
				d.to.SetReadDeadline(time.Now().Add(wait))
				kind, sdu, err := d.to.ReadPacket(buf)
				if err == nil && string(sdu) == "probe" {
					continue
				}
				if err != nil || kind != datapath.KindData || string(sdu) != d.msg {
					t.Fatalf("sent %q, read %d %q %v", d.msg, kind, sdu, err)
				}
				break
			}
		}
	}
}

// TestRingLinkCut: in a ring of four with LFA, a flow between a and c
// (two hops either way round) survives the cut of the first link of its
// path: a moves to its loop-free alternate at once, the flow carries data
// again (a few packets may be lost meanwhile) and stays the same flow, and
// routing reconverges: the cut adjacency leaves every member's database
// and the routes avoid it.
func TestRingLinkCut(t *testing.T) {
	leakcheck.Check(t)
	_, nodes := ring(t)
	a, c := nodes[0], nodes[2]
	ctx := context.Background()
	h, _ := hash.Sum(hash.SHA3_256, "server")
	if err := c.u.Reg(h); err != nil {
		t.Fatal(err)
	}
	eventually(t, "query from a", func() error { return a.u.Query(ctx, h) })
	x, y := flowBetween(t, a, c, h)
	echo(t, x, y, 5)

	// a reaches c through b or d, and has the other as its alternate once
	// the link-state database holds the whole ring (under load the flow can
	// come up through one path before the last LSU arrived).
	eventually(t, "a primary and an alternate next hop from a to c", func() error {
		if routes := a.u.pff.Routes()[c.u.Addr()]; len(routes) != 2 {
			return fmt.Errorf("a's next hops to c: %v", routes)
		}
		return nil
	})
	hop, _ := a.u.pff.NextHop(c.u.Addr())
	var cut, other conn
	for _, k := range a.conns() {
		if k.comp == connmgr.CompDT && k.id == hop {
			cut = k
		} else if k.comp == connmgr.CompDT {
			other = k
		}
	}
	if cut.dst == "" || other.dst == "" {
		t.Fatalf("a's connections %+v, next hop %d", a.conns(), hop)
	}
	var far *node // the member on the cut link's other end
	for _, m := range nodes {
		if m.u.Addr() == cut.peer {
			far = m
		}
	}
	if err := a.u.Disconnect(ctx, cut.dst, ""); err != nil {
		t.Fatal(err)
	}
	// Both of a's connections to the far end are gone, and a forwards to
	// c through the other neighbour already.
	for _, k := range a.conns() {
		if k.peer == cut.peer {
			t.Errorf("a still has %+v", k)
		}
	}
	if hop, ok := a.u.pff.NextHop(c.u.Addr()); !ok || hop != other.id {
		t.Errorf("right after the cut a forwards to c on %d (%v), want %d", hop, ok, other.id)
	}
	// The far end drops its side when its flows fail.
	eventually(t, "the far end's side of the cut", func() error {
		for _, k := range far.conns() {
			if k.peer == a.u.Addr() {
				return fmt.Errorf("%s still has %+v", cut.dst, k)
			}
		}
		return nil
	})

	exchange(t, x, y)
	eventually(t, "reconvergence", func() error {
		if err := converged(nodes); err != nil {
			return err
		}
		for i, m := range nodes {
			for _, adj := range m.u.router.Database() {
				if adj.Src == a.u.Addr() && adj.Dst == cut.peer || adj.Src == cut.peer && adj.Dst == a.u.Addr() {
					return fmt.Errorf("member %d still has the adjacency %#x-%#x", i, adj.Src, adj.Dst)
				}
			}
		}
		if hop, _ := far.u.pff.NextHop(a.u.Addr()); slices.ContainsFunc(far.conns(), func(k conn) bool {
			return k.id == hop && k.peer == a.u.Addr()
		}) {
			return errors.New("the far end routes to a over the cut link")
		}
		return nil
	})
	echoSkipping(t, x, y, 20)
	if n := a.u.fa.Flows(); n != 1 {
		t.Errorf("a has %d flows, want the one it had", n)
	}
}

// TestRingRestart: a member that restarts (closed, then a new IPCP with
// the same names enrolls again and connects to its neighbours) gets a new
// address, and the name it registers again is found at its new address by
// a member that had resolved it before, and reached by a flow.
func TestRingRestart(t *testing.T) {
	leakcheck.Check(t)
	n, nodes := ring(t)
	a, b, c, d := nodes[0], nodes[1], nodes[2], nodes[3]
	ctx := context.Background()
	h, _ := hash.Sum(hash.SHA3_256, "server")
	if err := b.u.Reg(h); err != nil {
		t.Fatal(err)
	}
	eventually(t, "query from d", func() error {
		got, err := d.u.dir.query(ctx, h)
		if err == nil && got != b.u.Addr() {
			err = fmt.Errorf("found at %#x, want %#x", got, b.u.Addr())
		}
		return err
	})
	old := b.u.Addr()
	b.u.Close()

	nb := newNode(t, n, "b")
	if _, _, err := nb.u.Enroll(ctx, "L"); err != nil {
		t.Fatal(err)
	}
	if nb.u.Addr() == old {
		t.Fatalf("the new member has the old address %#x", old)
	}
	for _, dst := range []string{"a", "c"} {
		if err := nb.u.Connect(ctx, dst, "", qos.Raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := nb.u.Reg(h); err != nil {
		t.Fatal(err)
	}
	nodes = []*node{a, nb, c, d}
	eventually(t, "routes with the new member", func() error { return converged(nodes) })
	eventually(t, "the name at its new address", func() error {
		got, err := d.u.dir.query(ctx, h)
		if err == nil && got != nb.u.Addr() {
			err = fmt.Errorf("found at %#x, want %#x", got, nb.u.Addr())
		}
		return err
	})
	x, y := flowBetween(t, d, nb, h)
	echo(t, x, y, 5)
}
