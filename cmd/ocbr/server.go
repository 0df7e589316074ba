package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
)

// The server is a listener and a bounded pool of workers
// (workers = 10): the listener accepts a flow only when a worker is free
// (otherwise it prints "Can't accept any more flows, waiting." and waits),
// and hands it over; the worker reads the flow with a receive timeout of
// readTimeout (100 ms) and prints a report every interval until the flow is
// silent for longer than the timeout, then deallocates it.
//
// Deliberate deviations from the reference:
//
//   - Flows go to the workers through a channel. The reference's ring of 10
//     descriptors is read at its current index only, so two accepts before a
//     worker wakes strand the first flow.
//   - When the client is gone (reads fail with EFLOWDOWN once the queued
//     packets are read), the worker prints "Test on flow <fd> ended" (ours),
//     the last report and ends; the reference's worker cannot tell and keeps
//     reading until the timeout passes ("Test on flow <fd> timed out").
//   - A failed accept ends the server as in the reference, with exit code 1.
//   - SIGINT and SIGTERM stop every worker (each prints its last report,
//     within readTimeout) and deallocate the flows; with --json the summary
//     of every flow served is printed last.
const (
	workers     = 10                     // THREADS_SIZE: flows served at once
	readTimeout = 100 * time.Millisecond // a worker's receive timeout
)

// Why a flow ended, in the JSON summary.
const (
	endIdle    = "timed out" // silent for longer than the timeout
	endPeer    = "ended"     // the client deallocated or went away
	endStopped = "stopped"   // the server was stopped
)

// flowReader is what a worker needs of a flow; the tests use a fake.
type flowReader interface {
	Read(p []byte) (int, error)
	SetFlags(flow.Flags) error
	SetReadTimeout(time.Duration)
}

// runServer serves until ctx ends or an accept fails.
func runServer(ctx context.Context, cfg config, out *printer) int {
	if err := flow.Init(); err != nil { // announce before the first line: binding needs it
		if line, ok := tool.IRMDGone("Failed to accept flow", err); ok {
			out.Print(line)
			return 1
		}
		out.Print("Failed to accept flow.\n")
		tool.Why("ocbr", err)
		return 1
	}
	out.Print(serverStartLine(cfg.interval, cfg.timeout))

	var (
		mu    sync.Mutex
		flows []flowSummary
		wg    sync.WaitGroup
	)
	work := make(chan *flow.Flow)
	slots := make(chan struct{}, workers) // one token per busy worker
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				w := newWorker(cfg, out, ctx.Done())
				fs := w.serve(f, f.FD())
				f.Close()
				mu.Lock()
				flows = append(flows, fs)
				mu.Unlock()
				<-slots
			}
		}()
	}

	code := listen(ctx, out, work, slots)
	close(work)
	wg.Wait()
	if cfg.json {
		sum := serverSummary{Tool: "ocbr", Role: "server", Flows: flows}
		if sum.Flows == nil {
			sum.Flows = []flowSummary{}
		}
		for _, fs := range flows {
			sum.Packets += fs.Packets
			sum.Bytes += fs.Bytes
		}
		out.PrintJSON(sum)
	}
	return code
}

// listen accepts flows for the workers until ctx ends (0) or an accept fails
// (1). It takes a slot before accepting, so that a client beyond the pool's
// capacity waits in its allocation until a worker is free.
func listen(ctx context.Context, out *printer, work chan<- *flow.Flow, slots chan struct{}) int {
	for {
		select {
		case slots <- struct{}{}:
		default:
			out.Print("Can't accept any more flows, waiting.\n")
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return 0
			}
		}
		f, err := flow.Accept(ctx)
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return 0
			}
			if line, ok := tool.IRMDGone("Failed to accept flow", err); ok {
				out.Print(line)
				return 1
			}
			out.Print("Failed to accept flow.\n")
			tool.Why("ocbr", err)
			return 1
		}
		out.Print("New flow.\n")
		work <- f
	}
}

// worker serves one flow (the reference's handle_flow).
type worker struct {
	interval time.Duration // between reports
	timeout  time.Duration // silence that ends the test; compared in µs
	out      *printer
	stop     <-chan struct{}  // closed when the server stops
	clock    func() time.Time // wall clock
	buf      []byte
}

func newWorker(cfg config, out *printer, stop <-chan struct{}) *worker {
	return &worker{interval: time.Duration(cfg.interval) * time.Second,
		timeout: time.Duration(cfg.timeout) * time.Second, out: out, stop: stop,
		clock: tool.MonoClock(), buf: make([]byte, maxSize)}
}

func (w *worker) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// serve reads f until it is silent for longer than the timeout, its client is
// gone or the server stops, printing a report for every interval and one for
// the last, partial, interval. Intervals follow each other without drift: a
// report's interval starts where the previous one ended, not when it was
// printed. The caller deallocates f.
func (w *worker) serve(f flowReader, fd int) flowSummary {
	f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart)
	f.SetReadTimeout(readTimeout)
	ivStart := w.clock()
	alive := ivStart
	ivEnd := ivStart.Add(w.interval)
	var pkts, bytes int64 // this interval
	sum := flowSummary{FD: fd}
	var first, last time.Time
	// got: the last Read returned a packet. Its time is the next clock
	// reading, the one before the next Read (the reference reads the clock
	// after the packet as well): one reading per packet, not two.
	got := false
	stamp := func(t time.Time) {
		alive, last = t, t
		if first.IsZero() {
			first = t
		}
		got = false
	}
	for {
		now := w.clock() // before the read, as the reference
		if got {
			stamp(now)
		}
		n, err := f.Read(w.buf)
		end := ""
		switch {
		case err == nil && n > 0:
			got = true
			pkts++
			bytes += int64(n)
			sum.Packets++
			sum.Bytes += int64(n)
		case err != nil && !errors.Is(err, flow.ETIMEDOUT):
			end = endPeer // EFLOWDOWN after the queued packets, or closed
		}
		if w.stopped() {
			end = endStopped
		}
		if !got && diffUs(now, alive) > w.timeout.Microseconds() {
			w.out.Printf("Test on flow %d timed out\n", fd)
			end = endIdle
		} else if end == endPeer {
			w.out.Printf("Test on flow %d ended\n", fd)
		}
		if end != "" || diffMs(now, ivEnd) > 0 {
			w.out.Print(reportLine(fd, pkts, bytes, diffUs(now, ivStart)))
			pkts, bytes = 0, 0
			ivStart = ivEnd
			ivEnd = ivEnd.Add(w.interval)
		}
		if end != "" {
			if got {
				stamp(w.clock())
			}
			sum.End = end
			if sum.Packets > 0 {
				us := diffUs(last, first)
				sum.Duration = float64(us) / 1000
				if us > 0 {
					sum.Mbps = round3(8 * float64(sum.Bytes) / float64(us))
				}
			}
			return sum
		}
	}
}
