package flow

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/frct"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// FRCT in the flow. A flow whose QoS asks for
// in-order delivery runs the sans-I/O engine of internal/frct; loss = 0 adds
// retransmission and linger. The engine is driven from three places, all
// under Flow.mu:
//
//   - the consumer of the channel (fixes F8): the receive goroutine, or a
//     Read that takes packets from the ring itself (hotRead; plaintext or
//     encrypted), which hold the consumer role in turn, so packets reach
//     the engine in the order they came: every packet goes through
//     Conn.Receive; in-order payloads join rxq, control replies (RDVS
//     answers, immediate ACKs) are written at once;
//   - one timer per flow, armed at Conn.NextDeadline: delayed ACKs,
//     retransmissions and rendezvous;
//   - the application: Write runs Conn.Send, Read reports consumption
//     (Conn.Consumed), which reopens the advertised window.
//
// So ACKs and window updates flow while the application is busy, or blocked
// in Write waiting for the window. Packets the engine emits on its own
// (control, retransmissions) never block: if the channel is full they are
// dropped, and the protocol recovers them as it recovers loss.
type frctFlow struct {
	conn    *frct.Conn
	rtx     bool
	timer   *time.Timer // runs Flow.frctTimeout
	armed   time.Time   // when timer fires; zero if stopped
	stopped bool        // the flow is gone: the timer must not re-arm

	// winKick (capacity 1) is signalled whenever a packet from the peer
	// with an ACK or FC field was processed: the window may have opened or
	// data been acknowledged.
	winKick chan struct{}
	// wmu serialises writers from Send to the channel, so that sequence
	// numbers enter the channel in order. A writer that finds it held
	// waits for wfree (capacity 1), which a releasing writer signals when
	// wwait counts writers waiting (see lockWriter): a lone writer pays a
	// TryLock and an Unlock per packet, no channel operation.
	wmu   sync.Mutex
	wfree chan struct{}
	wwait atomic.Int32
	// noLinger is FRCTFLINGER cleared (SetFRCTFlags); guarded by Flow.mu.
	noLinger bool
	// wbuf is the packet being written; the holder of wmu owns it (the
	// channel copies the packet, so it is reused by the next write).
	wbuf []byte
	sbuf []byte // the encrypted form of wbuf (encrypted flows); owned as wbuf
	// base is when the flow's engine was made; see now.
	base time.Time
}

// now reads the clock for the engine: base plus the monotonic time since,
// one clock read where time.Now makes two (wall and monotonic), on every
// packet written. The engine compares times only with each other (Sub,
// Before), which use the monotonic reading; the wall reading it carries
// (for the keepalive's unix times) is base's plus the monotonic time since,
// which stays within clock adjustments of the true one.
func (fr *frctFlow) now() time.Time { return fr.base.Add(time.Since(fr.base)) }

// rcvWindow is the receive window this end advertises, in packets. The
// reference advertises its reorder queue, 256; a larger window is the
// receiver's choice (the edge on the wire is absolute), and lets a fast
// sender keep going through an IPCP whose round trip is long. Senders of
// either kind honour what is advertised.
const rcvWindow = 1024

// DefaultLinger bounds how long Close waits for the peer to acknowledge
// data on a reliable flow; see SetLinger.
const DefaultLinger = 30 * time.Second

// windowPoll is how often a writer waiting for the window retries Send,
// which keeps the engine's rendezvous (RDVS every 100 ms) going while it
// waits; the reference sends none while a writer waits without a deadline.
const windowPoll = 500 * time.Millisecond

func newFRCT(f *Flow) *frctFlow {
	q := f.info.QoS
	fr := &frctFlow{
		rtx:     q.Loss == 0,
		winKick: make(chan struct{}, 1),
		wfree:   make(chan struct{}, 1),
		base:    time.Now(),
	}
	fr.conn = frct.New(frct.Config{
		MPL:    time.Duration(f.info.MPL) * time.Millisecond,
		RTX:    fr.rtx,
		RQSize: rcvWindow,
	}, fr.base)
	fr.timer = time.AfterFunc(time.Hour, f.frctTimeout)
	fr.timer.Stop()
	return fr
}

// arm makes sure the timer fires no later than the engine's next deadline.
// It only ever moves the timer earlier: a timer that fires too early finds
// nothing due and re-arms. Called with f.mu held.
// A zero now means "read the clock if needed".
func (fr *frctFlow) arm(now time.Time) {
	dl := fr.conn.NextDeadline()
	if fr.stopped || dl.IsZero() || (!fr.armed.IsZero() && !dl.Before(fr.armed)) {
		return
	}
	if now.IsZero() {
		now = fr.now()
	}
	fr.armed = dl
	fr.timer.Reset(max(dl.Sub(now), 0))
}

func (fr *frctFlow) kickWriters() {
	select {
	case fr.winKick <- struct{}{}:
	default:
	}
}

// frctReceive handles one non-empty packet from the peer: in the receive
// goroutine, or in a Read that took it from the channel itself (hotRead).
// own says the flow may keep sdu (a buffer of its exact size, read from the
// channel for this flow); otherwise it is copied.
func (f *Flow) frctReceive(now time.Time, sdu []byte, own bool) {
	fr := f.fr
	f.mu.Lock()
	pkt := sdu
	if !own {
		pkt = append(f.rxBuf(len(sdu)), sdu...) // the engine keeps it in its reorder queue
	}
	// Only an ACK or FC field can open the window or acknowledge data: a
	// plain DATA packet (all a one-way receiver gets) wakes no writer.
	news := wire.FRCT(pkt).Valid() && wire.FRCT(pkt).Flags()&(wire.FRCTACK|wire.FRCTFC) != 0
	deliver, reply, err := fr.conn.Receive(now, pkt)
	if err != nil {
		f.malformed.Add(1) // shorter than the FRCT header: dropped (F4)
	}
	if f.closed {
		for range deliver { // lingering: nobody reads any more
			fr.conn.Consumed(now)
		}
		deliver = nil
	}
	f.rxq = append(f.rxq, deliver...)
	fr.arm(now)
	s := f.set
	f.mu.Unlock()
	f.sendControl(reply)
	if news {
		fr.kickWriters()
	}
	if len(deliver) > 0 {
		f.kick()
		if s != nil {
			s.ready(f)
		}
	}
}

// frctTimeout runs the engine's timers (timer goroutine).
func (f *Flow) frctTimeout() {
	fr := f.fr
	now := fr.now()
	f.mu.Lock()
	if fr.stopped {
		f.mu.Unlock()
		return
	}
	fr.armed = time.Time{}
	out := fr.conn.OnTimeout(now)
	down := fr.conn.Down() && f.peerErr == nil
	if down {
		f.peerErr = oerr.EFLOWDOWN // R expired: the peer is unreachable
	}
	fr.arm(now)
	closed := f.closed
	f.mu.Unlock()
	f.sendControl(out)
	if down {
		fr.kickWriters()
		if !closed {
			f.kick()
			f.post(EventDown)
		}
	}
}

// sendControl writes engine-generated packets without blocking; on an
// encrypted flow it stops at the first that finds the channel full.
func (f *Flow) sendControl(pkts [][]byte) {
	for _, p := range pkts {
		var err error
		if f.pc != nil {
			err = f.writeSealed(make([]byte, 1, 1+len(p)+f.pc.Overhead()+crcLen), p, time.Time{}, false)
		} else {
			buf := make([]byte, 1+len(p), 1+len(p)+crcLen)
			copy(buf[1:], p)
			if f.crc {
				buf = appendCRC(buf)
			}
			err = f.ep.TryWritePacket(datapath.KindData, buf)
		}
		if err == nil {
			f.lastSnd.Store(monoNow())
		} else if f.pc != nil && errors.Is(err, datapath.ErrWouldBlock) {
			// The channel is full: the rest would most likely be
			// lost too, and each packet sealed counts toward the
			// next key rotation although the peer never sees it.
			return
		}
	}
}

// frctWrite sends p through the engine: it waits for the send window (and
// for other writers) up to dl, or fails with EAGAIN when nonblock is set.
// The fast path (window open, no other writer) starts no timer.
func (f *Flow) frctWrite(p []byte, dl time.Time, nonblock bool) error {
	// No defer: with the many returns of sendLocked they would not be
	// open-coded, and cost a deferred call each on every packet.
	fr := f.fr
	var w waiter
	err := fr.lockWriter(f, &w, dl, nonblock)
	if err == nil {
		err = f.sendLocked(p, dl, nonblock, &w)
		fr.unlockWriter()
	}
	w.stop()
	return err
}

// sendLocked is frctWrite with the writers' lock held.
func (f *Flow) sendLocked(p []byte, dl time.Time, nonblock bool, w *waiter) error {
	fr := f.fr
	var pkt []byte
	var sent time.Time
	for {
		now := fr.now()
		f.mu.Lock()
		switch {
		case f.closed:
			f.mu.Unlock()
			return net.ErrClosed
		case f.peerErr == oerr.EFLOWDOWN:
			f.mu.Unlock()
			return oerr.EFLOWDOWN
		}
		var err error
		if cap(fr.wbuf) < 1+frctHeader+len(p)+crcLen {
			fr.wbuf = make([]byte, 1, max(2048, 1+frctHeader+len(p)+crcLen))
		}
		pkt, err = fr.conn.Send(now, fr.wbuf[:1], p)
		fr.arm(now)
		sent = now
		f.mu.Unlock()
		if err == nil {
			break
		}
		if errors.Is(err, frct.ErrFlowDown) {
			return oerr.EFLOWDOWN
		}
		if nonblock {
			return oerr.EAGAIN
		}
		// Window closed: the engine sends RDVS; wait for a packet from the
		// peer, retrying now and then to keep the rendezvous going.
		select {
		case <-fr.winKick:
		case <-w.poll():
		case <-w.until(dl):
			return oerr.ETIMEDOUT
		case <-f.wr.wait():
			return oerr.ETIMEDOUT
		case <-f.done:
			return net.ErrClosed
		}
	}
	var err error
	if f.pc != nil {
		// Into a buffer of the flow's, which this writer holds (wsem).
		if need := len(pkt) + f.pc.Overhead() + crcLen; cap(fr.sbuf) < need {
			fr.sbuf = make([]byte, 1, max(2048, need))
		}
		err = f.writeErr(f.writeSealed(fr.sbuf[:1], pkt[1:], dl, !nonblock))
	} else {
		if f.crc {
			pkt = appendCRC(pkt)
		}
		err = f.writeBy(pkt, dl, nonblock)
	}
	if err == nil {
		f.lastSnd.Store(monoOf(sent))
	}
	if err != nil && fr.rtx && !errors.Is(err, net.ErrClosed) && !errors.Is(err, oerr.EFLOWDOWN) && !errors.Is(err, oerr.ECRYPT) {
		// The engine holds the packet: retransmission delivers it, so the
		// write succeeded even though the channel was full just now.
		f.lastSnd.Store(monoOf(sent))
		return nil
	}
	return err
}

// lockWriter takes wmu for a writer, waiting up to dl (EAGAIN at once with
// nonblock). A waiter counts itself in wwait before it tries the lock
// again, so a holder that releases after that try failed sees the count
// and signals wfree; a signal a waiter does not need (it took the lock on
// its own try) is left for the next, who tries again.
func (fr *frctFlow) lockWriter(f *Flow, w *waiter, dl time.Time, nonblock bool) error {
	if fr.wmu.TryLock() {
		return nil
	}
	if nonblock {
		return oerr.EAGAIN
	}
	fr.wwait.Add(1)
	defer fr.wwait.Add(-1)
	for !fr.wmu.TryLock() {
		select {
		case <-fr.wfree:
		case <-w.until(dl):
			return oerr.ETIMEDOUT
		case <-f.done:
			return net.ErrClosed
		}
	}
	return nil
}

// unlockWriter releases wmu and wakes a waiting writer, if any.
func (fr *frctFlow) unlockWriter() {
	fr.wmu.Unlock()
	if fr.wwait.Load() > 0 {
		select {
		case fr.wfree <- struct{}{}:
		default:
		}
	}
}

// waiter holds the timers of a writer that has to wait, made on first use.
type waiter struct {
	dl, pl *time.Timer
}

// until returns a channel that fires at dl (never if dl is zero).
func (w *waiter) until(dl time.Time) <-chan time.Time {
	if dl.IsZero() {
		return nil
	}
	if w.dl == nil {
		w.dl = time.NewTimer(time.Until(dl))
	}
	return w.dl.C
}

// poll returns a channel that fires windowPoll from now.
func (w *waiter) poll() <-chan time.Time {
	if w.pl == nil {
		w.pl = time.NewTimer(windowPoll)
	} else {
		w.pl.Reset(windowPoll)
	}
	return w.pl.C
}

func (w *waiter) stop() {
	if w.dl != nil {
		w.dl.Stop()
	}
	if w.pl != nil {
		w.pl.Stop()
	}
}

// frctHeader is the FRCT header length in bytes.
const frctHeader = 12

// linger waits, after Close, until the peer acknowledged everything sent on
// a reliable flow, the flow went down, or the linger bound passed. It sends
// the final ACK, and returns how long the layer must keep the flow id.
func (f *Flow) linger() time.Duration {
	fr := f.fr
	f.mu.Lock()
	final, keep, wait := fr.conn.Dealloc(time.Now())
	bound := f.lingerBound
	if fr.noLinger {
		bound = 0
	}
	f.mu.Unlock()
	if final != nil {
		f.sendControl([][]byte{final})
	}
	if !wait || bound <= 0 {
		return keep
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	for {
		select {
		case <-fr.winKick:
		case <-t.C:
			return keep
		case <-f.rxDone: // the peer is gone
			return keep
		}
		f.mu.Lock()
		final, keep, wait = fr.conn.Dealloc(time.Now())
		f.mu.Unlock()
		if final != nil {
			f.sendControl([][]byte{final})
		}
		if !wait {
			return keep
		}
	}
}

// stop ends the engine's timer for good.
func (fr *frctFlow) stop(f *Flow) {
	f.mu.Lock()
	fr.stopped = true
	fr.timer.Stop()
	f.mu.Unlock()
}

// SetLinger bounds how long Close waits for the peer to acknowledge data
// sent on a reliable (qos loss = 0) flow; 0 makes Close return at once,
// dropping unacknowledged data. The default is DefaultLinger.
func (f *Flow) SetLinger(d time.Duration) {
	f.mu.Lock()
	f.lingerBound = d
	f.mu.Unlock()
}

// FRCTFlags are the FRCT flags of a flow (fccntl FRCTGFLAGS/FRCTSFLAGS),
// with the reference's values.
type FRCTFlags uint16

const (
	FRCTRTX     FRCTFlags = 1 // retransmission (read-only: qos loss = 0)
	FRCTResCntl FRCTFlags = 2 // obey the receiver's window (default on)
	FRCTLinger  FRCTFlags = 4 // Close waits for unacknowledged data (default on with RTX)
)

// FRCTFlags returns the flow's FRCT flags; EPERM if the flow has no FRCT.
func (f *Flow) FRCTFlags() (FRCTFlags, error) {
	if f.fr == nil {
		return 0, f.opErr("fccntl", oerr.EPERM)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var fl FRCTFlags
	if f.fr.rtx {
		fl |= FRCTRTX
		if !f.fr.noLinger {
			fl |= FRCTLinger
		}
	}
	if f.fr.conn.ResCntl() {
		fl |= FRCTResCntl
	}
	return fl, nil
}

// SetFRCTFlags sets FRCTResCntl and FRCTLinger from fl; FRCTRTX cannot
// change. (The reference's FRCTSFLAGS clears both whatever the argument,
// quirk F5; this does what it means to.) EPERM if the flow has no FRCT.
func (f *Flow) SetFRCTFlags(fl FRCTFlags) error {
	if f.fr == nil {
		return f.opErr("fccntl", oerr.EPERM)
	}
	f.mu.Lock()
	f.fr.conn.SetResCntl(fl&FRCTResCntl != 0)
	f.fr.noLinger = fl&FRCTLinger == 0
	f.mu.Unlock()
	f.fr.kickWriters() // a writer waiting for the window may go now
	return nil
}

// FRCTStats are the FRCT counters of a flow, in packets.
type FRCTStats = frct.Stats

// FRCTStats returns the flow's FRCT counters; EPERM if it has no FRCT.
func (f *Flow) FRCTStats() (FRCTStats, error) {
	if f.fr == nil {
		return FRCTStats{}, f.opErr("fccntl", oerr.EPERM)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fr.conn.Stats(), nil
}
