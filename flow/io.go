package flow

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// receive is the flow's only reader of its channel. Steps per packet:
//
//  1. read one datagram (blocks in the netpoller);
//  2. note peer activity for the keepalive;
//  3. data: drop empty packets (keepalives), else wait for room in rxq,
//     queue a copy, wake a reader and post EventPkt;
//     down/up: record the peer's flag and post EventDown/EventUp;
//  4. on EOF or error: the peer is gone; readers get EFLOWDOWN after the
//     queue drains, and EventDealloc is posted.
func (f *Flow) receive() {
	defer close(f.rxDone)
	// No buffer is held while waiting: a flow without CRC or encryption
	// reads each packet into a buffer of its exact size, which the queue (or
	// FRCT's reorder queue) then keeps (no copy); CRC and encrypted flows
	// borrow a pooled buffer for the time the packet is handled (an
	// encrypted packet is opened into a buffer of its own, see handle).
	own := !f.crc && f.pc == nil
	var pooled *[]byte
	get := func(n int) []byte {
		// Called with the channel's consumer role held, once a datagram is
		// there: from now until it is handled, no hotRead may take the
		// datagrams behind it (they would be queued before it).
		f.rxHolding.Store(true)
		if own {
			return make([]byte, n)
		}
		pooled = datapath.GetBuf(n)
		return *pooled
	}
	for {
		if pooled != nil {
			datapath.PutBuf(pooled)
			pooled = nil
		}
		f.rxHolding.Store(false)
		kind, sdu, err := f.ep.ReadPacketInto(get)
		if err != nil {
			f.mu.Lock()
			closed := f.closed
			if f.peerErr == nil || f.peerErr == oerr.EFLOWPEER {
				f.peerErr = oerr.EFLOWDOWN
			}
			f.mu.Unlock()
			if !closed {
				f.kick()
				f.post(EventDealloc)
			}
			return
		}
		f.handle(kind, sdu, own)
	}
}

// takeOne reads and handles one datagram, which is waiting, in the calling
// goroutine: the receive goroutine's step, before it starts (start). An
// error is left for the receive goroutine, which meets it again.
func (f *Flow) takeOne() {
	own := !f.crc && f.pc == nil
	var pooled *[]byte
	kind, sdu, err := f.ep.ReadPacketInto(func(n int) []byte {
		if own {
			return make([]byte, n)
		}
		pooled = datapath.GetBuf(n)
		return *pooled
	})
	if err == nil {
		f.handle(kind, sdu, own)
	}
	if pooled != nil {
		datapath.PutBuf(pooled)
	}
}

// handle processes one datagram from the channel: the receive goroutine's
// step 2 and 3, also run by a Read or an EventSet wait that took the datagram
// from the ring itself (hotRead). own says the flow may keep sdu.
func (f *Flow) handle(kind datapath.Kind, sdu []byte, own bool) {
	stamp := monoNow()
	f.lastRcv.Store(stamp)
	switch kind {
	case datapath.KindData:
		if len(sdu) == 0 {
			return
		}
		if f.crc {
			var ok bool
			if sdu, ok = checkCRC(sdu); !ok {
				f.malformed.Add(1)
				return
			}
		}
		if f.pc != nil {
			var ok bool
			if sdu, ok = f.open(sdu); !ok {
				return
			}
			own = true // a new buffer of the plaintext's size (open)
		}
		if f.fr != nil {
			f.frctReceive(monoTime(stamp), sdu, own)
			return
		}
		msg := sdu
		if !own {
			msg = append([]byte(nil), sdu...)
		}
		f.mu.Lock()
		for f.queued() >= rxCap && !f.closed {
			f.space.Wait()
		}
		if f.closed {
			f.mu.Unlock()
			return
		}
		f.rxq = append(f.rxq, msg)
		s := f.set
		f.mu.Unlock()
		f.kick()
		if s != nil {
			s.ready(f)
		}
	case datapath.KindDown:
		f.mu.Lock()
		f.downFlag = true
		f.mu.Unlock()
		f.kick()
		f.post(EventDown)
	case datapath.KindUp:
		f.mu.Lock()
		f.downFlag = false
		f.mu.Unlock()
		f.post(EventUp)
	case datapath.KindMTU:
		// The limit only goes down: a second record (from the peer of a
		// direct flow, say) cannot raise what the IPCP said.
		if n, ok := datapath.ParseMTU(sdu); !ok {
			f.malformed.Add(1)
		} else if m := f.lowerMax.Load(); m == 0 || int32(n) < m {
			f.lowerMax.Store(int32(n))
		}
	}
}

// hotRead takes datagrams from the channel itself, in the calling goroutine,
// while the receive goroutine sleeps on its socket: the packet reaches the
// goroutine that waits for it without a hand-off, and the peer's record wakes
// this thread directly (datapath.HotRead). It waits once for the first
// datagram, until until at the latest (zero: not at all; nor when nothing
// came from the peer for datapath.HotWindow), then takes what
// else is there while rxq has room. got reports that it handled a datagram;
// again that it woke without one before until (a deadline may have changed):
// the caller looks at its state and may call again. Flows without CRC only
// (CRC flows are left to the receive goroutine), raw or FRCT, plaintext or
// encrypted; the receive goroutine keeps watching the socket for the peer's
// end. On an FRCT flow the caller runs the engine on each datagram as the
// receive goroutine would (frctReceive): a datagram may deliver nothing (an
// ACK, a packet beyond a hole), and what is delivered is bounded by the
// receive window, not by rxCap. A plaintext datagram is read into a buffer of its exact size,
// which the queue (or FRCT) keeps; an encrypted one into a pooled buffer,
// from which it is decrypted into a buffer of the plaintext's size that the
// queue (or FRCT) keeps (open), so a datagram costs one allocation either
// way, a failed key leaves the ciphertext intact for the next, and no
// buffer is shared with the receive goroutine. The packets are opened in
// the order they left the channel (the consumer role and rxHolding order
// the two readers), which key rotation relies on (the phase bit).
func (f *Flow) hotRead(until time.Time) (got, again bool) {
	if f.crc {
		return false, false
	}
	if !until.IsZero() && monoNow()-f.lastRcv.Load() > int64(datapath.HotWindow) {
		// The peer has been quiet: no thread is blocked for it (an idle
		// flow costs nothing); the receive goroutine wakes the reader.
		until = time.Time{}
	}
	h := f.ep.HotRead()
	if h == nil {
		return false, false
	}
	defer h.Done()
	if f.rxHolding.Load() {
		return false, false // the receive goroutine has a datagram to queue first
	}
	get := makeBuf
	var pooled *[]byte
	if f.pc != nil {
		get = func(n int) []byte {
			pooled = datapath.GetBuf(n)
			return *pooled
		}
		defer func() {
			if pooled != nil {
				datapath.PutBuf(pooled)
			}
		}()
	}
	for {
		f.mu.Lock()
		stop := f.closed || f.queued() >= rxCap
		f.mu.Unlock()
		if stop {
			return got, false
		}
		wait := until
		if got {
			wait = time.Time{}
		}
		kind, sdu, ok, err := h.Next(get, wait)
		if err != nil {
			return got, false // the receive goroutine sees it too
		}
		if !ok {
			// again only after a wait that ended early (an interruption,
			// a spurious wake-up): one that could not wait (no thread
			// free for it, see datapath.HotReader.Waited) would make the
			// caller spin until until.
			return got, !got && h.Waited() && !wait.IsZero() && time.Now().Before(wait)
		}
		// An encrypted datagram is in the pooled buffer: handle decrypts
		// it into a buffer of its own before it is queued (or given to
		// FRCT).
		f.handle(kind, sdu, f.pc == nil)
		if pooled != nil {
			datapath.PutBuf(pooled)
			pooled = nil
		}
		got = true
	}
}

func makeBuf(n int) []byte { return make([]byte, n) }

// leftHot is called by a Read that returns with the ring armed for its
// return (a hotRead of it took packets; the next Read is expected soon):
// if f is in an event set, the set's Wait ends that before it sleeps,
// for a caller that waits on its set next rather than reading again.
func (f *Flow) leftHot() {
	f.mu.Lock()
	s := f.set
	f.mu.Unlock()
	if s != nil {
		s.noteLeftHot(f)
	}
}

// hotUntil is until when a Read that began waiting at now may wait in
// hotRead: the hot window, cut by the read deadline and the receive timeout.
func (f *Flow) hotUntil(now time.Time, timeo time.Duration) time.Time {
	until := now.Add(datapath.HotWindow)
	if dl := f.rd.get(); !dl.IsZero() && dl.Before(until) {
		until = dl
	}
	if timeo > 0 && now.Add(timeo).Before(until) {
		until = now.Add(timeo)
	}
	return until
}

// Read reads the next message, or the next piece of one (see the package doc).
// It returns at most one message per call: a short buffer never merges two.
func (f *Flow) Read(p []byte) (int, error) {
	f.mu.Lock()
	timeo := f.rcvTimeo
	f.mu.Unlock()
	// The receive timeout runs from the first time this Read must wait
	// (start); its timer is made only when the Read is about to block, so a
	// Read that finds a message costs no timer (it was most of the CPU of a
	// busy server with a timeout set).
	var timer <-chan time.Time
	if f.rd.passed() {
		return 0, f.opErr("read", oerr.ETIMEDOUT) // net.Conn: a past deadline fails at once
	}
	var start time.Time
	// hot: a hotRead of this call took the ring (and packets, or woke
	// without one) and left it armed for the next Read; EndHot ends that.
	hot := false
	for {
		n, err, wait, ctl := f.tryRead(p)
		if ctl != nil {
			f.sendControl([][]byte{ctl})
		}
		if errors.Is(err, oerr.EAGAIN) {
			if got, _ := f.hotRead(time.Time{}); got {
				hot = true
				continue // non-blocking: whatever the ring holds counts
			}
			// The caller may now wait for the flow's event: the receive
			// goroutine delivers, and must not sleep lazily for a hot
			// reader (see EventSet.Wait).
			f.ep.EndHot()
			hot = false
		}
		if wait {
			if start.IsZero() {
				start = clockNow()
			}
			if got, again := f.hotRead(f.hotUntil(start, timeo)); got || again {
				hot = true
				continue
			}
			// From here the receive goroutine delivers: it must not wait
			// for a Read to come back for the ring.
			f.ep.EndHot()
			hot = false
		}
		if !wait {
			// Also when the Read fails (a message too long for p with
			// FlagRNoPart, the peer gone): the ring is armed all the same.
			if hot {
				f.leftHot()
			}
			if err != nil {
				return n, f.opErr("read", err)
			}
			return n, nil
		}
		if timeo > 0 && timer == nil {
			t := time.NewTimer(time.Until(start.Add(timeo)))
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-f.rxKick:
		case <-f.rd.wait():
			return 0, f.opErr("read", oerr.ETIMEDOUT)
		case <-timer:
			return 0, f.opErr("read", oerr.ETIMEDOUT)
		case <-f.done:
		}
	}
}

// tryRead takes what is available; wait reports that the caller must block.
// ctl is an FRCT window update to send once the lock is released.
func (f *Flow) tryRead(p []byte) (n int, err error, wait bool, ctl []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, net.ErrClosed, false, nil
	}
	if f.donePart {
		f.donePart = false
		return 0, nil, false, nil
	}
	msg := f.partial
	if msg == nil {
		if f.queued() == 0 {
			switch {
			case f.peerErr != nil:
				return 0, f.peerErr, false, nil
			case f.downFlag || f.flags&FlagDown != 0:
				return 0, oerr.EFLOWDOWN, false, nil
			case f.flags&FlagRNoBlock != 0:
				return 0, oerr.EAGAIN, false, nil
			}
			return 0, nil, true, nil
		}
		msg = f.rxq[f.rxHead]
		f.rxq[f.rxHead] = nil
		f.rxHead++
		switch {
		case f.rxHead == len(f.rxq):
			f.rxq, f.rxHead = f.rxq[:0], 0 // keep the array
		case f.rxHead >= 256 && 2*f.rxHead >= len(f.rxq):
			// Never empty for long: move the rest down, or the array grows.
			n := copy(f.rxq, f.rxq[f.rxHead:])
			clear(f.rxq[n:])
			f.rxq, f.rxHead = f.rxq[:n], 0
		}
		if f.reported > 0 {
			f.reported--
		}
		if f.fr != nil {
			// The time of the last packet from the peer is recent enough
			// to schedule an ACK 10 ms on, and saves a clock read.
			now := monoTime(f.lastRcv.Load())
			ctl = f.fr.conn.Consumed(now)
			f.fr.arm(time.Time{})
		}
		f.space.Signal()
		if f.queued() > 0 {
			// More is queued: pass the wake-up on to another waiting reader.
			select {
			case f.rxKick <- struct{}{}:
			default:
			}
		}
	}
	f.partial = nil
	n = copy(p, msg)
	switch {
	case n < len(msg) && f.flags&FlagRNoPart != 0:
		f.recycle(msg)
		return 0, oerr.EMSGSIZE, false, ctl
	case n < len(msg):
		f.partial = msg[n:]
		f.donePart = false
		return n, nil, false, ctl
	case n == len(p) && f.flags&FlagRNoPart == 0:
		f.donePart = true
	}
	f.recycle(msg)
	return n, nil, false, ctl
}

// queued returns the number of messages in rxq. Called with f.mu held.
func (f *Flow) queued() int { return len(f.rxq) - f.rxHead }

// Receive buffers of FRCT flows with CRC are recycled: the receive goroutine
// copies each packet out of the channel into one, Read copies the payload to
// the caller and gives it back. (FRCT flows without CRC keep the buffer the
// packet was read into, of its exact size, as raw flows do.) Both hold f.mu. A payload starts 12 bytes into
// its buffer (after the FRCT header), so a buffer loses 12 bytes of room per
// use; it is allocated with rxSlack spare bytes and kept while it has at
// least rxBufMin, at most rxFreeMax of them up to rxBufMax bytes each (so at
// most 320 KiB per flow). Raw flows allocate exactly (a flood whose reader
// lags empties the free list, and exact sizes then cost least).
const (
	rxSlack   = 256
	rxBufMin  = 64
	rxBufMax  = 20 << 10
	rxFreeMax = 16
)

// rxBuf returns an empty buffer with room for n bytes.
func (f *Flow) rxBuf(n int) []byte {
	if k := len(f.rxFree); k > 0 && cap(f.rxFree[k-1]) >= n {
		b := f.rxFree[k-1]
		f.rxFree = f.rxFree[:k-1]
		return b[:0]
	}
	return make([]byte, 0, n+rxSlack)
}

// recycle takes back a buffer whose bytes were all read. (Encrypted FRCT
// flows with CRC keep the buffer the packet was decrypted into, of its
// exact size, and take none from the list.)
func (f *Flow) recycle(b []byte) {
	if f.fr == nil || !f.crc || f.pc != nil {
		return
	}
	if c := cap(b); c >= rxBufMin && c <= rxBufMax && len(f.rxFree) < rxFreeMax {
		f.rxFree = append(f.rxFree, b[:0])
	}
}

// smallBufs recycles write buffers for messages up to 2 KiB.
var smallBufs = sync.Pool{New: func() any { b := make([]byte, 2049); return &b }}

// Write sends p as one message. It blocks while the channel is full (the peer
// is not reading), up to the write deadline or timeout; with FlagWNoBlock it
// returns EAGAIN instead. Messages larger than MaxSDU fail with EMSGSIZE. A
// zero-length Write sends an empty packet, which the peer counts as a keepalive.
func (f *Flow) Write(p []byte) (int, error) {
	f.mu.Lock()
	closed, flags, timeo := f.closed, f.flags, f.sndTimeo
	peerErr, down := f.peerErr, f.downFlag
	f.mu.Unlock()
	switch {
	case closed:
		return 0, f.opErr("write", net.ErrClosed)
	case flags&FlagAccMode == FlagRdOnly:
		return 0, f.opErr("write", oerr.EPERM)
	case len(p) > f.maxWrite():
		return 0, f.opErr("write", fmt.Errorf("%d-byte message, the flow carries at most %d: %w",
			len(p), f.maxWrite(), oerr.EMSGSIZE))
	case peerErr == oerr.EFLOWDOWN || down || flags&FlagDown != 0:
		return 0, f.opErr("write", oerr.EFLOWDOWN)
	}
	dl := f.wr.get()
	if !dl.IsZero() && !time.Now().Before(dl) {
		return 0, f.opErr("write", oerr.ETIMEDOUT) // net.Conn: a past deadline fails at once
	}
	if timeo > 0 {
		if t := time.Now().Add(timeo); dl.IsZero() || t.Before(dl) {
			dl = t
		}
	}
	if f.fr != nil && len(p) > 0 {
		if err := f.frctWrite(p, dl, flags&FlagWNoBlock != 0); err != nil {
			return 0, f.opErr("write", err)
		}
		return len(p), nil
	}
	var pkt []byte
	if f.pc != nil && len(p) > 0 {
		// Encrypted straight from p into the packet: IV ‖ ciphertext ‖ tag.
		need := 1 + len(p) + f.pc.Overhead() + crcLen
		if need <= 2049 {
			bp := smallBufs.Get().(*[]byte)
			defer smallBufs.Put(bp)
			pkt = (*bp)[:1]
		} else {
			pkt = make([]byte, 1, need)
		}
		nonblock := flags&FlagWNoBlock != 0
		if err := f.writeErr(f.writeSealed(pkt, p, dl, !nonblock)); err != nil {
			return 0, f.opErr("write", err)
		}
		f.lastSnd.Store(monoNow())
		return len(p), nil
	} else if len(p)+crcLen < 2049 {
		bp := smallBufs.Get().(*[]byte)
		defer smallBufs.Put(bp)
		pkt = (*bp)[:len(p)+1]
		copy(pkt[1:], p)
	} else {
		pkt = make([]byte, len(p)+1, len(p)+1+crcLen)
		copy(pkt[1:], p)
	}
	if f.crc && len(p) > 0 {
		pkt = appendCRC(pkt)
	}
	if err := f.writeBy(pkt, dl, flags&FlagWNoBlock != 0); err != nil {
		return 0, f.opErr("write", err)
	}
	f.lastSnd.Store(monoNow())
	return len(p), nil
}

// MaxWrite returns the largest message Write takes on f, in bytes: the
// largest SDU of the layer below (once its IPCP said it) less what FRCT,
// the cipher and the CRC add. It never rises during the flow's life; a
// longer message fails with EMSGSIZE.
func (f *Flow) MaxWrite() int { return f.maxWrite() }

// maxWrite is the largest message Write takes: MaxSDU, or the layer's
// largest SDU once its IPCP said it (KindMTU), less the FRCT header on FRCT
// flows, the IV and tag on encrypted flows and the CRC on CRC flows.
func (f *Flow) maxWrite() int {
	n := datapath.MaxSDU
	if f.sduCap > 0 { // a join: no FRCT, CRC or cipher to take off
		return f.sduCap
	}
	if m := int(f.lowerMax.Load()); m > 0 {
		n = min(n, m)
	}
	if f.fr != nil {
		n -= frctHeader
	}
	if f.crc {
		n -= crcLen
	}
	if f.pc != nil {
		n -= f.pc.Overhead()
	}
	return max(n, 0)
}

func (f *Flow) writeBy(pkt []byte, dl time.Time, nonblock bool) error {
	var err error
	if nonblock {
		err = f.ep.TryWritePacket(datapath.KindData, pkt)
	} else {
		f.ep.SetWriteDeadline(dl)
		err = f.ep.WritePacket(datapath.KindData, pkt)
	}
	return f.writeErr(err)
}

// writeErr turns the channel's error for a write into the flow's.
func (f *Flow) writeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, datapath.ErrWouldBlock):
		return oerr.EAGAIN
	case isTimeout(err):
		return oerr.ETIMEDOUT
	case datapath.IsDown(err):
		f.mu.Lock()
		closed := f.closed
		f.mu.Unlock()
		if closed {
			return net.ErrClosed
		}
		return oerr.EFLOWDOWN
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// deadline is a settable deadline whose wait channel closes when it passes,
// waking every blocked call, in the way of net.Pipe's.
type deadline struct {
	mu     *sync.Mutex
	t      *time.Time
	timer  **time.Timer
	cancel *chan struct{}
}

func makeDeadline() deadline {
	c := make(chan struct{})
	var t time.Time
	var tm *time.Timer
	return deadline{mu: new(sync.Mutex), t: &t, timer: &tm, cancel: &c}
}

func (d deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if *d.timer != nil && !(*d.timer).Stop() {
		<-*d.cancel // the timer fired: wait for it to close cancel
	}
	*d.timer = nil
	*d.t = t
	closed := isClosedChan(*d.cancel)
	if t.IsZero() {
		if closed {
			*d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			*d.cancel = make(chan struct{})
		}
		c := *d.cancel
		*d.timer = time.AfterFunc(dur, func() { close(c) })
		return
	}
	if !closed {
		close(*d.cancel)
	}
}

func (d deadline) get() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *d.t
}

// passed reports whether the deadline is set and has passed.
func (d deadline) passed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.t.IsZero() && !time.Now().Before(*d.t)
}

func (d deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *d.cancel
}

func isClosedChan(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
