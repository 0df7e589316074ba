package main

import (
	"testing"
	"time"
)

func statsOf(sent uint64, ooo uint64, rtts ...float64) stats {
	s := newStats()
	s.sent, s.ooo = sent, ooo
	for _, r := range rtts {
		s.add(r)
	}
	return s
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name      string
		st        stats
		elapsedUs int64
		want      string
	}{
		{
			// The example of the reference's tutorial.
			"tutorial", statsOf(3, 0, 0.475, 0.304, 0.398), 3001011,
			"\n--- my.oping.server ping statistics ---\n" +
				"3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 3001.011 ms\n" +
				"rtt min/avg/max/mdev = 0.304/0.392/0.475/0.086 ms\n",
		},
		{
			"one reply: mdev NaN", statsOf(1, 0, 0.475), 1000123,
			"\n--- my.oping.server ping statistics ---\n" +
				"1 packets transmitted, 1 received, 0 out-of-order, 0% packet loss, time: 1000.123 ms\n" +
				"rtt min/avg/max/mdev = 0.475/0.475/0.475/NaN ms\n",
		},
		{
			"one reply in µs", statsOf(1, 0, 0.030), 1000000,
			"\n--- my.oping.server ping statistics ---\n" +
				"1 packets transmitted, 1 received, 0 out-of-order, 0% packet loss, time: 1000.000 ms\n" +
				"rtt min/avg/max/mdev = 30.000/30.000/30.000/NaN µs\n",
		},
		{
			"average below 0.1 ms: all in µs", statsOf(2, 0, 0.030, 0.050), 2000,
			"\n--- my.oping.server ping statistics ---\n" +
				"2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 2.000 ms\n" +
				"rtt min/avg/max/mdev = 30.000/40.000/50.000/14.142 µs\n",
		},
		{
			"unit follows the average only", statsOf(2, 0, 0.050, 0.160), 2000,
			"\n--- my.oping.server ping statistics ---\n" +
				"2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 2.000 ms\n" +
				"rtt min/avg/max/mdev = 0.050/0.105/0.160/0.078 ms\n",
		},
		{
			"no reply: no rtt line", statsOf(3, 0), 5002999,
			"\n--- my.oping.server ping statistics ---\n" +
				"3 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 5002.999 ms\n",
		},
		{
			"nothing sent", statsOf(0, 0), 12,
			"\n--- my.oping.server ping statistics ---\n" +
				"0 packets transmitted, 0 received, 0 out-of-order, 0% packet loss, time: 0.012 ms\n",
		},
		{
			"loss and out of order", statsOf(3, 1, 1.5, 2.5), 3000000,
			"\n--- my.oping.server ping statistics ---\n" +
				"3 packets transmitted, 2 received, 1 out-of-order, 34% packet loss, time: 3000.000 ms\n" +
				"rtt min/avg/max/mdev = 1.500/2.000/2.500/0.707 ms\n",
		},
		{
			"all equal: mdev 0", statsOf(3, 0, 0.2, 0.2, 0.2), 0,
			"\n--- my.oping.server ping statistics ---\n" +
				"3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 0.000 ms\n" +
				"rtt min/avg/max/mdev = 0.200/0.200/0.200/0.000 ms\n",
		},
	}
	for _, tt := range tests {
		if got := tt.st.summary("my.oping.server", tt.elapsedUs); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestLossPercent(t *testing.T) {
	tests := []struct {
		sent, rcvd uint64
		want       float64
	}{
		{0, 0, 0},
		{1, 1, 0},
		{1, 0, 100},
		{3, 2, 34},
		{3, 1, 67},
		{10, 9, 10},
		{100, 99, 1},
		{2147483647, 2147483646, 0}, // single precision cannot tell them apart
		// Single-precision division: double precision would give 43 and 47.
		{50, 29, 42},
		{100, 53, 48},
		{4, 5, -25}, // duplicated replies
	}
	for _, tt := range tests {
		if got := lossPercent(tt.sent, tt.rcvd); got != tt.want {
			t.Errorf("lossPercent(%d, %d) = %v, want %v", tt.sent, tt.rcvd, got, tt.want)
		}
	}
}

func TestReplyLine(t *testing.T) {
	tests := []struct {
		stamp string
		n     int
		seq   uint32
		rtt   float64
		ooo   bool
		want  string
	}{
		{"", 64, 0, 0.475, false, "64 bytes from my.oping.server: seq=0 time=0.475 ms\n"},
		{"", 1500, 12, 12.3456, false, "1500 bytes from my.oping.server: seq=12 time=12.346 ms\n"},
		{"", 64, 1, 0.1, false, "64 bytes from my.oping.server: seq=1 time=0.100 ms\n"},
		{"", 64, 1, 0.099, false, "64 bytes from my.oping.server: seq=1 time=99.000 µs\n"},
		{"", 64, 2, 0.0305, false, "64 bytes from my.oping.server: seq=2 time=30.500 µs\n"},
		{"", 64, 3, 0, false, "64 bytes from my.oping.server: seq=3 time=0.000 µs\n"},
		{"", 64, 4, 2.5, true, "64 bytes from my.oping.server: seq=4 time=2.500 ms [out-of-order]\n"},
		{"[1700000000.000123] ", 64, 5, 0.2, false,
			"[1700000000.000123] 64 bytes from my.oping.server: seq=5 time=0.200 ms\n"},
		{"", 64, 4294967295, 10000, false, "64 bytes from my.oping.server: seq=4294967295 time=10000.000 ms\n"},
	}
	for _, tt := range tests {
		if got := replyLine(tt.stamp, tt.n, "my.oping.server", tt.seq, tt.rtt, tt.ooo); got != tt.want {
			t.Errorf("replyLine(%v) = %q, want %q", tt.rtt, got, tt.want)
		}
	}
	// The micro sign is U+00B5 (C2 B5), not the Greek mu U+03BC.
	if _, unit := scaleMs(0.01); unit != "\u00b5s" || []byte(unit)[0] != 0xc2 || []byte(unit)[1] != 0xb5 {
		t.Errorf("unit %q is not U+00B5 s", unit)
	}
}

func TestHeaderLine(t *testing.T) {
	tests := []struct {
		size  int
		count uint32
		busy  bool
		want  string
	}{
		{64, 3, false, "Pinging my.oping.server with 64 bytes of data (3 packets):\n\n"},
		{64, defaultCount, false, "Pinging my.oping.server with 64 bytes of data (2147483647 packets):\n\n"},
		{1500, 4294967295, false, "Pinging my.oping.server with 1500 bytes of data (4294967295 packets):\n\n"},
		{100, 10, true, "Pinging my.oping.server with 100 bytes of data (10 packets, busy-poll):\n\n"},
	}
	for _, tt := range tests {
		if got := headerLine("my.oping.server", tt.size, tt.count, tt.busy); got != tt.want {
			t.Errorf("headerLine = %q, want %q", got, tt.want)
		}
	}
}

func TestTimeOfDay(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1700000000, 123456789), "[1700000000.123456] "},
		{time.Unix(1700000000, 123), "[1700000000.000000] "},
		{time.Unix(5, 999999999), "[5.999999] "},
	}
	for _, tt := range tests {
		if got := timeOfDay(tt.t); got != tt.want {
			t.Errorf("timeOfDay(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestDiffUs(t *testing.T) {
	tests := []struct {
		later, earlier time.Time
		want           int64
	}{
		{time.Unix(13, 1011000), time.Unix(10, 0), 3001011},
		{time.Unix(10, 999), time.Unix(10, 0), 0},
		// The nanosecond difference is divided on its own, truncating toward
		// zero: 101 ns apart across a second boundary counts as 1 µs.
		{time.Unix(1, 100), time.Unix(0, 999999999), 1},
		{time.Unix(0, 0), time.Unix(1, 0), -1000000},
	}
	for _, tt := range tests {
		if got := diffUs(tt.later, tt.earlier); got != tt.want {
			t.Errorf("diffUs(%v, %v) = %d, want %d", tt.later, tt.earlier, got, tt.want)
		}
	}
}

func TestStatsWelford(t *testing.T) {
	s := statsOf(5, 0, 2, 4, 4, 4, 5, 5, 7, 9)
	if s.rcvd != 8 || s.min != 2 || s.max != 9 || s.avg != 5 {
		t.Fatalf("stats = %+v", s)
	}
	if s.m2 != 32 { // sum of squared deviations from 5
		t.Errorf("m2 = %v, want 32", s.m2)
	}
}
