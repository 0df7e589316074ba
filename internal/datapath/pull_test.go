package datapath

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/shmring"
)

// TestPullerOrderAndEnd: a Puller reads every packet in order, whether it
// waits hot or on the socket (packets in bursts, then after pauses longer
// than the hot window), and then the peer's end. Both data paths.
func TestPullerOrderAndEnd(t *testing.T) {
	bothModes(t, func(t *testing.T, shm bool) {
		a, b := endpoints(t, shm)
		b.SetPolling(false)
		p := b.Puller()
		defer p.Close()
		const n = 60
		go func() {
			for i := range n {
				if i%20 == 0 {
					time.Sleep(2 * HotWindow) // the Puller goes cold
				} else if i%5 == 0 {
					time.Sleep(HotWindow / 5) // it waits hot
				}
				a.WritePacket(KindData, append([]byte{0}, fmt.Sprint(i)...))
			}
			a.Close()
		}()
		get := func(n int) []byte { return make([]byte, n) }
		for i := range n {
			b.SetReadDeadline(time.Now().Add(20 * time.Second))
			kind, sdu, err := p.Read(get)
			if err != nil || kind != KindData || string(sdu) != fmt.Sprint(i) {
				t.Fatalf("packet %d: kind %d %q %v", i, kind, sdu, err)
			}
		}
		if _, _, err := p.Read(get); !errors.Is(err, io.EOF) {
			t.Fatalf("after the peer's end: %v, want EOF", err)
		}
	})
}

// TestPullerWaitsHot: after a packet the Puller waits for the next one in
// FUTEX_WAIT on the ring (the producer wakes it directly, no doorbell);
// after the hot window without one it sleeps on the doorbell, and the
// ring's sleep word says so (not a lazy futex wait nobody makes).
func TestPullerWaitsHot(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("a Puller waits hot only as a raw wait, and GOMAXPROCS 1 leaves no slot for one")
	}
	a, b := endpoints(t, true)
	b.SetPolling(false)
	p := b.Puller()
	defer p.Close()
	get := func(n int) []byte { return make([]byte, n) }
	// read reads in a goroutine of its own (the test's goroutine watches
	// the ring meanwhile); its result comes on the returned channel.
	read := func(want string) chan error {
		res := make(chan error, 1)
		go func() {
			b.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, sdu, err := p.Read(get)
			if err == nil && string(sdu) != want {
				err = fmt.Errorf("read %q, want %q", sdu, want)
			}
			res <- err
		}()
		return res
	}
	// Hot: a Read right after a packet waits on the futex. Under load the
	// goroutine may start after the hot window has passed, and then
	// rightly sleeps on the doorbell: try again.
	hot := false
	for try := 0; try < 20 && !hot; try++ {
		a.WritePacket(KindData, append([]byte{0}, "first"...))
		if err := <-read("first"); err != nil {
			t.Fatal(err)
		}
		before := b.shm.hotWaits.Load()
		res := read("second")
		for end := time.Now().Add(2 * HotWindow); !hot && time.Now().Before(end); time.Sleep(50 * time.Microsecond) {
			hot = b.shm.hotWaits.Load() > before
		}
		a.WritePacket(KindData, append([]byte{0}, "second"...))
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
	if !hot {
		t.Fatal("the Puller never waited on the ring's futex after a packet")
	}

	// Cold: after the hot window, the reader sleeps on the doorbell.
	res := read("late")
	waitBellSleep(t, b)
	a.WritePacket(KindData, append([]byte{0}, "late"...))
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}

// TestPullerTooBig: a record longer than the reader's buffer is skipped
// and reported (ErrTooBig), hot or cold, and the next one is read.
func TestPullerTooBig(t *testing.T) {
	a, b := endpoints(t, true)
	p := b.Puller()
	defer p.Close()
	small := func(int) []byte { return make([]byte, 8) }
	for _, hot := range []bool{false, true} {
		if hot { // a packet first, so that the next Read waits hot
			a.WritePacket(KindData, append([]byte{0}, "x"...))
			if _, _, err := p.Read(small); err != nil {
				t.Fatal(err)
			}
		}
		a.WritePacket(KindData, append([]byte{0}, "far too long for eight bytes"...))
		a.WritePacket(KindData, append([]byte{0}, "next"...))
		b.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, _, err := p.Read(small); !errors.Is(err, ErrTooBig) {
			t.Fatalf("hot %v: %v, want ErrTooBig", hot, err)
		}
		if _, sdu, err := p.Read(small); err != nil || string(sdu) != "next" {
			t.Fatalf("hot %v: after the long record: %q %v", hot, sdu, err)
		}
	}
}

// TestPullerNeverWaitsTheOrdinaryWay: with every raw-wait slot taken, a
// Puller that would wait hot sleeps on its doorbell instead of blocking a
// thread in an ordinary FUTEX_WAIT (which, beside a raw wait on the other
// P, left no thread in the netpoller: e2e Test200ConcurrentFlows).
func TestPullerNeverWaitsTheOrdinaryWay(t *testing.T) {
	a, b := endpoints(t, true)
	b.SetPolling(false)
	p := b.Puller()
	defer p.Close()
	taken := 0
	for rawWaitSlot() {
		taken++
	}
	defer func() {
		for range taken {
			rawWaitDone()
		}
	}()
	get := func(n int) []byte { return make([]byte, n) }
	a.WritePacket(KindData, append([]byte{0}, "first"...))
	b.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, sdu, err := p.Read(get); err != nil || string(sdu) != "first" {
		t.Fatalf("first: %q %v", sdu, err)
	}
	before := b.shm.hotWaits.Load()
	res := make(chan error, 1)
	go func() {
		_, sdu, err := p.Read(get)
		if err == nil && string(sdu) != "second" {
			err = fmt.Errorf("read %q, want second", sdu)
		}
		res <- err
	}()
	waitBellSleep(t, b)
	a.WritePacket(KindData, append([]byte{0}, "second"...))
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if n := b.shm.hotWaits.Load() - before; n != 0 {
		t.Fatalf("%d hot waits with no raw-wait slot free, want 0 (an ordinary wait)", n)
	}
}

// waitBellSleep waits (up to 5 s) until e's reader sleeps on its doorbell,
// as the ring's sleep word says.
func waitBellSleep(t *testing.T, e *Endpoint) {
	t.Helper()
	word := e.shm.rx.RxSleepWord()
	for deadline := time.Now().Add(5 * time.Second); atomic.LoadUint32(word) != shmring.SleepBell; {
		if time.Now().After(deadline) {
			t.Fatalf("sleep word %d after 5 s, want the doorbell's", atomic.LoadUint32(word))
		}
		time.Sleep(time.Millisecond)
	}
}
