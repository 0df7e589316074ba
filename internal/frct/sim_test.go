package frct

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// netCfg describes the in-memory channel between two Conns.
type netCfg struct {
	delay, jitter time.Duration // per-packet delay is delay + [0, jitter): reordering
	loss, dup     float64
}

type flight struct {
	at  time.Time
	n   int // tie-break, keeps the order deterministic
	to  int
	pkt []byte
}

type flights []flight

func (f flights) Len() int { return len(f) }
func (f flights) Less(i, j int) bool {
	if f[i].at.Equal(f[j].at) {
		return f[i].n < f[j].n
	}
	return f[i].at.Before(f[j].at)
}
func (f flights) Swap(i, j int) { f[i], f[j] = f[j], f[i] }
func (f *flights) Push(x any)   { *f = append(*f, x.(flight)) }
func (f *flights) Pop() any {
	old := *f
	x := old[len(old)-1]
	*f = old[:len(old)-1]
	return x
}

// sim drives two Conns over a lossy channel in virtual time. Conn 0 writes
// n messages to Conn 1, which checks they arrive exactly once and in order.
type sim struct {
	t       *testing.T
	net     netCfg
	rng     *rand.Rand
	conns   [2]*Conn
	q       flights
	n       int
	sent    int
	got     int
	lost    int
	gaps    int // messages skipped (non-RTX only)
	ordered bool
	trace   []string // the last events, printed when a test fails
}

func (s *sim) tracef(format string, args ...any) {
	if len(s.trace) >= 40 {
		s.trace = s.trace[1:]
	}
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
}

func (s *sim) transmit(now time.Time, to int, pkt []byte) {
	if s.rng.Float64() < s.net.loss {
		s.lost++
		return
	}
	copies := 1
	if s.rng.Float64() < s.net.dup {
		copies = 2
	}
	for range copies {
		at := now.Add(s.net.delay)
		if s.net.jitter > 0 {
			at = at.Add(time.Duration(s.rng.Int64N(int64(s.net.jitter))))
		}
		heap.Push(&s.q, flight{at: at, n: s.sent*4 + s.q.Len(), to: to, pkt: append([]byte(nil), pkt...)})
	}
}

func (s *sim) onDeliver(payload []byte) {
	i := int(binary.BigEndian.Uint64(payload))
	if s.ordered {
		if i != s.got {
			s.t.Fatalf("delivered message %d, want %d", i, s.got)
		}
	} else if i < s.got {
		s.t.Fatalf("delivered message %d after %d", i, s.got-1)
	} else {
		s.gaps += i - s.got
	}
	s.got = i + 1
}

// run loops until all messages are delivered or limit virtual time passes.
func (s *sim) run(limit time.Duration) time.Duration {
	start := time.Now()
	for s.got < s.n {
		if time.Since(start) > limit {
			s.t.Fatalf("timeout after %v: sent %d, delivered %d", limit, s.sent, s.got)
		}
		if !s.step() {
			s.t.Fatalf("stalled: sent %d, delivered %d", s.sent, s.got)
		}
	}
	return time.Since(start)
}

// step handles everything due now, then sleeps until the next event. It
// returns false if nothing is pending any more.
func (s *sim) step() bool {
	now := time.Now()
	for s.q.Len() > 0 && !s.q[0].at.After(now) {
		f := heap.Pop(&s.q).(flight)
		s.tracef("%v ->%d %x", now.Format("05.000000"), f.to, f.pkt[:min(12, len(f.pkt))])
		d, r, err := s.conns[f.to].Receive(now, f.pkt)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, p := range d {
			if f.to == 1 {
				s.onDeliver(p)
			}
			if p := s.conns[f.to].Consumed(now); p != nil { // the reader keeps up
				s.transmit(now, 1-f.to, p)
			}
		}
		for _, p := range r {
			s.transmit(now, 1-f.to, p)
		}
	}
	for i, c := range s.conns {
		if dl := c.NextDeadline(); !dl.IsZero() && !dl.After(now) {
			for _, p := range c.OnTimeout(now) {
				s.tracef("%v timer %d sends %x", now.Format("05.000000"), i, p[:12])
				s.transmit(now, 1-i, p)
			}
		}
		if c.Down() {
			s.t.Log(strings.Join(s.trace, "\n"))
			s.t.Fatalf("conn %d down (sent %d): sent %d got %d snd %+v rtx %d stats %+v rtt %+v; peer rcv %+v stats %+v", i, s.sent, s.sent, s.got, c.snd, len(c.rtx.q), c.stats, c.rtt, s.conns[1-i].rcv, s.conns[1-i].stats)
		}
	}
	for s.sent < s.n {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(s.sent))
		p, err := s.conns[0].Send(now, nil, b[:])
		if errors.Is(err, ErrWindowClosed) {
			break
		}
		if err != nil {
			s.t.Fatal(err)
		}
		s.sent++
		s.transmit(now, 1, p)
	}
	next := time.Time{}
	if s.q.Len() > 0 {
		next = s.q[0].at
	}
	for _, c := range s.conns {
		next = earliest(next, c.NextDeadline())
	}
	if next.IsZero() {
		return false
	}
	if d := next.Sub(now); d > 0 {
		time.Sleep(d)
	}
	return true
}

func newSim(t *testing.T, n int, rtx bool, net netCfg, seed uint64) *sim {
	now := time.Now()
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := Config{RTX: rtx, Rand: rng.Uint32}
	return &sim{
		t: t, net: net, rng: rng, n: n, ordered: rtx,
		conns: [2]*Conn{New(cfg, now), New(cfg, now)},
	}
}

func TestReliableLossyReordering(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, n, true, netCfg{delay: time.Millisecond, jitter: 3 * time.Millisecond, loss: 0.2, dup: 0.05}, 1)
		d := s.run(time.Hour)
		if s.got != n {
			t.Fatalf("delivered %d of %d", s.got, n)
		}
		st := s.conns[0].Stats()
		t.Logf("%d messages exactly once in order, %d packets lost, virtual time %v, rto %v; sender %+v", n, s.lost, d, s.conns[0].rtt.rto, st)
		// Only holes are resent: at most a few resends per message lost.
		if st.Retransmitted > 3*uint64(s.lost) {
			t.Errorf("%d retransmissions for %d packets lost", st.Retransmitted, s.lost)
		}
	})
}

func TestReliableDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 5000, true, netCfg{delay: time.Millisecond, jitter: 2 * time.Millisecond, dup: 0.5}, 2)
		s.run(time.Hour)
		if s.got != 5000 {
			t.Fatalf("delivered %d", s.got)
		}
	})
}

func TestNoRTXNoLossDeliversAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10_000
		s := newSim(t, n, false, netCfg{delay: time.Millisecond}, 3)
		d := s.run(time.Hour)
		if s.got != n || s.gaps != 0 {
			t.Fatalf("delivered up to %d with %d gaps", s.got, s.gaps)
		}
		t.Logf("%d messages, no gaps, virtual time %v", n, d)
	})
}

func TestNoRTXLossyInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10_000
		s := newSim(t, n, false, netCfg{delay: time.Millisecond, jitter: 3 * time.Millisecond, loss: 0.1, dup: 0.1}, 4)
		// Messages may be lost: run until the sender is done and the
		// channel is empty (a step that finds nothing pending ends it).
		for s.step() {
		}
		if s.sent != n {
			t.Fatalf("sent %d of %d", s.sent, n)
		}
		if s.got < n*8/10 {
			t.Fatalf("delivered only up to %d", s.got)
		}
		t.Logf("non-RTX, 10%% loss: highest delivered %d, skipped %d", s.got-1, s.gaps)
	})
}
