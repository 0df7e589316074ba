package datapath

import (
	"runtime"
	"sync/atomic"
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
// ETIMEDOUT; EINTR) all mean "look again". It tells the Go scheduler, which
// may hand the thread's P to another thread meanwhile; futexWaitRaw does not.
func futexWait(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWaitRaw is futexWait without telling the Go scheduler (see
// rawWait): to the runtime the goroutine keeps running, on its P, for the
// whole wait. Only for a wait of a few milliseconds at most, with a slot
// from rawWaitSlot.
func futexWaitRaw(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// rawWait: a hot wait (see hotWait) blocks in FUTEX_WAIT until the peer's
// next record, typically for the gap between two paced packets (oping -i 5:
// 5 ms). Made the ordinary way, such a wait is a system call that lasts
// milliseconds on a goroutine that never passes through the scheduler (it
// takes the record and waits again): the runtime's monitor thread (sysmon)
// takes its P away after 10 ms, goes into its deep sleep once every P is
// idle, and is woken again by the next system call, each time polling every
// 20 µs for a millisecond or more. That was 10-11 wake-ups of that thread
// per round trip in both oping processes, 14-15 context switches per round
// trip each instead of 2-3, and most of their CPU time (oping -i 5: 160-280
// µs per ping in the server, of which 40-50 remain without them).
//
// Made raw, the wait looks to the runtime like a goroutine running on its P:
// sysmon neither retakes the P nor deep-sleeps, and its polling backs off
// to every 10 ms. The price is the P, held for the wait, so at most half of
// the Ps (GOMAXPROCS/2) are held by raw waits at once (rawWaitSlot) and the
// other goroutines always have the rest; beyond, and with GOMAXPROCS 1, the
// wait is made the ordinary way. The wait stays bounded and preemptible: every wait has a
// timeout (the hot window), and a FUTEX_WAIT with a timeout is ended with
// EINTR by any signal that has a handler, such as the runtime's preemption
// signal (sent by sysmon to a goroutine that ran 10 ms, and by a
// stop-the-world until every P has stopped), after which the goroutine is
// preempted at its next function call.
var rawWaiters atomic.Int32

// rawWaitSlot takes a slot for a raw wait if fewer than GOMAXPROCS/2 are
// taken; give it back with rawWaitDone.
func rawWaitSlot() bool {
	if int(rawWaiters.Add(1)) <= runtime.GOMAXPROCS(0)/2 {
		return true
	}
	rawWaiters.Add(-1)
	return false
}

func rawWaitDone() { rawWaiters.Add(-1) }

// rawWaitFree reports whether a raw-wait slot is free now (a hint: another
// goroutine may take it first).
func rawWaitFree() bool { return int(rawWaiters.Load()) < runtime.GOMAXPROCS(0)/2 }

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
