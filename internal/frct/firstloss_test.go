package frct

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// duplex drives two reliable Conns that both write, in virtual time, over
// a channel with a fixed delay that loses exactly the packets drop picks.
// Each side writes want[i] numbered messages, the first at start[i]; the
// other side checks they arrive exactly once and in order.
type duplex struct {
	t     *testing.T
	conns [2]*Conn
	want  [2]int
	start [2]time.Duration
	sent  [2]int
	got   [2]int // messages delivered to side i
	drop  func(from int, pkt []byte) bool
	q     flights
	n     int
	trace []string
}

func (d *duplex) tracef(format string, args ...any) {
	if len(d.trace) >= 60 {
		d.trace = d.trace[1:]
	}
	d.trace = append(d.trace, fmt.Sprintf(format, args...))
}

func (d *duplex) transmit(now time.Time, from int, pkt []byte) {
	if d.drop(from, pkt) {
		d.tracef("%v %d->%d LOST %x", now.Format("05.000000"), from, 1-from, pkt[:wire.FRCTLen])
		return
	}
	d.n++
	heap.Push(&d.q, flight{at: now.Add(time.Millisecond), n: d.n, to: 1 - from, pkt: append([]byte(nil), pkt...)})
}

func (d *duplex) done() bool { return d.got[0] == d.want[1] && d.got[1] == d.want[0] }

// run steps until both directions completed, failing after limit.
func (d *duplex) run(limit time.Duration) {
	begin := time.Now()
	for !d.done() {
		now := time.Now()
		if now.Sub(begin) > limit {
			d.fail(fmt.Sprintf("stalled for %v", limit))
		}
		for d.q.Len() > 0 && !d.q[0].at.After(now) {
			f := heap.Pop(&d.q).(flight)
			d.tracef("%v ->%d %x", now.Format("05.000000"), f.to, f.pkt[:wire.FRCTLen])
			dl, r, err := d.conns[f.to].Receive(now, f.pkt)
			if err != nil {
				d.t.Fatal(err)
			}
			for _, p := range dl {
				if i := int(binary.BigEndian.Uint64(p)); i != d.got[f.to] {
					d.fail(fmt.Sprintf("side %d got message %d, want %d", f.to, i, d.got[f.to]))
				}
				d.got[f.to]++
				if p := d.conns[f.to].Consumed(now); p != nil {
					d.transmit(now, f.to, p)
				}
			}
			for _, p := range r {
				d.transmit(now, f.to, p)
			}
		}
		for i, c := range d.conns {
			if dl := c.NextDeadline(); !dl.IsZero() && !dl.After(now) {
				for _, p := range c.OnTimeout(now) {
					d.transmit(now, i, p)
				}
			}
			if c.Down() {
				d.fail(fmt.Sprintf("side %d down", i))
			}
		}
		for i, c := range d.conns {
			for d.sent[i] < d.want[i] && now.Sub(begin) >= d.start[i] {
				var b [8]byte
				binary.BigEndian.PutUint64(b[:], uint64(d.sent[i]))
				p, err := c.Send(now, nil, b[:])
				if errors.Is(err, ErrWindowClosed) {
					break
				}
				if err != nil {
					d.t.Fatal(err)
				}
				d.sent[i]++
				d.transmit(now, i, p)
			}
		}
		next := time.Time{}
		if d.q.Len() > 0 {
			next = d.q[0].at
		}
		for i, c := range d.conns {
			next = earliest(next, c.NextDeadline())
			if d.sent[i] < d.want[i] && now.Sub(begin) < d.start[i] {
				next = earliest(next, begin.Add(d.start[i]))
			}
		}
		if next.IsZero() {
			d.fail("nothing pending")
		}
		time.Sleep(next.Sub(now))
	}
}

func (d *duplex) fail(why string) {
	d.t.Helper()
	d.t.Log(strings.Join(d.trace, "\n"))
	d.t.Fatalf("%s: side 0 sent %d of %d, side 1 got %d; side 1 sent %d of %d, side 0 got %d; unacked %d/%d",
		why, d.sent[0], d.want[0], d.got[1], d.sent[1], d.want[1], d.got[0], d.conns[0].Unacked(), d.conns[1].Unacked())
}

// firstData returns a drop rule that loses the first DATA packet side
// from sends, and nothing else.
func firstData(from int) func(int, []byte) bool {
	lost := false
	return func(f int, pkt []byte) bool {
		if f != from || lost || !wire.FRCT(pkt).Flags().Has(wire.FRCTData) {
			return false
		}
		lost = true
		return true
	}
}

// A reliable flow whose first DATA packet in one direction is lost must
// recover: the packet is retransmitted, and the other direction, which
// starts right after, must not stall. Side 0 is the allocator, side 1 the
// acceptor. The stall this guards against: the acceptor writes first and
// that packet is lost; the allocator then fills its start window. Each side
// then has DATA outstanding, so neither sends a standalone ACK (ctl.go,
// rule 2: it waits for its DATA to carry them), while the retransmissions
// of DATA first sent before a receive run existed carried no ACK and no
// FC. Neither side ever learned that its data arrived, and the flow went
// down after R.
func TestFirstPacketLost(t *testing.T) {
	for _, c := range []struct {
		name  string
		lose  int              // the side whose first DATA is lost
		want  [2]int           // messages each side writes
		start [2]time.Duration // when each side writes its first
	}{
		{"acceptor first lost, then allocator bulk", 1, [2]int{2000, 1}, [2]time.Duration{5 * time.Millisecond, 0}},
		{"acceptor first lost, both bulk", 1, [2]int{2000, 2000}, [2]time.Duration{5 * time.Millisecond, 0}},
		{"acceptor first lost, allocator at once", 1, [2]int{2000, 3}, [2]time.Duration{0, 0}},
		{"allocator first lost, then acceptor bulk", 0, [2]int{1, 2000}, [2]time.Duration{0, 5 * time.Millisecond}},
		{"allocator first lost, both bulk", 0, [2]int{2000, 2000}, [2]time.Duration{0, 5 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				now := time.Now()
				d := &duplex{t: t, want: c.want, start: c.start, drop: firstData(c.lose),
					conns: [2]*Conn{
						New(Config{RTX: true, Rand: fixed(0x10000000)}, now),
						New(Config{RTX: true, Rand: fixed(0x20000000)}, now),
					}}
				d.run(30 * time.Second)
				if r := d.conns[c.lose].Stats().Retransmitted; r == 0 {
					t.Errorf("the lost packet was not retransmitted")
				}
			})
		})
	}
}

// The acceptor's first DATA is lost; its second, which carries no DRF but
// acknowledges the allocator's data, must still acknowledge it: the
// receiver drops the payload of an unknown run, not the ACK and FC meant
// for its own send side, so the allocator's direction does not wait for
// the acceptor's retransmission.
func TestAckOnDataOfUnknownRun(t *testing.T) {
	now := t0
	a := New(Config{RTX: true, Rand: fixed(0x10000000)}, now)
	b := New(Config{RTX: true, Rand: fixed(0x20000000)}, now)
	req, _ := a.Send(now, nil, []byte("a0"))
	if d, _, _ := b.Receive(now, req); len(d) != 1 {
		t.Fatal("a0 not delivered")
	}
	b.Consumed(now)
	if _, err := b.Send(now, nil, []byte("b0")); err != nil { // lost
		t.Fatal(err)
	}
	b1, _ := b.Send(now, nil, []byte("b1"))
	if f := wire.FRCT(b1).Flags(); f.Has(wire.FRCTDRF) || !f.Has(wire.FRCTACK|wire.FRCTFC) {
		t.Fatalf("b1 flags %v: want ACK|FC without DRF", f)
	}
	now = now.Add(time.Millisecond)
	d, _, err := a.Receive(now, b1)
	if len(d) != 0 || err != nil {
		t.Fatalf("b1 of an unknown run: delivered %q, %v", d, err)
	}
	if a.Unacked() != 0 {
		t.Fatalf("a0 still unacknowledged after b1 acknowledged it")
	}
	if want := Seq(0x10000001 + DefaultRQSize); a.snd.rwe != want {
		t.Fatalf("send window edge %#x, want %#x from b1's FC", a.snd.rwe, want)
	}
}
