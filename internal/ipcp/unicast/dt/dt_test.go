package dt

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// rec is a link that keeps a copy of what is written to it.
type rec struct {
	pkts   [][]byte
	queued int
	err    error
}

func (r *rec) Write(p []byte) error {
	if r.err != nil {
		return r.err
	}
	r.pkts = append(r.pkts, bytes.Clone(p))
	return nil
}
func (r *rec) Queued() int { return r.queued }

// sink is a link that drops everything without keeping it (benchmarks).
type sink struct{}

func (sink) Write([]byte) error { return nil }
func (sink) Queued() int        { return 0 }

const (
	self  = 0x11223344
	other = 0x0a0b0c0d
	far   = 0x55667788
)

func newDT(t testing.TB, p ca.Policy) (*DT, *pff.Table) {
	t.Helper()
	tab := pff.New(pff.Simple)
	d, err := New(Config{Addr: self, CA: p, PFF: [Cubes]*pff.Table{tab}})
	if err != nil {
		t.Fatal(err)
	}
	return d, tab
}

func pkt(f wire.DTFields, payload string) []byte { return append(f.Append(nil), payload...) }

// TestSendPCI: the PCI of the flow request in the worked example (to FA
// EID 0 at 0x0a0b0c0d, TTL 60), with a congestion mark from a queue of 40.
func TestSendPCI(t *testing.T) {
	d, tab := newDT(t, ca.MBECN)
	l := &rec{queued: 40}
	if err := d.AddLink(70, l, qos.CubeBE); err != nil {
		t.Fatal(err)
	}
	tab.Add(other, []int{70})
	b := append(make([]byte, wire.DTPCILen), "req"...)
	if err := d.Send(other, qos.CubeBE, wire.DTEIDFlowAllocator, b); err != nil {
		t.Fatal(err)
	}
	want := []byte{0x0d, 0x0c, 0x0b, 0x0a, 0, 0x3c, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 'r', 'e', 'q'}
	if len(l.pkts) != 1 || !bytes.Equal(l.pkts[0], want) {
		t.Fatalf("sent % x\nwant % x", l.pkts, want)
	}
	if err := d.Send(far, qos.CubeBE, 1, b); !errors.Is(err, ErrNoRoute) {
		t.Errorf("send without route: %v", err)
	}
	if err := d.Send(other, qos.CubeBE, 1, b[:3]); !errors.Is(err, ErrHeadroom) {
		t.Errorf("send without headroom: %v", err)
	}
}

func TestReceive(t *testing.T) {
	d, tab := newDT(t, ca.MBECN)
	out := &rec{queued: 33}
	d.AddLink(1, &rec{}, qos.CubeBE)
	d.AddLink(2, out, qos.CubeBE)
	tab.Add(far, []int{2})
	type got struct {
		eid     uint64
		ecn     uint8
		payload string
	}
	var fa, flows []got
	d.Register(wire.DTEIDFlowAllocator, func(eid uint64, ecn uint8, p []byte) { fa = append(fa, got{eid, ecn, string(p)}) })
	d.SetFlowHandler(func(eid uint64, ecn uint8, p []byte) { flows = append(flows, got{eid, ecn, string(p)}) })

	// For us: component 0, a flow, an EID nobody has.
	d.Receive(1, pkt(wire.DTFields{Dst: self, TTL: 1, ECN: 3, EID: 0}, "fa"))
	d.Receive(1, pkt(wire.DTFields{Dst: self, TTL: 0, EID: 0x9abcdef000000041}, "data"))
	d.Receive(1, pkt(wire.DTFields{Dst: self, TTL: 9, EID: 5}, "nobody"))
	if len(fa) != 1 || fa[0] != (got{0, 3, "fa"}) {
		t.Errorf("flow allocator got %v", fa)
	}
	if len(flows) != 1 || flows[0] != (got{0x9abcdef000000041, 0, "data"}) {
		t.Errorf("flows got %v", flows)
	}
	// In transit: TTL decremented, ECN ORed with 33>>4 = 2.
	d.Receive(1, pkt(wire.DTFields{Dst: far, QoS: 2, TTL: 5, ECN: 1, EID: 77}, "fwd"))
	want := pkt(wire.DTFields{Dst: far, QoS: 2, TTL: 4, ECN: 3, EID: 77}, "fwd")
	if len(out.pkts) != 1 || !bytes.Equal(out.pkts[0], want) {
		t.Errorf("forwarded % x, want % x", out.pkts, want)
	}
	// TTL exhausted, no route, malformed.
	d.Receive(1, pkt(wire.DTFields{Dst: far, TTL: 1}, "x"))
	d.Receive(1, pkt(wire.DTFields{Dst: far, TTL: 0}, "x"))
	d.Receive(1, pkt(wire.DTFields{Dst: other, TTL: 9}, "x"))
	d.Receive(1, []byte{1, 2, 3})
	d.Receive(1, nil)
	s := d.Stats()
	want2 := Stats{Received: 9, Delivered: 2, Forwarded: 1, TTL: 2, NoRoute: 1, Malformed: 2, NoEID: 1}
	if s != want2 {
		t.Errorf("stats %+v\nwant  %+v", s, want2)
	}
	if len(out.pkts) != 1 {
		t.Errorf("%d packets left", len(out.pkts))
	}
}

// TestWriteFailure: a failing link is reported and counted.
func TestWriteFailure(t *testing.T) {
	tab := pff.New(pff.Simple)
	var failed []int
	d, _ := New(Config{Addr: self, PFF: [Cubes]*pff.Table{tab}, LinkFailed: func(id int, err error) { failed = append(failed, id) }})
	d.AddLink(4, &rec{err: errors.New("down")}, qos.CubeBE)
	tab.Add(far, []int{4})
	tab.Add(other, []int{5}) // no such link
	d.Receive(9, pkt(wire.DTFields{Dst: far, TTL: 9}, "x"))
	d.Receive(9, pkt(wire.DTFields{Dst: other, TTL: 9}, "x"))
	if s := d.Stats(); s.WriteFailed != 2 || s.Forwarded != 0 {
		t.Errorf("stats %+v", s)
	}
	if len(failed) != 1 || failed[0] != 4 {
		t.Errorf("failed links %v", failed)
	}
}

func TestConfig(t *testing.T) {
	tab := pff.New(pff.Simple)
	for _, c := range []Config{{Addr: 0, PFF: [Cubes]*pff.Table{tab}}, {Addr: 1 << 32, PFF: [Cubes]*pff.Table{tab}}, {Addr: 1}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	d, _ := New(Config{Addr: 1, PFF: [Cubes]*pff.Table{tab}})
	if err := d.Register(64, nil); !errors.Is(err, ErrEID) {
		t.Errorf("register 64: %v", err)
	}
	if err := d.AddLink(1, nil, 0); err == nil {
		t.Error("nil link accepted")
	}
	d.AddLink(1, sink{}, 0)
	if err := d.AddLink(1, sink{}, 0); err == nil {
		t.Error("link id reused")
	}
}

// TestForwardNoAllocs: forwarding and sending allocate nothing.
func TestForwardNoAllocs(t *testing.T) {
	d, tab := newDT(t, ca.MBECN)
	d.AddLink(2, sink{}, qos.CubeBE)
	tab.Add(far, []int{2})
	p := pkt(wire.DTFields{Dst: far, TTL: 255}, "0123456789")
	if n := testing.AllocsPerRun(1000, func() { p[5] = 255; d.Receive(1, p) }); n != 0 {
		t.Errorf("forward: %v allocations", n)
	}
	if n := testing.AllocsPerRun(1000, func() { d.Send(far, 0, 99, p) }); n != 0 {
		t.Errorf("send: %v allocations", n)
	}
}

func BenchmarkForward(b *testing.B) {
	d, tab := newDT(b, ca.MBECN)
	d.AddLink(2, sink{}, qos.CubeBE)
	for i := range 1000 {
		tab.Add(uint64(far+i), []int{2})
	}
	p := pkt(wire.DTFields{Dst: far + 500, TTL: 255}, string(make([]byte, 1400)))
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		p[5] = 255
		d.Receive(1, p)
	}
}

func BenchmarkForwardParallel(b *testing.B) {
	d, tab := newDT(b, ca.MBECN)
	d.AddLink(2, sink{}, qos.CubeBE)
	tab.Add(far, []int{2})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		p := pkt(wire.DTFields{Dst: far, TTL: 255}, string(make([]byte, 1400)))
		for pb.Next() {
			p[5] = 255
			d.Receive(1, p)
		}
	})
}

// FuzzReceive: any packet from a neighbour is handled without a panic, a
// forwarded packet is the input with TTL-1 and ECN only gaining bits, and a
// delivered payload is the input after the PCI.
func FuzzReceive(f *testing.F) {
	f.Add(pkt(wire.DTFields{Dst: self, EID: 0}, "fa"))
	f.Add(pkt(wire.DTFields{Dst: self, EID: 1 << 40}, "flow"))
	f.Add(pkt(wire.DTFields{Dst: far, TTL: 3}, "fwd"))
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, tab := newDT(t, ca.MBECN)
		out := &rec{queued: 50}
		d.AddLink(2, out, qos.CubeBE)
		tab.Add(far, []int{2})
		var got []byte
		h := func(eid uint64, ecn uint8, p []byte) { got = bytes.Clone(p) }
		d.Register(0, h)
		d.Register(1, h)
		d.SetFlowHandler(h)
		in := bytes.Clone(b)
		d.Receive(1, b)
		if len(in) < wire.DTPCILen {
			return
		}
		f := wire.DT(in).Fields()
		switch {
		case f.Dst == self:
			if f.EID < 64 && f.EID > 1 {
				return
			}
			if !bytes.Equal(got, in[wire.DTPCILen:]) {
				t.Fatalf("delivered %x, want %x", got, in[wire.DTPCILen:])
			}
		case f.Dst == far && f.TTL > 1:
			if len(out.pkts) != 1 {
				t.Fatal("not forwarded")
			}
			o := wire.DT(out.pkts[0]).Fields()
			if o.TTL != f.TTL-1 || o.ECN&f.ECN != f.ECN || o.EID != f.EID || !bytes.Equal(out.pkts[0][wire.DTPCILen:], in[wire.DTPCILen:]) {
				t.Fatalf("forwarded %+v from %+v", o, f)
			}
		default:
			if len(out.pkts) != 0 || got != nil {
				t.Fatal("dropped packet went somewhere")
			}
		}
	})
}

// TestSendSelf: a packet for our own address reaches the handler of its EID
// with the payload, without a link or a route, and an EID nobody handles
// is dropped and counted.
func TestSendSelf(t *testing.T) {
	d, _ := newDT(t, ca.MBECN)
	var got []string
	d.Register(wire.DTEIDFlowAllocator, func(eid uint64, ecn uint8, p []byte) {
		got = append(got, fmt.Sprintf("fa %d %d %s", eid, ecn, p))
	})
	d.SetFlowHandler(func(eid uint64, ecn uint8, p []byte) {
		got = append(got, fmt.Sprintf("flow %#x %d %s", eid, ecn, p))
	})
	for _, s := range []struct {
		eid uint64
		p   string
	}{{wire.DTEIDFlowAllocator, "req"}, {1 << 40, "data"}, {wire.DTEIDDHT, "dht"}} {
		b := append(make([]byte, wire.DTPCILen), s.p...)
		if err := d.Send(self, qos.CubeBE, s.eid, b); err != nil {
			t.Fatalf("send to self, EID %d: %v", s.eid, err)
		}
	}
	want := []string{"fa 0 0 req", "flow 0x10000000000 0 data"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if st := d.Stats(); st.Sent != 3 || st.Delivered != 2 || st.NoEID != 1 || st.Received != 0 {
		t.Errorf("stats %+v", st)
	}
}
