package flow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// echoBound is how long an echo may take in TestWakeupUnderLoad: far more
// than any scheduling delay of a loaded machine, far less than never.
const echoBound = 3 * time.Second

// TestWakeupUnderLoad runs many raw flow pairs echoing small messages while
// busy goroutines keep every CPU of the test process taken: each client sends
// bursts of pings, each answered before the next, with pauses shorter and
// longer than a reader's brief wait on its ring (so the waits of Read and of
// one-flow event sets come and go, and the receive goroutines go to sleep and
// are woken in every way), and moves its read deadline while it waits. Every
// ping must be echoed within echoBound, and no flow may go down: a packet left
// in a channel with no one to wake for it fails the test.
func TestWakeupUnderLoad(t *testing.T) {
	nPairs, run := 40, 6*time.Second
	if testing.Short() {
		nPairs, run = 16, 2*time.Second
	}
	// More threads than CPUs, most of them busy: the kernel takes a CPU
	// from a thread at any instruction, as on a loaded machine.
	procs := 4 * runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	stop := make(chan struct{})
	var hogs sync.WaitGroup
	for range procs - 2 {
		hogs.Add(1)
		go func() {
			defer hogs.Done()
			for n := 0; ; n++ {
				if n%(1<<16) == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
	}
	defer hogs.Wait()
	defer close(stop)

	var failures atomic.Int32
	var mu sync.Mutex
	var msgs []string
	fail := func(format string, args ...any) {
		if failures.Add(1) > 5 {
			return
		}
		mu.Lock()
		msgs = append(msgs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	end := time.Now().Add(run)
	var clients, servers sync.WaitGroup
	var echoes atomic.Int64
	for i := range nPairs {
		a, b := pair(t, rawNoKeepalive, rawNoKeepalive)
		var closed atomic.Bool // the client is done: the server's flow may go down
		servers.Add(1)
		clients.Add(1)
		go func() {
			defer servers.Done()
			if err := wakeupServer(ctx, b, i%2 == 1, &closed); err != nil {
				fail("flow %d: server: %v", i, err)
			}
		}()
		go func() {
			defer clients.Done()
			n, err := wakeupClient(a, i, end)
			echoes.Add(int64(n))
			if err != nil {
				fail("flow %d: echo %d: %v", i, n, err)
			}
			closed.Store(true)
			a.Close()
		}()
	}
	clients.Wait()
	cancel() // the servers whose clients have closed see EFLOWDOWN anyway
	servers.Wait()
	for _, m := range msgs {
		t.Error(m)
	}
	if n := failures.Load(); n > int32(len(msgs)) {
		t.Errorf("and %d more failures", n-int32(len(msgs)))
	}
	t.Logf("%d echoes on %d flows", echoes.Load(), nPairs)
}

// wakeupClient pings f until end and returns the number of echoes it got.
// Clients with an even index wait in Read with a read deadline, the others
// in a one-flow event set, then read without blocking.
func wakeupClient(f *Flow, i int, end time.Time) (int, error) {
	rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
	var set *EventSet
	if i%2 == 1 {
		var err error
		if set, err = newTestSet(f.p); err != nil {
			return 0, err
		}
		defer set.Close()
		if err := set.Add(f); err != nil {
			return 0, err
		}
		f.SetFlags(FlagRNoBlock | FlagRdWr)
	}
	q := NewEventQueue()
	var msg [64]byte
	var buf [128]byte
	n := 0
	for time.Now().Before(end) {
		for range 1 + rng.IntN(8) {
			binary.BigEndian.PutUint64(msg[:], uint64(n))
			if _, err := f.Write(msg[:]); err != nil {
				return n, fmt.Errorf("write: %w", err)
			}
			deadline := time.Now().Add(echoBound)
			var got int
			var err error
			if set == nil {
				f.SetReadDeadline(deadline.Add(time.Hour))
				if rng.IntN(2) == 0 {
					go f.SetReadDeadline(deadline) // moved while Read waits
				} else {
					f.SetReadDeadline(deadline)
				}
				got, err = f.Read(buf[:])
			} else {
				got, err = waitRead(f, set, q, deadline, buf[:])
			}
			if err != nil {
				return n, fmt.Errorf("read: %w", err)
			}
			if got != len(msg) || binary.BigEndian.Uint64(buf[:]) != uint64(n) {
				return n, fmt.Errorf("got %d bytes % x", got, buf[:min(got, 8)])
			}
			n++
		}
		switch r := rng.IntN(10); {
		case r < 4:
		case r < 8:
			time.Sleep(time.Duration(rng.IntN(25000)) * time.Microsecond)
		default:
			time.Sleep(time.Duration(30+rng.IntN(50)) * time.Millisecond) // idle
		}
	}
	return n, nil
}

// waitRead waits on set (of f alone) until f has a message, then reads it.
func waitRead(f *Flow, set *EventSet, q *EventQueue, deadline time.Time, buf []byte) (int, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for {
		n, err := f.Read(buf)
		if !errors.Is(err, oerr.EAGAIN) {
			return n, err
		}
		if err := set.Wait(ctx, q); err != nil {
			return 0, err
		}
		for _, ok := q.Next(); ok; _, ok = q.Next() {
		}
	}
}

// wakeupServer echoes every message of f until the peer closes it (closed is
// set before) or ctx is done, waiting in Read or (inSet) in a one-flow event
// set.
func wakeupServer(ctx context.Context, f *Flow, inSet bool, closed *atomic.Bool) error {
	var set *EventSet
	if inSet {
		var err error
		if set, err = newTestSet(f.p); err != nil {
			return err
		}
		defer set.Close()
		if err := set.Add(f); err != nil {
			return err
		}
		f.SetFlags(FlagRNoBlock | FlagRdWr)
	}
	q := NewEventQueue()
	buf := make([]byte, 128)
	for {
		n, err := f.Read(buf)
		if set != nil && errors.Is(err, oerr.EAGAIN) {
			if err = set.Wait(ctx, q); err == nil {
				for _, ok := q.Next(); ok; _, ok = q.Next() {
				}
				continue
			}
		}
		if err == nil {
			_, err = f.Write(buf[:n])
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, oerr.EFLOWDOWN) && closed.Load():
			return nil
		default:
			return err
		}
	}
}
