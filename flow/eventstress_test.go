package flow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// rawNoKeepalive is a raw flow (no FRCT, no CRC: the path where a waiting
// Read or a one-flow EventSet takes packets from the channel itself) without
// keepalives.
var rawNoKeepalive = func() qos.Spec { s := qos.Raw; s.Timeout = 0; return s }()

// stressSize is the size of the messages of TestEventSetStress, in bytes.
const stressSize = 512

// stressFlow is one receiving flow of TestEventSetStress and what it must see.
type stressFlow struct {
	f      *Flow
	want   int  // messages its peer writes
	killed bool // its peer closes after want messages
	got    int  // messages read, each checked to be the next in sequence
	down   bool // a read reported EFLOWDOWN
	err    error
}

func (s *stressFlow) done() bool { return s.err != nil || s.got == s.want && (!s.killed || s.down) }

// read takes one message, as the oping server does per EventPkt.
func (s *stressFlow) read(buf []byte) {
	n, err := s.f.Read(buf)
	switch {
	case errors.Is(err, oerr.EAGAIN):
	case errors.Is(err, oerr.EFLOWDOWN):
		if !s.killed || s.got != s.want {
			s.err = fmt.Errorf("flow down after %d of %d messages (peer killed: %v)", s.got, s.want, s.killed)
		}
		s.down = true
	case err != nil:
		s.err = fmt.Errorf("read after %d messages: %v", s.got, err)
	case n != stressSize || binary.BigEndian.Uint64(buf) != uint64(s.got):
		s.err = fmt.Errorf("message %d: got %d bytes % x", s.got, n, buf[:min(n, 8)])
	default:
		s.got++
	}
}

// TestEventSetStress runs many raw flows into event sets, half of them each
// alone in its set (the waiting goroutine takes the packets from the channel
// itself) and half sharing one set (the receive goroutines queue them), with
// readers that stall now and then so that the writers block on a full
// channel, and with a third of the writers closing their flow at a random
// point. Every message written must be read once and in order, a closed peer
// must be reported (EFLOWDOWN) after its last message, and no wait may hang.
func TestEventSetStress(t *testing.T) { eventSetStress(t, rawNoKeepalive) }

// TestEventSetStressReliable is TestEventSetStress over reliable flows: the
// waiting goroutine of a one-flow set runs the FRCT engine on the packets it
// takes from the channel, the window (not the channel) holds the writers
// back, and a closing writer lingers until its last message is
// acknowledged.
func TestEventSetStressReliable(t *testing.T) { eventSetStress(t, reliable) }

func eventSetStress(t *testing.T, spec qos.Spec) {
	const nFlows = 12
	// 512-byte messages: the ring holds about a thousand and rxq 1024, so
	// the writers block on a full channel.
	msgs := 6000
	if testing.Short() {
		msgs = 2500
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var flows []*stressFlow
	var writers sync.WaitGroup
	start := make(chan struct{}) // closed once every flow is in its set

	for i := range nFlows {
		a, b := pair(t, spec, spec)
		b.SetFlags(FlagRNoBlock | FlagRdWr | FlagRNoPart)
		s := &stressFlow{f: b, want: msgs, killed: i%3 == 0}
		if s.killed {
			s.want = rng.IntN(msgs)
		}
		flows = append(flows, s)
		writers.Add(1)
		go func(n int, kill bool) {
			defer writers.Done()
			<-start
			var msg [stressSize]byte
			for k := range n {
				binary.BigEndian.PutUint64(msg[:], uint64(k))
				if _, err := a.Write(msg[:]); err != nil {
					t.Errorf("flow %d: write %d: %v", i, k, err)
					return
				}
			}
			if kill {
				a.Close()
			}
		}(s.want, s.killed)
	}

	// serve waits on set for the flows of group until each is done.
	serve := func(set *EventSet, group []*stressFlow, seed uint64) error {
		rng := rand.New(rand.NewPCG(seed, 2))
		byFlow := map[*Flow]*stressFlow{}
		for _, s := range group {
			byFlow[s.f] = s
		}
		q := NewEventQueue()
		buf := make([]byte, 2*stressSize)
		for {
			left := 0
			for _, s := range group {
				if s.err != nil {
					return fmt.Errorf("flow %d: %w", s.f.FD(), s.err)
				}
				if !s.done() {
					left++
				}
			}
			if left == 0 {
				return nil
			}
			if err := set.Wait(ctx, q); err != nil {
				msg := fmt.Sprintf("wait: %v;", err)
				for _, s := range group {
					s.f.mu.Lock()
					msg += fmt.Sprintf(" [flow %d: %d of %d read, %d queued, reported %d, killed %v, down %v, peerErr %v]",
						s.f.FD(), s.got, s.want, s.f.queued(), s.f.reported, s.killed, s.down, s.f.peerErr)
					s.f.mu.Unlock()
				}
				return errors.New(msg)
			}
			for ev, ok := q.Next(); ok; ev, ok = q.Next() {
				s := byFlow[ev.Flow]
				switch ev.Type {
				case EventPkt:
					s.read(buf)
				case EventDealloc:
					// Everything the peer sent is queued: read it all, then
					// EFLOWDOWN.
					for !s.done() {
						got := s.got
						if s.read(buf); s.got == got && !s.down {
							s.err = fmt.Errorf("no EFLOWDOWN after EventDealloc: %d of %d messages", s.got, s.want)
						}
					}
				}
			}
			if rng.IntN(64) == 0 {
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond) // back-pressure
			}
		}
	}

	var servers sync.WaitGroup
	errs := make(chan error, nFlows)
	run := func(group []*stressFlow, seed uint64) {
		set, err := newTestSet(group[0].f.p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range group {
			if err := set.Add(s.f); err != nil {
				t.Fatal(err)
			}
		}
		servers.Add(1)
		go func() {
			defer servers.Done()
			defer set.Close()
			if err := serve(set, group, seed); err != nil {
				errs <- err
			}
		}()
	}
	for i := range nFlows / 2 {
		run(flows[i:i+1], uint64(i))
	}
	run(flows[nFlows/2:], 99)
	close(start)
	servers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		cancel() // release blocked writers
	}
	writers.Wait()
}

// TestBlockingReadDeadlines checks a blocking Read of a raw flow: it
// returns a message that comes while it waits, fails with ETIMEDOUT at a
// read deadline set while it waits, and with net.ErrClosed when the flow
// is closed under it; a stream of messages written in bursts, with pauses
// that let the reader sleep, arrives whole.
func TestBlockingReadDeadlines(t *testing.T) {
	a, b := pair(t, rawNoKeepalive, rawNoKeepalive)
	go func() {
		time.Sleep(20 * time.Millisecond)
		a.Write([]byte("late"))
	}()
	buf := make([]byte, 16)
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read: %q, %v", buf[:n], err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		b.SetReadDeadline(time.Now())
	}()
	if _, err := b.Read(buf); !errors.Is(err, oerr.ETIMEDOUT) {
		t.Fatalf("read past a deadline set while waiting: %v", err)
	}
	b.SetReadDeadline(time.Time{})

	const n = 20000
	go func() {
		var msg [8]byte
		for k := range n {
			binary.BigEndian.PutUint64(msg[:], uint64(k))
			if _, err := a.Write(msg[:]); err != nil {
				return
			}
			if k%1000 == 0 {
				time.Sleep(datapathHotWindow() + time.Millisecond) // the reader goes to sleep
			}
		}
	}()
	b.SetReadTimeout(10 * time.Second)
	for k := range n {
		m, err := b.Read(buf)
		if err != nil || m != 8 || binary.BigEndian.Uint64(buf) != uint64(k) {
			t.Fatalf("message %d: %d bytes % x, %v", k, m, buf[:m], err)
		}
	}

	done := make(chan error)
	go func() {
		_, err := b.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	b.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read on a closed flow returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not release a waiting Read")
	}
}

// datapathHotWindow is longer than any brief wait of a reader on its ring
// before it sleeps.
func datapathHotWindow() time.Duration { return 10 * time.Millisecond }
