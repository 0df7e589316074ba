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

// fakeConn is an in-memory flow to an operf server. Writes are recorded; in
// echo mode every data packet (every write after the first, the
// configuration) is queued for Read, resized to echoSize if that is set.
// Reads block up to the receive timeout and fail with ETIMEDOUT; writes block
// while blocked is set, until the write deadline passes.
type fakeConn struct {
	echo     bool
	echoSize int
	writeErr map[int]error // by write number, from 1

	mu      sync.Mutex
	flags   flow.Flags
	timeout time.Duration
	wdl     time.Time
	blocked bool
	written [][]byte
	q       [][]byte
	txq     []int // successive TxQueueLen values; the last one repeats
	readErr error // what Read returns, if set (the flow went down)
	kick    chan struct{}
}

func newFakeConn(echo bool) *fakeConn {
	return &fakeConn{echo: echo, kick: make(chan struct{}, 1)}
}

func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	n := len(c.written) + 1
	if err := c.writeErr[n]; err != nil {
		c.mu.Unlock()
		return 0, opErr("write", err)
	}
	for c.blocked {
		if !c.wdl.IsZero() && !time.Now().Before(c.wdl) {
			c.mu.Unlock()
			return 0, opErr("write", flow.ETIMEDOUT)
		}
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
		c.mu.Lock()
	}
	c.written = append(c.written, bytes.Clone(p))
	if c.echo && n > 1 {
		e := bytes.Clone(p)
		if c.echoSize > 0 {
			e = make([]byte, c.echoSize)
		}
		c.q = append(c.q, e)
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	return len(p), nil
}

func (c *fakeConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	timeout := c.timeout
	c.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		if c.readErr != nil {
			c.mu.Unlock()
			return 0, opErr("read", c.readErr)
		}
		if len(c.q) > 0 {
			m := c.q[0]
			c.q = c.q[1:]
			c.mu.Unlock()
			return copy(p, m), nil
		}
		c.mu.Unlock()
		select {
		case <-c.kick:
		case <-t.C:
			return 0, opErr("read", flow.ETIMEDOUT)
		}
	}
}

func (c *fakeConn) SetFlags(f flow.Flags) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flags = f
	return nil
}

func (c *fakeConn) SetReadTimeout(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timeout = d
}

func (c *fakeConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	return nil
}

func (c *fakeConn) TxQueueLen() int {
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

func (c *fakeConn) writes() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written
}

// stepClock returns t0, t0+step, t0+2·step, ... on successive calls.
func stepClock(t0 time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := t0.Add(time.Duration(n) * step)
		n++
		return t
	}
}

var t0 = time.Unix(1700000000, 0)

// testClient returns a client on conn whose writer clock advances 1 ms per
// reading and whose pauses return at once; the reader gives up after 200 ms.
func testClient(cfg config, conn *fakeConn, out *bytes.Buffer) *client {
	cfg.name = "srv"
	if cfg.size == 0 {
		cfg.size = 1500
	}
	if cfg.rate == 0 {
		cfg.rate = defaultRate
	}
	c := newClient(cfg, conn, 64, newPrinter(out))
	c.clock = stepClock(t0, time.Millisecond)
	c.pause = func(time.Duration) bool { return !c.stopped() }
	c.readTO = 200 * time.Millisecond
	c.linger = 100 * time.Millisecond
	return c
}

func TestClientUniFlood(t *testing.T) {
	var out bytes.Buffer
	conn := newFakeConn(false)
	c := testClient(config{test: testUni, flood: true, duration: 5}, conn, &out)
	if code := c.run(context.Background()); code != 0 {
		t.Fatalf("exit %d", code)
	}
	// tic at 0 ms; packets at 1, 2, 3, 4 ms; the reading at 5 ms ends the loop.
	want := "Doing a unidirectional test.\n" +
		"Flooding srv with 1500 byte packets for 0 seconds.\n\n" +
		"Test finished.\n" +
		"\n--- srv perf statistics ---\n" +
		"4 packets transmitted, 6000 bytes, time: 6.000 ms, rate: 8.000 Mb/s.\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	w := conn.writes()
	if len(w) != 5 || !bytes.Equal(w[0], []byte{0, 0, 0, 0}) {
		t.Fatalf("%d writes, first % x", len(w), w[0])
	}
	for i, p := range w[1:] {
		if len(p) != 1500 || binary.LittleEndian.Uint32(p) != uint32(i) || !bytes.Equal(p[4:], make([]byte, 1496)) {
			t.Errorf("packet %d: %d bytes, % x...", i, len(p), p[:8])
		}
	}
	if conn.flags != flow.FlagRdWr|flow.FlagRNoPart {
		t.Errorf("flags %#o", conn.flags)
	}
	got, _ := json.Marshal(c.summary())
	wantJSON := `{"tool":"operf","role":"client","server":"srv","test":"uni","qos":"","size":1500,` +
		`"flood":true,"rate_bps":1000000,"duration_ms":5,"elapsed_ms":6,"sent":4,"sent_bytes":6000,` +
		`"sent_mbps":8}`
	if string(got) != wantJSON {
		t.Errorf("JSON %s\nwant %s", got, wantJSON)
	}
}

func TestClientBiFlood(t *testing.T) {
	var out bytes.Buffer
	conn := newFakeConn(true)
	c := testClient(config{test: testBi, flood: true, duration: 5, size: 100}, conn, &out)
	c.run(context.Background())
	want := "Doing a bidirectional test.\n" +
		"Flooding srv with 100 byte packets for 0 seconds.\n\n" +
		"Test finished.\n" +
		"\n--- srv perf statistics ---\n" +
		"4 packets transmitted, 4 received, 0% packet loss, time: 6.000 ms, bandwidth: 0.533 Mb/s.\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if !bytes.Equal(conn.writes()[0], []byte{1, 0, 0, 0}) {
		t.Errorf("config % x", conn.writes()[0])
	}
	s := c.summary()
	if s.Received == nil || *s.Received != 4 || *s.Loss != 0 || *s.Bandwidth != 0.533 || s.Error != "" {
		t.Errorf("summary %+v", s)
	}
}

func TestClientPaced(t *testing.T) {
	// 1500 bytes at 4 Mb/s: a packet due every 3 ms from the start.
	// Busy-waiting on the 1 ms clock, the packets start at 1, 4, 7, 10 ms
	// (the clock is read at the top of the loop and then until it reaches
	// the due time); the reading at 13 ms ends the run.
	var out bytes.Buffer
	conn := newFakeConn(false)
	c := testClient(config{test: testUni, duration: 12, rate: 4000000}, conn, &out)
	c.run(context.Background())
	want := "Doing a unidirectional test.\n" +
		"Sending 1500 byte packets for 0 s to srv at 4.000 Mb/s.\n\n" +
		"Test finished.\n" +
		"\n--- srv perf statistics ---\n" +
		"4 packets transmitted, 6000 bytes, time: 14.000 ms, rate: 3.429 Mb/s.\n"
	if out.String() != want || len(conn.writes()) != 5 {
		t.Errorf("%d writes, output:\n%s\nwant:\n%s", len(conn.writes()), out.String(), want)
	}

	// --sleep: every clock reading takes 1 ms and every sleep overruns by
	// 1 ms; the sleeps keep the schedule, so 4 packets go in 12 ms as when
	// busy-waiting (the reference sleeps 3 ms after each write: 3 packets).
	out.Reset()
	conn = newFakeConn(false)
	c = testClient(config{test: testUni, duration: 12, rate: 4000000, sleep: true}, conn, &out)
	now := t0
	c.clock = func() time.Time { now = now.Add(time.Millisecond); return now }
	var pauses []time.Duration
	c.pause = func(d time.Duration) bool {
		pauses = append(pauses, d)
		now = now.Add(d + time.Millisecond)
		return true
	}
	c.run(context.Background())
	if len(conn.writes()) != 5 {
		t.Errorf("--sleep: %d writes, want 5 (the configuration and 4 packets)", len(conn.writes()))
	}
	if want := []time.Duration{startPause, time.Millisecond, time.Millisecond}; !slices.Equal(pauses, want) {
		t.Errorf("--sleep: pauses %v, want %v", pauses, want)
	}
}

func TestClientFailures(t *testing.T) {
	tests := []struct {
		name     string
		cfg      config
		writeErr map[int]error
		code     int
		want     string
		fail     string
	}{
		{"config fails", config{test: testBi, flood: true, duration: 5}, map[int]error{1: flow.EFLOWDOWN}, 1,
			"Doing a bidirectional test.\nFailed to send configuration.\n", "Failed to send configuration."},
		{"write fails", config{test: testUni, flood: true, duration: 5}, map[int]error{3: flow.EFLOWDOWN}, 0,
			"Doing a unidirectional test.\nFlooding srv with 1500 byte packets for 0 seconds.\n\n" +
				"Failed to send packet.\n" +
				"\n--- srv perf statistics ---\n" +
				"1 packets transmitted, 1500 bytes, time: 3.000 ms, rate: 4.000 Mb/s.\n", "Failed to send packet."},
		{"write fails, bi", config{test: testBi, flood: true, duration: 5}, map[int]error{3: flow.EFLOWDOWN}, 0,
			"Doing a bidirectional test.\nFlooding srv with 1500 byte packets for 0 seconds.\n\n" +
				"Failed to send packet.\n" +
				"\n--- srv perf statistics ---\n" +
				"1 packets transmitted, 0 received, 100% packet loss, time: 3.000 ms, bandwidth: 0.000 Mb/s.\n",
			"Failed to send packet."},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		conn := newFakeConn(false) // no echoes: the reader's count is known
		conn.writeErr = tt.writeErr
		c := testClient(tt.cfg, conn, &out)
		if code := c.run(context.Background()); code != tt.code {
			t.Errorf("%s: exit %d, want %d", tt.name, code, tt.code)
		}
		if out.String() != tt.want {
			t.Errorf("%s: output:\n%s\nwant:\n%s", tt.name, out.String(), tt.want)
		}
		if s := c.summary(); s.Error != tt.fail {
			t.Errorf("%s: JSON error %q, want %q", tt.name, s.Error, tt.fail)
		}
	}
}

// TestClientInvalidEchoes gets echoes of another size than the packets: they
// are reported (the reader's lines may come before or after the writer's
// "Test finished.") and not counted.
func TestClientInvalidEchoes(t *testing.T) {
	var out bytes.Buffer
	conn := newFakeConn(true)
	conn.echoSize = 64
	c := testClient(config{test: testBi, flood: true, duration: 3}, conn, &out)
	c.run(context.Background())
	got := out.String()
	head := "Doing a bidirectional test.\nFlooding srv with 1500 byte packets for 0 seconds.\n\n"
	tail := "Server timed out.\n" +
		"\n--- srv perf statistics ---\n" +
		"2 packets transmitted, 0 received, 100% packet loss, time: 4.000 ms, bandwidth: 0.000 Mb/s.\n"
	middle := strings.TrimSuffix(strings.TrimPrefix(got, head), tail)
	if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) || len(middle) != len(got)-len(head)-len(tail) {
		t.Fatalf("output:\n%s", got)
	}
	if strings.Count(middle, "Invalid message on fd 64.\n") != 2 || strings.Count(middle, "Test finished.\n") != 1 ||
		len(middle) != 2*len("Invalid message on fd 64.\n")+len("Test finished.\n") {
		t.Errorf("middle of the output:\n%s", middle)
	}
}

func TestClientServerSilent(t *testing.T) {
	var out bytes.Buffer
	conn := newFakeConn(false) // a bidirectional test to a server that never echoes
	c := testClient(config{test: testBi, flood: true, duration: 2}, conn, &out)
	c.run(context.Background())
	want := "Doing a bidirectional test.\nFlooding srv with 1500 byte packets for 0 seconds.\n\n" +
		"Test finished.\nServer timed out.\n" +
		"\n--- srv perf statistics ---\n" +
		"1 packets transmitted, 0 received, 100% packet loss, time: 3.000 ms, bandwidth: 0.000 Mb/s.\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if conn.timeout != readSlice {
		t.Errorf("receive timeout %v, want %v", conn.timeout, readSlice)
	}
}

// TestClientStop stops a run whose write is blocked by back-pressure: the
// write is released at once and the run ends normally.
func TestClientStop(t *testing.T) {
	var out bytes.Buffer
	conn := newFakeConn(true)
	c := testClient(config{test: testBi, flood: true, duration: 1 << 40}, conn, &out)
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
	done := make(chan int)
	go func() { done <- c.run(ctx) }()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the run did not stop")
	}
	lines := strings.Split(out.String(), "\n")
	if lines[3] != "Test finished." || !strings.Contains(out.String(), "--- srv perf statistics ---") {
		t.Errorf("output:\n%s", out.String())
	}
	if strings.Contains(out.String(), "Failed") || strings.Contains(out.String(), "timed out") {
		t.Errorf("a stop is not a failure:\n%s", out.String())
	}
}

// TestClientDrain checks that a unidirectional client waits for the peer to
// take what it wrote, and not beyond the linger time.
func TestClientDrain(t *testing.T) {
	var out bytes.Buffer
	conn := newFakeConn(false)
	conn.txq = []int{3000, 1500, 1500, 0, 99}
	c := testClient(config{test: testUni, flood: true, duration: 2}, conn, &out)
	c.run(context.Background())
	if len(conn.txq) != 1 || conn.txq[0] != 99 {
		t.Errorf("the drain stopped with %v left", conn.txq)
	}

	conn = newFakeConn(false)
	conn.txq = []int{1500} // never drains
	c = testClient(config{test: testUni, flood: true, duration: 2}, conn, &out)
	start := time.Now()
	c.run(context.Background())
	if d := time.Since(start); d < c.linger || d > c.linger+time.Second {
		t.Errorf("lingered %v, want %v", d, c.linger)
	}
}

// TestClientNoDrainWhenDown: a unidirectional client whose flow went down
// (a write failed, or the flow went down after the last write) does not
// wait for a queue that will never drain.
func TestClientNoDrainWhenDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*fakeConn)
	}{
		{"write fails", func(c *fakeConn) { c.writeErr = map[int]error{3: flow.EFLOWDOWN}; c.readErr = flow.EFLOWDOWN }},
		{"down after the writes", func(c *fakeConn) { c.readErr = flow.EFLOWDOWN }},
	} {
		var out bytes.Buffer
		conn := newFakeConn(false)
		conn.txq = []int{1500} // never drains
		tc.set(conn)
		c := testClient(config{test: testUni, flood: true, duration: 1}, conn, &out)
		c.linger = time.Hour
		done := make(chan struct{})
		go func() { c.run(context.Background()); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the client lingers after the flow went down:\n%s", tc.name, out.String())
		}
	}
}
