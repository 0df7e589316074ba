package flow

import "time"

// Activity stamps. A flow notes, on every packet, when it last received one
// from its peer and sent one to it (lastRcv, lastSnd): the keepalive reads
// them, and a Read decides from lastRcv whether to wait for the next packet
// on the ring itself (hotRead). A stamp is nanoseconds on the monotonic
// clock since clockBase, read with time.Since: one clock read, where
// time.Now makes two (the wall clock and the monotonic one). On a virtual
// machine a clock read can cost 40 ns or more (the 2-vCPU VM of the
// README's benchmark: time.Now 87 ns, time.Since 51 ns), a measurable part
// of a packet's cost; the stamps need no wall time.
var clockBase = time.Now()

// monoNow returns the stamp of now.
func monoNow() int64 { return int64(time.Since(clockBase)) }

// clockNow is time.Now read with one clock read: the time of monoNow().
// For the times a Read or an event wait takes when it starts to wait.
func clockNow() time.Time { return monoTime(monoNow()) }

// monoTime returns the time of a stamp. It carries a monotonic reading, so
// it compares and subtracts exactly with time.Now's and the FRCT clock's.
func monoTime(ns int64) time.Time { return clockBase.Add(time.Duration(ns)) }

// monoOf returns the stamp of t, which must carry a monotonic reading
// (time.Now's, the FRCT clock's and monoTime's do).
func monoOf(t time.Time) int64 { return int64(t.Sub(clockBase)) }
