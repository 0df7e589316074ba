package datapath

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/shmring"
)

// The shared-memory channel: a sealed memfd, created by the IRMd and passed
// only to the two ends of the flow, holds two SPSC rings (one per direction);
// the socketpair stays as the doorbell and as the peer-death signal.
//
//	offset 0         claim  uint32: the first end to map it takes role 0
//	offset 4096      ring 0 (role 0 -> role 1)
//	offset 4096+R    ring 1 (role 1 -> role 0)
//
// A packet moves without a system call when the reader is busy: the writer
// puts the record in the ring and wakes the reader only if it announced it is
// going to sleep, in the way it announced: a doorbell (one byte on the socket,
// for a goroutine asleep in the netpoller) or FUTEX_WAKE on the ring's sleep
// word (for a thread blocked in FUTEX_WAIT, which then runs at once: no
// netpoller, no hand-off between goroutines). Symmetrically, a writer waiting
// for space announces it and the reader rings back after consuming.
// Each end has one reading goroutine (ReadPacket), which also receives the
// doorbells meant for its writers and wakes them, and sees the peer's end
// (EOF on the socket). Another goroutine may take the consumer role while the
// reading goroutine sleeps on the socket (HotRead): a flow's Read waiting for
// the next packet, which it then takes from the ring itself. The consumer
// role is a mutex of this process only; nothing is locked across processes.
const (
	ringData  = 512 << 10 // bytes of data per direction; a quarter is the largest record
	ringBytes = shmring.HeaderSize + ringData
	shmHeader = 4096
	shmSize   = shmHeader + 2*ringBytes
)

// newShm creates the sealed memfd of one channel.
func newShm() (*os.File, error) {
	fd, err := unix.MemfdCreate("o7s-flow", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "o7s-flow")
	if err := f.Truncate(shmSize); err != nil {
		f.Close()
		return nil, err
	}
	// Neither end may resize it: a shrunk mapping would fault the other.
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: %w", err)
	}
	return f, nil
}

// shm is the shared-memory state of an Endpoint.
type shm struct {
	mu      sync.RWMutex // held (read) around ring access; Close takes it to unmap
	mapping []byte
	tx, rx  *shmring.Ring
	txMu    sync.Mutex // serialises this end's producers

	down     atomic.Bool // the peer is gone or the end is closed
	downCh   chan struct{}
	downOnce sync.Once

	spaceMu sync.Mutex
	space   chan struct{} // closed when a doorbell may mean free space

	wdl atomic.Int64 // write deadline, unix ns; 0 = none

	// sockMu is held by whoever reads the socket: the reading goroutine from
	// its sleep announcement until its blocking read returns (so no doorbell
	// meant for it can be taken in between), or a writer that polls for space
	// and the peer's death while no goroutine reads.
	sockMu sync.Mutex

	lazyStays atomic.Int64 // lazy sleeps the reading goroutine prolonged (stayLazy), for the tests

	// intr: an interruption (interruptHot) not yet seen by a hot wait. A
	// hot wait that arms its futex after the interruption's wake-up went
	// out returns at once instead of sleeping through it.
	intr      atomic.Bool
	hotWaits  atomic.Int64 // FUTEX_WAITs made by hot waits, for the tests
	pairWaits atomic.Int64 // futex_waitvs on this and another ring (hotWaitPair), for the tests

	spinStats pollStats // the reading goroutine's polling (see spin)
	hotStats  pollStats // the HotReaders' polling, with the consumer role held
	noSpin    bool      // never poll (SetPolling)

	// cons is the consumer role of the rx ring, held by whoever takes
	// records: the reading goroutine (not while it sleeps on the socket) or
	// a HotReader. It is private to this process.
	cons      sync.Mutex
	bellSleep atomic.Bool  // the reading goroutine sleeps on the socket
	lazy      atomic.Bool  // that sleep ends by itself when HotReaders stop coming
	lastHot   atomic.Int64 // when the last HotReader left (monoNow); 0: none soon
	rdl       atomic.Int64 // the read deadline set by SetReadDeadline, unix ns; 0 = none

	// hotMu orders a HotReader's Done (which reads bellSleep and lazy to
	// arm the ring's sleep word, then gives the consumer role back) with
	// the reading goroutine's decision to go on sleeping lazily while a
	// HotReader holds the role (stayLazy): one of the two sees the other.
	hotMu   sync.Mutex
	hotHeld bool // a HotReader holds the consumer role (set after its TryLock)

	// dlMu serialises every change of the socket's read deadline: the
	// reading goroutine's own (the read deadline, cut by the end of a lazy
	// sleep) and the pokes of other goroutines, which set it to the past so
	// that the sleep ends and the reading goroutine looks at the ring. Once
	// poked, the deadline stays in the past until the reading goroutine has
	// woken from a timeout and cleared poked: no poke is overwritten, and a
	// timeout is an error only once rdl has passed.
	dlMu  sync.Mutex
	poked bool  // the deadline is in the past for a poke not yet seen
	dlSet int64 // the deadline the reading goroutine last set, unix ns; 0 = none, -1 = unknown
}

// SetPolling turns the reader's brief polling before sleep on or off (on by
// default). A forwarder such as an IPCP turns it off: its polling would take
// the CPU from the processes it forwards between.
func (e *Endpoint) SetPolling(on bool) {
	if e.shm != nil {
		e.shm.noSpin = !on
	}
}

func mapShm(f *os.File) (*shm, error) {
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != shmSize {
		return nil, fmt.Errorf("shared channel of %d bytes, want %d", st.Size(), shmSize)
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&(unix.F_SEAL_SHRINK|unix.F_SEAL_GROW) != unix.F_SEAL_SHRINK|unix.F_SEAL_GROW {
		return nil, errors.New("shared channel is not sealed against resizing")
	}
	m, err := unix.Mmap(int(f.Fd()), 0, shmSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		if errors.Is(err, unix.ENOMEM) {
			// One mapping per flow: a process with tens of thousands of
			// flows meets the host's limit on mappings.
			return nil, fmt.Errorf("mmap: %w (the process may be at the host's limit of memory mappings, vm.max_map_count)", err)
		}
		return nil, fmt.Errorf("mmap: %w", err)
	}
	role := 0
	if !atomic.CompareAndSwapUint32((*uint32)(unsafe.Pointer(&m[0])), 0, 1) {
		role = 1
	}
	r0, err0 := shmring.New(m[shmHeader : shmHeader+ringBytes])
	r1, err1 := shmring.New(m[shmHeader+ringBytes : shmHeader+2*ringBytes])
	if err := errors.Join(err0, err1); err != nil {
		unix.Munmap(m)
		return nil, err
	}
	s := &shm{mapping: m, downCh: make(chan struct{}), space: make(chan struct{})}
	s.tx, s.rx = r0, r1
	if role == 1 {
		s.tx, s.rx = r1, r0
	}
	return s, nil
}

func (s *shm) setDown() { s.downOnce.Do(func() { s.down.Store(true); close(s.downCh) }) }

// wakeWriters tells this end's waiting writers that space may be free.
func (s *shm) wakeWriters() {
	s.spaceMu.Lock()
	close(s.space)
	s.space = make(chan struct{})
	s.spaceMu.Unlock()
}

func (s *shm) spaceChan() chan struct{} {
	s.spaceMu.Lock()
	defer s.spaceMu.Unlock()
	return s.space
}

// doorbell wakes the peer without ever blocking: if the socket is full, the
// peer has doorbells queued already.
func (e *Endpoint) doorbell() {
	rc, err := e.c.SyscallConn()
	if err != nil {
		return
	}
	one := [1]byte{1}
	rc.Write(func(fd uintptr) bool {
		// Raw: MSG_DONTWAIT never blocks (see rawSyscalls).
		unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&one[0])), 1, unix.MSG_DONTWAIT, 0, 0)
		return true
	})
}

// readBells reads the doorbells queued on the socket into buf, waiting in
// the netpoller (up to the socket's read deadline) while there are none.
// The read itself is raw (see rawSyscalls): it runs only when the socket
// is readable, and never blocks. n is 0 with a nil error at the peer's end.
func (e *Endpoint) readBells(buf []byte) (int, error) {
	rc, err := e.c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n uintptr
	var errno unix.Errno
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])),
				uintptr(len(buf)), unix.MSG_DONTWAIT, 0, 0)
			if errno != unix.EINTR {
				return errno != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, &net.OpError{Op: "read", Net: "unixpacket", Err: os.NewSyscallError("recvfrom", errno)}
	}
	return int(n), nil
}

var errCorrupt = fmt.Errorf("shared channel corrupt: %w", io.EOF)

// next takes the next record of the rx ring, with the consumer role (cons)
// held: ok is false when the ring is empty; io.EOF once it is empty and the
// peer is gone, net.ErrClosed once this end is closed.
func (e *Endpoint) next(get func(n int) []byte) (Kind, []byte, bool, error) {
	s := e.shm
	s.mu.RLock()
	if s.mapping == nil {
		s.mu.RUnlock()
		return 0, nil, false, net.ErrClosed
	}
	kind, p, ok, err := s.rx.Peek()
	if err != nil {
		s.mu.RUnlock()
		s.setDown()
		return 0, nil, false, errCorrupt
	}
	if ok {
		buf := get(1 + len(p))
		n := copy(buf[1:], p)
		s.rx.Advance()
		wake := s.rx.TakeTxWait()
		s.mu.RUnlock()
		if wake {
			e.doorbell()
		}
		if n < len(p) {
			return 0, nil, false, ErrTooBig
		}
		return Kind(kind), buf[1 : 1+n], true, nil
	}
	down := s.down.Load()
	s.mu.RUnlock()
	if down {
		return 0, nil, false, io.EOF
	}
	return 0, nil, false, nil
}

// shmRead is ReadPacketInto over the rings.
func (e *Endpoint) shmRead(get func(n int) []byte) (Kind, []byte, error) {
	s := e.shm
	var bells [64]byte
	for {
		s.cons.Lock()
		kind, sdu, ok, err := e.next(get)
		if ok || err != nil {
			s.cons.Unlock()
			return kind, sdu, err
		}
		s.cons.Unlock()
		if e.spin() {
			continue
		}
		// Announce sleep, then look again before blocking (see shmring).
		// The announcement is made with the consumer role: a goroutine that
		// holds it (HotRead) may have the producer wake it by futex instead.
		// While HotReaders come and go (one left less than HotWindow ago),
		// the futex stays armed for the next one, and this goroutine only
		// looks at the ring when that window closes (lazy): so the peer's
		// record never rings the doorbell in the moment between two
		// HotReaders.
		s.sockMu.Lock()
		s.cons.Lock()
		s.mu.RLock()
		empty := true
		var lazyUntil int64
		if s.mapping != nil {
			s.bellSleep.Store(true)
			lh, now := s.lastHot.Load(), monoNow()
			lazy := lh != 0 && now-lh < int64(HotWindow)
			if lazy {
				s.lazy.Store(true)
				// An EndHot between the load of lastHot and the
				// store of lazy saw no lazy sleep to end: look again
				// (EndHot clears lastHot, then loads lazy; this
				// stores lazy, then loads lastHot: one of the two sees
				// the other's store).
				lazy = s.lastHot.Load() != 0
			}
			if lazy {
				// A socket deadline is wall time (unix ns).
				lazyUntil = time.Now().UnixNano() + (lh + int64(HotWindow) - now)
				s.rx.SetRxSleepHow(shmring.SleepFutex)
			} else {
				s.lazy.Store(false)
				s.rx.SetRxSleepHow(shmring.SleepBell)
			}
			empty = s.rx.Empty()
		}
		s.mu.RUnlock()
		s.cons.Unlock()
		if !empty {
			s.bellSleep.Store(false)
			s.sockMu.Unlock()
			continue
		}
		e.armDeadline(lazyUntil)
		n, err := e.readBells(bells[:])
		for err != nil && isTimeout(err) && e.stayLazy() {
			n, err = e.readBells(bells[:])
		}
		s.bellSleep.Store(false)
		s.sockMu.Unlock()
		if err != nil || n == 0 {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A poke (records left behind, a new read deadline), the
				// end of a lazy sleep, or the read deadline.
				s.dlMu.Lock()
				s.poked, s.dlSet = false, -1
				s.dlMu.Unlock()
				if rdl := s.rdl.Load(); rdl != 0 && time.Now().UnixNano() >= rdl {
					return 0, nil, err
				}
				continue
			}
			// The peer is gone: drain what it left, then EOF.
			s.setDown()
			e.interruptHot()
			continue
		}
		s.wakeWriters()
	}
}

// stayLazy is called by the reading goroutine when its sleep on the socket
// timed out. If the sleep is lazy and a HotReader holds the consumer role
// (it takes the records, and its Done arms the futex for the next one or
// pokes this goroutine for records left behind), the reading goroutine has
// nothing to take: it goes on sleeping, for another HotWindow, instead of
// blocking on the consumer role until that HotReader is done, which made
// every Done wake it (a hand-off to another thread) only for it to go back
// to sleep. It reports false, with the poke seen, otherwise.
func (e *Endpoint) stayLazy() bool {
	s := e.shm
	s.dlMu.Lock()
	s.poked, s.dlSet = false, -1
	s.dlMu.Unlock()
	if rdl := s.rdl.Load(); rdl != 0 && time.Now().UnixNano() >= rdl {
		return false
	}
	s.hotMu.Lock()
	stay := s.hotHeld && s.lazy.Load()
	s.hotMu.Unlock()
	if stay {
		s.lazyStays.Add(1)
		e.armDeadline(time.Now().Add(HotWindow).UnixNano())
	}
	return stay
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// armDeadline sets the socket's read deadline for a sleep of the reading
// goroutine: the read deadline, or lazyUntil (unix ns; 0: none) if sooner;
// a pending poke is left in place (the sleep ends at once).
func (e *Endpoint) armDeadline(lazyUntil int64) {
	s := e.shm
	dl := s.rdl.Load()
	if lazyUntil != 0 && (dl == 0 || lazyUntil < dl) {
		dl = lazyUntil
	}
	s.dlMu.Lock()
	if !s.poked && s.dlSet != dl {
		e.c.SetReadDeadline(unixOrZero(dl))
		s.dlSet = dl
	}
	s.dlMu.Unlock()
}

// poke ends the reading goroutine's sleep on the socket, or its next one if
// it is awake: it then looks at the ring and its read deadline again.
func (e *Endpoint) poke() {
	s := e.shm
	s.dlMu.Lock()
	s.poked, s.dlSet = true, -1
	e.c.SetReadDeadline(time.Unix(1, 0))
	s.dlMu.Unlock()
}

// unixOrZero is the time of ns unix nanoseconds, the zero time for 0.
func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// clockBase is the origin of monoNow.
var clockBase = time.Now()

// monoNow is the monotonic time since clockBase, in ns: one clock read
// (time.Since), where time.Now makes two. A HotReader's Done stamps its
// leaving with it, once per waiting Read.
func monoNow() int64 { return int64(time.Since(clockBase)) }

// HotWindow bounds one hot wait: how long a reader blocks in FUTEX_WAIT on
// its ring (woken directly by the peer's next record) before it goes back to
// sleeping on the doorbell socket through the netpoller. It covers the gap
// of a paced ping (oping -i 5) and a round trip through an IPCP; past it, an
// idle reader costs nothing more. A dying peer is noticed on the socket, so
// at most this late.
const HotWindow = 10 * time.Millisecond

// hotSlots bounds the threads of this process blocked in hot waits at once
// (each blocks an OS thread); readers beyond it sleep on their socket.
var hotSlots = make(chan struct{}, 16)

// takeHotSlots takes a slot of hotSlots and, if one is free, a raw-wait
// slot (rawWaitSlot); with rawOnly, both or none. ok is false when it took
// none; give what it took back with hotSlotsDone(raw).
func takeHotSlots(rawOnly bool) (raw, ok bool) {
	raw = rawWaitSlot()
	if !raw && rawOnly {
		return false, false
	}
	select {
	case hotSlots <- struct{}{}:
		return raw, true
	default:
		if raw {
			rawWaitDone()
		}
		return false, false
	}
}

func hotSlotsDone(raw bool) {
	<-hotSlots
	if raw {
		rawWaitDone()
	}
}

// hotWait blocks in FUTEX_WAIT on the rx ring until the peer puts a record,
// this end is closed or interrupted, or until passes. Called with the
// consumer role held. It reports false, without waiting, when until has
// passed or no slot is free.
//
// rawOnly: wait only as a raw wait (with a slot from rawWaitSlot), never
// the ordinary way. An ordinary wait is a system call that holds its
// thread and, until the runtime's monitor retakes it (up to 10 ms later),
// its P; beside a raw wait holding the other P, no thread is left to wait
// in the netpoller, and every socket of the process (an IPCP's requests
// from the IRMd, the other channels' doorbells) is read late (see Puller).
func (e *Endpoint) hotWait(until time.Time, rawOnly bool) bool {
	d := time.Until(until)
	if d <= 0 {
		return false
	}
	raw, ok := takeHotSlots(rawOnly)
	if !ok {
		return false
	}
	defer hotSlotsDone(raw)
	s := e.shm
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mapping == nil {
		return true
	}
	s.rx.SetRxSleepHow(shmring.SleepFutex)
	if s.rx.Empty() && !s.down.Load() && !s.intr.Swap(false) {
		s.hotWaits.Add(1)
		if raw {
			futexWaitRaw(s.rx.RxSleepWord(), shmring.SleepFutex, min(d, HotWindow))
		} else {
			futexWait(s.rx.RxSleepWord(), shmring.SleepFutex, d)
		}
	}
	s.rx.SetRxSleepHow(0)
	return true
}

// interruptHot wakes this end's hot wait, if any (it looks at the ring
// again), or makes the next one return at once.
func (e *Endpoint) interruptHot() {
	s := e.shm
	s.intr.Store(true)
	s.mu.RLock()
	if s.mapping != nil {
		w := s.rx.RxSleepWord()
		if atomic.CompareAndSwapUint32(w, shmring.SleepFutex, 0) {
			futexWake(w)
		}
	}
	s.mu.RUnlock()
}

// HotRead lets a goroutine other than the one in ReadPacket take records
// straight from the shared ring, waiting for them in FUTEX_WAIT, so that the
// packet reaches the goroutine that needs it without a hand-off. It takes the
// consumer role if it is free (the reading goroutine sleeps on its socket) and
// returns nil otherwise, or on a channel without shared memory. Release the
// HotReader with Done.
func (e *Endpoint) HotRead() *HotReader {
	if e.shm == nil || !e.shm.cons.TryLock() {
		return nil
	}
	e.shm.hotMu.Lock()
	e.shm.hotHeld = true
	e.shm.hotMu.Unlock()
	return &HotReader{e: e}
}

// HotReader holds the consumer role of a shared-memory channel (see HotRead).
type HotReader struct {
	e       *Endpoint
	noPoll  bool // Next waits without polling first (SetPolling)
	rawOnly bool // Next waits only as a raw wait (hotWait)
	waited  bool // the last Next blocked in FUTEX_WAIT
}

// SetPolling turns Next's brief polling before it waits on or off (on by
// default): a forwarder turns it off, as it does for its reading goroutine
// (Endpoint.SetPolling).
func (h *HotReader) SetPolling(on bool) { h.noPoll = !on }

// Waited reports whether the last Next blocked in FUTEX_WAIT. It did not
// when a record was there (or came while it polled), when until had passed,
// or when no thread was free for a hot wait (hotSlots, rawWaitSlot): a
// caller that wants to wait then sleeps on the doorbell instead.
func (h *HotReader) Waited() bool { return h.waited }

// Next returns the next record. If the ring is empty it waits once in
// FUTEX_WAIT, until until at the latest (zero: it does not wait), and
// reports ok false if it woke without a record (the peer's record, a
// spurious or an interrupting wake-up, or until): the caller looks at its
// deadlines and calls again. Errors are ReadPacket's; the reading goroutine
// sees them too.
func (h *HotReader) Next(get func(n int) []byte, until time.Time) (kind Kind, sdu []byte, ok bool, err error) {
	e := h.e
	h.waited = false
	kind, sdu, ok, err = e.next(get)
	if ok || err != nil || until.IsZero() {
		return kind, sdu, ok, err
	}
	if h.noPoll || !e.pollOnce(&e.shm.hotStats) {
		if !e.hotWait(until, h.rawOnly) {
			return kind, sdu, ok, err
		}
		h.waited = true
	}
	return e.next(get)
}

// Done gives the consumer role back. If the reading goroutine sleeps on the
// socket, the doorbell is armed for it again, and it is woken if records are
// left in the ring.
func (h *HotReader) Done() {
	e := h.e
	s := e.shm
	left := false
	s.lastHot.Store(max(monoNow(), 1)) // 0 means none
	s.hotMu.Lock()
	s.hotHeld = false
	s.mu.RLock()
	if s.mapping != nil {
		switch {
		case !s.bellSleep.Load():
			s.rx.SetRxSleepHow(0) // the reading goroutine is awake and looks
		case s.lazy.Load():
			s.rx.SetRxSleepHow(shmring.SleepFutex) // for the next HotReader
			left = !s.rx.Empty()
		default:
			s.rx.SetRxSleepHow(shmring.SleepBell)
			left = !s.rx.Empty()
		}
	}
	s.mu.RUnlock()
	s.cons.Unlock()
	s.hotMu.Unlock()
	if left {
		e.poke()
	}
}

// EndHot tells the channel that no HotReader is coming back soon (the caller
// waits for the reading goroutine instead): a reading goroutine that sleeps
// lazily (see shmRead) is woken to sleep on its doorbell, so the next record
// is not left waiting for the end of the lazy window.
func (e *Endpoint) EndHot() {
	s := e.shm
	if s == nil || s.lastHot.Swap(0) == 0 {
		return
	}
	if s.lazy.Load() && s.bellSleep.Load() {
		e.poke()
	}
}

// HotArmed reports whether a HotReader has left the channel since the last
// EndHot: until EndHot, the reading goroutine may sleep lazily, waiting for
// the next HotReader, and the peer's records ring no doorbell. A caller
// that waits by other means after a hot read must have called EndHot (the
// tests check it with this).
func (e *Endpoint) HotArmed() bool {
	return e.shm != nil && e.shm.lastHot.Load() != 0
}

// InterruptHot makes a hot wait of this end look again at once (for a new
// read deadline, an event elsewhere), or the next one if none waits now.
func (e *Endpoint) InterruptHot() {
	if e.shm != nil {
		e.interruptHot()
	}
}

// shmWrite is WritePacket over the rings; with nonblock it never waits.
func (e *Endpoint) shmWrite(kind Kind, pkt []byte, nonblock bool) error {
	for {
		if e.shm.down.Load() {
			return &net.OpError{Op: "write", Net: "shm", Err: os.NewSyscallError("write", unix.EPIPE)}
		}
		err := e.shmPut(kind, pkt[1:])
		if err == nil || !errors.Is(err, shmring.ErrFull) {
			return err
		}
		if nonblock {
			return ErrWouldBlock
		}
		if err := e.shmWaitRoom(len(pkt) - 1); err != nil {
			return err
		}
	}
}

// shmWaitRoom is WaitRoom over the rings, and the wait of shmWrite: it
// returns once a record of n bytes fits (or the peer is gone, or the write
// deadline passed).
func (e *Endpoint) shmWaitRoom(n int) error {
	s := e.shm
	for {
		if s.down.Load() {
			return &net.OpError{Op: "write", Net: "shm", Err: os.NewSyscallError("write", unix.EPIPE)}
		}
		if e.shmRoom(n) {
			return nil
		}
		// Take the wake-up channel, announce the wait, then look once more
		// before blocking: a doorbell that follows the announcement closes
		// this channel. (Not on the fast path: only once the ring is full.)
		space := s.spaceChan()
		s.mu.RLock()
		if s.mapping != nil {
			s.tx.SetTxWait(true)
		}
		s.mu.RUnlock()
		if e.shmRoom(n) {
			return nil
		}
		if err := e.waitSpace(space); err != nil {
			return err
		}
	}
}

// shmRoom reports whether a payload of n bytes fits in the tx ring now (true
// once the ring is unmapped: the write then fails with the reason).
func (e *Endpoint) shmRoom(n int) bool {
	s := e.shm
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mapping == nil {
		return true
	}
	s.txMu.Lock()
	ok := s.tx.Room(n)
	s.txMu.Unlock()
	return ok
}

// waitSpace blocks until space may be free, the peer goes, or the write
// deadline (re-read on every wake-up: SetWriteDeadline wakes the writers)
// passes. The peer's "space" doorbell arrives on the socket, which the
// reading goroutine reads; when no goroutine is reading, the writer drains the
// socket itself (noticing the peer's death) and polls the ring every 100 µs,
// so it never depends on a reader it lacks. A reading goroutine that holds
// the socket now may stop reading it before the doorbell comes (it returns
// a record a HotReader left, and a flow's receive goroutine then waits for
// room in its queue, which may be this writer's goroutine's to make): so the
// writer looks again after spaceRecheck in any case.
func (e *Endpoint) waitSpace(space chan struct{}) error {
	s := e.shm
	every := spaceRecheck
	if s.sockMu.TryLock() {
		// Nobody reads the socket: look for the peer's end ourselves.
		e.drainDoorbells()
		s.sockMu.Unlock()
		every = 100 * time.Microsecond
	}
	t := time.NewTimer(every)
	defer t.Stop()
	poll := t.C
	var timer <-chan time.Time
	if dl := s.wdl.Load(); dl != 0 {
		d := time.Until(time.Unix(0, dl))
		if d <= 0 {
			return &net.OpError{Op: "write", Net: "shm", Err: os.ErrDeadlineExceeded}
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-space:
	case <-poll:
	case <-s.downCh:
	case <-timer:
		return &net.OpError{Op: "write", Net: "shm", Err: os.ErrDeadlineExceeded}
	}
	return nil
}

func (e *Endpoint) shmPut(kind Kind, payload []byte) error {
	s := e.shm
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mapping == nil {
		return net.ErrClosed
	}
	s.txMu.Lock()
	err := s.tx.Put(byte(kind), payload)
	s.txMu.Unlock()
	switch {
	case err == nil:
		switch s.tx.TakeRxSleepHow() {
		case 0:
		case shmring.SleepFutex:
			futexWake(s.tx.RxSleepWord())
		default:
			e.doorbell()
		}
		return nil
	case errors.Is(err, shmring.ErrTooBig):
		return ErrTooBig
	case errors.Is(err, shmring.ErrCorrupt):
		s.setDown()
		return errCorrupt
	}
	return err
}

func (e *Endpoint) shmClose() {
	s := e.shm
	s.setDown()
	e.interruptHot() // a hot wait holds mu (read) until it wakes
	s.mu.Lock()
	if s.mapping != nil {
		unix.Munmap(s.mapping)
		s.mapping = nil
	}
	s.mu.Unlock()
}

// drainDoorbells reads the queued doorbells without blocking and notes the
// peer's end (EOF). Called with sockMu held. It does not go through the
// netpoller's read (Control, not Read): a poked read deadline (in the past)
// must not keep it from the socket.
func (e *Endpoint) drainDoorbells() {
	rc, err := e.c.SyscallConn()
	if err != nil {
		e.shm.setDown()
		return
	}
	var buf [64]byte
	rc.Control(func(fd uintptr) {
		for {
			n, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_DONTWAIT)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return
			case err != nil || n == 0:
				e.shm.setDown()
				return
			}
		}
	})
}

// spaceRecheck bounds how long a writer waiting for room in the ring relies
// on the reading goroutine to pass on the peer's doorbell (see waitSpace).
const spaceRecheck = time.Millisecond

// spinFor is how long a reader polls its ring before it announces sleep: a
// reply usually comes within a round trip, and catching it by polling saves
// both sides a wake-up through the kernel (the largest cost of a round trip).
// Polling only pays when the peer can run meanwhile: after four polls in a row
// that caught nothing (a slow peer, or more busy processes than cores), the
// reader skips polling for its next spinSkip sleeps, twice as many after each
// further four misses (up to spinSkip<<spinBackoffMax), until a poll catches
// a record: a reader whose replies come through an IPCP, or paced, soon polls
// for almost none of its packets.
const (
	spinFor        = 20 * time.Microsecond
	spinSkip       = 16
	spinBackoffMax = 6
)

// spin polls the rx ring for up to spinFor, yielding between polls; it reports
// whether a record arrived. Only the reading goroutine calls it.
func (e *Endpoint) spin() bool {
	if e.shm.noSpin {
		return false
	}
	return e.pollOnce(&e.shm.spinStats)
}

// pollStats are the statistics of one poller (see spinFor): the reading
// goroutine, or the HotReaders one at a time.
type pollStats struct {
	misses, skip int // polls in a row that caught nothing; polls still to skip
	backoff      int // skip is spinSkip<<backoff after the next misses
}

// pollOnce is spin whatever SetPolling says (a HotReader polls: it is the
// goroutine that waits for the packet, not a receive goroutine that would
// hand it on), with the poller's statistics st.
func (e *Endpoint) pollOnce(st *pollStats) bool {
	s := e.shm
	if st.skip > 0 {
		st.skip--
		return false
	}
	start := time.Now()
	for time.Since(start) < spinFor { // one clock read a round (time.Now makes two)
		runtime.Gosched()
		s.mu.RLock()
		ready := s.mapping == nil || !s.rx.Empty() || s.down.Load()
		s.mu.RUnlock()
		if ready {
			st.misses, st.backoff = 0, 0
			return true
		}
	}
	if st.misses++; st.misses >= 4 {
		st.misses, st.skip = 0, spinSkip<<st.backoff
		st.backoff = min(st.backoff+1, spinBackoffMax)
	}
	return false
}
