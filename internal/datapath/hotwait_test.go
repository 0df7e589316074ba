package datapath

import (
	"runtime"
	"runtime/metrics"
	"strings"
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
	writeAndWaitTaken(t, a, &got)
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
	writeAndWaitTaken(t, a, &got)
}

// writeAndWaitTaken writes a record on a and waits until the HotReader of
// hotWaiting counted it in got.
func writeAndWaitTaken(t *testing.T, a *Endpoint, got *atomic.Int64) {
	t.Helper()
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

// readerOnConsumerRole reports whether a goroutine in shmRead (the reading
// goroutine) is blocked on a mutex: the consumer role, held by a HotReader.
func readerOnConsumerRole() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "datapath.(*Endpoint).shmRead") && strings.Contains(g, "[sync.Mutex.Lock") {
			return true
		}
	}
	return false
}

// TestLazySleepOutlastsHotReader: while a HotReader holds the consumer role
// and waits for records, the reading goroutine, sleeping lazily on the
// socket, does not wake at the end of its lazy window to block on the
// consumer role (from where every Done handed the role to it, on another
// thread, only for it to go back to sleep): it sleeps on. Records the
// HotReader does not take still reach ReadPacket.
func TestLazySleepOutlastsHotReader(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	a, b := endpoints(t, true)
	got := make(chan []byte, 16)
	go func() {
		buf := make([]byte, MaxSDU+1)
		for {
			_, sdu, err := b.ReadPacket(buf)
			if err != nil {
				close(got)
				return
			}
			got <- append([]byte(nil), sdu...)
		}
	}()
	get := func(n int) []byte { return make([]byte, n) }
	// The reading goroutine sleeps lazily once it goes to sleep less than
	// HotWindow after a HotReader left: a HotReader comes and goes, a
	// record wakes the reading goroutine, until it is seen asleep lazily.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("the reading goroutine never slept lazily")
		}
		if h := b.HotRead(); h != nil {
			h.Done()
		}
		if err := a.WritePacket(KindData, []byte{0, 1}); err != nil {
			t.Fatal(err)
		}
		<-got
		time.Sleep(time.Millisecond)
		if b.shm.lazy.Load() && b.shm.bellSleep.Load() {
			break
		}
	}
	h := b.HotRead()
	if h == nil {
		t.Fatal("HotRead: the consumer role is taken")
	}
	// Hold the role, waiting for records, for several lazy windows.
	for end := time.Now().Add(6 * HotWindow); time.Now().Before(end); {
		if _, _, _, err := h.Next(get, time.Now().Add(HotWindow/2)); err != nil {
			t.Fatal(err)
		}
		if readerOnConsumerRole() {
			h.Done()
			t.Fatal("the reading goroutine woke from its lazy sleep to wait for the consumer role")
		}
	}
	h.Done()
	if b.shm.lazyStays.Load() == 0 {
		t.Log("the lazy window never ended while the HotReader held the role (a slow machine)")
	}
	// Records keep reaching the reading goroutine.
	for i := range 3 {
		if err := a.WritePacket(KindData, []byte{0, byte(i)}); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if len(p) != 1 || p[0] != byte(i) {
				t.Fatalf("record %d: got %v", i, p)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("record %d never reached ReadPacket", i)
		}
	}
}

// TestInterruptBeforeHotWait: an interruption that comes before a hot wait
// arms its futex (a flow's event set saw an event elsewhere just then) is
// not lost: the wait returns without sleeping, where it slept through its
// whole window before.
func TestInterruptBeforeHotWait(t *testing.T) {
	_, b := endpoints(t, true)
	h := b.HotRead()
	if h == nil {
		t.Fatal("HotRead: the consumer role is taken")
	}
	defer h.Done()
	get := func(n int) []byte { return make([]byte, n) }
	b.InterruptHot()
	if _, _, ok, err := h.Next(get, time.Now().Add(time.Hour)); ok || err != nil {
		t.Fatalf("Next on an empty ring: ok %v, err %v", ok, err)
	}
	if n := b.shm.hotWaits.Load(); n != 0 {
		t.Fatalf("%d futex waits after an interruption, want none", n)
	}
	// The interruption is seen once: the next wait sleeps (until its
	// window ends).
	if _, _, ok, err := h.Next(get, time.Now().Add(time.Millisecond)); ok || err != nil {
		t.Fatalf("Next on an empty ring: ok %v, err %v", ok, err)
	}
	if n := b.shm.hotWaits.Load(); n != 1 {
		t.Fatalf("%d futex waits, want 1", n)
	}
}
