package bench

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The output of the tools is fixed by their specification (the reference's
// formats, which ours print too): the parsers below read the lines the
// harness needs and fail, saying what is missing, on anything else. They
// never guess a figure.

// OpingStats is the final statistics of an oping client:
//
//	<sent> packets transmitted, <rcvd> received, <ooo> out-of-order, <loss>% packet loss, time: <ms> ms
//	rtt min/avg/max/mdev = <min>/<avg>/<max>/<mdev> <unit>
//
// The rtt line is there only when a reply arrived; its unit (ms or µs)
// applies to all four values.
type OpingStats struct {
	Sent, Received int64
	Elapsed        time.Duration // the "time:" of the statistics: the pings, not the allocation
	Min, Avg, Max  time.Duration // zero when nothing was received
}

var (
	opingStatsLine = regexp.MustCompile(`^(\d+) packets transmitted, (\d+) received, (\d+) out-of-order, (\d+)% packet loss, time: (\d+(?:\.\d+)?) ms$`)
	opingRTTLine   = regexp.MustCompile(`^rtt min/avg/max/mdev = (\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)/(?:\d+(?:\.\d+)?|NaN) (ms|µs)$`)
)

// ParseOping reads the final statistics of an oping client's output.
func ParseOping(out string) (OpingStats, error) {
	var st OpingStats
	stats, rtt := false, false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := opingStatsLine.FindStringSubmatch(line); m != nil {
			st.Sent, _ = strconv.ParseInt(m[1], 10, 64)
			st.Received, _ = strconv.ParseInt(m[2], 10, 64)
			ms, err := strconv.ParseFloat(m[5], 64)
			if err != nil {
				return st, fmt.Errorf("oping statistics: time %q: %w", m[5], err)
			}
			st.Elapsed = time.Duration(ms * float64(time.Millisecond))
			stats = true
			continue
		}
		if m := opingRTTLine.FindStringSubmatch(line); m != nil {
			unit := time.Millisecond
			if m[4] == "µs" {
				unit = time.Microsecond
			}
			var v [3]time.Duration
			for i := range v {
				f, err := strconv.ParseFloat(m[1+i], 64)
				if err != nil {
					return st, fmt.Errorf("oping rtt: %q: %w", m[1+i], err)
				}
				v[i] = time.Duration(f * float64(unit))
			}
			st.Min, st.Avg, st.Max = v[0], v[1], v[2]
			rtt = true
		}
	}
	switch {
	case !stats:
		return st, fmt.Errorf("no oping statistics line in its output")
	case st.Received > st.Sent:
		return st, fmt.Errorf("oping received %d of %d packets", st.Received, st.Sent)
	case st.Received > 0 && !rtt:
		return st, fmt.Errorf("oping received %d packets but printed no rtt line", st.Received)
	case st.Received == 0:
		return st, fmt.Errorf("oping received none of %d packets", st.Sent)
	}
	return st, nil
}

// OcbrReport is one report line of an ocbr server:
//
//	Flow <fd>: <pkts> packets (<bytes> bytes) in <ms> ms => <pps> pps, <Mbps> Mbps
//
// with the packets and bytes of one report interval.
type OcbrReport struct {
	FD             int
	Packets, Bytes int64
	Elapsed        time.Duration // whole ms, as printed
}

// OcbrTest is what an ocbr server saw of one flow: the report lines of its
// full intervals, and the last report, printed when the test ended. The
// interval of the last report includes the silence that ended a test that
// timed out (the reference's server ends every test so); a test that ended
// because the client went away (ours) has no such silence.
type OcbrTest struct {
	FD       int
	Full     []OcbrReport
	Final    OcbrReport
	TimedOut bool // "Test on flow <fd> timed out", rather than "... ended"
}

// Packets returns every packet the server counted on the flow.
func (t OcbrTest) Packets() int64 {
	n := t.Final.Packets
	for _, r := range t.Full {
		n += r.Packets
	}
	return n
}

// Intervals returns the reports that count for the rate: the full
// intervals, and the last report unless the test timed out.
func (t OcbrTest) Intervals() []OcbrReport {
	if t.TimedOut {
		return t.Full
	}
	return append(t.Full[:len(t.Full):len(t.Full)], t.Final)
}

// Rate returns the packets per second of the Intervals; 0 if they have
// none or last no time.
func (t OcbrTest) Rate() float64 {
	var n int64
	var d time.Duration
	for _, r := range t.Intervals() {
		n += r.Packets
		d += r.Elapsed
	}
	return Rate(n, d)
}

var (
	ocbrReportLine = regexp.MustCompile(`^Flow\s+(\d+):\s+(\d+) packets \(\s*(\d+) bytes\) in\s+(\d+) ms => \s*\d+(?:\.\d+)? pps, \s*\d+(?:\.\d+)? Mbps$`)
	ocbrEndLine    = regexp.MustCompile(`^Test on flow (\d+) (timed out|ended)$`)
)

// ParseOcbrServer reads the first test that ended in the output of an ocbr
// server: the report lines of its flow before the line that ends it ("Test
// on flow <fd> timed out", or ours' "... ended"), and the report after it.
// done is false, with no error, when the output has no ended test yet (the
// server is still at it).
func ParseOcbrServer(out string) (t OcbrTest, done bool, err error) {
	lines := strings.Split(out, "\n")
	if !strings.HasSuffix(out, "\n") {
		lines = lines[:len(lines)-1] // a line still being written
	}
	ended := false
	for _, line := range lines {
		line = strings.TrimRight(line, "\r")
		if m := ocbrEndLine.FindStringSubmatch(line); m != nil && !ended {
			fd, _ := strconv.Atoi(m[1])
			if len(t.Full) > 0 && t.FD != fd {
				return t, false, fmt.Errorf("ocbr server: reports of flow %d, then flow %d ended", t.FD, fd)
			}
			t.FD, ended, t.TimedOut = fd, true, m[2] == "timed out"
			continue
		}
		m := ocbrReportLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var r OcbrReport
		r.FD, _ = strconv.Atoi(m[1])
		r.Packets, _ = strconv.ParseInt(m[2], 10, 64)
		r.Bytes, _ = strconv.ParseInt(m[3], 10, 64)
		ms, _ := strconv.ParseInt(m[4], 10, 64)
		r.Elapsed = time.Duration(ms) * time.Millisecond
		if len(t.Full) > 0 && r.FD != t.FD || ended && r.FD != t.FD {
			return t, false, fmt.Errorf("ocbr server: reports of flows %d and %d in one test", t.FD, r.FD)
		}
		t.FD = r.FD
		if ended {
			t.Final = r
			return t, true, nil
		}
		t.Full = append(t.Full, r)
	}
	return t, false, nil
}
