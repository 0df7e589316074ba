package broadcast

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sink records what a port's writer writes.
type sink struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (s *sink) write(p []byte) error {
	s.mu.Lock()
	s.msgs = append(s.msgs, bytes.Clone(p))
	s.mu.Unlock()
	return nil
}

func (s *sink) got() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

// ring builds n flooders joined in a cycle: member i has a port to i-1
// and one to i+1, whose writes are received by the neighbour on its port
// back (in a goroutine per link, as over a flow), and a local port (an
// application) recorded in locals[i].
func ring(t *testing.T, n int) (fls []*flooder, local []*port, locals []*sink) {
	fls = make([]*flooder, n)
	for i := range fls {
		fls[i] = newFlooder(quiet)
	}
	// link makes the port of a to b, and returns it and the channel its
	// writes go through.
	type link struct {
		p  *port
		ch chan []byte
	}
	links := make(map[[2]int]link)
	for i := range n {
		for _, j := range []int{(i + n - 1) % n, (i + 1) % n} {
			ch := make(chan []byte, 64)
			p := fls[i].add(fmt.Sprintf("link %d-%d", i, j), func(b []byte) error { ch <- bytes.Clone(b); return nil })
			links[[2]int{i, j}] = link{p, ch}
		}
	}
	for k, l := range links {
		back := links[[2]int{k[1], k[0]}].p
		dst := fls[k[1]]
		go func() {
			for b := range l.ch {
				dst.receive(back, b)
			}
		}()
	}
	for i := range n {
		s := &sink{}
		locals = append(locals, s)
		local = append(local, fls[i].add(fmt.Sprintf("app %d", i), s.write))
	}
	t.Cleanup(func() {
		for _, fl := range fls {
			fl.close()
		}
		for _, l := range links {
			close(l.ch)
		}
	})
	return fls, local, locals
}

// TestFloodRing: on a ring of five members, a message an application
// writes reaches every other application exactly once and each member
// floods it once; the copies that come round are dropped. After the
// window, the same bytes are a new message.
func TestFloodRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 5
		fls, local, locals := ring(t, n)
		check := func(msg string, rounds int) {
			t.Helper()
			synctest.Wait()
			for i, s := range locals {
				want := rounds
				if i == 0 {
					want = 0 // the sender's own application
				}
				got := 0
				for _, m := range s.got() {
					if string(m) == msg {
						got++
					}
				}
				if got != want {
					t.Fatalf("application %d got %q %d times, want %d", i, msg, got, want)
				}
			}
			for i, fl := range fls {
				if f := fl.flooded.Load(); f != int64(rounds) {
					t.Fatalf("member %d flooded %d packets, want %d", i, f, rounds)
				}
			}
		}
		fls[0].receive(local[0], []byte("hello ring"))
		check("hello ring", 1)
		dups := int64(0)
		for _, fl := range fls {
			dups += fl.dups.Load()
		}
		if dups == 0 {
			t.Fatal("no copy came round the ring")
		}
		fls[0].receive(local[0], []byte("hello ring")) // the same bytes, within the window
		check("hello ring", 1)
		time.Sleep(Window)
		fls[0].receive(local[0], []byte("hello ring"))
		check("hello ring", 2)
	})
}

// TestFloodSizes: empty packets (keepalives) and packets longer than the
// MTU are not flooded; one of exactly the MTU is.
func TestFloodSizes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := newFlooder(quiet)
		defer fl.close()
		a, b := &sink{}, &sink{}
		pa := fl.add("a", a.write)
		fl.add("b", b.write)
		fl.receive(pa, nil)
		fl.receive(pa, bytes.Repeat([]byte{1}, wire.BroadcastMTU+1))
		fl.receive(pa, bytes.Repeat([]byte{2}, wire.BroadcastMTU))
		synctest.Wait()
		got := b.got()
		if len(got) != 1 || len(got[0]) != wire.BroadcastMTU {
			t.Fatalf("b got %d packets, want one of %d bytes", len(got), wire.BroadcastMTU)
		}
		if len(a.got()) != 0 {
			t.Fatal("a packet went back to its port")
		}
		if pa.tooBig.Load() != 1 {
			t.Fatalf("%d packets counted too big, want 1", pa.tooBig.Load())
		}
	})
}

// TestFloodStalledPort: a port whose writes block (an application that
// stopped reading) loses its own packets once its queue is full; the
// other ports get every packet.
func TestFloodStalledPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := newFlooder(quiet)
		block := make(chan struct{})
		fast := &sink{}
		src := fl.add("src", func([]byte) error { return nil })
		fl.add("fast", fast.write)
		stalled := fl.add("stalled", func([]byte) error { <-block; return nil })
		const count = 3 * queueLen
		for i := range count {
			fl.receive(src, fmt.Appendf(nil, "message %d", i))
			if i%100 == 0 {
				synctest.Wait() // let the fast writer keep up, as a reading application does
			}
		}
		synctest.Wait()
		if got := len(fast.got()); got != count {
			t.Fatalf("the reading port got %d of %d packets", got, count)
		}
		// One packet is in the blocked write, queueLen wait behind it.
		if d := stalled.drops.Load(); d != count-queueLen-1 {
			t.Fatalf("%d packets dropped for the stalled port, want %d", d, count-queueLen-1)
		}
		close(block)
		fl.close()
		<-stalled.done
	})
}
