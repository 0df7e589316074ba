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

// futexWake wakes the threads waiting on addr. FUTEX_WAKE never blocks,
// so it is a raw system call (see rawSyscalls).
func futexWake(addr *uint32) {
	unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, 1<<30, 0, 0, 0)
}

// rawSyscalls: the system calls of the wake-ups that never block (a
// FUTEX_WAKE, a doorbell sent with MSG_DONTWAIT, a doorbell read once the
// netpoller says one is there) are made without telling the Go scheduler
// (RawSyscall). A system call made the ordinary way wakes the runtime's
// monitor thread (sysmon) whenever it is in its deep sleep, which it enters
// each time every goroutine of the process waits: a process that forwards
// packets one at a time, as an IPCP does, then paid a wake-up of that
// thread, and its 20 µs polling until it slept again, for every packet
// (about a third of an IPCP's CPU time under oping -f). None of these
// calls takes longer than a few microseconds.
