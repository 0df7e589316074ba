package unicast

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// node is a member of a test layer with its fake skeleton and lower layer.
type node struct {
	u *Unicast
	s *skel
	l *memLower
}

func newNode(t *testing.T, n *memNet, names ...string) *node {
	s := newSkel()
	l := n.lower(names...)
	u := newUnicast(s, quiet, l)
	t.Cleanup(u.Close)
	return &node{u: u, s: s, l: l}
}

// eventually retries f until it succeeds or wait passes; the last error
// fails the test.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	end := time.Now().Add(wait)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flowBetween allocates a flow from a to the name with hash h, registered
// at b, and returns the two applications' ends.
func flowBetween(t *testing.T, a, b *node, h []byte) (*datapath.Endpoint, *datapath.Endpoint) {
	t.Helper()
	fa := a.s.newFlow(t)
	if err := a.u.FlowAlloc(context.Background(), fa, h, qos.Raw, nil); err != nil {
		t.Fatal(err)
	}
	fb := b.s.Flow(recv(t, b.s.arrived, "flow arrival"))
	if err := b.u.FlowAllocResp(context.Background(), fb, 0, nil); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, a.s.replies, "allocation reply"); r.id != fa.ID || r.resp != 0 {
		t.Fatalf("reply %+v", r)
	}
	x, y := a.s.app(fa.ID), b.s.app(fb.ID)
	t.Cleanup(func() { // before the members close, as the IRMd would
		x.Close()
		a.s.release(a.u, fa)
		y.Close()
		b.s.release(b.u, fb)
	})
	return x, y
}

// echo sends n rounds of SDUs between x and y, checking each arrives: a
// ping from x, a pong from y and an empty SDU (a keepalive's size) from x.
func echo(t *testing.T, x, y *datapath.Endpoint, n int) {
	t.Helper()
	buf := make([]byte, datapath.MaxSDU+1)
	for i := range n {
		for _, d := range []struct {
			from, to *datapath.Endpoint
			msg      string
		}{{x, y, fmt.Sprintf("ping %d", i)}, {y, x, fmt.Sprintf("pong %d", i)}, {x, y, ""}} {
			if err := d.from.WritePacket(datapath.KindData, append([]byte{0}, d.msg...)); err != nil {
				t.Fatal(err)
			}
			d.to.SetReadDeadline(time.Now().Add(wait))
			kind, sdu, err := d.to.ReadPacket(buf)
			if err != nil || kind != datapath.KindData || string(sdu) != d.msg {
				t.Fatalf("sent %q, read %d %q %v", d.msg, kind, sdu, err)
			}
		}
	}
}

// TestLineOfThree: B enrolls through A (by the layer's name), C through B
// (by B's name); A-B and B-C are connected. Each got the layer's
// configuration and an address of its own; a name registered at C is
// found from A through the DHT, and a flow from A to C carries data both
// ways through B, which forwards it.
func TestLineOfThree(t *testing.T) {
	leakcheck.Check(t)
	n := newMemNet()
	a, b, c := newNode(t, n, "a", "L"), newNode(t, n, "b"), newNode(t, n, "c")
	conf := irm.DefaultConfig(irm.Unicast, "L")
	conf.Unicast.MaxTTL = 7
	if _, _, err := a.u.Bootstrap(context.Background(), conf.Message()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, e := range []struct {
		n   *node
		dst string
	}{{b, "L"}, {c, "b"}} {
		layer, algo, err := e.n.u.Enroll(ctx, e.dst)
		if err != nil || layer != "L" || algo != hash.SHA3_256 {
			t.Fatalf("enroll through %s: %q %v %v", e.dst, layer, algo, err)
		}
	}
	if b.u.layer.MaxTTL != 7 || c.u.layer.MaxTTL != 7 {
		t.Errorf("the TTL did not travel: %d %d", b.u.layer.MaxTTL, c.u.layer.MaxTTL)
	}
	if b.u.layer.DHT.Peer != a.u.Addr() || c.u.layer.DHT.Peer != b.u.Addr() {
		t.Errorf("directory peers %#x %#x, want %#x %#x", b.u.layer.DHT.Peer, c.u.layer.DHT.Peer, a.u.Addr(), b.u.Addr())
	}
	if a.u.Addr() == b.u.Addr() || b.u.Addr() == c.u.Addr() || a.u.Addr() == c.u.Addr() {
		t.Fatalf("addresses %#x %#x %#x", a.u.Addr(), b.u.Addr(), c.u.Addr())
	}
	if err := a.u.Connect(ctx, "b", "", qos.Raw); err != nil {
		t.Fatal(err)
	}
	if err := c.u.Connect(ctx, "b", "*", qos.Raw); err != nil {
		t.Fatal(err)
	}

	h, _ := hash.Sum(hash.SHA3_256, "server")
	if err := c.u.Reg(h); err != nil {
		t.Fatal(err)
	}
	eventually(t, "query from A", func() error { return a.u.Query(ctx, h) })
	x, y := flowBetween(t, a, c, h)
	echo(t, x, y, 20)
	if st := b.u.dt.Stats(); st.Forwarded < 40 {
		t.Errorf("B forwarded %d packets, want at least the 40 of the flow", st.Forwarded)
	}
}

// TestLinkCut: when C disconnects from B, B drops its adjacency at once
// and A's route to C ages out (no LSU withdraws an adjacency: the others
// stop hearing its refreshes); connecting again brings the route back and
// a flow to C's name works.
func TestLinkCut(t *testing.T) {
	leakcheck.Check(t)
	n := newMemNet()
	a, b, c := newNode(t, n, "a", "L"), newNode(t, n, "b"), newNode(t, n, "c")
	ctx := context.Background()
	// Adjacencies are refreshed every second and age out after three.
	conf := irm.DefaultConfig(irm.Unicast, "L")
	conf.Unicast.LinkState = irm.LinkStateConfig{Policy: irm.LSSimple, Recalc: 1, Update: 1, Timeout: 3}
	if _, _, err := a.u.Bootstrap(ctx, conf.Message()); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*node{b, c} {
		if _, _, err := e.u.Enroll(ctx, "L"); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []struct {
		n   *node
		dst string
	}{{a, "b"}, {c, "b"}} {
		if err := e.n.u.Connect(ctx, e.dst, "", qos.Raw); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := hash.Sum(hash.SHA3_256, "server")
	c.u.Reg(h)
	eventually(t, "query from A", func() error { return a.u.Query(ctx, h) })

	if err := c.u.Disconnect(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "C unreachable from A", func() error {
		if _, ok := a.u.pff.NextHop(c.u.Addr()); ok {
			return errors.New("A still has a route to C")
		}
		return nil
	})
	if err := c.u.Connect(ctx, "b", "", qos.Raw); err != nil {
		t.Fatal(err)
	}
	eventually(t, "route back", func() error {
		if _, ok := a.u.pff.NextHop(c.u.Addr()); !ok {
			return errors.New("no route from A to C")
		}
		if _, ok := c.u.pff.NextHop(a.u.Addr()); !ok {
			return errors.New("no route from C to A")
		}
		return nil
	})
	x, y := flowBetween(t, a, c, h)
	echo(t, x, y, 5)
}
