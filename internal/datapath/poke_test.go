package datapath

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPokesDuringRead runs a reading goroutine in ReadPacket while other
// goroutines come and go as HotReaders (taking records themselves, or
// leaving them behind, so that the reader is poked) and end their hot
// reading (EndHot), on more threads than CPUs. With no read deadline set,
// ReadPacket must never fail, and every packet must be taken exactly once
// by one of them.
func TestPokesDuringRead(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4 * runtime.NumCPU()))
	a, b := endpoints(t, true)
	n := 20000
	if testing.Short() {
		n = 5000
	}
	seen := make([]atomic.Int32, n)
	var taken atomic.Int64
	take := func(sdu []byte) {
		if len(sdu) == 8 {
			if k := binary.BigEndian.Uint64(sdu); k < uint64(n) {
				seen[k].Add(1)
			}
		}
		taken.Add(1)
	}

	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, MaxSDU+1)
		for {
			_, sdu, err := b.ReadPacket(buf)
			if err != nil {
				readErr <- err
				return
			}
			take(sdu)
		}
	}()

	stop := make(chan struct{})
	var pokers sync.WaitGroup
	for i := range 4 {
		pokers.Add(1)
		go func() {
			defer pokers.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			get := func(n int) []byte { return make([]byte, n) }
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch rng.IntN(4) {
				case 0, 1:
					if h := b.HotRead(); h != nil {
						until := time.Now().Add(time.Duration(rng.IntN(2000)) * time.Microsecond)
						for range rng.IntN(3) {
							if _, sdu, ok, err := h.Next(get, until); err != nil {
								break
							} else if ok {
								take(sdu)
							}
						}
						h.Done()
					}
				case 2:
					b.EndHot()
				default:
					if h := b.HotRead(); h != nil {
						h.Done() // leaves what the ring holds to the reader
					}
				}
				if rng.IntN(8) == 0 {
					time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				}
			}
		}()
	}

	rng := rand.New(rand.NewPCG(7, 7))
	pkt := make([]byte, 9)
	for k := range n {
		binary.BigEndian.PutUint64(pkt[1:], uint64(k))
		if err := a.WritePacket(KindData, pkt); err != nil {
			t.Fatalf("write %d: %v", k, err)
		}
		if rng.IntN(256) == 0 {
			time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond) // the reader sleeps
		}
	}
	bound := time.Now().Add(20 * time.Second)
	for taken.Load() < int64(n) && time.Now().Before(bound) {
		select {
		case err := <-readErr:
			t.Fatalf("ReadPacket failed after %d packets: %v", taken.Load(), err)
		case <-time.After(time.Millisecond):
		}
	}
	close(stop)
	pokers.Wait()
	if got := taken.Load(); got != int64(n) {
		t.Fatalf("%d of %d packets taken within 20 s", got, n)
	}
	bad := 0
	for k := range seen {
		if c := seen[k].Load(); c != 1 && bad < 5 {
			t.Errorf("packet %d taken %d times", k, c)
			bad++
		}
	}
	b.Close()
	if err := <-readErr; !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
		t.Errorf("ReadPacket after Close: %v", err)
	}
}

// TestReadDeadlineWhileSleeping sets the read deadline of a reader that
// sleeps on a shared-memory channel: it fails with a timeout, not before
// the deadline, and reads again once the deadline is cleared.
func TestReadDeadlineWhileSleeping(t *testing.T) {
	a, b := endpoints(t, true)
	buf := make([]byte, MaxSDU+1)
	const d = 50 * time.Millisecond
	start := time.Now()
	go func() {
		time.Sleep(10 * time.Millisecond)
		b.SetReadDeadline(start.Add(d))
	}()
	if _, _, err := b.ReadPacket(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a deadline set while it sleeps: %v", err)
	}
	if el := time.Since(start); el < d {
		t.Fatalf("read timed out after %v, before its deadline (%v)", el, d)
	}
	b.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(10 * time.Millisecond)
		a.WritePacket(KindData, []byte{0, 'x'})
	}()
	if _, sdu, err := b.ReadPacket(buf); err != nil || string(sdu) != "x" {
		t.Fatalf("read after the deadline was cleared: %q, %v", sdu, err)
	}
}
