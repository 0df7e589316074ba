package flow

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestLivenessTimes drives the keepalive rule with a timer in virtual time,
// as Flow.keepalive does, for the default QoS timeout of 120 s: a silent
// local end sends keepalives at 30, 60, 90 s; a peer whose last packet came
// at 0 is declared gone at 120 s + 1 ms, and a peer that keeps sending
// keepalives is never declared gone.
func TestLivenessTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := liveness{timeout: 120 * time.Second}
		start := time.Now()
		lastRcv, lastSnd := start, start
		var sent []time.Duration
		gone := make(chan time.Duration, 1)
		var mu sync.Mutex // each firing runs on its own goroutine
		var tm *time.Timer
		mu.Lock()
		tm = time.AfterFunc(l.timeout/4, func() {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			send, peerGone, next := l.check(now, lastRcv, lastSnd)
			if peerGone {
				gone <- now.Sub(start)
				return
			}
			if send {
				lastSnd = now
				sent = append(sent, now.Sub(start))
			}
			tm.Reset(next.Sub(now))
		})
		mu.Unlock()
		got := <-gone
		mu.Lock()
		defer mu.Unlock()
		if got != 120*time.Second+time.Millisecond {
			t.Fatalf("peer declared gone at %v", got)
		}
		want := []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second, 120 * time.Second}
		if len(sent) != len(want) {
			t.Fatalf("keepalives at %v, want %v", sent, want)
		}
		for i := range want {
			if sent[i] != want[i] {
				t.Fatalf("keepalives at %v, want %v", sent, want)
			}
		}
	})
}

// TestLivenessPeerAlive: the peer's packets (its keepalives every 30 s)
// keep the flow up; this end, which sends data every 10 s, sends no
// keepalive of its own.
func TestLivenessPeerAlive(t *testing.T) {
	l := liveness{timeout: 120 * time.Second}
	t0 := time.Unix(1000, 0)
	lastRcv, lastSnd := t0, t0
	for s := 1; s <= 600; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		if s%30 == 0 {
			lastRcv = now
		}
		if s%10 == 0 {
			lastSnd = now
		}
		send, gone, next := l.check(now, lastRcv, lastSnd)
		if gone || send {
			t.Fatalf("at %d s: keepalive %v, gone %v", s, send, gone)
		}
		if !next.After(now) {
			t.Fatalf("at %d s: next check %v not in the future", s, next.Sub(now))
		}
	}
	// Exactly T of silence is not yet "more than T".
	if _, gone, _ := l.check(t0.Add(120*time.Second), t0, t0.Add(119*time.Second)); gone {
		t.Fatal("declared gone after exactly T")
	}
}
