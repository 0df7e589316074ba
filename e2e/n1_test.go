package e2e

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dt"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/n1"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestDTOverLocalFlow: two unicast data transfers (addresses A and B) in
// this process, joined by a raw flow of a local layer, which is their N-1
// flow: DT packets of every size up to 16 KiB cross both ways, each as one
// SDU, in order and intact.
func TestDTOverLocalFlow(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("loc", "n1-layer")
	e.register("dt.b", pid)
	accepted := e.acceptOne("dt.b")
	fa := e.alloc("dt.b", qos.Raw)
	fb := <-accepted
	if fb == nil {
		t.Fatal("no flow accepted")
	}

	const A, B = 0x0a0b0c0d, 0x01020304
	type member struct {
		dt *dt.DT
		rx chan []byte
	}
	mk := func(self, peer uint64) *member {
		tab := pff.New(pff.Simple)
		d, err := dt.New(dt.Config{Addr: self, CA: ca.MBECN, PFF: [dt.Cubes]*pff.Table{tab}})
		if err != nil {
			t.Fatal(err)
		}
		tab.Add(peer, []int{1})
		m := &member{dt: d, rx: make(chan []byte, 256)}
		d.SetFlowHandler(func(eid uint64, _ uint8, p []byte) {
			m.rx <- append(binaryEID(eid), p...)
		})
		return m
	}
	a, b := mk(A, B), mk(B, A)
	la := n1.Start(fa, 1, a.dt.Receive, nil)
	lb := n1.Start(fb, 1, b.dt.Receive, nil)
	defer la.Close()
	defer lb.Close()
	a.dt.AddLink(1, la, qos.CubeBE)
	b.dt.AddLink(1, lb, qos.CubeBE)

	sizes := []int{0, 1, 15, 100, 1000, 1500, 4000, 16000}
	for round := range 10 {
		for i, n := range sizes {
			payload := bytes.Repeat([]byte{byte(round*len(sizes) + i)}, n)
			for _, d := range []struct {
				from, to *member
				dst, eid uint64
			}{{a, b, B, 1 << 33}, {b, a, A, 1 << 34}} {
				if err := d.from.dt.Send(d.dst, qos.CubeBE, d.eid, append(make([]byte, wire.DTPCILen), payload...)); err != nil {
					t.Fatalf("send: %v", err)
				}
				select {
				case got := <-d.to.rx:
					if want := append(binaryEID(d.eid), payload...); !bytes.Equal(got, want) {
						t.Fatalf("round %d size %d: got %d bytes (% x...), want %d", round, n, len(got), got[:min(len(got), 12)], len(want))
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("round %d size %d: nothing arrived\n%s", round, n, e.Tail())
				}
			}
		}
	}
	for _, m := range []*member{a, b} {
		if st := m.dt.Stats(); st.Received != uint64(10*len(sizes)) || st.Delivered != st.Received || st.Malformed != 0 {
			t.Errorf("stats %+v", st)
		}
	}
}

// binaryEID is an EID as text, to tag what a handler received.
func binaryEID(eid uint64) []byte { return []byte(fmt.Sprintf("%#x:", eid)) }
