package main

import (
	"fmt"
	"math"
	"time"
)

// Every line operf prints is built here, so that the tests can check each
// one byte for byte against the reference's templates, and the JSON summaries
// are defined here.

// testLine announces the test type; the server prints it for the value of a
// configuration message, the client for its -t.
func testLine(test uint32) string {
	if test == testBi {
		return "Doing a bidirectional test.\n"
	}
	return "Doing a unidirectional test.\n"
}

// startLine is the client's line (and the empty line after it) before the
// first data packet. The duration is printed in whole seconds (truncated), the
// rate in Mb/s with three decimals.
func startLine(cfg config) string {
	secs := cfg.duration / 1000
	if cfg.flood {
		return fmt.Sprintf("Flooding %s with %d byte packets for %d seconds.\n\n", cfg.name, cfg.size, secs)
	}
	return fmt.Sprintf("Sending %d byte packets for %d s to %s at %.3f Mb/s.\n\n",
		cfg.size, secs, cfg.name, float64(cfg.rate)/1e6)
}

// lossPercent is the reference's integer loss: 0 without packets, else
// 100 - (100 * rcvd) / sent with integer division (so 1 lost packet in 1000
// shows as 1%, and more echoes than packets as a negative loss).
func lossPercent(sent, rcvd uint64) int64 {
	if sent == 0 {
		return 0
	}
	return 100 - int64(100*rcvd)/int64(sent)
}

// mbps is bytes over elapsedUs microseconds in Mb/s (bits per microsecond);
// 0 when no time elapsed (the reference would divide by zero).
func mbps(bytes uint64, elapsedUs int64) float64 {
	if elapsedUs <= 0 {
		return 0
	}
	return float64(bytes) * 8 / float64(elapsedUs)
}

// biSummary is the statistics block of a bidirectional test: sent and rcvd
// packets of size bytes, elapsedUs the writer's run time in microseconds.
func biSummary(name string, sent, rcvd uint64, size int, elapsedUs int64) string {
	return fmt.Sprintf("\n--- %s perf statistics ---\n"+
		"%d packets transmitted, %d received, %d%% packet loss, time: %.3f ms, bandwidth: %.3f Mb/s.\n",
		name, sent, rcvd, lossPercent(sent, rcvd), float64(elapsedUs)/1000.0,
		mbps(rcvd*uint64(size), elapsedUs))
}

// uniSummary is the statistics block of a unidirectional test (ours: the
// reference's client prints none): sent packets of size bytes, elapsedUs the
// writer's run time in microseconds, and the rate sent.
func uniSummary(name string, sent uint64, size int, elapsedUs int64) string {
	bytes := sent * uint64(size)
	return fmt.Sprintf("\n--- %s perf statistics ---\n"+
		"%d packets transmitted, %d bytes, time: %.3f ms, rate: %.3f Mb/s.\n",
		name, sent, bytes, float64(elapsedUs)/1000.0, mbps(bytes, elapsedUs))
}

// flowSummaryLine is the server's line for a unidirectional flow that ended
// (ours, instead of a line per packet without -v): packets and bytes
// received, from the first to the last data packet.
func flowSummaryLine(fd int, packets, bytes uint64, elapsedUs int64) string {
	return fmt.Sprintf("Flow %d: %d packets, %d bytes received in %.3f ms, %.3f Mb/s.\n",
		fd, packets, bytes, float64(elapsedUs)/1000.0, mbps(bytes, elapsedUs))
}

// seqnoLine is the server's line for a packet of a unidirectional test: its id
// (signed, as the reference prints it), the flow and the wall-clock time of
// arrival in seconds and microseconds.
func seqnoLine(id int32, fd int, t time.Time) string {
	return fmt.Sprintf("Seqno %d from fd %d: %d.%06d\n", id, fd, t.Unix(), t.Nanosecond()/1000)
}

// diffUs is later - earlier in microseconds computed as the reference's
// time helpers do: whole seconds times 1e6 plus the nanosecond difference
// divided by 1000, truncated toward zero.
func diffUs(later, earlier time.Time) int64 {
	sec := later.Unix() - earlier.Unix()
	nsec := int64(later.Nanosecond()) - int64(earlier.Nanosecond())
	return sec*1000000 + nsec/1000
}

// round3 rounds to three decimals, for the JSON.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// The JSON summaries. With --json one of them is printed as the last line of
// standard output, after (next to) the human output, which stays as it is.
// Times are in milliseconds, rates in Mb/s (10^6 bit/s), sizes in bytes.

// clientSummary is the client's summary.
type clientSummary struct {
	Tool      string   `json:"tool"`        // "operf"
	Role      string   `json:"role"`        // "client"
	Server    string   `json:"server"`      // -n
	Test      string   `json:"test"`        // "uni" or "bi"
	QoS       string   `json:"qos"`         // -q
	Size      int      `json:"size"`        // bytes per packet
	Flood     bool     `json:"flood"`       // -f
	Rate      int64    `json:"rate_bps"`    // -r in bit/s (unused with -f)
	Duration  int64    `json:"duration_ms"` // -d
	Elapsed   float64  `json:"elapsed_ms"`  // from the first packet to the writer's end
	Sent      uint64   `json:"sent"`        // packets written
	SentBytes uint64   `json:"sent_bytes"`
	SentMbps  float64  `json:"sent_mbps"`                // sent_bytes over elapsed_ms
	Received  *uint64  `json:"received,omitempty"`       // bi: echoes of the right size
	Loss      *int64   `json:"loss_percent,omitempty"`   // bi: as printed
	Bandwidth *float64 `json:"bandwidth_mbps,omitempty"` // bi: as printed (received)
	Error     string   `json:"error,omitempty"`          // the failure line, if the run failed
}

// flowSummary is one flow the server served.
type flowSummary struct {
	FD       int     `json:"fd"`
	Test     string  `json:"test"`        // "uni", "bi", "other", or "" if no configuration came
	Packets  uint64  `json:"packets"`     // data packets received
	Bytes    uint64  `json:"bytes"`       // their bytes
	Duration float64 `json:"duration_ms"` // first to last data packet
	Mbps     float64 `json:"mbps"`        // bytes over duration_ms
	End      string  `json:"end"`         // why the flow ended (end* in server.go)
}

// serverSummary is the server's summary, printed when it stops: every flow in
// the order they were accepted, and the totals.
type serverSummary struct {
	Tool    string        `json:"tool"` // "operf"
	Role    string        `json:"role"` // "server"
	Flows   []flowSummary `json:"flows"`
	Packets uint64        `json:"packets"`
	Bytes   uint64        `json:"bytes"`
}
