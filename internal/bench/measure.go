package bench

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Conn is the client end of a path: one packet per Read and per Write. A
// *flow.Flow (with FlagRNoPart set), a *net.UnixConn and a connected
// *net.UDPConn are Conns.
type Conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetDeadline(t time.Time) error // reads and writes
	SetReadDeadline(t time.Time) error
}

// Timeouts of the measurement loops.
const (
	// lossWait is how long a ping on a lossy path waits for its reply before
	// it counts as lost, and how often a count request is repeated.
	lossWait = 200 * time.Millisecond
	// lossRetries is how many times a count request is repeated on a lossy
	// path.
	lossRetries = 25
	// drainWait is how long an echo flood on a lossy path waits after its
	// last packet for the echoes still on their way.
	drainWait = 500 * time.Millisecond
	// stallWait is how much longer than planned a measurement on a lossless
	// path may take before it fails (a peer that stopped answering).
	stallWait = 30 * time.Second
)

// sample is what one measurement loop observed.
type sample struct {
	sent     int64           // packets the client sent
	received int64           // packets that arrived: back at the client, or at the server for one-way
	elapsed  time.Duration   // from the first send to the last arrival (one-way: to the count reply)
	rtts     []time.Duration // round-trip times of the answered pings
}

// client runs the measurement loops over one Conn.
type client struct {
	c     Conn
	lossy bool   // datagrams may be lost: reads wait at most lossWait
	test  uint32 // number of the current measurement
	buf   []byte // read buffer
}

func newClient(c Conn, lossy bool) *client {
	return &client{c: c, lossy: lossy, buf: make([]byte, maxPacket)}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// bound sets, on a lossless path, a read and write deadline planned+stallWait
// from now (on a lossy path every read sets its own, and writes never wait
// long); the returned func clears it. The write deadline bounds a writer
// that waits for a flow's window, which only the peer reopens.
func (cl *client) bound(planned time.Duration) func() {
	if !cl.lossy {
		cl.c.SetDeadline(time.Now().Add(planned + stallWait))
	}
	return func() { cl.c.SetDeadline(time.Time{}) }
}

// roundTrip sends msg as ping seq and waits for its echo. ok is false when a
// lossy path lost it.
func (cl *client) roundTrip(msg []byte, seq uint64) (rtt time.Duration, ok bool, err error) {
	header{kind: kindEcho, test: cl.test, seq: seq}.put(msg)
	t0 := time.Now()
	if _, err := cl.c.Write(msg); err != nil {
		return 0, false, fmt.Errorf("write: %w", err)
	}
	if cl.lossy {
		cl.c.SetReadDeadline(t0.Add(lossWait))
	}
	for {
		n, err := cl.c.Read(cl.buf)
		if err != nil {
			if cl.lossy && isTimeout(err) {
				return 0, false, nil
			}
			return 0, false, fmt.Errorf("read: %w", err)
		}
		h, valid := parseHeader(cl.buf[:n])
		if valid && h.kind == kindEcho && h.test == cl.test && h.seq == seq && n == len(msg) {
			return time.Since(t0), true, nil
		}
		// A stale packet of an earlier measurement: skip it.
	}
}

// latency sends count pings of size bytes, sleeping interval before each (as
// oping's client does), and records their round-trip times.
func (cl *client) latency(size, count int, interval time.Duration) (sample, error) {
	defer cl.bound(time.Duration(count) * (interval + time.Millisecond))()
	msg := make([]byte, size)
	s := sample{rtts: make([]time.Duration, 0, count)}
	start := time.Now()
	for i := range count {
		time.Sleep(interval)
		rtt, ok, err := cl.roundTrip(msg, uint64(i))
		if err != nil {
			return s, err
		}
		s.sent++
		if ok {
			s.received++
			s.rtts = append(s.rtts, rtt)
		}
	}
	s.elapsed = time.Since(start)
	return s, nil
}

// pingPong sends pings of size bytes back to back for d: each is sent when
// the previous one came back.
func (cl *client) pingPong(size int, d time.Duration) (sample, error) {
	defer cl.bound(d)()
	msg := make([]byte, size)
	s := sample{rtts: make([]time.Duration, 0, 1<<16)}
	start := time.Now()
	end := start.Add(d)
	for seq := uint64(0); ; seq++ {
		rtt, ok, err := cl.roundTrip(msg, seq)
		if err != nil {
			return s, err
		}
		s.sent++
		if ok {
			s.received++
			s.rtts = append(s.rtts, rtt)
		}
		if time.Now().After(end) {
			break
		}
	}
	s.elapsed = time.Since(start)
	return s, nil
}

// oneWay floods the server with packets of size bytes for d, then asks how
// many arrived. elapsed runs until the answer, so it includes the time the
// server took to drain its queue.
func (cl *client) oneWay(size int, d time.Duration) (sample, error) {
	defer cl.bound(d)()
	msg := make([]byte, size)
	header{kind: kindSink, test: cl.test}.put(msg)
	var s sample
	start := time.Now()
	end := start.Add(d)
	for {
		// Reading the clock every 16 packets keeps its cost out of the loop.
		if s.sent&15 == 0 && time.Now().After(end) {
			break
		}
		if _, err := cl.c.Write(msg); err != nil {
			return s, fmt.Errorf("write: %w", err)
		}
		s.sent++
	}
	n, err := cl.count()
	if err != nil {
		return s, err
	}
	s.received = int64(n)
	s.elapsed = time.Since(start)
	return s, nil
}

// count asks the server how many sink packets of the current test arrived.
func (cl *client) count() (uint64, error) {
	req := make([]byte, hdrLen)
	header{kind: kindEnd, test: cl.test}.put(req)
	for try := 0; try < lossRetries; try++ {
		if _, err := cl.c.Write(req); err != nil {
			return 0, fmt.Errorf("write count request: %w", err)
		}
		if cl.lossy {
			cl.c.SetReadDeadline(time.Now().Add(lossWait))
		}
		for {
			n, err := cl.c.Read(cl.buf)
			if cl.lossy && isTimeout(err) {
				break // ask again
			}
			if err != nil {
				return 0, fmt.Errorf("read count: %w", err)
			}
			if h, ok := parseHeader(cl.buf[:n]); ok && h.kind == kindCount && h.test == cl.test {
				return h.seq, nil
			}
		}
	}
	return 0, fmt.Errorf("no count reply after %d requests", lossRetries)
}

// echo floods the server with packets of size bytes for d from one goroutine
// while this one counts the echoes that come back. The last packet is marked
// so that, on a lossless path, its echo ends the count; a lossy path also
// stops drainWait after the flood if the mark was lost.
func (cl *client) echo(size int, d time.Duration) (sample, error) {
	start := time.Now()
	end := start.Add(d)
	type result struct {
		sent int64
		err  error
	}
	wdone := make(chan result, 1)
	go func() {
		msg := make([]byte, size)
		header{kind: kindEcho, test: cl.test}.put(msg)
		var n int64
		for {
			if n&15 == 0 && time.Now().After(end) {
				break
			}
			if _, err := cl.c.Write(msg); err != nil {
				wdone <- result{n, fmt.Errorf("write: %w", err)}
				return
			}
			n++
		}
		header{kind: kindEchoLast, test: cl.test, seq: uint64(n)}.put(msg)
		_, err := cl.c.Write(msg)
		wdone <- result{n + 1, err}
	}()

	wait := stallWait
	if cl.lossy {
		wait = drainWait
	}
	cl.c.SetDeadline(end.Add(wait))
	defer cl.c.SetDeadline(time.Time{})
	var s sample
	last := start
	for {
		n, err := cl.c.Read(cl.buf)
		if cl.lossy && isTimeout(err) {
			break
		}
		if err != nil {
			// The writer may be blocked; closing the session releases it.
			return s, fmt.Errorf("read: %w", err)
		}
		h, ok := parseHeader(cl.buf[:n])
		if !ok || h.test != cl.test || (h.kind != kindEcho && h.kind != kindEchoLast) {
			continue
		}
		s.received++
		last = time.Now()
		if h.kind == kindEchoLast {
			break
		}
	}
	w := <-wdone
	if w.err != nil {
		return s, w.err
	}
	s.sent = w.sent
	s.elapsed = last.Sub(start)
	return s, nil
}
