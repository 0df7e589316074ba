package datapath

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/shmring"
)

// notInGo is the runtime's count of goroutines in a system call (or cgo).
func notInGo() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines/not-in-go:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// hotWaiting starts a HotReader on b that waits for a record for up to
// HotWindow at a time until the test ends, and returns once it announced
// its FUTEX_WAIT (the ring's sleep word says SleepFutex). got counts the
// records it took.
func hotWaiting(t *testing.T, b *Endpoint, got *atomic.Int64) {
	t.Helper()
	h := b.HotRead()
	if h == nil {
		t.Fatal("HotRead: the consumer role is taken")
	}
	stop, done := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		defer h.Done()
		get := func(n int) []byte { return make([]byte, n) }
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, ok, err := h.Next(get, time.Now().Add(HotWindow)); err != nil {
				return
			} else if ok {
				got.Add(1)
			}
		}
	}()
	word := b.shm.rx.RxSleepWord()
	for deadline := time.Now().Add(20 * time.Second); atomic.LoadUint32(word) != shmring.SleepFutex; {
		if time.Now().After(deadline) {
			t.Fatal("the HotReader never announced its wait")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHotWaitStaysInGo: a hot wait is not a system call to the Go scheduler
// (see rawWait), so that the runtime's monitor thread does not take its P
// and wake up every 20 µs around every paced packet. While a HotReader waits
// for a record that does not come, the runtime counts no goroutine in a
// system call; the record, when it comes, is taken.
func TestHotWaitStaysInGo(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	a, b := endpoints(t, true)
	base := notInGo()
	var got atomic.Int64
	hotWaiting(t, b, &got)
	// Sample through several waits (each at most HotWindow).
	for range 20 {
		if n := notInGo(); n > base {
			t.Fatalf("%d goroutines in a system call during a hot wait, %d before", n, base)
		}
		time.Sleep(HotWindow / 4)
	}
	if err := a.WritePacket(KindData, []byte{0, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); got.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the HotReader never took the record")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHotWaitOneProc: with GOMAXPROCS 1 a hot wait must not hold the only P
// (nothing else of the process could run, not even the goroutine that
// writes the request the reply to which it waits for): it is a system call
// to the scheduler there, and other goroutines keep running.
func TestHotWaitOneProc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	a, b := endpoints(t, true)
	var got atomic.Int64
	hotWaiting(t, b, &got)
	for deadline := time.Now().Add(20 * time.Second); notInGo() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("with GOMAXPROCS 1, the hot wait is never a system call to the scheduler")
		}
		time.Sleep(time.Millisecond)
	}
	if err := a.WritePacket(KindData, []byte{0, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); got.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the HotReader never took the record")
		}
		time.Sleep(time.Millisecond)
	}
}
