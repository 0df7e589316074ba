package unicast

import (
	"context"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// readLimit reads the next packet of ep, which must be a KindMTU record,
// and returns the limit it says.
func readLimit(t *testing.T, ep *datapath.Endpoint, who string) int {
	t.Helper()
	buf := make([]byte, datapath.MaxSDU+1)
	ep.SetReadDeadline(time.Now().Add(wait))
	kind, sdu, err := ep.ReadPacket(buf)
	if err != nil || kind != datapath.KindMTU {
		t.Fatalf("%s: read kind %d %q %v, want an SDU limit", who, kind, sdu, err)
	}
	n, ok := datapath.ParseMTU(sdu)
	if !ok {
		t.Fatalf("%s: malformed limit %x", who, sdu)
	}
	return n
}

// TestLayerSDULimit: a member tells its flows the largest SDU its Data
// Transfer links carry less the DT PCI, before the application has the
// flow and again when a link with a smaller limit joins; a link with a
// larger one changes nothing, and data still flows.
func TestLayerSDULimit(t *testing.T) {
	leakcheck.Check(t)
	n := newMemNet()
	a, b := newNode(t, n, "a", "L"), newNode(t, n, "b")
	c, d := newNode(t, n, "c"), newNode(t, n, "d")
	b.l.max, c.l.max = 1200, 900 // d has none
	ctx := context.Background()
	if _, _, err := a.u.Bootstrap(ctx, irm.DefaultConfig(irm.Unicast, "L").Message()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.u.Enroll(ctx, "L"); err != nil {
		t.Fatal(err)
	}
	if err := b.u.Connect(ctx, "a", "", qos.Raw); err != nil {
		t.Fatal(err)
	}
	h, _ := hash.Sum(hash.SHA3_256, "server")
	if err := b.u.Reg(h); err != nil {
		t.Fatal(err)
	}
	eventually(t, "query from A", func() error { return a.u.Query(ctx, h) })
	x, y := flowBetween(t, a, b, h)
	want := 1200 - wire.DTPCILen
	if got := readLimit(t, x, "requester"); got != want {
		t.Errorf("requester told %d, want %d", got, want)
	}
	if got := readLimit(t, y, "responder"); got != want {
		t.Errorf("responder told %d, want %d", got, want)
	}
	echo(t, x, y, 3)

	// A larger link at B tells nothing; a smaller one tells B's flow.
	for _, e := range []*node{d, c} {
		if _, _, err := e.u.Enroll(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := e.u.Connect(ctx, "b", "", qos.Raw); err != nil {
			t.Fatal(err)
		}
	}
	want = 900 - wire.DTPCILen
	if got := readLimit(t, y, "responder after the smaller link"); got != want {
		t.Errorf("responder told %d, want %d", got, want)
	}
	// A's links did not change: its end hears nothing more, and data
	// comes first.
	echo(t, x, y, 3)
	if got := b.u.sduMax.Load(); got != int32(want) {
		t.Errorf("B's limit %d, want %d", got, want)
	}
	if got := a.u.sduMax.Load(); got != 1200-wire.DTPCILen {
		t.Errorf("A's limit %d, want %d", got, 1200-wire.DTPCILen)
	}
}
