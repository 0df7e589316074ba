package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// fakeConn is an in-memory flow to an oping server. Each Write is handed to
// respond, which returns the messages the server sends back; they are queued
// for Read at once, or after delay. Reads follow the flow's rules: blocking
// with the receive timeout and read deadline, or EAGAIN with FlagRNoBlock;
// errors are *net.OpError wrapping a flow.Errno, as the flow's.
type fakeConn struct {
	respond func(req []byte) [][]byte
	delay   time.Duration

	mu       sync.Mutex
	flags    flow.Flags
	timeout  time.Duration
	rdl, wdl time.Time
	writeErr error
	readErr  error // returned by every Read once the queue is empty
	q        [][]byte
	kick     chan struct{}
	timers   sync.WaitGroup
}

func newFakeConn(respond func(req []byte) [][]byte) *fakeConn {
	return &fakeConn{respond: respond, kick: make(chan struct{}, 1)}
}

// echo answers every request, as a server does.
func echo(req []byte) [][]byte {
	if !markReply(req) {
		return nil
	}
	return [][]byte{req}
}

func idOf(b []byte) uint32 { return binary.BigEndian.Uint32(b[4:]) }

func opErr(op string, err error) error { return &net.OpError{Op: op, Net: "ouroboros", Err: err} }

func (c *fakeConn) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *fakeConn) push(msgs [][]byte) {
	c.mu.Lock()
	c.q = append(c.q, msgs...)
	c.mu.Unlock()
	c.wake()
}

func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	wdl, werr := c.wdl, c.writeErr
	c.mu.Unlock()
	if !wdl.IsZero() && !time.Now().Before(wdl) {
		return 0, opErr("write", flow.ETIMEDOUT)
	}
	if werr != nil {
		return 0, opErr("write", werr)
	}
	msgs := c.respond(bytes.Clone(p))
	if c.delay > 0 {
		c.timers.Add(1)
		time.AfterFunc(c.delay, func() {
			defer c.timers.Done()
			c.push(msgs)
		})
	} else {
		c.push(msgs)
	}
	return len(p), nil
}

func (c *fakeConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	timeout := c.timeout
	c.mu.Unlock()
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		c.mu.Lock()
		if len(c.q) > 0 {
			m := c.q[0]
			c.q = c.q[1:]
			c.mu.Unlock()
			if len(m) > len(p) && c.flags&flow.FlagRNoPart != 0 {
				return 0, opErr("read", flow.EMSGSIZE)
			}
			return copy(p, m), nil
		}
		rerr, nonblock, rdl := c.readErr, c.flags&flow.FlagRNoBlock != 0, c.rdl
		c.mu.Unlock()
		switch {
		case rerr != nil:
			return 0, opErr("read", rerr)
		case nonblock:
			return 0, opErr("read", flow.EAGAIN)
		case !rdl.IsZero() && !time.Now().Before(rdl):
			return 0, opErr("read", flow.ETIMEDOUT)
		}
		var dl <-chan time.Time
		if !rdl.IsZero() {
			t := time.NewTimer(time.Until(rdl))
			defer t.Stop()
			dl = t.C
		}
		select {
		case <-c.kick:
		case <-dl:
		case <-expire:
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

func (c *fakeConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	c.wake()
	return nil
}

func (c *fakeConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	return nil
}

// testClient returns a client on conn whose clocks stand still, so every RTT
// is 0 and the run takes no time; the receive timeout is short.
func testClient(cfg config, conn *fakeConn, out *bytes.Buffer) *client {
	if cfg.name == "" {
		cfg.name = "srv"
	}
	if cfg.size == 0 {
		cfg.size = minSize
	}
	c := newClient(cfg, conn, 64, &printer{W: out})
	c.timeout = 100 * time.Millisecond
	c.grace = 50 * time.Millisecond
	c.mono = func() (uint64, uint64) { return 100, 0 }
	c.wall = func() time.Time { return time.Unix(1700000000, 123000) }
	return c
}

// scriptedClock returns successive instants from ns (nanoseconds).
func scriptedClock(ns ...uint64) func() (uint64, uint64) {
	var mu sync.Mutex
	return func() (uint64, uint64) {
		mu.Lock()
		defer mu.Unlock()
		v := ns[0]
		if len(ns) > 1 {
			ns = ns[1:]
		}
		return v / 1e9, v % 1e9
	}
}

// leakCheck fails the test if goroutines started during it are still running.
func leakCheck(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	})
}

const statsZero = "rtt min/avg/max/mdev = 0.000/0.000/0.000/0.000 µs\n"

func TestClientThreaded(t *testing.T) {
	leakCheck(t)
	var out bytes.Buffer
	conn := newFakeConn(echo)
	testClient(config{count: 3, interval: 1}, conn, &out).run(context.Background())
	want := "Pinging srv with 64 bytes of data (3 packets):\n\n" +
		"64 bytes from srv: seq=0 time=0.000 µs\n" +
		"64 bytes from srv: seq=1 time=0.000 µs\n" +
		"64 bytes from srv: seq=2 time=0.000 µs\n" +
		"\n--- srv ping statistics ---\n" +
		"3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 0.000 ms\n" + statsZero
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if conn.flags != flow.FlagRdWr|flow.FlagRNoPart {
		t.Errorf("flags = %#o, want RDWR|RNOPART", conn.flags)
	}
	if conn.timeout != 100*time.Millisecond {
		t.Errorf("receive timeout = %v", conn.timeout)
	}
}

func TestClientRequests(t *testing.T) {
	var mu sync.Mutex
	var reqs [][]byte
	conn := newFakeConn(func(req []byte) [][]byte {
		mu.Lock()
		reqs = append(reqs, bytes.Clone(req))
		mu.Unlock()
		return echo(req)
	})
	var out bytes.Buffer
	c := testClient(config{count: 2, interval: 0, size: 100}, conn, &out)
	c.mono = scriptedClock(5e9+123456789, 5e9+223456789, 6e9+1, 6e9+2)
	c.run(context.Background())
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if len(r) != 100 {
			t.Errorf("request %d is %d bytes, want 100", i, len(r))
		}
		h, _ := parseHeader(r)
		if h.Type != typeRequest || h.ID != uint32(i) || h.Sec < 5 {
			t.Errorf("request %d header %+v", i, h)
		}
		if !bytes.Equal(r[headerLen:], make([]byte, 100-headerLen)) {
			t.Errorf("request %d padding not zero", i)
		}
	}
}

func TestClientTimeOfDayAndQuiet(t *testing.T) {
	var out bytes.Buffer
	testClient(config{count: 1, interval: 0, timeOfDay: true}, newFakeConn(echo), &out).run(context.Background())
	if want := "[1700000000.000123] 64 bytes from srv: seq=0 time=0.000 µs\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%s\nwant line %q", out.String(), want)
	}
	out.Reset()
	testClient(config{count: 2, interval: 0, quiet: true}, newFakeConn(echo), &out).run(context.Background())
	want := "\n--- srv ping statistics ---\n" +
		"2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 0.000 ms\n" + statsZero
	if out.String() != want {
		t.Errorf("quiet output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestClientLoss(t *testing.T) {
	leakCheck(t)
	conn := newFakeConn(func(req []byte) [][]byte {
		if idOf(req) == 1 {
			return nil
		}
		return echo(req)
	})
	var out bytes.Buffer
	testClient(config{count: 3, interval: 1}, conn, &out).run(context.Background())
	want := "Pinging srv with 64 bytes of data (3 packets):\n\n" +
		"64 bytes from srv: seq=0 time=0.000 µs\n" +
		"64 bytes from srv: seq=2 time=0.000 µs\n" +
		"Server timed out.\n" +
		"\n--- srv ping statistics ---\n" +
		"3 packets transmitted, 2 received, 0 out-of-order, 34% packet loss, time: 0.000 ms\n" + statsZero
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestClientOutOfOrder(t *testing.T) {
	var held []byte
	conn := newFakeConn(func(req []byte) [][]byte {
		markReply(req)
		switch idOf(req) {
		case 1:
			held = req
			return nil
		case 2:
			return [][]byte{req, held}
		}
		return [][]byte{req}
	})
	var out bytes.Buffer
	testClient(config{count: 4, interval: 1}, conn, &out).run(context.Background())
	want := "Pinging srv with 64 bytes of data (4 packets):\n\n" +
		"64 bytes from srv: seq=0 time=0.000 µs\n" +
		"64 bytes from srv: seq=2 time=0.000 µs\n" +
		"64 bytes from srv: seq=1 time=0.000 µs [out-of-order]\n" +
		"64 bytes from srv: seq=3 time=0.000 µs\n" +
		"\n--- srv ping statistics ---\n" +
		"4 packets transmitted, 4 received, 1 out-of-order, 0% packet loss, time: 0.000 ms\n" + statsZero
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestClientInvalidReplies(t *testing.T) {
	conn := newFakeConn(func(req []byte) [][]byte {
		if idOf(req) != 0 {
			return echo(req)
		}
		bad := bytes.Clone(req) // a request echoed without changing the type
		badID := bytes.Clone(req)
		markReply(badID)
		binary.BigEndian.PutUint32(badID[4:], 2) // id >= count
		markReply(req)
		big := make([]byte, maxSize+1) // dropped by the flow: EMSGSIZE
		return [][]byte{bad, badID, {0, 0, 0, 1}, big, req}
	})
	var out bytes.Buffer
	testClient(config{count: 2, interval: 1}, conn, &out).run(context.Background())
	want := "Pinging srv with 64 bytes of data (2 packets):\n\n" +
		"Invalid message on fd 64.\n" +
		"Invalid id.\n" +
		"Invalid message on fd 64.\n" +
		"64 bytes from srv: seq=0 time=0.000 µs\n" +
		"64 bytes from srv: seq=1 time=0.000 µs\n" +
		"\n--- srv ping statistics ---\n" +
		"2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 0.000 ms\n" + statsZero
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestClientReplySize(t *testing.T) {
	// Threaded lines print the bytes received; flood lines the request size.
	short := func(req []byte) [][]byte { markReply(req); return [][]byte{req[:40]} }
	var out bytes.Buffer
	testClient(config{count: 1, interval: 0, size: 200}, newFakeConn(short), &out).run(context.Background())
	if !strings.Contains(out.String(), "\n40 bytes from srv: seq=0 ") {
		t.Errorf("threaded output:\n%s", out.String())
	}
	out.Reset()
	testClient(config{count: 1, size: 200, flood: true}, newFakeConn(short), &out).run(context.Background())
	if !strings.Contains(out.String(), "\n200 bytes from srv: seq=0 ") {
		t.Errorf("flood output:\n%s", out.String())
	}
}

func TestClientFlood(t *testing.T) {
	leakCheck(t)
	var out bytes.Buffer
	c := testClient(config{count: 3, flood: true}, newFakeConn(echo), &out)
	// Send and receive instants: RTTs of 0.475, 0.304 and 0.398 ms.
	c.mono = scriptedClock(0, 475000, 1000000, 1304000, 2000000, 2398000)
	c.wall = scriptedClock2(time.Unix(10, 0), time.Unix(13, 1011000))
	c.run(context.Background())
	want := "Pinging srv with 64 bytes of data (3 packets):\n\n" +
		"64 bytes from srv: seq=0 time=0.475 ms\n" +
		"64 bytes from srv: seq=1 time=0.304 ms\n" +
		"64 bytes from srv: seq=2 time=0.398 ms\n" +
		"\n--- srv ping statistics ---\n" +
		"3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 3001.011 ms\n" +
		"rtt min/avg/max/mdev = 0.304/0.392/0.475/0.086 ms\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func scriptedClock2(ts ...time.Time) func() time.Time {
	return func() time.Time {
		t := ts[0]
		if len(ts) > 1 {
			ts = ts[1:]
		}
		return t
	}
}

func TestClientFloodBusy(t *testing.T) {
	leakCheck(t)
	conn := newFakeConn(func(req []byte) [][]byte {
		if idOf(req) == 1 {
			return [][]byte{req} // not a reply: skipped silently
		}
		return echo(req)
	})
	conn.delay = 2 * time.Millisecond // the client must spin on EAGAIN meanwhile
	var out bytes.Buffer
	testClient(config{count: 4, flood: true, floodBusy: true}, conn, &out).run(context.Background())
	conn.timers.Wait()
	want := "Pinging srv with 64 bytes of data (4 packets, busy-poll):\n\n" +
		"64 bytes from srv: seq=0 time=0.000 µs\n" +
		"64 bytes from srv: seq=2 time=0.000 µs\n" +
		"64 bytes from srv: seq=3 time=0.000 µs\n" +
		"\n--- srv ping statistics ---\n" +
		"4 packets transmitted, 3 received, 0 out-of-order, 25% packet loss, time: 0.000 ms\n" + statsZero
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if conn.flags != flow.FlagRdWr|flow.FlagRNoPart|flow.FlagRNoBlock {
		t.Errorf("flags = %#o, want RDWR|RNOPART|RNOBLOCK", conn.flags)
	}
}

func TestClientFloodTimeout(t *testing.T) {
	leakCheck(t)
	for _, busy := range []bool{false, true} {
		var out bytes.Buffer
		drop := func([]byte) [][]byte { return nil }
		testClient(config{count: 5, flood: true, floodBusy: busy}, newFakeConn(drop), &out).run(context.Background())
		want := headerLine("srv", 64, 5, busy) +
			"Server timed out.\n" +
			"\n--- srv ping statistics ---\n" +
			"1 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 0.000 ms\n"
		if out.String() != want {
			t.Errorf("busy=%v output:\n%s\nwant:\n%s", busy, out.String(), want)
		}
	}
}

func TestClientFailures(t *testing.T) {
	leakCheck(t)
	tests := []struct {
		name     string
		cfg      config
		writeErr error
		readErr  error
		want     string
	}{
		{"threaded write", config{count: 3, interval: 1}, flow.EFLOWDOWN, nil,
			"Failed to send packet.\n\n--- srv ping statistics ---\n" +
				"1 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 0.000 ms\n"},
		{"flood write", config{count: 3, flood: true}, flow.EFLOWDOWN, nil,
			"Failed to send packet.\n\n--- srv ping statistics ---\n" +
				"0 packets transmitted, 0 received, 0 out-of-order, 0% packet loss, time: 0.000 ms\n"},
		{"threaded peer gone", config{count: 3, interval: 50}, nil, flow.EFLOWDOWN,
			"Server timed out.\n\n--- srv ping statistics ---\n" +
				"0 packets transmitted, 0 received, 0 out-of-order, 0% packet loss, time: 0.000 ms\n"},
		{"flood read", config{count: 3, flood: true}, nil, flow.EFLOWDOWN,
			"Failed to read packet.\n\n--- srv ping statistics ---\n" +
				"1 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 0.000 ms\n"},
		{"flood busy read", config{count: 3, flood: true, floodBusy: true}, nil, flow.EFLOWDOWN,
			"Failed to read packet.\n\n--- srv ping statistics ---\n" +
				"1 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 0.000 ms\n"},
	}
	for _, tt := range tests {
		conn := newFakeConn(func([]byte) [][]byte { return nil })
		conn.writeErr, conn.readErr = tt.writeErr, tt.readErr
		tt.cfg.quiet = true
		var out bytes.Buffer
		c := testClient(tt.cfg, conn, &out)
		start := time.Now()
		c.run(context.Background())
		if out.String() != tt.want {
			t.Errorf("%s: output:\n%s\nwant:\n%s", tt.name, out.String(), tt.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", tt.name, d)
		}
	}
}

func TestClientStop(t *testing.T) {
	leakCheck(t)
	for _, cfg := range []config{
		{count: defaultCount, interval: 5},
		{count: defaultCount, interval: 10000},
		{count: defaultCount, flood: true},
		{count: defaultCount, flood: true, floodBusy: true},
	} {
		cfg.quiet = true
		conn := newFakeConn(echo)
		conn.delay = 100 * time.Microsecond
		var out bytes.Buffer
		c := testClient(cfg, conn, &out)
		c.timeout = time.Hour // a stop must not wait for the receive timeout
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		start := time.Now()
		c.run(ctx)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%+v: stopping took %v", cfg, d)
		}
		conn.timers.Wait()
		got := out.String()
		if strings.Contains(got, "timed out") || strings.Contains(got, "Failed") {
			t.Errorf("%+v: output after a stop:\n%s", cfg, got)
		}
		if !strings.Contains(got, " packets transmitted, ") {
			t.Errorf("%+v: no statistics:\n%s", cfg, got)
		}
		if c.st.rcvd+1 < c.st.sent {
			t.Errorf("%+v: sent %d, received %d", cfg, c.st.sent, c.st.rcvd)
		}
	}
}

func TestReadTimeout(t *testing.T) {
	tests := []struct {
		intervalMs int64
		want       time.Duration
	}{
		{1000, 3 * time.Second},
		{0, 2 * time.Second},
		{999, 2 * time.Second},
		{2500, 4 * time.Second},
		{10000, 12 * time.Second},
	}
	for _, tt := range tests {
		if got := readTimeout(tt.intervalMs); got != tt.want {
			t.Errorf("readTimeout(%d) = %v, want %v", tt.intervalMs, got, tt.want)
		}
	}
}
