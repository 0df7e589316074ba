package datapath

import (
	"errors"
	"fmt"
	"io"
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
	a, b := endpoints(t, true)
	b.SetPolling(false)
	p := b.Puller()
	defer p.Close()
	get := func(n int) []byte { return make([]byte, n) }
	read := func(want string) {
		t.Helper()
		b.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, sdu, err := p.Read(get); err != nil || string(sdu) != want {
			t.Fatalf("read %q %v, want %q", sdu, err, want)
		}
	}
	a.WritePacket(KindData, append([]byte{0}, "cold"...))
	read("cold")

	// Hot: the next Read waits on the futex (a wait is counted just
	// before it is made; the record wakes it, or it sees the word changed).
	done := make(chan struct{})
	go func() { defer close(done); read("hot") }()
	for deadline := time.Now().Add(5 * time.Second); b.shm.hotWaits.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the Puller did not wait on the ring's futex after a packet")
		}
		time.Sleep(50 * time.Microsecond)
	}
	a.WritePacket(KindData, append([]byte{0}, "hot"...))
	<-done
	word := b.shm.rx.RxSleepWord()

	// Cold: after the hot window, the reader sleeps on the doorbell.
	done = make(chan struct{})
	go func() { defer close(done); read("late") }()
	for deadline := time.Now().Add(5 * time.Second); atomic.LoadUint32(word) != shmring.SleepBell; {
		if time.Now().After(deadline) {
			t.Fatalf("sleep word %d %v after the hot window, want the doorbell's", atomic.LoadUint32(word), 5*time.Second)
		}
		time.Sleep(time.Millisecond)
	}
	a.WritePacket(KindData, append([]byte{0}, "late"...))
	<-done
}
