package datapath

import (
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/shmring"
)

// futexWaitv is the kernel's struct futex_waitv (Linux 5.16+, futex_waitv
// system call): the value expected, the word's address, and its flags.
type futexWaitv struct {
	val   uint64
	uaddr uint64
	flags uint32
	_     uint32
}

// futex2SizeU32: the word is 32 bits. Not FUTEX2_PRIVATE: the waker is the
// other process, with FUTEX_WAKE on the same shared word.
const futex2SizeU32 = 0x02

// waitvChunk bounds one futex_waitv. Unlike FUTEX_WAIT, an interrupted
// futex_waitv is restarted by the kernel after a signal handler that asks
// for it (the Go runtime's all do), so the runtime's preemption signal does
// not end it; a raw wait (see rawWait) that a stop-the-world waits for is
// therefore cut into waits of at most this long, each followed by a
// function call where the goroutine can be preempted.
const waitvChunk = time.Millisecond

// waitvOK reports whether this kernel has futex_waitv: called with no
// waiters it fails with EINVAL where it exists, ENOSYS (or a seccomp
// filter's EPERM) where it does not.
var waitvOK = sync.OnceValue(func() bool {
	_, _, errno := unix.RawSyscall6(unix.SYS_FUTEX_WAITV, 0, 0, 0, 0, unix.CLOCK_MONOTONIC, 0)
	return errno == unix.EINVAL
})

// futexWaitPairRaw blocks the calling thread while *a == val and *b == val,
// for at most d (at most waitvChunk), or until a FUTEX_WAKE on either word.
// A raw system call, like futexWaitRaw: only with a slot from rawWaitSlot.
func futexWaitPairRaw(a, b *uint32, val uint32, d time.Duration) {
	var ts unix.Timespec
	unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ts)), 0)
	ts = unix.NsecToTimespec(ts.Nano() + int64(min(d, waitvChunk))) // absolute
	w := [2]futexWaitv{
		{val: uint64(val), uaddr: uint64(uintptr(unsafe.Pointer(a))), flags: futex2SizeU32},
		{val: uint64(val), uaddr: uint64(uintptr(unsafe.Pointer(b))), flags: futex2SizeU32},
	}
	unix.RawSyscall6(unix.SYS_FUTEX_WAITV, uintptr(unsafe.Pointer(&w[0])), 2, 0,
		uintptr(unsafe.Pointer(&ts)), unix.CLOCK_MONOTONIC, 0)
}

// hotWaitPair is hotWait for two ends at once, a and b, each with its
// consumer role held by the caller: it blocks in futex_waitv on both rx
// rings' sleep words until either peer puts a record, either end is closed
// or interrupted, or until passes (the wait itself lasts at most
// waitvChunk; the caller looks at the rings and waits again). Always a raw
// wait: it reports false, without waiting, when until has passed, no
// raw-wait slot or hot slot is free, or the kernel lacks futex_waitv.
func hotWaitPair(a, b *Endpoint, until time.Time) bool {
	d := time.Until(until)
	if d <= 0 || !waitvOK() {
		return false
	}
	if _, ok := takeHotSlots(true); !ok {
		return false
	}
	defer hotSlotsDone(true)
	sa, sb := a.shm, b.shm
	// Read locks on two channels, in a fixed order (a goroutine never
	// waits for one holding the other's write lock in the opposite order).
	first, second := sa, sb
	if uintptr(unsafe.Pointer(sb)) < uintptr(unsafe.Pointer(sa)) {
		first, second = sb, sa
	}
	first.mu.RLock()
	defer first.mu.RUnlock()
	second.mu.RLock()
	defer second.mu.RUnlock()
	if sa.mapping == nil || sb.mapping == nil {
		return true
	}
	sa.rx.SetRxSleepHow(shmring.SleepFutex)
	sb.rx.SetRxSleepHow(shmring.SleepFutex)
	if sa.rx.Empty() && sb.rx.Empty() && !sa.down.Load() && !sb.down.Load() &&
		!sa.intr.Swap(false) && !sb.intr.Swap(false) {
		sa.pairWaits.Add(1)
		sb.pairWaits.Add(1)
		futexWaitPairRaw(sa.rx.RxSleepWord(), sb.rx.RxSleepWord(), shmring.SleepFutex, d)
	}
	sa.rx.SetRxSleepHow(0)
	sb.rx.SetRxSleepHow(0)
	return true
}

// hotReadIdle is HotRead for a goroutine other than the endpoint's reader
// (a Puller's Pair): it takes the consumer role only while the reading
// goroutine sleeps on its socket. That goroutine announces its sleep
// (bellSleep) with the role held and ends it without: while it is
// announced the goroutine holds no record it took, and the records it
// takes later come after every record taken meanwhile by this HotReader.
func (e *Endpoint) hotReadIdle() *HotReader {
	s := e.shm
	if s == nil || !s.cons.TryLock() {
		return nil
	}
	if !s.bellSleep.Load() {
		s.cons.Unlock()
		return nil
	}
	s.hotMu.Lock()
	s.hotHeld = true
	s.hotMu.Unlock()
	return &HotReader{e: e, noPoll: true, rawOnly: true}
}

// peekLen returns the length of the next record in e's rx ring; ok is
// false if there is none (or the end is closed or corrupt). The caller
// holds the consumer role.
func (e *Endpoint) peekLen() (n int, ok bool) {
	s := e.shm
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mapping == nil {
		return 0, false
	}
	_, p, ok, err := s.rx.Peek()
	if err != nil || !ok {
		return 0, false
	}
	return len(p), true
}
