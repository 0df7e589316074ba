package bench

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/qos"
)

func TestHeader(t *testing.T) {
	p := make([]byte, 64)
	for i := range p {
		p[i] = 0xff
	}
	h := header{kind: kindCount, test: 0xdeadbeef, seq: 1<<63 + 5}
	h.put(p)
	got, ok := parseHeader(p)
	if !ok || got != h {
		t.Errorf("parseHeader = %+v, %v; want %+v", got, ok, h)
	}
	if p[1] != 0 || p[16] != 0xff {
		t.Errorf("put wrote outside the header or left the padding: % x", p[:17])
	}
	if _, ok := parseHeader(p[:hdrLen-1]); ok {
		t.Error("a short packet parsed")
	}
}

// unixPair returns the two ends of a SOCK_SEQPACKET socketpair as
// connections, closed at the end of the test.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var c [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		fc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		c[i] = fc.(*net.UnixConn)
		t.Cleanup(func() { fc.Close() })
	}
	return c[0], c[1]
}

// udpPair starts a UDP server on 127.0.0.1 serving in a goroutine and returns
// a client connected to it.
func udpPair(t *testing.T) *net.UDPConn {
	t.Helper()
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { serve(&udpServer{c: srv}, true); close(done) }()
	c, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); srv.Close(); <-done })
	return c
}

// runLoops runs every measurement loop once, briefly, and checks what they
// counted.
func runLoops(t *testing.T, cl *client) {
	d := 30 * time.Millisecond
	cl.test++
	s, err := cl.latency(64, 5, time.Millisecond)
	if err != nil || s.sent != 5 || s.received != 5 || len(s.rtts) != 5 || s.elapsed < 5*time.Millisecond {
		t.Errorf("latency: %+v, %v", s, err)
	}
	cl.test++
	s, err = cl.pingPong(1400, d)
	if err != nil || s.received == 0 || len(s.rtts) != int(s.received) || s.elapsed < d {
		t.Errorf("ping-pong: %d sent, %d received, %v, %v", s.sent, s.received, s.elapsed, err)
	}
	cl.test++
	s, err = cl.oneWay(1000, d)
	if err != nil || s.sent == 0 || s.received == 0 || s.received > s.sent || (!cl.lossy && s.received != s.sent) {
		t.Errorf("one-way: %d sent, %d received, %v", s.sent, s.received, err)
	}
	cl.test++
	s, err = cl.echo(64, d)
	if err != nil || s.sent == 0 || s.received == 0 || s.received > s.sent || (!cl.lossy && s.received != s.sent) {
		t.Errorf("echo: %d sent, %d received, %v", s.sent, s.received, err)
	}
}

func TestLoopsUnix(t *testing.T) {
	a, b := unixPair(t)
	done := make(chan error, 1)
	go func() { done <- serve(b, false) }()
	runLoops(t, newClient(a, false))
	a.Close()
	if err := <-done; err == nil {
		t.Error("serve returned no error when the client closed")
	}
}

func TestLoopsUDP(t *testing.T) {
	runLoops(t, newClient(udpPair(t), true))
}

func TestLossyTimeouts(t *testing.T) {
	// A UDP "server" that never answers: pings are lost, the count fails.
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := newClient(c, true)
	_, ok, err := cl.roundTrip(make([]byte, 64), 1)
	if ok || err != nil {
		t.Errorf("roundTrip to a silent server: ok %v, err %v", ok, err)
	}
}

func TestServeCountsPerTest(t *testing.T) {
	a, b := unixPair(t)
	go serve(b, false)
	cl := newClient(a, false)
	pkt := make([]byte, 32)
	for _, c := range []struct {
		test uint32
		n    int
	}{{7, 3}, {8, 5}} {
		test, n := c.test, c.n
		cl.test = test
		header{kind: kindSink, test: test}.put(pkt)
		for range n {
			a.Write(pkt)
		}
		if got, err := cl.count(); err != nil || got != uint64(n) {
			t.Errorf("test %d: count %d, %v; want %d", test, got, err, n)
		}
	}
	// A count for a test that is not the latest is 0.
	cl.test = 7
	if got, err := cl.count(); err != nil || got != 0 {
		t.Errorf("stale test: count %d, %v", got, err)
	}
}

// TestRun runs the harness over in-process paths (a server goroutine on each),
// one of them with another QoS compared to the raw one, a path that fails to
// open and a path with an unknown QoS.
func TestRun(t *testing.T) {
	var mu sync.Mutex
	specs := map[qos.Spec]int{} // the specs Open was called with
	inProcess := func(ctx context.Context, h *Harness, spec qos.Spec) (*Session, error) {
		mu.Lock()
		specs[spec]++
		mu.Unlock()
		a, b := unixPair(t)
		go serve(b, false)
		return &Session{Conn: a, PIDs: []int{os.Getpid()}, close: func() { a.Close() }}, nil
	}
	broken := func(ctx context.Context, h *Harness, _ qos.Spec) (*Session, error) { return nil, io.ErrUnexpectedEOF }
	cfg := DefaultConfig(true)
	cfg.Duration = 20 * time.Millisecond
	cfg.LatencyCount = 3
	var log strings.Builder
	cfg.Log = &log
	cfg.Paths = []Path{
		{ID: "in-process", Label: "in process", Baseline: UnixID, Open: inProcess},
		{ID: "in-process-data", Label: "in process, reliable", QoS: "data", Baseline: "in-process", Open: inProcess},
		{ID: UnixID, Label: "kernel", Kernel: true, Open: inProcess},
		{ID: "broken", Label: "broken", Open: broken},
		{ID: "bad-qos", Label: "bad QoS", QoS: "nope", Open: inProcess},
		{ID: "skipped", Label: "skipped", Open: broken, Skip: func() string { return "needs a unicorn" }},
		{ID: "not-skipped", Label: "not skipped", Baseline: UnixID, Open: inProcess, Skip: func() string { return "" }},
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	rep := h.Run(context.Background())
	plan := Plan()
	if len(rep.Results) != len(cfg.Paths)*len(plan) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(cfg.Paths)*len(plan))
	}
	if specs[qos.Raw] != 3 || specs[qos.Data] != 1 || len(specs) != 2 {
		t.Errorf("Open called with %v, want raw three times and data once", specs)
	}
	for i, r := range rep.Results {
		m := plan[i%len(plan)]
		if r.Test != m.Test || r.Size != m.Size {
			t.Errorf("result %d is %s %d B, want %v", i, r.Test, r.Size, m)
		}
		switch r.Path {
		case "broken":
			if !strings.Contains(r.Error, "unexpected EOF") {
				t.Errorf("broken path: error %q", r.Error)
			}
			continue
		case "bad-qos":
			if !strings.Contains(r.Error, `unknown QoS cube "nope"`) {
				t.Errorf("bad QoS path: error %q", r.Error)
			}
			continue
		case "skipped":
			// Not opened (its Open fails), no figures, no ratios.
			if r.Skipped != "needs a unicorn" || r.Error != "" || r.Sent != 0 || r.Ratios != nil {
				t.Errorf("skipped path: %+v", r)
			}
			continue
		}
		if r.Error != "" || r.Skipped != "" || r.Received == 0 || r.ElapsedNs <= 0 {
			t.Errorf("%s %s %d B: %+v", r.Path, r.Test, r.Size, r)
		}
		if r.Path == "in-process" && (len(r.Ratios[UnixID]) == 0 || len(r.Ratios) != 1) {
			t.Errorf("%s %d B: ratios %v", r.Test, r.Size, r.Ratios)
		}
		if r.Path == "in-process-data" && (len(r.Ratios[UnixID]) == 0 || len(r.Ratios["in-process"]) == 0 || r.QoS != "data") {
			t.Errorf("reliable %s %d B: QoS %q, ratios %v", r.Test, r.Size, r.QoS, r.Ratios)
		}
	}
	if !rep.Failed() {
		t.Error("a failed path does not fail the report")
	}
	// Skipped rows alone do not fail a report.
	var kept []Result
	for _, r := range rep.Results {
		if r.Path != "broken" && r.Path != "bad-qos" {
			kept = append(kept, r)
		}
	}
	if (&Report{Results: kept}).Failed() {
		t.Error("a skipped path fails the report")
	}
	if !strings.Contains(log.String(), "in process: pingpong 64 B: round_trips_per_s=") ||
		!strings.Contains(log.String(), "skipped: skipped: needs a unicorn") {
		t.Errorf("progress log:\n%s", log.String())
	}
	// Nothing starts after Cleanup.
	h.Cleanup()
	if _, err := h.procs.tempDir("obench-test-"); err == nil {
		t.Error("tempDir after Cleanup succeeded")
	}
}
