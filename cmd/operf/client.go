package main

import (
	"context"
	"errors"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// The client: allocate a flow, send the configuration,
// pause, then run the writer (and in a bidirectional test a reader) until the
// duration has passed; a bidirectional test ends with the statistics.
//
// Fixes of the reference's bugs, and other deliberate deviations:
//
//   - The writer sends while the elapsed time is below the duration. Since
//     commit 3af9d041 the reference's loop condition is "elapsed > duration",
//     so its client sends nothing at all.
//   - The pause between configuration and data is startPause (100 ms), not
//     1 s. The reference's server evicts a flow idle for more than 1 s, so its
//     own client's 1 s pause could get the flow evicted before the first data
//     packet. 100 ms is ample for a reference server to read the configuration
//     and add the flow to its set; our server also waits 10 s, not 1 s.
//   - The reader stops as soon as every packet sent has come back (or after
//     readerTimeout, 2 s, without any, printing "Server timed out."). The
//     reference's reader only stops on that timeout, so each of its
//     bidirectional tests ended with "Server timed out." 2 s after the last
//     echo.
//   - A bidirectional flood cannot deadlock: each direction of a flow has its
//     own queue (no pool shared by both directions and both processes, as in
//     the reference), the writer is back-pressured by the server, the server
//     by this reader, and the reader keeps reading until the writer is done
//     and its echoes are in.
//   - Before deallocating, a unidirectional client waits (up to lingerMax)
//     until the peer has taken every packet written, so that deallocation does
//     not drop packets still in flight; the reference deallocates at once.
//   - On a stop (signal, failed write, server timeout) a write blocked by
//     back-pressure is released at once.
const (
	startPause    = 100 * time.Millisecond // between the configuration and the first data packet
	readerTimeout = 2 * time.Second        // bidirectional: no echo for this long ends the test
	readSlice     = 100 * time.Millisecond // the reader's receive timeout, to notice stops
	lingerMax     = 5 * time.Second        // longest wait for the peer to take what was written
	lingerPoll    = time.Millisecond       // how often the linger looks at the queue
)

// conn is what the client needs of a flow. *flow.Flow implements it; the tests
// use an in-memory fake.
type conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetFlags(flow.Flags) error
	SetReadTimeout(time.Duration)
	SetWriteDeadline(time.Time) error
	TxQueueLen() int
}

var _ conn = (*flow.Flow)(nil)

// client is one run of the sending side.
type client struct {
	cfg  config
	conn conn
	fd   int // printed in "Invalid message on fd <fd>."
	out  *printer

	clock  func() time.Time           // wall clock of the writer, tic and toc
	pause  func(d time.Duration) bool // sleeps d; false if the run stopped
	readTO time.Duration              // readerTimeout
	linger time.Duration              // lingerMax

	tic, toc time.Time
	sent     atomic.Uint64 // packets written
	rcvd     atomic.Uint64 // echoes of the right size (bi)
	failure  string        // the line that ended the run early, for the JSON
	failMu   sync.Mutex

	stop     chan struct{} // closed by halt
	stopOnce sync.Once
}

// runClient allocates a flow to the server, runs the test and prints the results.
func runClient(ctx context.Context, cfg config, out *printer) int {
	f, err := flow.Alloc(ctx, cfg.name, cfg.qos)
	if err != nil {
		out.print("Failed to allocate flow.\n")
		tool.Why("operf", err)
		if cfg.json {
			out.printJSON(clientSummary{Tool: "operf", Role: "client", Server: cfg.name,
				Test: testName(cfg.test), QoS: cfg.qosName, Size: cfg.size, Flood: cfg.flood,
				Rate: cfg.rate, Duration: cfg.duration, Error: "Failed to allocate flow."})
		}
		return 1
	}
	c := newClient(cfg, f, f.FD(), out)
	code := c.run(ctx)
	f.Close()
	if cfg.json {
		out.printJSON(c.summary())
	}
	return code
}

func newClient(cfg config, c conn, fd int, out *printer) *client {
	cl := &client{cfg: cfg, conn: c, fd: fd, out: out, clock: time.Now,
		readTO: readerTimeout, linger: lingerMax, stop: make(chan struct{})}
	cl.pause = cl.sleep
	return cl
}

// run runs the test until the duration passed, it failed or ctx is done, and
// returns the exit code.
func (c *client) run(ctx context.Context) int {
	c.conn.SetFlags(flow.FlagRdWr | flow.FlagRNoPart)
	done := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		c.watch(ctx, done)
	}()
	defer func() {
		close(done)
		watch.Wait()
	}()

	c.out.print(testLine(c.cfg.test))
	if _, err := c.conn.Write(configMsg(c.cfg.test)); err != nil {
		c.fail("Failed to send configuration.")
		return 1
	}
	c.pause(startPause)
	c.tic = c.clock()
	c.toc = c.tic

	var rd sync.WaitGroup
	writerDone := make(chan struct{})
	if c.cfg.test == testBi {
		rd.Add(1)
		go func() {
			defer rd.Done()
			c.reader(writerDone)
		}()
	}
	c.writer()
	c.toc = c.clock() // as the reference: before the reader's end
	close(writerDone)
	rd.Wait()

	if c.cfg.test == testBi {
		c.out.print(biSummary(c.cfg.name, c.sent.Load(), c.rcvd.Load(), c.cfg.size, diffUs(c.toc, c.tic)))
	} else {
		c.drain()
		c.out.print(uniSummary(c.cfg.name, c.sent.Load(), c.cfg.size, diffUs(c.toc, c.tic)))
	}
	return 0
}

// watch turns ctx's end into a stop, and a stop into a write deadline that
// releases a write blocked by back-pressure.
func (c *client) watch(ctx context.Context, done <-chan struct{}) {
	select {
	case <-ctx.Done():
		c.halt()
	case <-c.stop:
	case <-done:
		return
	}
	c.conn.SetWriteDeadline(time.Unix(1, 0))
}

// halt stops the run. It reports whether this call stopped it: only the
// first reason to stop is printed.
func (c *client) halt() (first bool) {
	c.stopOnce.Do(func() {
		close(c.stop)
		first = true
	})
	return first
}

func (c *client) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// fail stops the run for the reason in line, which is printed (if it is the
// first reason) and kept for the JSON summary.
func (c *client) fail(line string) {
	if c.halt() {
		c.out.print(line + "\n")
		c.failMu.Lock()
		c.failure = line
		c.failMu.Unlock()
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

// gap is the time between the starts of two packets at the configured rate,
// computed as the reference does: size × 8 × (10^9 / rate) in floating point,
// truncated to whole nanoseconds.
func gap(size int, rate int64) time.Duration {
	return time.Duration(float64(size*8) * (1e9 / float64(rate)))
}

// writer sends packets while the elapsed time is below the duration. Paced,
// packet k (from 0) is due k × gap after the start: after each write the
// writer busy-waits (or, with --sleep, sleeps) until the next one is due. The
// schedule is kept by time elapsed since the start, so the time the writes
// take and sleeps that overran are made up and the rate is met whenever the
// writes can keep up (the reference's --sleep sleeps gap after every write
// and undershoots). Flooding, packets go back to back.
func (c *client) writer() {
	c.out.print(startLine(c.cfg))
	buf := make([]byte, c.cfg.size) // zero padding
	duration := time.Duration(c.cfg.duration) * time.Millisecond
	var g time.Duration
	if !c.cfg.flood {
		g = gap(c.cfg.size, c.cfg.rate)
	}
	due := c.tic
	for !c.stopped() {
		now := c.clock()
		if now.Sub(c.tic) >= duration {
			break
		}
		putID(buf, uint32(c.sent.Load()))
		if _, err := c.conn.Write(buf); err != nil {
			if c.stopped() {
				break // a stop released the write: not a failure
			}
			c.fail("Failed to send packet.")
			return
		}
		c.sent.Add(1)
		due = due.Add(g)
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
	}
	c.out.print("Test finished.\n")
}

// reader counts the echoes of a bidirectional test. It ends when the writer is
// done and every packet came back, when no echo came for readTO, or when the
// run stops. Echoes of another size than the packets are reported and not
// counted.
func (c *client) reader(writerDone <-chan struct{}) {
	c.conn.SetReadTimeout(readSlice)
	buf := make([]byte, maxSize)
	last := time.Now()
	complete := func() bool {
		select {
		case <-writerDone:
			return c.rcvd.Load() >= c.sent.Load()
		default:
			return false
		}
	}
	for !c.stopped() {
		n, err := c.conn.Read(buf)
		switch {
		case err == nil:
			last = time.Now()
			if n != c.cfg.size {
				c.out.printf("Invalid message on fd %d.\n", c.fd)
			} else {
				c.rcvd.Add(1)
			}
		case errors.Is(err, flow.ETIMEDOUT):
			if !complete() && time.Since(last) >= c.readTO {
				c.fail("Server timed out.")
				return
			}
		default:
			// EFLOWDOWN: the server is gone, which the reference only
			// learns through the timeout, so it gets that line.
			if !c.stopped() {
				c.fail("Server timed out.")
			}
			return
		}
		if complete() {
			return
		}
	}
}

// drain waits until the peer has taken every packet written, the flow went
// down, or c.linger passed. A flow that went down never drains: a write
// that failed ended the run, and a read (nothing is expected on a
// unidirectional flow) reports the flow down rather than a timeout.
func (c *client) drain() {
	c.failMu.Lock()
	failed := c.failure != ""
	c.failMu.Unlock()
	if failed {
		return
	}
	c.conn.SetReadTimeout(lingerPoll)
	buf := make([]byte, maxSize)
	for deadline := time.Now().Add(c.linger); time.Now().Before(deadline); {
		if c.conn.TxQueueLen() == 0 {
			return
		}
		if _, err := c.conn.Read(buf); err != nil && !errors.Is(err, flow.ETIMEDOUT) {
			return // the flow is down: nothing will take the rest
		}
	}
}

// summary is the JSON summary of the run.
func (c *client) summary() clientSummary {
	us := diffUs(c.toc, c.tic)
	sent := c.sent.Load()
	s := clientSummary{Tool: "operf", Role: "client", Server: c.cfg.name, Test: testName(c.cfg.test),
		QoS: c.cfg.qosName, Size: c.cfg.size, Flood: c.cfg.flood, Rate: c.cfg.rate,
		Duration: c.cfg.duration, Elapsed: float64(us) / 1000, Sent: sent,
		SentBytes: sent * uint64(c.cfg.size), SentMbps: round3(mbps(sent*uint64(c.cfg.size), us))}
	if c.cfg.test == testBi {
		rcvd := c.rcvd.Load()
		loss := lossPercent(sent, rcvd)
		bw := round3(mbps(rcvd*uint64(c.cfg.size), us))
		s.Received, s.Loss, s.Bandwidth = &rcvd, &loss, &bw
	}
	c.failMu.Lock()
	s.Error = c.failure
	c.failMu.Unlock()
	return s
}
