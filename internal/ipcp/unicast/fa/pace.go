package fa

// The pacing wait.
//
// The congestion avoidance spreads a flow's byte budget over its slot, so
// most of the waits it asks for are short: at 20,000 packets/s of 1000
// bytes the slot is about 2 ms and a wait 100 to 250 µs. time.Sleep does
// not keep such a wait: when every goroutine of the process sleeps (the
// writer is the only busy one of a flooding flow), the Go runtime waits for
// its next timer in epoll_wait, whose timeout is in whole milliseconds, so
// a 150 µs sleep lasts a millisecond or more. The writer then reaches the
// end of each slot with part of its budget unsent, and since the additive
// increase sets the next budget from the bytes sent (budget = sent +
// increase), the budget settles where the shortfall equals the increase:
// about 20 MB/s whatever the packet size (an increase of 64 KiB per 2^24 ns
// slot, scaled with the slot), which capped 1000-byte packets near 19,000/s
// while 64-byte ones, whose slots narrow until the waits are too short to
// make, were not held back.
//
// So a wait shorter than coarseWait is slept in the kernel,
// clock_nanosleep on CLOCK_MONOTONIC to an absolute deadline, which keeps
// it to within the thread's timer slack (50 µs by default). It holds the
// writer's thread for the wait, as a blocking system call does; the runtime
// runs the process's other goroutines on other threads meanwhile. Longer
// waits, where a millisecond late does not matter, use the runtime's timer.

import (
	"time"

	"golang.org/x/sys/unix"
)

// coarseWait is the shortest wait left to the runtime's timer.
const coarseWait = 20 * time.Millisecond

// clockNanosleep is unix.ClockNanosleep; tests replace it.
var clockNanosleep = unix.ClockNanosleep

// finePace waits d (see above).
func finePace(d time.Duration) {
	if d <= 0 {
		return
	}
	if d >= coarseWait {
		time.Sleep(d)
		return
	}
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		time.Sleep(d)
		return
	}
	deadline := unix.NsecToTimespec(unix.TimespecToNsec(now) + int64(d))
	// A signal (the runtime preempts goroutines with SIGURG) ends the
	// call with EINTR: sleep again to the same deadline.
	for clockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &deadline, nil) == unix.EINTR {
	}
}
