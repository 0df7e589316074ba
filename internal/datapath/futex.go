package datapath

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations on a word of the shared mapping. They are shared (not
// FUTEX_PRIVATE): the waker is the other process. A futex here is a wake-up
// only, never a lock: the waiter re-checks the ring after every return, and
// every wait is bounded, so a peer that never wakes (or dies) costs at most
// the wait's bound.
const (
	futexWaitOp = 0 // FUTEX_WAIT
	futexWakeOp = 1 // FUTEX_WAKE
)

// futexWait blocks the calling thread while *addr == val, for at most d (or
// until a FUTEX_WAKE on addr, or a signal). Errors (EAGAIN: the word changed;
// ETIMEDOUT; EINTR) all mean "look again".
func futexWait(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWake wakes the threads waiting on addr.
func futexWake(addr *uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, 1<<30, 0, 0, 0)
}
