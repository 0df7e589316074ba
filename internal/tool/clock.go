package tool

import "time"

// MonoClock returns a clock for the tools' per-packet timing: each call
// gives the time as time.Now would (its wall and monotonic readings advance
// together from the moment MonoClock was called), read with one clock read
// (time.Since) where time.Now makes two. Differences between its times are
// monotonic, whatever the wall clock does meanwhile. On a virtual machine a
// clock read can cost 40 ns or more, and ocbr reads the clock for every
// packet.
func MonoClock() func() time.Time {
	base := time.Now()
	return func() time.Time { return base.Add(time.Since(base)) }
}
