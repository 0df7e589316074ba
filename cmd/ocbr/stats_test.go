package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestLines(t *testing.T) {
	tests := []struct{ got, want string }{
		{clientStartLine(config{duration: 60, rate: 1000000, size: 1000}),
			"Client started, duration 60, rate 1000000 b/s, size 1000 B.\n"},
		{clientStartLine(config{duration: 5, rate: 10000000, size: 0}),
			"Client started, duration 5, rate 10000000 b/s, size 0 B.\n"},
		{sentLine(1000, 1000, 1000),
			"sent statistics:      1000 packets,      1000000 bytes in      1000 ms, 8.0000 Mb/s\n"},
		{sentLine(323494, 1000, 1001),
			"sent statistics:    323494 packets,    323494000 bytes in      1001 ms, 2585.3666 Mb/s\n"},
		{sentLine(1234567890, 65536, 123456789),
			"sent statistics: 1234567890 packets, 80908641239040 bytes in 123456789 ms, 5242.8800 Mb/s\n"},
		{sentLine(0, 1000, 0), "sent statistics:         0 packets,            0 bytes in         0 ms, 0.0000 Mb/s\n"},
		{serverStartLine(1, 1), "Server started, interval is 1 s, timeout is 1 s.\n"},
		{serverStartLine(10, 30), "Server started, interval is 10 s, timeout is 30 s.\n"},
		{reportLine(64, 906, 906000, 1002345),
			"Flow   64:       906 packets (      906000 bytes) in      1002 ms =>  903.8804 pps,    7.2310 Mbps\n"},
		{reportLine(12345, 322712, 322712000, 1001000),
			"Flow 12345:    322712 packets (   322712000 bytes) in      1001 ms => 322389.6104 pps, 2579.1169 Mbps\n"},
		{reportLine(65, 0, 0, 999999),
			"Flow   65:         0 packets (           0 bytes) in       999 ms =>    0.0000 pps,    0.0000 Mbps\n"},
		{reportLine(65, 3, 300, 0),
			"Flow   65:         3 packets (         300 bytes) in         0 ms =>    0.0000 pps,    0.0000 Mbps\n"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q\nwant %q", i, tt.got, tt.want)
		}
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		later, earlier time.Time
		us, ms         int64
	}{
		{time.Unix(10, 0), time.Unix(9, 0), 1000000, 1000},
		{time.Unix(10, 1999999), time.Unix(10, 0), 1999, 1},
		// Negative nanosecond differences truncate toward zero, as in C.
		{time.Unix(10, 1000), time.Unix(9, 999999999), 2, 1},
		{time.Unix(10, 0), time.Unix(9, 999000001), 1000, 1},
		{time.Unix(9, 0), time.Unix(10, 500000000), -1500000, -1500},
	}
	for _, tt := range tests {
		if us, ms := diffUs(tt.later, tt.earlier), diffMs(tt.later, tt.earlier); us != tt.us || ms != tt.ms {
			t.Errorf("diff(%v, %v) = %d µs, %d ms; want %d, %d", tt.later, tt.earlier, us, ms, tt.us, tt.ms)
		}
	}
}

func TestGap(t *testing.T) {
	tests := []struct {
		size int
		rate int64
		want time.Duration
	}{
		{1000, 1000000, 8 * time.Millisecond},
		{1000, 3000000, 2666666 * time.Nanosecond}, // truncated
		{0, 1000000, 0},
		{1500, 1<<63 - 1, 0},
	}
	for _, tt := range tests {
		if got := gap(tt.size, tt.rate); got != tt.want {
			t.Errorf("gap(%d, %d) = %v, want %v", tt.size, tt.rate, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{clientSummary{Tool: "ocbr", Role: "client", Server: "srv", QoS: "raw", Size: 1000, Rate: 1000000,
			Duration: 1, Flood: true, Packets: 10, Bytes: 10000, Elapsed: 1001, Mbps: 0.08},
			`{"tool":"ocbr","role":"client","server":"srv","qos":"raw","size":1000,"rate_bps":1000000,` +
				`"duration_s":1,"flood":true,"spin":false,"packets":10,"bytes":10000,"elapsed_ms":1001,"mbps":0.08}`},
		{clientSummary{Tool: "ocbr", Role: "client", Server: "srv", QoS: "raw", Size: 1000, Rate: 1000000,
			Duration: 1, Spin: true, Error: "Failed to allocate flow."},
			`{"tool":"ocbr","role":"client","server":"srv","qos":"raw","size":1000,"rate_bps":1000000,` +
				`"duration_s":1,"flood":false,"spin":true,"packets":0,"bytes":0,"elapsed_ms":0,"mbps":0,` +
				`"error":"Failed to allocate flow."}`},
		{serverSummary{Tool: "ocbr", Role: "server", Flows: []flowSummary{
			{FD: 64, Packets: 2, Bytes: 2000, Duration: 1.5, Mbps: 10.667, End: "ended"}}, Packets: 2, Bytes: 2000},
			`{"tool":"ocbr","role":"server","flows":[{"fd":64,"packets":2,"bytes":2000,"duration_ms":1.5,` +
				`"mbps":10.667,"end":"ended"}],"packets":2,"bytes":2000}`},
	}
	for i, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("%d: %s, %v\nwant %s", i, b, err, tt.want)
		}
	}
}
