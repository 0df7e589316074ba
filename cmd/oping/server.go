package main

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
)

// The server serves any number of clients from one event
// set, with three goroutines:
//
//   - accept: accepts flows, makes them non-blocking and adds them to the set;
//   - events: waits on the set (without a timeout: the reference wakes every
//     100 ms, we wait for an event or the end; not at all with --poll),
//     reads one request per packet event and writes it back as a reply;
//   - cleaner: every second, deallocates flows idle for more than 10 s; with
//     no flow it sleeps until one comes.
//
// With --busy it instead accepts a single flow and answers it from a
// busy-polling read loop, and returns when that flow ends.
//
// A flow whose client went away stays in the set until the cleaner evicts it,
// as in the reference, so the "Flow <fd> timed out." line appears for every
// client.
const (
	idleTimeout   = 10 * time.Second       // a flow without requests this long is deallocated
	cleanerPeriod = time.Second            // how often idle flows are looked for
	acceptBackoff = 100 * time.Millisecond // pause after a failed accept (ours; the reference retries at once)
)

// rw is what serving a request needs of a flow; the tests use a fake.
type rw interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
}

type server struct {
	cfg  config
	out  *printer
	set  *flow.EventSet
	idle idleTable[*flow.Flow]
	stop context.CancelFunc // ends the server
	gone atomic.Bool        // the IRMd went away: exit status 1
}

// runServer serves until ctx ends, then deallocates every flow.
func runServer(ctx context.Context, cfg config, out *printer) int {
	if cfg.busy {
		return runBusy(ctx, out)
	}
	set, err := flow.NewEventSet()
	if err != nil {
		if line, ok := tool.IRMDGone("Failed to create event set", err); ok {
			out.Print(line)
			return 1
		}
		out.Printf("Failed to create event set: %d.\n", -tool.Errno(err))
		tool.Why("oping", err)
		return 1
	}
	s := &server{cfg: cfg, out: out, set: set}
	// The accept loop ends the server when the IRMd is gone.
	ctx, s.stop = context.WithCancel(ctx)
	defer s.stop()
	s.idle.init()

	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){s.acceptLoop, s.eventLoop, s.cleaner} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	for _, f := range s.idle.drain() {
		f.Close()
	}
	set.Close()
	if s.gone.Load() {
		return 1
	}
	return 0
}

// acceptLoop accepts flows until ctx ends.
func (s *server) acceptLoop(ctx context.Context) {
	s.out.Print("Ouroboros ping server started.\n")
	for {
		f, err := flow.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if line, ok := tool.IRMDGone("Failed to accept flow", err); ok {
				s.out.Print(line)
				s.gone.Store(true)
				s.stop()
				return
			}
			s.out.Printf("Failed to accept flow: %d \n", -tool.Errno(err))
			tool.Why("oping", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(acceptBackoff):
			}
			continue
		}
		s.out.Printf("New flow %d.\n", f.FD())
		f.SetFlags(flow.FlagRNoBlock | flow.FlagRdWr | flow.FlagRNoPart)
		s.idle.add(f, f.FD(), time.Now())
		if err := s.set.Add(f); err != nil {
			s.idle.remove(f)
			f.Close()
		}
	}
}

// eventLoop answers requests until ctx ends. Packet events are level-triggered
// (one per queued message), so reading one message per event never blocks and
// never leaves a message behind.
func (s *server) eventLoop(ctx context.Context) {
	q := flow.NewEventQueue()
	buf := make([]byte, maxSize)
	for ctx.Err() == nil {
		var err error
		if s.cfg.poll {
			// An expired context: Wait only collects what is there.
			wctx, cancel := context.WithTimeout(ctx, 0)
			err = s.set.Wait(wctx, q)
			cancel()
		} else {
			// No timeout: the reference wakes every 100 ms to look at a
			// flag; ctx ends this wait instead, so an idle server sleeps.
			err = s.set.Wait(ctx, q)
		}
		if err != nil {
			continue // ETIMEDOUT (polling), or ctx ended
		}
		for ev, ok := q.Next(); ok; ev, ok = q.Next() {
			if ev.Type != flow.EventPkt {
				continue // down, peer, dealloc: the cleaner evicts the flow
			}
			f := ev.Flow
			if serveRequest(f, f.FD(), buf, s.cfg.quiet, s.out) {
				s.idle.touch(f, time.Now())
			}
		}
	}
}

// serveRequest reads one message from f into buf and answers it, and
// reports whether it was a request. The reply goes out before the
// message's line is printed: the print is a system call (stdout is not
// buffered, so that lines show as they happen), and it stays out of the
// round trip the client measures. The lines and their order are the
// reference's.
func serveRequest(f rw, fd int, buf []byte, quiet bool, out *printer) bool {
	n, err := f.Read(buf)
	if err != nil {
		return false // EAGAIN, EMSGSIZE (over maxSize), flow down or closed
	}
	ok := markReply(buf[:n])
	var werr error
	if ok {
		_, werr = f.Write(buf[:n]) // whole, with the length it came with
	}
	if !quiet {
		out.Printf("Received %d bytes on fd %d.\n", n, fd)
	}
	switch {
	case !ok:
		out.Printf("Invalid message on fd %d.\n", fd)
	case werr != nil:
		out.Printf("Error writing to flow (fd %d).\n", fd)
	}
	return ok
}

// cleaner deallocates idle flows every cleanerPeriod until ctx ends.
func (s *server) cleaner(ctx context.Context) {
	s.idle.clean(ctx, func(now time.Time) {
		for _, f := range s.idle.expire(now, idleTimeout) {
			s.out.Printf("Flow %d timed out.\n", f.FD())
			f.Close() // also removes it from the set
		}
	})
}

// runBusy serves one flow with a busy-polling loop on a non-blocking read,
// until the flow fails or ctx ends. Replies are written without checking, and
// nothing is printed per packet.
func runBusy(ctx context.Context, out *printer) int {
	f, err := flow.Accept(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		if line, ok := tool.IRMDGone("Failed to accept flow", err); ok {
			out.Print(line)
			return 1
		}
		out.Print("Failed to accept flow.\n")
		tool.Why("oping", err)
		return 1
	}
	out.Printf("New flow %d (busy-poll).\n", f.FD())
	f.SetFlags(flow.FlagRNoBlock | flow.FlagRdWr | flow.FlagRNoPart)
	buf := make([]byte, maxSize)
	for ctx.Err() == nil {
		n, err := f.Read(buf)
		if errors.Is(err, flow.EAGAIN) {
			continue
		}
		if err != nil {
			break
		}
		if markReply(buf[:n]) {
			f.Write(buf[:n])
		}
	}
	f.Close()
	return 0
}

// idleTable records when each flow last served a request (the reference's
// per-fd array, as a map so that any fd fits). Its methods are safe for
// concurrent use.
type idleTable[K comparable] struct {
	mu    sync.Mutex
	m     map[K]idleEntry
	added chan struct{} // a token after add (capacity 1): wakes a cleaner that sleeps
}

type idleEntry struct {
	fd   int       // for ordering and printing
	last time.Time // last request served
}

func (t *idleTable[K]) init() { t.m, t.added = make(map[K]idleEntry), make(chan struct{}, 1) }

// add starts tracking k, active now.
func (t *idleTable[K]) add(k K, fd int, now time.Time) {
	t.mu.Lock()
	t.m[k] = idleEntry{fd: fd, last: now}
	t.mu.Unlock()
	select {
	case t.added <- struct{}{}:
	default:
	}
}

// clean calls sweep every cleanerPeriod until ctx ends; with no entry it
// sleeps (no timer) until one is added, so an idle server takes no CPU.
func (t *idleTable[K]) clean(ctx context.Context, sweep func(now time.Time)) {
	tick := time.NewTicker(cleanerPeriod)
	defer tick.Stop()
	for {
		if t.empty() {
			tick.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.added:
			}
			tick.Reset(cleanerPeriod)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.added:
		case now := <-tick.C:
			sweep(now)
		}
	}
}

// empty reports whether no entry is tracked.
func (t *idleTable[K]) empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m) == 0
}

// touch marks k active now; it does nothing if k is not tracked (any more).
func (t *idleTable[K]) touch(k K, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[k]; ok {
		e.last = now
		t.m[k] = e
	}
}

func (t *idleTable[K]) remove(k K) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, k)
}

// expire stops tracking the entries idle for more than idle at now and
// returns them in fd order.
func (t *idleTable[K]) expire(now time.Time, idle time.Duration) []K {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.takeLocked(func(e idleEntry) bool { return now.Sub(e.last) > idle })
}

// drain stops tracking every entry and returns them in fd order.
func (t *idleTable[K]) drain() []K {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.takeLocked(func(idleEntry) bool { return true })
}

func (t *idleTable[K]) takeLocked(match func(idleEntry) bool) []K {
	type kv struct {
		k  K
		fd int
	}
	var hit []kv
	for k, e := range t.m {
		if match(e) {
			hit = append(hit, kv{k, e.fd})
			delete(t.m, k)
		}
	}
	slices.SortFunc(hit, func(a, b kv) int { return cmp.Compare(a.fd, b.fd) })
	out := make([]K, len(hit))
	for i, h := range hit {
		out[i] = h.k
	}
	return out
}
