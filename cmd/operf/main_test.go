package main

import (
	"bytes"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/qos"
)

func TestParseArgs(t *testing.T) {
	def := config{test: testUni, duration: defaultDuration, rate: defaultRate, size: defaultSize,
		qos: qos.Raw, qosName: "raw"}
	client := func(mod func(*config)) config {
		c := def
		c.name, c.nameSet = "srv", true
		if mod != nil {
			mod(&c)
		}
		return c
	}
	tests := []struct {
		args string
		want config
		out  string // notes printed while parsing
	}{
		{"-l", func() config { c := def; c.listen = true; return c }(), ""},
		{"--listen --json", func() config { c := def; c.listen, c.json = true, true; return c }(), ""},
		{"-n srv", client(nil), ""},
		{"--server-name srv", client(nil), ""},
		{"-n srv -f --sleep --json", client(func(c *config) { c.flood, c.sleep, c.json = true, true, true }), ""},
		{"-n srv --flood", client(func(c *config) { c.flood = true }), ""},

		// -t: uni or bi.
		{"-n srv -t bi", client(func(c *config) { c.test = testBi }), ""},
		{"-n srv --test uni", client(nil), ""},
		{"-n srv -t bi -t uni", client(nil), ""},

		// -d: time units, milliseconds by default.
		{"-n srv -d 1500", client(func(c *config) { c.duration = 1500 }), ""},
		{"-n srv -d 1500ms", client(func(c *config) { c.duration = 1500 }), ""},
		{"-n srv --duration 2s", client(func(c *config) { c.duration = 2000 }), ""},
		{"-n srv -d 3m", client(func(c *config) { c.duration = 180000 }), ""},
		{"-n srv -d 1h", client(func(c *config) { c.duration = 3600000 }), ""},
		{"-n srv -d 1d", client(func(c *config) { c.duration = 86400000 }), ""},
		{"-n srv -d -1s", client(func(c *config) { c.duration = -1000 }), ""},

		// -r: a bare number is kb/s.
		{"-n srv -r 100", client(func(c *config) { c.rate = 100000 }), ""},
		{"-n srv -r 100k", client(func(c *config) { c.rate = 100000 }), ""},
		{"-n srv --rate 10M", client(func(c *config) { c.rate = 10000000 }), ""},
		{"-n srv -r 2G", client(func(c *config) { c.rate = 2000000000 }), ""},
		{"-n srv -r 0 -f", client(func(c *config) { c.rate, c.flood = 0, true }), ""},

		// -s: 64 to 65536 bytes.
		{"-n srv -s 64", client(func(c *config) { c.size = 64 }), ""},
		{"-n srv --size 65536", client(func(c *config) { c.size = 65536 }), ""},
		{"-n srv -s 65537", client(func(c *config) { c.size = 65536 }), "Packet size truncated to 65536 bytes.\n"},
		{"-n srv -s 1048577", client(func(c *config) { c.size = 65536 }), "Packet size truncated to 65536 bytes.\n"},
		{"-n srv -s 63", client(func(c *config) { c.size = 64 }), "Packet size set to 64 bytes.\n"},
		{"-n srv -s -5", client(func(c *config) { c.size = 64 }), "Packet size set to 64 bytes.\n"},
		{"-n srv -s 99999999999", client(func(c *config) { c.size = 65536 }), "Packet size truncated to 65536 bytes.\n"},
		{"-n srv -s 1000B", client(func(c *config) { c.size = 1000 }), ""},

		// -q: QoS cubes.
		{"-n srv -q data", client(func(c *config) { c.qos, c.qosName = qos.Data, "data" }), ""},
		{"-n srv --qos voice", client(func(c *config) { c.qos, c.qosName = qos.Voice, "voice" }), ""},
		{"-n srv -q best", client(func(c *config) { c.qos, c.qosName = qos.BestEffort, "best" }), ""},
		{"-n srv -q video", client(func(c *config) { c.qos, c.qosName = qos.Video, "video" }), ""},
		{"-n srv -q nope", client(nil), "Unknown QoS cube, defaulting to raw.\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		got, err := parseArgs(strings.Fields(tt.args), &out)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.args, got, tt.want)
		}
		if out.String() != tt.out {
			t.Errorf("%q printed %q, want %q", tt.args, out.String(), tt.out)
		}
	}
}

func TestRunExits(t *testing.T) {
	const badTime = "want a whole number with an optional unit (ms, s, m, h, d), such as 500ms or 2s."
	tests := []struct {
		args string
		code int
		out  string
	}{
		{"-h", 0, usageText},
		{"--help", 0, usageText},
		{"--bogus", 1, "operf: unknown option \"--bogus\".\n" + usageText}, // the reference exits 0
		{"-n srv -x", 1, "operf: unknown option \"-x\".\n" + usageText},
		{"", 1, "No server specified.\n"},
		{"-f", 1, "No server specified.\n"},
		{"-n", 1, "operf: option -n needs a value.\n" + usageText}, // the reference crashes
		{"-n srv -d", 1, "operf: option -d needs a value.\n" + usageText},
		{"-n srv -s x", 1, "operf: invalid value \"x\" for -s: want a whole number of bytes.\n"},
		{"-n srv -t tri", 1, "Invalid test type.\n"},
		{"-n srv -d 5x", 1, "Unknown time unit: x.\n"},
		{"-n srv -d abc", 1, "operf: invalid value \"abc\" for -d: " + badTime + "\n"},
		{"-n srv -d 0.5s", 1, "operf: invalid value \"0.5s\" for -d: " + badTime + "\n"},
		{"-n srv -r 5T", 1, "Unknown rate unit: T.\n"},
		{"-n srv -r 5kb", 1, "Unknown rate unit: kb.\n"},
		{"-n srv -r 0", 1, "Invalid rate.\n"},
		{"-n srv -r -1M", 1, "Invalid rate.\n"},
		{"-s 10", 1, "Packet size set to 64 bytes.\nNo server specified.\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		code := run(strings.Fields(tt.args), &out)
		if code != tt.code || out.String() != tt.out {
			t.Errorf("%q: exit %d, printed\n%s\nwant exit %d,\n%s", tt.args, code, out.String(), tt.code, tt.out)
		}
	}
}

func TestStrtol(t *testing.T) {
	tests := []struct {
		in   string
		n    int64
		rest string
	}{
		{"", 0, ""},
		{"12", 12, ""},
		{"  +12ms", 12, "ms"},
		{"-7s", -7, "s"},
		{"abc", 0, "abc"},
		{"-", 0, "-"},
		{"9223372036854775807", 9223372036854775807, ""},
		{"9223372036854775808", 9223372036854775807, ""},
		{"-9223372036854775808", -9223372036854775808, ""},
		{"-99999999999999999999x", -9223372036854775808, "x"},
	}
	for _, tt := range tests {
		n, rest := tool.Strtol(tt.in)
		if n != tt.n || rest != tt.rest {
			t.Errorf("tool.Strtol(%q) = %d, %q; want %d, %q", tt.in, n, rest, tt.n, tt.rest)
		}
	}
}

func TestPrinterQueue(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(&out)
	p.queue("a 1\n")
	if out.Len() != 0 {
		t.Fatalf("queued line written at once: %q", out.String())
	}
	p.printf("b %d\n", 2) // writes what was queued first
	p.queue("c\n")
	p.flush()
	p.flush()
	if want := "a 1\nb 2\nc\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	out.Reset()
	for range 1 << 12 { // past 64 KiB, queue writes by itself
		p.queue(strings.Repeat("x", 31) + "\n")
	}
	if out.Len() == 0 {
		t.Error("a long queue was never written")
	}
}
