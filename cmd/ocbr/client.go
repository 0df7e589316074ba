package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
)

// The client sends packets of -s bytes for -d seconds,
// one every gap (sleeping, or busy-waiting with --spin) or back to back with
// -f, then prints what it sent.
//
// A paced packet starts with its sequence number, an int64 in little-endian
// byte order (the reference copies a C long in host order, little-endian on
// x86 and arm64) in bytes 0..7; the rest, and flooded packets, are zeros (the
// reference leaves stack garbage there). The server does not read them.
//
// Deliberate deviations from the reference:
//
//   - Before deallocating, the client waits (up to lingerMax) until the peer
//     has taken every packet written: deallocation would drop packets still
//     in flight, and the server would count fewer packets than were sent.
//   - On a stop (signal) a write blocked by back-pressure is released at once.
//   - A failed write ends the run as in the reference, silently; the JSON
//     summary carries the error.
const (
	lingerMax  = 5 * time.Second  // longest wait for the peer to take what was written
	lingerPoll = time.Millisecond // how often the linger looks at the queue
)

// conn is what the client needs of a flow. *flow.Flow implements it; the tests
// use an in-memory fake.
type conn interface {
	Write(p []byte) (int, error)
	SetWriteDeadline(time.Time) error
	TxQueueLen() int
}

var _ conn = (*flow.Flow)(nil)

// client is one run of the sending side.
type client struct {
	cfg  config
	conn conn
	out  *printer

	clock  func() time.Time           // wall clock: pacing, duration, statistics
	pause  func(d time.Duration) bool // sleeps d; false if the run stopped
	linger time.Duration              // lingerMax

	packets int64  // packets written
	ms      int64  // run time, whole ms
	failure string // the write error, for the JSON

	stop     chan struct{} // closed by halt
	stopOnce sync.Once
}

// runClient allocates a flow to the server, sends and prints the statistics.
func runClient(ctx context.Context, cfg config, out *printer) int {
	out.Print(clientStartLine(cfg))
	f, err := flow.Alloc(ctx, cfg.name, cfg.qos)
	if err != nil {
		out.Print("Failed to allocate flow.\n")
		tool.Why("ocbr", err)
		if cfg.json {
			s := newClient(cfg, nil, out).summary()
			s.Error = "Failed to allocate flow."
			out.PrintJSON(s)
		}
		return 1 // the reference returns -1 (255); every tool of ours fails with 1
	}
	c := newClient(cfg, f, out)
	c.run(ctx)
	f.Close()
	if cfg.json {
		out.PrintJSON(c.summary())
	}
	return 0
}

func newClient(cfg config, c conn, out *printer) *client {
	cl := &client{cfg: cfg, conn: c, out: out, clock: tool.MonoClock(), linger: lingerMax, stop: make(chan struct{})}
	cl.pause = cl.sleep
	return cl
}

// run sends until the duration passed, a write failed or ctx is done, prints
// the statistics and waits for the peer to take what was sent.
func (c *client) run(ctx context.Context) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			c.halt()
			c.conn.SetWriteDeadline(time.Unix(1, 0)) // release a blocked write
		case <-done:
		}
	}()
	defer func() {
		close(done)
		wg.Wait()
	}()

	start := c.clock()
	c.send(start)
	end := c.clock()
	c.ms = diffMs(end, start)
	c.out.Print(sentLine(c.packets, c.cfg.size, c.ms))
	c.out.Print(c.rateMissed())
	c.drain()
}

// gap is the time between two packets at the configured rate, computed as the
// reference does: size × 8 × (10^9 / rate) in floating point, truncated to
// whole nanoseconds.
func gap(size int, rate int64) time.Duration {
	return time.Duration(float64(size*8) * (1e9 / float64(rate)))
}

// send is the sending loop. Paced, packet k (from 0) is due at start +
// (k+1) × gap: after writing it the client sleeps (by default) or busy-waits
// (--spin) until then. The schedule is kept by time elapsed since the start,
// not by a sleep of gap after each write, so the time a write takes and a
// sleep that overran are made up by the next packets and the requested rate
// is met whenever the writes can keep up (the reference sleeps gap after
// every write and undershoots). The run ends with the packet due duration
// whole seconds after the start; flooding, with the first packet written
// that late.
func (c *client) send(start time.Time) {
	buf := make([]byte, c.cfg.size)
	var g time.Duration
	if !c.cfg.flood {
		g = gap(c.cfg.size, c.cfg.rate)
	}
	var seq [seqLen]byte
	due := start
	for !c.stopped() {
		if c.cfg.flood {
			due = c.clock()
		} else {
			due = due.Add(g)
			binary.LittleEndian.PutUint64(seq[:], uint64(c.packets))
			copy(buf, seq[:]) // a packet shorter than 8 bytes carries part of it
		}
		if _, err := c.conn.Write(buf); err != nil {
			if !c.stopped() {
				c.failure = err.Error()
			}
			return
		}
		switch {
		case c.cfg.flood:
		case c.cfg.sleep:
			if d := due.Sub(c.clock()); d > 0 {
				c.pause(d)
			}
		default:
			for c.clock().Before(due) && !c.stopped() {
			}
		}
		c.packets++
		if diffUs(due, start)/1000000 >= c.cfg.duration {
			return
		}
	}
}

// rateMissed is the line that says that a paced run fell short of the
// requested rate by more than 5 %, or "" when it did not (or flooded).
func (c *client) rateMissed() string {
	if c.cfg.flood || c.ms <= 0 || c.packets == 0 {
		return ""
	}
	got := sentMbps(c.packets, c.cfg.size, c.ms)
	want := float64(c.cfg.rate) / 1e6
	if got >= 0.95*want {
		return ""
	}
	return fmt.Sprintf("Requested rate not met: %.4f of %.4f Mb/s (the writes could not keep up).\n", got, want)
}

// drain waits until the peer has taken every packet written or c.linger passed.
func (c *client) drain() {
	for deadline := time.Now().Add(c.linger); time.Now().Before(deadline); {
		if c.conn.TxQueueLen() == 0 {
			return
		}
		time.Sleep(lingerPoll)
	}
}

// halt stops the run.
func (c *client) halt() { c.stopOnce.Do(func() { close(c.stop) }) }

func (c *client) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// sleep waits d and reports whether the run is still going.
func (c *client) sleep(d time.Duration) bool {
	if d <= 0 {
		return !c.stopped()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

// summary is the JSON summary of the run.
func (c *client) summary() clientSummary {
	return clientSummary{Tool: "ocbr", Role: "client", Server: c.cfg.name, QoS: c.cfg.qosName,
		Size: c.cfg.size, Rate: c.cfg.rate, Duration: c.cfg.duration, Flood: c.cfg.flood,
		Spin: !c.cfg.sleep, Packets: c.packets, Bytes: c.packets * int64(c.cfg.size),
		Elapsed: c.ms, Mbps: round3(sentMbps(c.packets, c.cfg.size, c.ms)), Error: c.failure}
}
