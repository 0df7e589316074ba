package main

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// scriptedFlow returns the scripted results of successive Reads, then
// ETIMEDOUT forever.
type scriptedFlow struct {
	reads   []readResult
	flags   flow.Flags
	timeout time.Duration
}

type readResult struct {
	n   int
	err error
}

func (s *scriptedFlow) Read(p []byte) (int, error) {
	if len(s.reads) == 0 {
		return 0, opErr("read", flow.ETIMEDOUT)
	}
	r := s.reads[0]
	s.reads = s.reads[1:]
	if r.err != nil {
		return 0, opErr("read", r.err)
	}
	return r.n, nil
}

func (s *scriptedFlow) SetFlags(f flow.Flags) error    { s.flags = f; return nil }
func (s *scriptedFlow) SetReadTimeout(d time.Duration) { s.timeout = d }

func opErr(op string, err error) error { return &net.OpError{Op: op, Net: "ouroboros", Err: err} }

// stepClock returns t0, t0+step, t0+2·step, ... on successive calls.
func stepClock(t0 time.Time, step time.Duration) func() time.Time {
	n := 0
	return func() time.Time {
		t := t0.Add(time.Duration(n) * step)
		n++
		return t
	}
}

var t0 = time.Unix(1700000000, 0)

func TestWorker(t *testing.T) {
	ok := func(n int) readResult { return readResult{n: n} }
	timeout := readResult{err: flow.ETIMEDOUT}
	tests := []struct {
		name    string
		reads   []readResult
		stopped bool
		out     string
		sum     flowSummary
	}{
		{
			// The clock advances 250 ms per reading; it is read before every
			// Read (a packet's time is the reading after it) and once more
			// at the end if the last Read returned a packet. Packets read at
			// 250 and 500 ms, stamped 500 and 750; the first report when the
			// clock passes the interval's end; silent for more than 1 s at
			// 2000 ms.
			"timed out", []readResult{ok(1000), ok(1000), timeout},
			false,
			"Flow   64:         2 packets (        2000 bytes) in      1250 ms =>    1.6000 pps,    0.0128 Mbps\n" +
				"Test on flow 64 timed out\n" +
				"Flow   64:         0 packets (           0 bytes) in      1000 ms =>    0.0000 pps,    0.0000 Mbps\n",
			flowSummary{FD: 64, Packets: 2, Bytes: 2000, Duration: 250, Mbps: 0.064, End: "timed out"},
		},
		{
			"client gone", []readResult{ok(500), {err: flow.EFLOWDOWN}},
			false,
			"Test on flow 64 ended\n" +
				"Flow   64:         1 packets (         500 bytes) in       500 ms =>    2.0000 pps,    0.0080 Mbps\n",
			flowSummary{FD: 64, Packets: 1, Bytes: 500, End: "ended"},
		},
		{
			"closed", []readResult{{err: net.ErrClosed}},
			false,
			"Test on flow 64 ended\n" +
				"Flow   64:         0 packets (           0 bytes) in       250 ms =>    0.0000 pps,    0.0000 Mbps\n",
			flowSummary{FD: 64, End: "ended"},
		},
		{
			"server stopped", []readResult{ok(100)},
			true,
			"Flow   64:         1 packets (         100 bytes) in       250 ms =>    4.0000 pps,    0.0032 Mbps\n",
			flowSummary{FD: 64, Packets: 1, Bytes: 100, End: "stopped"},
		},
		{
			// Reports every interval; each interval starts where the previous
			// one ended (1000 ms), not when it was reported (1250 ms).
			"intervals", []readResult{ok(10), ok(10), ok(10), ok(10), ok(10), ok(10), {err: flow.EFLOWDOWN}},
			false,
			"Flow   64:         5 packets (          50 bytes) in      1250 ms =>    4.0000 pps,    0.0003 Mbps\n" +
				"Test on flow 64 ended\n" +
				"Flow   64:         1 packets (          10 bytes) in       750 ms =>    1.3333 pps,    0.0001 Mbps\n",
			flowSummary{FD: 64, Packets: 6, Bytes: 60, Duration: 1250, Mbps: 0, End: "ended"},
		},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		stop := make(chan struct{})
		if tt.stopped {
			close(stop)
		}
		w := newWorker(config{interval: 1, timeout: 1}, &printer{W: &out}, stop)
		w.clock = stepClock(t0, 250*time.Millisecond)
		f := &scriptedFlow{reads: tt.reads}
		sum := w.serve(f, 64)
		if out.String() != tt.out {
			t.Errorf("%s: printed\n%s\nwant\n%s", tt.name, out.String(), tt.out)
		}
		if sum != tt.sum {
			t.Errorf("%s: summary %+v, want %+v", tt.name, sum, tt.sum)
		}
		if f.flags != flow.FlagRdWr|flow.FlagRNoPart || f.timeout != readTimeout {
			t.Errorf("%s: flags %#o, timeout %v", tt.name, f.flags, f.timeout)
		}
	}
}

// The server reads the clock once per packet (before each Read; a packet's
// time is the reading after it), not twice: on a virtual machine a clock
// read is a measurable part of a packet's cost.
func TestWorkerOneClockReadingPerPacket(t *testing.T) {
	const packets = 1000
	reads := make([]readResult, packets+1)
	for i := range packets {
		reads[i] = readResult{n: 64}
	}
	reads[packets] = readResult{err: flow.EFLOWDOWN}
	var out bytes.Buffer
	w := newWorker(config{interval: 1, timeout: 1}, &printer{W: &out}, make(chan struct{}))
	n := 0
	w.clock = func() time.Time { n++; return t0.Add(time.Duration(n) * time.Microsecond) }
	sum := w.serve(&scriptedFlow{reads: reads}, 64)
	// The interval's start, then one reading before each of the 1001 Reads.
	if want := 1 + packets + 1; n != want {
		t.Errorf("%d clock readings for %d packets, want %d", n, packets, want)
	}
	if sum.Packets != packets || sum.End != "ended" {
		t.Errorf("summary %+v", sum)
	}
	// The first packet is stamped by the reading before the second Read
	// (3 µs), the last by the one before the Read that ended (1002 µs).
	if sum.Duration != 0.999 {
		t.Errorf("duration %v ms, want 0.999", sum.Duration)
	}
}
