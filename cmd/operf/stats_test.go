package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestLines(t *testing.T) {
	paced := config{name: "srv", size: 1500, rate: 1000000, duration: 60000}
	flood := paced
	flood.flood = true
	odd := config{name: "my.srv", size: 64, rate: 12345678, duration: 1999}
	tests := []struct{ got, want string }{
		{testLine(testUni), "Doing a unidirectional test.\n"},
		{testLine(testBi), "Doing a bidirectional test.\n"},
		{testLine(7), "Doing a unidirectional test.\n"},
		{startLine(paced), "Sending 1500 byte packets for 60 s to srv at 1.000 Mb/s.\n\n"},
		{startLine(flood), "Flooding srv with 1500 byte packets for 60 seconds.\n\n"},
		{startLine(odd), "Sending 64 byte packets for 1 s to my.srv at 12.346 Mb/s.\n\n"},
		{seqnoLine(42, 64, time.Unix(1700000000, 5999)), "Seqno 42 from fd 64: 1700000000.000005\n"},
		{seqnoLine(-1, 300, time.Unix(1700000001, 999999999)), "Seqno -1 from fd 300: 1700000001.999999\n"},
		{biSummary("srv", 1000, 1000, 1500, 1000000),
			"\n--- srv perf statistics ---\n" +
				"1000 packets transmitted, 1000 received, 0% packet loss, time: 1000.000 ms, bandwidth: 12.000 Mb/s.\n"},
		{biSummary("srv", 1000, 999, 1500, 2000123),
			"\n--- srv perf statistics ---\n" +
				"1000 packets transmitted, 999 received, 1% packet loss, time: 2000.123 ms, bandwidth: 5.994 Mb/s.\n"},
		{biSummary("srv", 3, 1, 64, 1500),
			"\n--- srv perf statistics ---\n" +
				"3 packets transmitted, 1 received, 67% packet loss, time: 1.500 ms, bandwidth: 0.341 Mb/s.\n"},
		{biSummary("srv", 0, 0, 1500, 0),
			"\n--- srv perf statistics ---\n" +
				"0 packets transmitted, 0 received, 0% packet loss, time: 0.000 ms, bandwidth: 0.000 Mb/s.\n"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q\nwant %q", i, tt.got, tt.want)
		}
	}
}

func TestLossPercent(t *testing.T) {
	tests := []struct {
		sent, rcvd uint64
		want       int64
	}{
		{0, 0, 0},
		{10, 10, 0},
		{10, 0, 100},
		{1000, 999, 1}, // integer division: 100 - 99
		{3, 2, 34},     // 100 - 66
		{3, 1, 67},     // 100 - 33
		{7, 6, 15},     // 100 - 85
		{2, 3, -50},    // more echoes than packets
	}
	for _, tt := range tests {
		if got := lossPercent(tt.sent, tt.rcvd); got != tt.want {
			t.Errorf("lossPercent(%d, %d) = %d, want %d", tt.sent, tt.rcvd, got, tt.want)
		}
	}
}

func TestDiffUs(t *testing.T) {
	tests := []struct {
		later, earlier time.Time
		want           int64
	}{
		{time.Unix(10, 0), time.Unix(9, 0), 1000000},
		{time.Unix(10, 999), time.Unix(10, 0), 0},
		// 1001 ns and 999 ns: the negative nanosecond difference is truncated
		// toward zero, as in C, which rounds these up.
		{time.Unix(10, 1000), time.Unix(9, 999999999), 2},
		{time.Unix(10, 0), time.Unix(9, 999999001), 1},
		{time.Unix(10, 999999), time.Unix(10, 0), 999},
		{time.Unix(9, 0), time.Unix(10, 0), -1000000},
	}
	for _, tt := range tests {
		if got := diffUs(tt.later, tt.earlier); got != tt.want {
			t.Errorf("diffUs(%v, %v) = %d, want %d", tt.later, tt.earlier, got, tt.want)
		}
	}
}

func TestGap(t *testing.T) {
	tests := []struct {
		size int
		rate int64
		want time.Duration
	}{
		{1500, 1000000, 12 * time.Millisecond},
		{1500, 10000000, 1200 * time.Microsecond},
		{64, 1000000000, 512 * time.Nanosecond},
		{1000, 3000000, 2666666 * time.Nanosecond}, // truncated
	}
	for _, tt := range tests {
		if got := gap(tt.size, tt.rate); got != tt.want {
			t.Errorf("gap(%d, %d) = %v, want %v", tt.size, tt.rate, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	rcvd, loss, bw := uint64(9), int64(10), 0.108
	tests := []struct {
		v    any
		want string
	}{
		{clientSummary{Tool: "operf", Role: "client", Server: "srv", Test: "uni", QoS: "raw", Size: 1500,
			Rate: 1000000, Duration: 1000, Elapsed: 1000.5, Sent: 10, SentBytes: 15000, SentMbps: 0.12},
			`{"tool":"operf","role":"client","server":"srv","test":"uni","qos":"raw","size":1500,` +
				`"flood":false,"rate_bps":1000000,"duration_ms":1000,"elapsed_ms":1000.5,"sent":10,` +
				`"sent_bytes":15000,"sent_mbps":0.12}`},
		{clientSummary{Tool: "operf", Role: "client", Server: "srv", Test: "bi", QoS: "data", Size: 1500,
			Flood: true, Rate: 1000000, Duration: 1000, Elapsed: 1000, Sent: 10, SentBytes: 15000,
			SentMbps: 0.12, Received: &rcvd, Loss: &loss, Bandwidth: &bw, Error: "Server timed out."},
			`{"tool":"operf","role":"client","server":"srv","test":"bi","qos":"data","size":1500,` +
				`"flood":true,"rate_bps":1000000,"duration_ms":1000,"elapsed_ms":1000,"sent":10,` +
				`"sent_bytes":15000,"sent_mbps":0.12,"received":9,"loss_percent":10,"bandwidth_mbps":0.108,` +
				`"error":"Server timed out."}`},
		{serverSummary{Tool: "operf", Role: "server", Flows: []flowSummary{
			{FD: 64, Test: "uni", Packets: 3, Bytes: 4500, Duration: 2.5, Mbps: 14.4, End: "ended"}},
			Packets: 3, Bytes: 4500},
			`{"tool":"operf","role":"server","flows":[{"fd":64,"test":"uni","packets":3,"bytes":4500,` +
				`"duration_ms":2.5,"mbps":14.4,"end":"ended"}],"packets":3,"bytes":4500}`},
	}
	for i, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("%d: %s, %v\nwant %s", i, b, err, tt.want)
		}
	}
}

func TestUniSummaryLines(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{uniSummary("srv", 1000, 1500, 2000000),
			"\n--- srv perf statistics ---\n1000 packets transmitted, 1500000 bytes, time: 2000.000 ms, rate: 6.000 Mb/s.\n"},
		{uniSummary("srv", 0, 1500, 0),
			"\n--- srv perf statistics ---\n0 packets transmitted, 0 bytes, time: 0.000 ms, rate: 0.000 Mb/s.\n"},
		{flowSummaryLine(64, 10, 15000, 1000),
			"Flow 64: 10 packets, 15000 bytes received in 1.000 ms, 120.000 Mb/s.\n"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q\nwant %q", tt.got, tt.want)
		}
	}
}
