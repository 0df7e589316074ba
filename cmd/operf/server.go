package main

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
)

// The server serves any number of clients from one event
// set, with two goroutines:
//
//   - accept: accepts flows, prints "New flow <fd>.", makes them non-blocking
//     with datagram reads, and adds them to the set;
//   - events: waits on the set (eventTimeout at a time); the first message
//     of a flow is its configuration, every later one a data packet that is
//     printed (uni) or echoed (bi); every cleanerPeriod it evicts the flows
//     idle for more than idleTimeout.
//
// Fixes of the reference's bugs, and other deliberate deviations:
//
//   - idleTimeout is 10 s, not 1 s: the reference's client pauses 1 s between
//     its configuration and its first packet, so the reference's server could
//     evict a flow before its test began (and any paced test with more than
//     1 s between packets).
//   - A flow whose client is gone (its reads fail with EFLOWDOWN once the
//     packets already queued are read) is deallocated at once, with the line
//     "Flow <fd> ended." (ours); the reference only learns it through the idle
//     timeout and prints "Flow <fd> timed out.".
//   - The configuration is the first message read by the event loop, not a
//     blocking read in the accept thread: a client that never sends one cannot
//     stop the server accepting (it is evicted after idleTimeout with "Failed
//     to read config message."), and a bad one ("Invalid config message.") is
//     deallocated without ending the accept loop. It must be exactly 4 bytes;
//     flows read whole messages (FlagRNoPart) instead of relying on the
//     zero-length read that ends a partial one.
//   - Echo writes give up after writeTimeout (2 s, the client's own reader
//     timeout) with "Error writing to flow (fd <fd>).": a client that stops
//     reading in a bidirectional flood cannot stall every other flow. There is
//     no shared packet pool for a flood in both directions to exhaust: each
//     direction of each flow has its own bounded queue and back-pressure.
//   - A failed accept is printed and retried after acceptBackoff; the
//     reference's accept thread ends.
//   - SIGINT and SIGTERM deallocate every flow and, with --json, print the
//     summary of every flow served.
const (
	idleTimeout   = 10 * time.Second       // a flow without packets this long is deallocated
	eventTimeout  = 100 * time.Millisecond // one wait on the event set
	cleanerPeriod = time.Second            // how often idle flows are looked for
	writeTimeout  = 2 * time.Second        // longest wait of an echo for room in the flow
	acceptBackoff = 100 * time.Millisecond // pause after a failed accept
)

// Why a flow ended, in the JSON summary.
const (
	endPeer     = "ended"          // the client deallocated or went away
	endIdle     = "timed out"      // no packet for idleTimeout, or peer timeout (EFLOWPEER)
	endNoConfig = "no config"      // ended or timed out before its configuration
	endInvalid  = "invalid config" // the configuration was not 4 bytes
	endWrite    = "write error"    // an echo could not be written
	endOpen     = "open"           // still allocated when the server stopped
)

// rwc is what serving needs of a flow; the tests use a fake.
type rwc interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
}

// session is the state of one flow. Only the event loop touches it after the
// accept goroutine has registered it.
type session struct {
	f          rwc
	fd         int
	seq        int  // accept order, for the summary
	configured bool // the configuration came
	verbose    bool // print a line per packet of a unidirectional test (-v)
	test       uint32
	last       time.Time // last message (or acceptance)
	first      time.Time // first data packet
	lastData   time.Time // last data packet
	packets    uint64
	bytes      uint64
}

// handle serves one message of the flow at now: the configuration first,
// then data packets. It returns why the flow must end, or "" to go on.
func (s *session) handle(msg []byte, now time.Time, out *printer) string {
	s.last = now
	if !s.configured {
		test, ok := parseConfig(msg)
		if !ok {
			out.print("Invalid config message.\n")
			return endInvalid
		}
		s.configured, s.test = true, test
		out.print(testLine(test))
		return ""
	}
	if s.packets == 0 {
		s.first = now
	}
	s.lastData = now
	s.packets++
	s.bytes += uint64(len(msg))
	switch s.test {
	case testUni:
		if s.verbose {
			out.queue(seqnoLine(packetID(msg), s.fd, now))
		}
	case testBi:
		if _, err := s.f.Write(msg); err != nil {
			out.printf("Error writing to flow (fd %d).\n", s.fd)
			return endWrite
		}
	}
	// Other test types: the packet is consumed silently, as in the reference.
	return ""
}

// summary is the flow's entry in the JSON summary.
func (s *session) summary(end string) flowSummary {
	fs := flowSummary{FD: s.fd, Packets: s.packets, Bytes: s.bytes, End: end}
	if s.configured {
		fs.Test = testName(s.test)
	}
	if s.packets > 0 {
		us := diffUs(s.lastData, s.first)
		fs.Duration = float64(us) / 1000
		fs.Mbps = round3(mbps(s.bytes, us))
	}
	return fs
}

// readEnd says why a flow must end after a failed read, or "" if the read
// only found nothing queued (EAGAIN).
func readEnd(err error, configured bool) string {
	switch {
	case errors.Is(err, flow.EAGAIN):
		return ""
	case !configured:
		return endNoConfig
	case errors.Is(err, flow.EFLOWPEER):
		return endIdle
	}
	return endPeer // EFLOWDOWN, or closed
}

type server struct {
	cfg config
	out *printer
	set *flow.EventSet
	buf []byte // the event loop's read buffer, maxSize bytes

	mu    sync.Mutex
	live  map[*flow.Flow]*session
	ended []endedFlow
	seq   int // sessions accepted so far

	stop context.CancelFunc // ends the server
	gone atomic.Bool        // the IRMd went away: exit status 1
}

// endedFlow is the summary of a flow that was evicted, with its accept order.
type endedFlow struct {
	seq int
	fs  flowSummary
}

// runServer serves until ctx ends, then deallocates every flow.
func runServer(ctx context.Context, cfg config, out *printer) int {
	set, err := flow.NewEventSet() // also announces the process to the IRMd
	if err != nil {
		if line, ok := tool.IRMDGone("Failed to create event set", err); ok {
			out.print(line)
			return 1
		}
		out.print("Failed to create event set.\n")
		tool.Why("operf", err)
		return 1
	}
	s := &server{cfg: cfg, out: out, set: set, buf: make([]byte, maxSize), live: map[*flow.Flow]*session{}}
	ctx, s.stop = context.WithCancel(ctx) // the accept loop ends the server when the IRMd is gone
	defer s.stop()
	out.print("Ouroboros perf server started.\n")

	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){s.acceptLoop, s.eventLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	<-ctx.Done()
	s.mu.Lock()
	for f := range s.live {
		f.SetWriteDeadline(time.Unix(1, 0)) // release an echo blocked by back-pressure
	}
	s.mu.Unlock()
	wg.Wait()
	s.mu.Lock()
	open := maps.Clone(s.live)
	s.mu.Unlock()
	for f, sess := range open {
		s.evict(f, sess, endOpen)
	}
	set.Close()
	out.flush()
	if cfg.json {
		out.printJSON(s.summary())
	}
	if s.gone.Load() {
		return 1
	}
	return 0
}

// acceptLoop accepts flows until ctx ends.
func (s *server) acceptLoop(ctx context.Context) {
	for {
		f, err := flow.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if line, ok := tool.IRMDGone("Failed to accept flow", err); ok {
				s.out.print(line)
				s.gone.Store(true)
				s.stop()
				return
			}
			s.out.print("Failed to accept flow.\n")
			tool.Why("operf", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(acceptBackoff):
			}
			continue
		}
		s.out.printf("New flow %d.\n", f.FD())
		f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart | flow.FlagRNoBlock)
		f.SetWriteTimeout(writeTimeout)
		s.mu.Lock()
		s.seq++
		s.live[f] = &session{f: f, fd: f.FD(), seq: s.seq, last: time.Now(), verbose: s.cfg.verbose}
		s.mu.Unlock()
		if err := s.set.Add(f); err != nil {
			s.mu.Lock()
			sess := s.live[f]
			s.mu.Unlock()
			s.evict(f, sess, endOpen)
		}
	}
}

// eventLoop serves packets until ctx ends. Packet events are level-triggered
// (one per queued message), so reading one message per event never blocks
// and never leaves one behind. Other events (the client went away, the flow
// went down) drain the flow: its queued packets are served, then the failed
// read ends it.
func (s *server) eventLoop(ctx context.Context) {
	q := flow.NewEventQueue()
	nextClean := time.Now().Add(cleanerPeriod)
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, eventTimeout)
		err := s.set.Wait(wctx, q)
		cancel()
		if err == nil {
			for ev, ok := q.Next(); ok; ev, ok = q.Next() {
				s.mu.Lock()
				sess := s.live[ev.Flow]
				s.mu.Unlock()
				if sess == nil {
					continue // already evicted
				}
				if ev.Type == flow.EventPkt {
					s.readOne(ev.Flow, sess)
				} else {
					for s.readOne(ev.Flow, sess) {
					}
				}
			}
		}
		s.out.flush()
		if now := time.Now(); !now.Before(nextClean) {
			s.clean(now)
			nextClean = now.Add(cleanerPeriod)
		}
	}
}

// readOne reads and serves one message of f. It reports whether one was
// served; a failed read or a failed message ends the flow.
func (s *server) readOne(f *flow.Flow, sess *session) bool {
	n, err := f.Read(s.buf)
	if err != nil {
		if end := readEnd(err, sess.configured); end != "" {
			s.endLine(sess, end)
			s.evict(f, sess, end)
		}
		return false
	}
	if end := sess.handle(s.buf[:n], time.Now(), s.out); end != "" {
		s.evict(f, sess, end)
		return false
	}
	return true
}

// clean evicts the flows idle for more than idleTimeout at now.
func (s *server) clean(now time.Time) {
	s.mu.Lock()
	var idle []*flow.Flow
	for f, sess := range s.live {
		if now.Sub(sess.last) > idleTimeout {
			idle = append(idle, f)
		}
	}
	s.mu.Unlock()
	for _, f := range idle {
		s.mu.Lock()
		sess := s.live[f]
		s.mu.Unlock()
		end := endIdle
		if !sess.configured {
			end = endNoConfig
		}
		s.endLine(sess, end)
		s.evict(f, sess, end)
	}
}

// endLine prints the line for a flow that ended by itself or timed out.
func (s *server) endLine(sess *session, end string) {
	switch end {
	case endNoConfig:
		s.out.print("Failed to read config message.\n")
	case endIdle:
		s.out.printf("Flow %d timed out.\n", sess.fd)
	case endPeer:
		s.out.printf("Flow %d ended.\n", sess.fd)
	}
}

// evict forgets the flow, records its summary and deallocates it. A
// unidirectional flow's packets are summed up in one line.
func (s *server) evict(f *flow.Flow, sess *session, end string) {
	if sess.configured && sess.test == testUni {
		s.out.print(flowSummaryLine(sess.fd, sess.packets, sess.bytes, diffUs(sess.lastData, sess.first)))
	}
	s.mu.Lock()
	delete(s.live, f)
	s.ended = append(s.ended, endedFlow{sess.seq, sess.summary(end)})
	s.mu.Unlock()
	f.Close() // also removes it from the set
}

// summary is the JSON summary of every flow served, in accept order.
func (s *server) summary() serverSummary {
	s.mu.Lock()
	ended := slices.Clone(s.ended)
	s.mu.Unlock()
	slices.SortFunc(ended, func(a, b endedFlow) int { return cmp.Compare(a.seq, b.seq) })
	sum := serverSummary{Tool: "operf", Role: "server", Flows: []flowSummary{}}
	for _, e := range ended {
		sum.Flows = append(sum.Flows, e.fs)
		sum.Packets += e.fs.Packets
		sum.Bytes += e.fs.Bytes
	}
	return sum
}
