package simnet

import (
	"bytes"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// line builds a-b-c.
func line(t *testing.T, cfg Config, lc LinkConfig) (*Net, []*Node, []*Link) {
	n := New(t, cfg)
	a, b, c := n.AddNode("a"), n.AddNode("b"), n.AddNode("c")
	l1, l2 := n.Connect(a, b, lc), n.Connect(b, c, lc)
	n.WaitConverged(10*time.Millisecond, time.Minute)
	return n, []*Node{a, b, c}, []*Link{l1, l2}
}

// TestLine: three members in a line; a flow from one end to the other,
// data both ways through the middle member, which forwards without
// delivering anything itself.
func TestLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ns, _ := line(t, Config{}, LinkConfig{Delay: time.Millisecond})
		a, b, c := ns[0], ns[1], ns[2]
		c.Register("server")
		f, err := a.Alloc("server", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.Accept(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			msg := fmt.Appendf(nil, "ping %d", i)
			if err := f.Write(msg); err != nil {
				t.Fatal(err)
			}
			got, err := g.Read(time.Second)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("c read %q, %v; want %q", got, err, msg)
			}
			if err := g.Write(append(msg, '!')); err != nil {
				t.Fatal(err)
			}
			got, err = f.Read(time.Second)
			if err != nil || string(got) != string(msg)+"!" {
				t.Fatalf("a read %q, %v", got, err)
			}
		}
		// 200 data packets, the request and the reply.
		if s := b.DT.Stats(); s.Delivered != 0 || s.Forwarded != 202 {
			t.Errorf("middle member: %+v", s)
		}
		// An allocation to an unknown name fails at once.
		if _, err := a.Alloc("nobody", qos.Raw); err == nil {
			t.Error("allocation to an unknown name succeeded")
		}
		// A deallocated flow: the peer's data is dropped as an unknown EID.
		g.Close()
		f.Write([]byte("late"))
		time.Sleep(time.Second)
		if s := c.FA.Stats(); s.UnknownEID != 1 {
			t.Errorf("c's flow allocator: %+v", s)
		}
	})
}

// TestLineECN: a slow link in the middle builds a queue; the members mark
// the packets, the receiver sends FLOW_UPDATEs, and the sender leaves slow
// start. With congestion avoidance none, nothing is marked.
func TestLineECN(t *testing.T) {
	for _, p := range []ca.Policy{ca.MBECN, ca.None} {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, ns, _ := line(t, Config{CA: p}, LinkConfig{Delay: time.Millisecond, Rate: 100 * time.Microsecond, Queue: 1024})
				a, c := ns[0], ns[2]
				c.Register("sink")
				f, err := a.Alloc("sink", qos.Raw)
				if err != nil {
					t.Fatal(err)
				}
				g, _ := c.Accept(time.Second)
				for range 600 {
					if err := f.Write(make([]byte, 1000)); err != nil {
						t.Fatal(err)
					}
				}
				got := 0
				for {
					if _, err := g.Read(time.Second); err != nil {
						break
					}
					got++
				}
				sa, sc := a.FA.Stats(), c.FA.Stats()
				fi, _ := a.FA.Flow(f.ID)
				t.Logf("%v: %d of 600 arrived; updates sent %d, received %d; sender %+v", p, got, sc.UpdatesSent, sa.UpdatesRcvd, fi.CA)
				if p == ca.MBECN && (sc.UpdatesSent == 0 || sa.UpdatesRcvd == 0 || fi.CA.SlowStart) {
					t.Errorf("no congestion feedback")
				}
				if p == ca.None && (sc.UpdatesSent != 0 || sa.UpdatesRcvd != 0) {
					t.Errorf("feedback without congestion avoidance")
				}
				if got == 0 {
					t.Error("nothing arrived")
				}
			})
		})
	}
}

// TestTTL: a packet whose TTL runs out in transit is dropped and counted
// by the member where it ran out; a small layer TTL stops a flow two hops
// away.
func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ns, ls := line(t, Config{}, LinkConfig{Delay: time.Millisecond})
		a, b, c := ns[0], ns[1], ns[2]
		for _, ttl := range []uint8{0, 1, 2} {
			p := wire.DTFields{Dst: c.Addr, TTL: ttl, EID: 1 << 40}.Append(nil)
			ls[0].Inject(a, append(p, "x"...))
		}
		time.Sleep(time.Second)
		if s := b.DT.Stats(); s.TTL != 2 || s.Forwarded != 1 {
			t.Errorf("middle member: %+v", s)
		}
		if s := c.FA.Stats(); s.UnknownEID != 1 {
			t.Errorf("far member: %+v", s)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		_, ns, _ := line(t, Config{TTL: 1}, LinkConfig{Delay: time.Millisecond})
		ns[2].Register("far")
		if _, err := ns[0].Alloc("far", qos.Raw); err == nil {
			t.Error("allocation over two hops with TTL 1 succeeded")
		}
		if s := ns[1].DT.Stats(); s.TTL == 0 {
			t.Errorf("middle member counted no TTL drop: %+v", s)
		}
	})
}

// TestHostileNeighbour: whatever a neighbour sends on its Data Transfer
// and Management connections (short PCIs, any address, EID or TTL, broken
// flow allocator messages, garbage LSUs), the members keep running and a
// flow across keeps every packet.
func TestHostileNeighbour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ns, ls := line(t, Config{}, LinkConfig{Delay: time.Millisecond})
		a, b, c := ns[0], ns[1], ns[2]
		c.Register("server")
		f, err := a.Alloc("server", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := c.Accept(time.Second)
		fi, _ := a.FA.Flow(f.ID)
		junk := [][]byte{
			nil, {1}, make([]byte, 14),
			wire.DTFields{Dst: c.Addr, TTL: 9, EID: 0}.Append(nil),                              // empty FA message
			append(wire.DTFields{Dst: c.Addr, TTL: 9, EID: 0}.Append(nil), make([]byte, 61)...), // FLOW_REQ without hash
			append(wire.DTFields{Dst: c.Addr, TTL: 9, EID: 0}.Append(nil), wire.FAMsg{Code: wire.FAFlowReply, REID: fi.RemoteEID ^ 1, SEID: 5}.Append(nil)...),
			append(wire.DTFields{Dst: c.Addr, TTL: 9, EID: 0}.Append(nil), wire.FAMsg{Code: wire.FAFlowUpdate, REID: 12345, ECE: 9}.Append(nil)...),
			append(wire.DTFields{Dst: c.Addr, TTL: 9, EID: 0}.Append(nil), wire.FAMsg{Code: 9}.Append(nil)...),
			append(wire.DTFields{Dst: c.Addr, TTL: 9, EID: 1}.Append(nil), "dht?"...),
			append(wire.DTFields{Dst: c.Addr, TTL: 9, EID: 33}.Append(nil), "x"...),
			append(wire.DTFields{Dst: c.Addr, TTL: 9, EID: fi.RemoteEID ^ 1<<40}.Append(nil), "forged"...),
			append(wire.DTFields{Dst: 0, TTL: 9}.Append(nil), "x"...),
			append(wire.DTFields{Dst: 0xdeadbeef, TTL: 255}.Append(nil), "x"...),
			append(wire.DTFields{Dst: b.Addr, TTL: 0, EID: 0}.Append(nil), make([]byte, 3000)...),
		}
		for i := range 200 {
			msg := fmt.Appendf(nil, "data %d", i)
			if err := f.Write(msg); err != nil {
				t.Fatal(err)
			}
			ls[0].Inject(a, junk[i%len(junk)])
			ls[1].Inject(c, junk[(i+3)%len(junk)])
			ls[0].InjectMgmt(a, junk[(i+5)%len(junk)])
			got, err := g.Read(time.Second)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("read %q, %v; want %q", got, err, msg)
			}
		}
		if err := c.FA.Flows(); err != 1 {
			t.Errorf("c has %d flows", err)
		}
		t.Logf("b: %+v", b.DT.Stats())
		t.Logf("c: %+v %+v", c.DT.Stats(), c.FA.Stats())
		if s := c.FA.Stats(); s.Malformed == 0 || s.UnknownEID == 0 {
			t.Errorf("c's flow allocator counted nothing: %+v", s)
		}
		if s := b.DT.Stats(); s.Malformed == 0 || s.NoRoute == 0 {
			t.Errorf("b counted nothing: %+v", s)
		}
	})
}
