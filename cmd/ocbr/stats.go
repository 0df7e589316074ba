package main

import (
	"fmt"
	"math"
	"time"
)

// Every line ocbr prints with numbers in it is built here, so that the tests
// can check each one byte for byte against the reference's templates
// and the JSON summaries are defined here.

// clientStartLine is the client's first line: duration in s, rate in bit/s,
// size in bytes.
func clientStartLine(cfg config) string {
	return fmt.Sprintf("Client started, duration %d, rate %d b/s, size %d B.\n", cfg.duration, cfg.rate, cfg.size)
}

// sentMbps is the client's rate as the reference computes it:
// packets / (ms × 1000) × size × 8, in Mb/s (10^6 bit/s); 0 when no whole
// millisecond elapsed (the reference divides by zero).
func sentMbps(packets int64, size int, ms int64) float64 {
	if ms <= 0 {
		return 0
	}
	return float64(packets) / (float64(ms) * 1000.0) * float64(size) * 8
}

// sentLine is the client's statistics line: packets of size bytes sent in ms
// milliseconds.
func sentLine(packets int64, size int, ms int64) string {
	return fmt.Sprintf("sent statistics: %9d packets, %12d bytes in %9d ms, %4.4f Mb/s\n",
		packets, packets*int64(size), ms, sentMbps(packets, size, ms))
}

// serverStartLine is the server's first line; both values in s.
func serverStartLine(interval, timeout int64) string {
	return fmt.Sprintf("Server started, interval is %d s, timeout is %d s.\n", interval, timeout)
}

// reportLine is a server report: pkts packets of bytes bytes in total on flow
// fd over us microseconds, printed as whole milliseconds (truncated), packets
// per second and Mb/s (bits per microsecond). Rates are 0 for an empty period
// (the reference divides by zero).
func reportLine(fd int, pkts, bytes int64, us int64) string {
	var pps, mbps float64
	if us > 0 {
		pps = float64(pkts) / float64(us) * 1e6
		mbps = 8 * float64(bytes) / float64(us)
	}
	return fmt.Sprintf("Flow %4d: %9d packets (%12d bytes) in %9d ms => %9.4f pps, %9.4f Mbps\n",
		fd, pkts, bytes, us/1000, pps, mbps)
}

// diffUs is later - earlier in microseconds computed as the reference's
// time helpers do: whole seconds times 10^6 plus the nanosecond difference
// divided by 1000, truncated toward zero.
func diffUs(later, earlier time.Time) int64 {
	sec := later.Unix() - earlier.Unix()
	nsec := int64(later.Nanosecond()) - int64(earlier.Nanosecond())
	return sec*1000000 + nsec/1000
}

// diffMs is later - earlier in milliseconds, in the same way.
func diffMs(later, earlier time.Time) int64 {
	sec := later.Unix() - earlier.Unix()
	nsec := int64(later.Nanosecond()) - int64(earlier.Nanosecond())
	return sec*1000 + nsec/1000000
}

// round3 rounds to three decimals, for the JSON.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// The JSON summaries. With --json one of them is printed as the last line of
// standard output, after (next to) the human output, which stays as it is.
// Times are in milliseconds, rates in Mb/s (10^6 bit/s), sizes in bytes.

// clientSummary is the client's summary; the numbers are those of the
// "sent statistics" line.
type clientSummary struct {
	Tool     string  `json:"tool"`       // "ocbr"
	Role     string  `json:"role"`       // "client"
	Server   string  `json:"server"`     // -n
	QoS      string  `json:"qos"`        // -q
	Size     int     `json:"size"`       // bytes per packet
	Rate     int64   `json:"rate_bps"`   // -r in bit/s (unused with -f)
	Duration int64   `json:"duration_s"` // -d
	Flood    bool    `json:"flood"`      // -f
	Spin     bool    `json:"spin"`       // --spin
	Packets  int64   `json:"packets"`    // packets written
	Bytes    int64   `json:"bytes"`
	Elapsed  int64   `json:"elapsed_ms"` // whole ms, as printed
	Mbps     float64 `json:"mbps"`       // as printed
	Error    string  `json:"error,omitempty"`
}

// flowSummary is one flow the server served.
type flowSummary struct {
	FD       int     `json:"fd"`
	Packets  int64   `json:"packets"`     // received
	Bytes    int64   `json:"bytes"`       // received
	Duration float64 `json:"duration_ms"` // first to last packet
	Mbps     float64 `json:"mbps"`        // bytes over duration_ms
	End      string  `json:"end"`         // "timed out", "ended" (client gone) or "stopped" (server stopped)
}

// serverSummary is the server's summary, printed when it stops: every flow in
// the order its worker finished, and the totals.
type serverSummary struct {
	Tool    string        `json:"tool"` // "ocbr"
	Role    string        `json:"role"` // "server"
	Flows   []flowSummary `json:"flows"`
	Packets int64         `json:"packets"`
	Bytes   int64         `json:"bytes"`
}
