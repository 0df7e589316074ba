package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// stats accumulates the client's counters and RTT statistics. RTTs are in
// milliseconds. The mean and the sum of squared deviations (m2) are kept with
// Welford's online algorithm; the deviation printed is the sample standard
// deviation sqrt(m2/(n-1)), not Linux ping's mdev.
//
// sent is written by the sending goroutine only, the other fields by the
// receiving goroutine only; they are read together after both have ended.
type stats struct {
	sent uint64 // requests handed to the flow
	rcvd uint64 // valid replies
	ooo  uint64 // replies older than one already received

	min, max float64 // ms
	avg      float64 // ms
	m2       float64 // ms²
}

func newStats() stats {
	return stats{min: math.MaxFloat32} // the reference starts at FLT_MAX
}

// add counts one reply with the given RTT.
func (s *stats) add(rtt float64) {
	s.rcvd++
	if rtt < s.min {
		s.min = rtt
	}
	if rtt > s.max {
		s.max = rtt
	}
	d := rtt - s.avg
	s.avg += d / float64(s.rcvd)
	// The conversion rounds the product, so the compiler cannot fuse the
	// multiply and add: results are the same on every architecture.
	s.m2 += float64(d * (rtt - s.avg))
}

// lossPercent is the reference's ceil(100 - 100 * (rcvd / (float) sent)): the
// ratio is taken in single precision, which shows in the result (2 of 3 received
// is 34%). rcvd > sent (duplicated replies) gives a negative loss, as in C.
func lossPercent(sent, rcvd uint64) float64 {
	if sent == 0 {
		return 0
	}
	r := float32(rcvd) / float32(sent)
	return math.Ceil(float64(float32(100) - float32(float32(100)*r)))
}

// scaleMs returns v in the unit the client prints it in: milliseconds, or
// microseconds if below 0.1 ms. The µ is U+00B5 (UTF-8 C2 B5), as in the reference.
func scaleMs(v float64) (float64, string) {
	if v < 0.1 {
		return v * 1000, "µs"
	}
	return v, "ms"
}

// headerLine is the line (and the empty line after it) that starts a run.
// count is printed as the unsigned number it is (2147483647 by default).
func headerLine(name string, size int, count uint32, busy bool) string {
	mode := ""
	if busy {
		mode = ", busy-poll"
	}
	return fmt.Sprintf("Pinging %s with %d bytes of data (%d packets%s):\n\n", name, size, count, mode)
}

// replyLine is the line for one reply: n bytes received from name with
// sequence number seq after rtt ms. stamp is the -D prefix or "".
func replyLine(stamp string, n int, name string, seq uint32, rtt float64, outOfOrder bool) string {
	v, unit := scaleMs(rtt)
	suffix := ""
	if outOfOrder {
		suffix = " [out-of-order]"
	}
	return fmt.Sprintf("%s%d bytes from %s: seq=%d time=%.3f %s%s\n", stamp, n, name, seq, v, unit, suffix)
}

// timeOfDay is the -D prefix: wall-clock seconds and microseconds.
func timeOfDay(t time.Time) string {
	return fmt.Sprintf("[%d.%06d] ", t.Unix(), t.Nanosecond()/1000)
}

// summary is the statistics block printed at the end of every run; elapsedUs
// is the run's wall-clock duration in microseconds. The RTT line is there only
// if a reply came; its unit follows the average alone.
func (s *stats) summary(name string, elapsedUs int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n--- %s ping statistics ---\n", name)
	fmt.Fprintf(&b, "%d packets transmitted, %d received, %d out-of-order, %.0f%% packet loss, time: %.3f ms\n",
		s.sent, s.rcvd, s.ooo, lossPercent(s.sent, s.rcvd), float64(elapsedUs)/1000.0)
	if s.rcvd == 0 {
		return b.String()
	}
	mul, unit := 1.0, "ms"
	if s.avg < 0.1 {
		mul, unit = 1000, "µs"
	}
	mdev := "NaN" // one sample has no deviation; the reference prints NaN
	if s.rcvd > 1 {
		mdev = fmt.Sprintf("%.3f", math.Sqrt(s.m2/float64(s.rcvd-1))*mul)
	}
	fmt.Fprintf(&b, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%s %s\n",
		s.min*mul, s.avg*mul, s.max*mul, mdev, unit)
	return b.String()
}

// diffUs is later - earlier in microseconds computed as the reference's
// time helpers do: whole seconds times 1e6 plus the nanosecond difference
// divided by 1000, truncated toward zero.
func diffUs(later, earlier time.Time) int64 {
	sec := later.Unix() - earlier.Unix()
	nsec := int64(later.Nanosecond()) - int64(earlier.Nanosecond())
	return sec*1000000 + nsec/1000
}
