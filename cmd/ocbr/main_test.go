package main

import (
	"bytes"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/qos"
)

func TestParseArgs(t *testing.T) {
	def := config{interval: defaultInterval, timeout: defaultTimeout, duration: defaultDuration,
		size: defaultSize, rate: defaultRate, sleep: true, qos: qos.Raw, qosName: "raw"}
	server := func(mod func(*config)) config {
		c := def
		c.listen = true
		if mod != nil {
			mod(&c)
		}
		return c
	}
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
		{"-l", server(nil), ""},
		{"--listen -i 5 -t 3", server(func(c *config) { c.interval, c.timeout = 5, 3 }), ""},
		{"-l --interval 2s --timeout 10x", server(func(c *config) { c.interval, c.timeout = 2, 10 }), ""},
		{"-l --json", server(func(c *config) { c.json = true }), ""},
		{"-n srv", client(nil), ""},
		{"--server_apn srv", client(nil), ""},
		{"-n srv -d 5", client(func(c *config) { c.duration = 5 }), ""},
		{"-n srv --duration 5s", client(func(c *config) { c.duration = 5 }), ""},
		{"-n srv -f", client(func(c *config) { c.flood = true }), ""},
		{"-n srv --flood --spin", client(func(c *config) { c.flood, c.sleep = true, false }), ""},
		{"-n srv --spin --sleep", client(nil), ""},

		// -s: 0 to 65536 bytes.
		{"-n srv -s 0", client(func(c *config) { c.size = 0 }), ""},
		{"-n srv --size 65536", client(func(c *config) { c.size = 65536 }), ""},
		{"-n srv -s 1400B", client(func(c *config) { c.size = 1400 }), ""},

		// -r: b/s; only the first character of the unit counts.
		{"-n srv -r 100", client(func(c *config) { c.rate = 100 }), ""},
		{"-n srv -r 100k", client(func(c *config) { c.rate = 100000 }), ""},
		{"-n srv --rate 10M", client(func(c *config) { c.rate = 10000000 }), ""},
		{"-n srv -r 10Mbps", client(func(c *config) { c.rate = 10000000 }), ""},
		{"-n srv -r 2G", client(func(c *config) { c.rate = 2000000000 }), ""},
		{"-n srv -r 7x", client(func(c *config) { c.rate = 7 }), ""},
		{"-n srv -r 99999999999G", client(func(c *config) { c.rate = 1<<63 - 1 }), ""},

		// -q: QoS cubes.
		{"-n srv -q voice", client(func(c *config) { c.qos, c.qosName = qos.Voice, "voice" }), ""},
		{"-n srv --qos data", client(func(c *config) { c.qos, c.qosName = qos.Data, "data" }), ""},
		{"-n srv -q bogus", client(nil), "Unknown QoS cube, defaulting to raw.\n"},
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
	tests := []struct {
		args string
		code int
		out  string
	}{
		{"-h", 0, usageText},
		{"--help", 0, usageText},
		{"--bogus", 1, "ocbr: unknown option \"--bogus\".\n" + usageText},
		{"-n srv --bogus", 1, "ocbr: unknown option \"--bogus\".\n" + usageText},
		{"-n srv -d abc", 1, "ocbr: invalid value \"abc\" for -d: want a whole number.\n"},
		{"-n srv -i x", 1, "ocbr: invalid value \"x\" for -i: want a whole number.\n"},
		{"", 1, "No server specified.\n" + usageText},
		{"-f -d 3", 1, "No server specified.\n" + usageText},
		{"-n", 1, "ocbr: option -n needs a value.\n" + usageText}, // the reference crashes
		{"-n srv -s", 1, "ocbr: option -s needs a value.\n" + usageText},
		{"-n srv -s 65537", 1, "Maximum size: 65536.\n"},
		{"-n srv -s -1", 1, "Size overflow.\n"},
		{"-n srv -r 0", 1, "Invalid rate.\n"},
		{"-n srv -r -5M", 1, "Invalid rate.\n"},
		{"-n srv -r fast", 1, "Invalid rate.\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		code := run(strings.Fields(tt.args), &out)
		if code != tt.code || out.String() != tt.out {
			t.Errorf("%q: exit %d, printed\n%s\nwant exit %d,\n%s", tt.args, code, out.String(), tt.code, tt.out)
		}
	}
}

func TestRateOf(t *testing.T) {
	tests := []struct {
		n      int64
		suffix string
		want   int64
	}{
		{5, "", 5},
		{5, "k", 5000},
		{5, "kbit", 5000},
		{5, "M", 5000000},
		{5, "G", 5000000000},
		{5, "m", 5}, // case matters
		{-5, "k", -5000},
		{1 << 62, "G", 1<<63 - 1},
		{-1 << 62, "G", -1 << 63},
	}
	for _, tt := range tests {
		if got := rateOf(tt.n, tt.suffix); got != tt.want {
			t.Errorf("rateOf(%d, %q) = %d, want %d", tt.n, tt.suffix, got, tt.want)
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
		{"60", 60, ""},
		{" -3s", -3, "s"},
		{"x", 0, "x"},
		{"99999999999999999999", 1<<63 - 1, ""},
	}
	for _, tt := range tests {
		n, rest := tool.Strtol(tt.in)
		if n != tt.n || rest != tt.rest {
			t.Errorf("tool.Strtol(%q) = %d, %q; want %d, %q", tt.in, n, rest, tt.n, tt.rest)
		}
	}
}

// FuzzParseArgs checks that no command line makes the parser panic and that
// what it accepts is within the limits.
func FuzzParseArgs(f *testing.F) {
	f.Add("-n srv -s 1400 -r 10M -d 5 -f")
	f.Add("-l -i 1 -t 1 --json")
	f.Add("-s -1 -r 0x")
	f.Fuzz(func(t *testing.T, line string) {
		cfg, err := parseArgs(strings.Fields(line), &bytes.Buffer{})
		if err != nil {
			if _, ok := err.(*exitError); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		if cfg.size < 0 || cfg.size > maxSize || cfg.rate <= 0 || (!cfg.listen && !cfg.nameSet) {
			t.Fatalf("accepted %+v", cfg)
		}
	})
}
