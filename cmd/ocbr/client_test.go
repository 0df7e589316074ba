package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// sinkConn is an in-memory flow that records what is written. Write number
// failAt (from 1) fails; writes block while blocked is set, until the write
// deadline passes.
type sinkConn struct {
	failAt int

	mu      sync.Mutex
	wdl     time.Time
	blocked bool
	written [][]byte
	txq     []int // successive TxQueueLen values; the last one repeats
}

func (c *sinkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.written)+1 == c.failAt {
		return 0, opErr("write", flow.EFLOWDOWN)
	}
	for c.blocked {
		if !c.wdl.IsZero() && !time.Now().Before(c.wdl) {
			return 0, opErr("write", flow.ETIMEDOUT)
		}
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
		c.mu.Lock()
	}
	c.written = append(c.written, bytes.Clone(p))
	return len(p), nil
}

func (c *sinkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	return nil
}

func (c *sinkConn) TxQueueLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.txq) == 0 {
		return 0
	}
	v := c.txq[0]
	if len(c.txq) > 1 {
		c.txq = c.txq[1:]
	}
	return v
}

func (c *sinkConn) writes() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written
}

// testClient returns a client on conn whose clock advances 100 ms per
// reading and whose pauses return at once.
func testClient(cfg config, conn *sinkConn, out *bytes.Buffer) *client {
	cfg.name = "srv"
	if cfg.rate == 0 {
		cfg.rate = defaultRate
	}
	c := newClient(cfg, conn, &printer{W: out})
	c.clock = stepClock(t0, 100*time.Millisecond)
	c.pause = func(time.Duration) bool { return !c.stopped() }
	c.linger = 100 * time.Millisecond
	return c
}

func TestClientFlood(t *testing.T) {
	// The start at 0 ms, packets at 100..1000 ms: the one at 1000 ms is one
	// whole second after the start and the last; the end at 1100 ms.
	var out bytes.Buffer
	conn := &sinkConn{}
	c := testClient(config{duration: 1, size: 1000, flood: true, sleep: true}, conn, &out)
	c.run(context.Background())
	want := "sent statistics:        10 packets,        10000 bytes in      1100 ms, 0.0727 Mb/s\n"
	if out.String() != want {
		t.Errorf("output %q\nwant %q", out.String(), want)
	}
	w := conn.writes()
	if len(w) != 10 {
		t.Fatalf("%d packets", len(w))
	}
	for i, p := range w {
		if !bytes.Equal(p, make([]byte, 1000)) {
			t.Errorf("flooded packet %d is not zeros: % x", i, p[:8])
		}
	}
	got, _ := json.Marshal(c.summary())
	wantJSON := `{"tool":"ocbr","role":"client","server":"srv","qos":"","size":1000,"rate_bps":1000000,` +
		`"duration_s":1,"flood":true,"spin":false,"packets":10,"bytes":10000,"elapsed_ms":1100,"mbps":0.073}`
	if string(got) != wantJSON {
		t.Errorf("JSON %s\nwant %s", got, wantJSON)
	}
}

func TestClientPaced(t *testing.T) {
	// 1000 bytes at 32 kb/s: packet k is due at (k+1) × 250 ms, whatever the
	// writes and sleeps take; the run ends with the packet due at 1000 ms.
	check := func(name string, c *client, conn *sinkConn, out *bytes.Buffer, wantOut string) {
		t.Helper()
		c.run(context.Background())
		if out.String() != wantOut {
			t.Errorf("%s: output %q\nwant %q", name, out.String(), wantOut)
		}
		w := conn.writes()
		if len(w) != 4 {
			t.Fatalf("%s: %d packets, want 4", name, len(w))
		}
		for i, p := range w {
			if len(p) != 1000 || binary.LittleEndian.Uint64(p) != uint64(i) || !bytes.Equal(p[8:], make([]byte, 992)) {
				t.Errorf("%s: packet %d: % x", name, i, p[:8])
			}
		}
	}

	// Sleeping: every clock reading takes 10 ms and every sleep overruns by
	// 30 ms; the sleeps shrink to keep the schedule (the reference sleeps
	// 250 ms after each write and sends fewer packets per second).
	var out bytes.Buffer
	conn := &sinkConn{}
	c := testClient(config{duration: 1, size: 1000, rate: 32000, sleep: true}, conn, &out)
	now := t0
	c.clock = func() time.Time { now = now.Add(10 * time.Millisecond); return now }
	var pauses []time.Duration
	c.pause = func(d time.Duration) bool {
		pauses = append(pauses, d)
		now = now.Add(d + 30*time.Millisecond)
		return true
	}
	check("sleep", c, conn, &out,
		"sent statistics:         4 packets,         4000 bytes in      1040 ms, 0.0308 Mb/s\n")
	want := []time.Duration{240 * time.Millisecond, 210 * time.Millisecond, 210 * time.Millisecond, 210 * time.Millisecond}
	if !slices.Equal(pauses, want) {
		t.Errorf("sleep: pauses %v, want %v", pauses, want)
	}

	// Busy-waiting reads the clock (100 ms per reading) until past the due
	// time: the run ends at 1100 ms, more than 5 % short of the rate, which
	// is said.
	out.Reset()
	conn = &sinkConn{}
	c = testClient(config{duration: 1, size: 1000, rate: 32000}, conn, &out)
	c.pause = func(d time.Duration) bool { t.Errorf("spin: paused %v", d); return true }
	check("spin", c, conn, &out,
		"sent statistics:         4 packets,         4000 bytes in      1100 ms, 0.0291 Mb/s\n"+
			"Requested rate not met: 0.0291 of 0.0320 Mb/s (the writes could not keep up).\n")
}

func TestClientSmallPackets(t *testing.T) {
	for _, size := range []int{0, 3, 8} {
		var out bytes.Buffer
		conn := &sinkConn{}
		c := testClient(config{duration: 0, size: size, rate: 1000}, conn, &out)
		c.run(context.Background())
		w := conn.writes()
		if len(w) != 1 || len(w[0]) != size {
			t.Errorf("size %d: wrote %d packets, first % x", size, len(w), w)
		}
	}
}

func TestClientWriteFails(t *testing.T) {
	var out bytes.Buffer
	conn := &sinkConn{failAt: 3}
	c := testClient(config{duration: 10, size: 100, flood: true}, conn, &out)
	c.run(context.Background())
	// Packets at 100 and 200 ms, the failed write at 300 ms, the end at 400 ms.
	want := "sent statistics:         2 packets,          200 bytes in       400 ms, 0.0040 Mb/s\n"
	if out.String() != want {
		t.Errorf("output %q\nwant %q", out.String(), want)
	}
	if s := c.summary(); !strings.Contains(s.Error, "flow is down") || s.Packets != 2 {
		t.Errorf("summary %+v", s)
	}
}

// TestClientStop stops a run whose write is blocked by back-pressure: the
// write is released at once and the statistics are printed.
func TestClientStop(t *testing.T) {
	var out bytes.Buffer
	conn := &sinkConn{}
	c := testClient(config{duration: 1 << 30, size: 100, flood: true}, conn, &out)
	c.clock = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(conn.writes()) < 10 {
			time.Sleep(time.Millisecond)
		}
		conn.mu.Lock()
		conn.blocked = true
		conn.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	done := make(chan struct{})
	go func() { c.run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the run did not stop")
	}
	if !strings.HasPrefix(out.String(), "sent statistics: ") || c.summary().Error != "" {
		t.Errorf("output %q, summary %+v", out.String(), c.summary())
	}
}

// TestClientDrain checks that the client waits for the peer to take what it
// wrote, and not beyond the linger time.
func TestClientDrain(t *testing.T) {
	var out bytes.Buffer
	conn := &sinkConn{txq: []int{3000, 1000, 0, 99}}
	testClient(config{duration: 0, size: 1000, flood: true}, conn, &out).run(context.Background())
	if len(conn.txq) != 1 {
		t.Errorf("the drain stopped with %v left", conn.txq)
	}

	conn = &sinkConn{txq: []int{1000}} // never drains
	c := testClient(config{duration: 0, size: 1000, flood: true}, conn, &out)
	start := time.Now()
	c.run(context.Background())
	if d := time.Since(start); d < c.linger || d > c.linger+time.Second {
		t.Errorf("lingered %v, want %v", d, c.linger)
	}
}
