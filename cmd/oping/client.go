package main

import (
	"context"
	"errors"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"net"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// The client has three modes:
//
//   - threaded (default): a writer goroutine sleeps the interval and then sends
//     the next request, a reader goroutine reads the replies, with a receive
//     timeout of interval/1000 + 2 whole seconds;
//   - flood (-f): one goroutine sends a request and waits for its reply;
//   - flood busy (-F): as flood, but the flow is non-blocking and the reply is
//     busy-polled.
//
// Then it prints the statistics (stats.go) and deallocates the flow.
//
// Deliberate deviations from the reference, for robustness:
//
//   - The flood modes use the threaded mode's receive timeout (interval/1000
//     + 2 s, so 3 s by default) and stop with "Server timed out." when it
//     passes; the reference blocks (-f) or spins (-F) forever on a lost reply.
//   - When a run is stopped (signal, failed write) a blocking read may still
//     wait stopGrace for a reply on its way, then ends silently; the reference
//     waits out the receive timeout and prints "Server timed out.". A blocked
//     write is abandoned at once. (-F stops spinning at once, as the reference.)
//   - The reference's library learns that the server is gone only through the
//     receive timeout. Ours reports EFLOWDOWN at once; the threaded reader
//     treats it as the time-out it would have become (instead of retrying the
//     read in a loop).

// stopGrace is how long a pending read may still wait, after the run was
// stopped, for a reply that is on its way.
const stopGrace = 500 * time.Millisecond

// conn is what the client needs of a flow. *flow.Flow implements it; the tests
// use an in-memory echo.
type conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetFlags(flow.Flags) error
	SetReadTimeout(time.Duration)
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

var _ conn = (*flow.Flow)(nil)

// client is one run of the pinging side.
type client struct {
	cfg     config
	conn    conn
	fd      int // printed in "Invalid message on fd <fd>."
	out     *printer
	timeout time.Duration             // receive timeout
	grace   time.Duration             // stopGrace
	mono    func() (sec, nsec uint64) // CLOCK_MONOTONIC, for the timestamps in requests
	wall    func() time.Time          // wall clock, for the run time and -D

	st       stats
	stop     chan struct{} // closed by halt
	stopOnce sync.Once
}

// runClient allocates a flow to the server, pings it and prints the statistics.
func runClient(ctx context.Context, cfg config, out *printer) int {
	f, err := flow.Alloc(ctx, cfg.name, cfg.qos)
	if err != nil {
		out.Printf("Failed to allocate flow: %d.\n", -tool.Errno(err))
		tool.Why("oping", err)
		return 1
	}
	newClient(cfg, f, f.FD(), out).run(ctx)
	f.Close()
	return 0
}

func newClient(cfg config, c conn, fd int, out *printer) *client {
	return &client{cfg: cfg, conn: c, fd: fd, out: out, timeout: readTimeout(cfg.interval),
		grace: stopGrace, mono: monoNow, wall: time.Now, st: newStats(), stop: make(chan struct{})}
}

// readTimeout is the reference's receive timeout for an interval in ms: the
// interval in whole seconds (truncated) plus two seconds.
func readTimeout(intervalMs int64) time.Duration {
	return time.Duration(intervalMs/1000+2) * time.Second
}

// run runs the configured mode until it completes or ctx is done, then prints
// the statistics.
func (c *client) run(ctx context.Context) {
	flags := flow.FlagRdWr | flow.FlagRNoPart
	if c.cfg.floodBusy {
		flags |= flow.FlagRNoBlock
	}
	c.conn.SetFlags(flags)
	c.conn.SetReadTimeout(c.timeout)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.watch(ctx, done)
	}()

	tic := c.wall()
	switch {
	case c.cfg.floodBusy: // -F wins over -f
		c.flood(true)
	case c.cfg.flood:
		c.flood(false)
	default:
		c.threaded()
	}
	toc := c.wall()
	close(done)
	wg.Wait()
	c.out.Print(c.st.summary(c.cfg.name, diffUs(toc, tic)))
}

// watch turns ctx's end into a stop, and a stop into deadlines that release
// blocked reads (after stopGrace) and writes (at once).
func (c *client) watch(ctx context.Context, done <-chan struct{}) {
	select {
	case <-ctx.Done():
		c.halt()
	case <-c.stop:
	case <-done:
		return
	}
	c.conn.SetWriteDeadline(time.Unix(1, 0))
	c.conn.SetReadDeadline(time.Now().Add(c.grace))
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

// threaded is the default mode: a writer and a reader goroutine.
func (c *client) threaded() {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.writer()
	}()
	go func() {
		defer wg.Done()
		c.reader()
	}()
	wg.Wait()
}

// writer sends count requests, sleeping the interval before each (no drift
// compensation: the period is the interval plus the time to send).
func (c *client) writer() {
	if !c.cfg.quiet {
		c.out.Print(headerLine(c.cfg.name, c.cfg.size, c.cfg.count, false))
	}
	req := make([]byte, c.cfg.size) // zero padding, written once
	interval := time.Duration(c.cfg.interval) * time.Millisecond
	for !c.stopped() && c.st.sent < uint64(c.cfg.count) {
		if !c.sleep(interval) {
			return
		}
		sec, nsec := c.mono()
		header{Type: typeRequest, ID: uint32(c.st.sent), Sec: sec, Nsec: nsec}.put(req)
		c.st.sent++ // counted even if the write fails, as the reference does
		if _, err := c.conn.Write(req); err != nil {
			if c.halt() {
				c.out.Print("Failed to send packet.\n")
			}
			return
		}
	}
}

// reader reads replies until count arrived, the server times out or the run
// stops. Invalid replies are reported and not counted.
func (c *client) reader() {
	buf := make([]byte, maxSize)
	var expID uint32 // next id expected; an older one is out of order
	for !c.stopped() && c.st.rcvd != uint64(c.cfg.count) {
		n, err := c.conn.Read(buf)
		if err != nil {
			if c.stopped() {
				return
			}
			if errors.Is(err, flow.ETIMEDOUT) || errors.Is(err, net.ErrClosed) {
				if c.halt() {
					c.out.Print("Server timed out.\n")
				}
				return
			}
			continue // EMSGSIZE: a reply larger than maxSize was dropped
		}
		h, ok := parseHeader(buf[:n])
		if !ok || h.Type != typeReply {
			c.out.Printf("Invalid message on fd %d.\n", c.fd)
			continue
		}
		if h.ID >= c.cfg.count {
			c.out.Print("Invalid id.\n")
			continue
		}
		nowSec, nowNsec := c.mono()
		rtt := rttMs(h.Sec, h.Nsec, nowSec, nowNsec)
		c.st.add(rtt)
		ooo := h.ID < expID
		if ooo {
			c.st.ooo++
		} else {
			expID = h.ID + 1
		}
		if !c.cfg.quiet {
			stamp := ""
			if c.cfg.timeOfDay {
				stamp = timeOfDay(c.wall())
			}
			c.out.Print(replyLine(stamp, n, c.cfg.name, h.ID, rtt, ooo))
		}
	}
}

// flood sends a request, waits for its reply and repeats. With busy, the
// reply is busy-polled on the non-blocking flow. Lines print the request size
// and carry no -D stamp; replies are not checked for order or id.
func (c *client) flood(busy bool) {
	if !c.cfg.quiet {
		c.out.Print(headerLine(c.cfg.name, c.cfg.size, c.cfg.count, busy))
	}
	req := make([]byte, c.cfg.size)
	buf := make([]byte, maxSize)
	for !c.stopped() && c.st.sent < uint64(c.cfg.count) {
		sec, nsec := c.mono()
		header{Type: typeRequest, ID: uint32(c.st.sent), Sec: sec, Nsec: nsec}.put(req)
		if _, err := c.conn.Write(req); err != nil {
			if c.halt() {
				c.out.Print("Failed to send packet.\n")
			}
			return
		}
		c.st.sent++
		var n int
		var err error
		if busy {
			n, err = c.spinRead(buf)
		} else {
			n, err = c.conn.Read(buf)
		}
		if err != nil {
			msg := "Failed to read packet.\n"
			if errors.Is(err, flow.ETIMEDOUT) {
				msg = "Server timed out.\n"
			}
			if c.halt() {
				c.out.Print(msg)
			}
			return
		}
		h, ok := parseHeader(buf[:n])
		if !ok || h.Type != typeReply {
			continue
		}
		nowSec, nowNsec := c.mono()
		rtt := rttMs(h.Sec, h.Nsec, nowSec, nowNsec)
		c.st.add(rtt)
		if !c.cfg.quiet {
			c.out.Print(replyLine("", c.cfg.size, c.cfg.name, h.ID, rtt, false))
		}
	}
}

// spinRead polls the non-blocking flow until a message or an error other than
// EAGAIN comes. It gives up with ETIMEDOUT after the receive timeout, and at
// once when the run is stopped.
func (c *client) spinRead(buf []byte) (int, error) {
	deadline := time.Now().Add(c.timeout)
	for {
		n, err := c.conn.Read(buf)
		if !errors.Is(err, flow.EAGAIN) {
			return n, err
		}
		if c.stopped() || time.Now().After(deadline) {
			return 0, flow.ETIMEDOUT
		}
	}
}
