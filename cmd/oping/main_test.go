package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"math"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/qos"
)

func TestParseArgs(t *testing.T) {
	def := config{count: defaultCount, interval: defaultInterval, qos: qos.Raw, size: minSize}
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
		{"--listen --poll --busy -Q", func() config {
			c := def
			c.listen, c.poll, c.busy, c.quiet = true, true, true, true
			return c
		}(), ""},
		{"-n srv", client(nil), ""},
		{"--server-name srv", client(nil), ""},
		{"-n srv -f -F -Q -D", client(func(c *config) { c.flood, c.floodBusy, c.quiet, c.timeOfDay = true, true, true, true }), ""},
		{"-n srv --flood --flood-busy --quiet --timeofday", client(func(c *config) { c.flood, c.floodBusy, c.quiet, c.timeOfDay = true, true, true, true }), ""},

		// -c: a whole number in the range of a uint32 (others are refused below).
		{"-n srv -c 5", client(func(c *config) { c.count = 5 }), ""},
		{"-n srv -c 0", client(func(c *config) { c.count = 0 }), ""},
		{"-n srv -c 4294967295", client(func(c *config) { c.count = math.MaxUint32 }), ""},

		// -i: time units; more than 10 s is truncated.
		{"-n srv -i 200", client(func(c *config) { c.interval = 200 }), ""},
		{"-n srv -i 200ms", client(func(c *config) { c.interval = 200 }), ""},
		{"-n srv --interval 1s", client(func(c *config) { c.interval = 1000 }), ""},
		{"-n srv -i 0", client(func(c *config) { c.interval = 0 }), ""},
		{"-n srv -i 10000", client(func(c *config) { c.interval = 10000 }), ""},
		{"-n srv -i 10001", client(func(c *config) { c.interval = 10000 }), "Ping interval truncated to 10s.\n"},
		{"-n srv -i 2m", client(func(c *config) { c.interval = 10000 }), "Ping interval truncated to 10s.\n"},
		{"-n srv -i 1h", client(func(c *config) { c.interval = 10000 }), "Ping interval truncated to 10s.\n"},
		{"-n srv -i 1d", client(func(c *config) { c.interval = 10000 }), "Ping interval truncated to 10s.\n"},

		// -d overrides -c in either order: duration / interval, or ×10 for -i 0.
		{"-n srv -d 10s", client(func(c *config) { c.duration, c.count = 10000, 10 }), ""},
		{"-n srv -d 10s -c 3", client(func(c *config) { c.duration, c.count = 10000, 10 }), ""},
		{"-n srv -c 3 --duration 10s", client(func(c *config) { c.duration, c.count = 10000, 10 }), ""},
		{"-n srv -d 1s -i 300", client(func(c *config) { c.duration, c.interval, c.count = 1000, 300, 3 }), ""},
		{"-n srv -d 1s -i 0", client(func(c *config) { c.duration, c.interval, c.count = 1000, 0, 10000 }), ""},
		{"-n srv -d 100ms", client(func(c *config) { c.duration, c.count = 100, 0 }), ""},
		{"-n srv -d 0 -c 7", client(func(c *config) { c.count = 7 }), ""},
		{"-n srv -d -5s -c 7", client(func(c *config) { c.duration, c.count = -5000, 7 }), ""},
		{"-n srv -d 100s -i 20s", client(func(c *config) { c.duration, c.interval, c.count = 100000, 10000, 10 }),
			"Ping interval truncated to 10s.\n"},

		// -s: 64..1500 bytes.
		{"-n srv -s 1500", client(func(c *config) { c.size = 1500 }), ""},
		{"-n srv --size 1501", client(func(c *config) { c.size = 1500 }), "Packet size truncated to 1500 bytes.\n"},
		{"-n srv -s 64", client(func(c *config) { c.size = 64 }), ""},
		{"-n srv -s 63", client(func(c *config) { c.size = 64 }), "Packet size set to 64 bytes.\n"},
		{"-n srv -s -1", client(func(c *config) { c.size = 64 }), "Packet size set to 64 bytes.\n"},
		{"-n srv -s 1000B", client(func(c *config) { c.size = 1000 }), ""},

		// -q: cube names; anything else is raw, with a note.
		{"-n srv -q best", client(func(c *config) { c.qos = qos.BestEffort }), ""},
		{"-n srv -q video", client(func(c *config) { c.qos = qos.Video }), ""},
		{"-n srv -q voice", client(func(c *config) { c.qos = qos.Voice }), ""},
		{"-n srv --qos data", client(func(c *config) { c.qos = qos.Data }), ""},
		{"-n srv -q raw", client(nil), ""},
		{"-n srv -q gold", client(nil), "Unknown QoS cube, defaulting to raw.\n"},

		// Later options win.
		{"-n a -n srv", client(nil), ""},
		{"-n srv -i 20s -s 9000 -q x", client(func(c *config) { c.interval, c.size = 10000, 1500 }),
			"Unknown QoS cube, defaulting to raw.\nPing interval truncated to 10s.\nPacket size truncated to 1500 bytes.\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		got, err := parseArgs(strings.Fields(tt.args), &out)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseArgs(%q) =\n %+v, want\n %+v", tt.args, got, tt.want)
		}
		if out.String() != tt.out {
			t.Errorf("parseArgs(%q) printed %q, want %q", tt.args, out.String(), tt.out)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	const (
		badTime  = "want a whole number with an optional unit (ms, s, m, h, d), such as 500ms or 2s."
		badCount = "want a whole number of packets, 0 to 4294967295."
	)
	tests := []struct {
		args string
		want exitError
	}{
		{"", exitError{Code: 1, Msg: "No server specified.", Usage: true}},
		{"-c 5", exitError{Code: 1, Msg: "No server specified.", Usage: true}},
		{"-x", exitError{Code: 1, Msg: "oping: unknown option \"-x\".", Usage: true}},
		{"-n srv extra", exitError{Code: 1, Msg: "oping: unknown option \"extra\".", Usage: true}},
		{"-l -n", exitError{Code: 1, Msg: "oping: option -n needs a value.", Usage: true}},
		{"-n srv -c", exitError{Code: 1, Msg: "oping: option -c needs a value.", Usage: true}},
		{"-n srv --count", exitError{Code: 1, Msg: "oping: option --count needs a value.", Usage: true}},
		{"-n srv -i", exitError{Code: 1, Msg: "oping: option -i needs a value.", Usage: true}},
		{"-n srv -s", exitError{Code: 1, Msg: "oping: option -s needs a value.", Usage: true}},
		{"-n srv -q", exitError{Code: 1, Msg: "oping: option -q needs a value.", Usage: true}},
		{"-n srv -d", exitError{Code: 1, Msg: "oping: option -d needs a value.", Usage: true}},
		{"-n srv -i 5x", exitError{Code: 1, Msg: "Unknown time unit: x."}},
		{"-n srv -i 5 s", exitError{Code: 1, Msg: "oping: unknown option \"s\".", Usage: true}},
		{"-n srv -i abc", exitError{Code: 1, Msg: `oping: invalid value "abc" for -i: ` + badTime}},
		{"-n srv -i 0.5s", exitError{Code: 1, Msg: `oping: invalid value "0.5s" for -i: ` + badTime}},
		{"-n srv -c abc", exitError{Code: 1, Msg: `oping: invalid value "abc" for -c: ` + badCount}},
		{"-n srv --count 5abc", exitError{Code: 1, Msg: `oping: invalid value "5abc" for --count: ` + badCount}},
		{"-n srv -c -1", exitError{Code: 1, Msg: `oping: invalid value "-1" for -c: ` + badCount}},
		{"-n srv -c 4294967296", exitError{Code: 1, Msg: `oping: invalid value "4294967296" for -c: ` + badCount}},
		{"-n srv -s x", exitError{Code: 1, Msg: `oping: invalid value "x" for -s: want a whole number of bytes.`}},
		{"-n srv -d 1sec", exitError{Code: 1, Msg: "Unknown time unit: sec."}},
		{"-n srv -d 1S", exitError{Code: 1, Msg: "Unknown time unit: S."}},
		{"--help", exitError{Code: 0, Usage: true}},
		{"-h", exitError{Code: 0, Usage: true}},
		{"-n srv -x --help", exitError{Code: 1, Msg: "oping: unknown option \"-x\".", Usage: true}}, // left to right
		{"-n srv --help -x", exitError{Code: 0, Usage: true}},
	}
	for _, tt := range tests {
		_, err := parseArgs(strings.Fields(tt.args), new(bytes.Buffer))
		var e *exitError
		if !errors.As(err, &e) {
			t.Errorf("parseArgs(%q) = %v, want exit error", tt.args, err)
			continue
		}
		if *e != tt.want {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, *e, tt.want)
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
		{"12ms", 12, "ms"},
		{"  +7s", 7, "s"},
		{"-3h", -3, "h"},
		{"007", 7, ""},
		{"abc", 0, "abc"},
		{"-", 0, "-"},
		{"+x", 0, "+x"},
		{" s", 0, " s"},
		{"9223372036854775807", math.MaxInt64, ""},
		{"9223372036854775808", math.MaxInt64, ""},
		{"99999999999999999999d", math.MaxInt64, "d"},
		{"-9223372036854775808", math.MinInt64, ""},
		{"-99999999999999999999", math.MinInt64, ""},
	}
	for _, tt := range tests {
		n, rest := tool.Strtol(tt.in)
		if n != tt.n || rest != tt.rest {
			t.Errorf("tool.Strtol(%q) = %d, %q; want %d, %q", tt.in, n, rest, tt.n, tt.rest)
		}
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, usageText},
		{[]string{"-h"}, 0, usageText},
		{[]string{"--bogus"}, 1, "oping: unknown option \"--bogus\".\n" + usageText},
		{nil, 1, "No server specified.\n" + usageText},
		{[]string{"-n", "srv", "-i", "1y"}, 1, "Unknown time unit: y.\n"},
		{[]string{"-q", "x", "-i", "1y"}, 1, "Unknown QoS cube, defaulting to raw.\nUnknown time unit: y.\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if code := run(tt.args, &out); code != tt.code {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
		}
		if out.String() != tt.out {
			t.Errorf("run(%q) printed\n%s\nwant\n%s", tt.args, out.String(), tt.out)
		}
	}
	if !strings.HasPrefix(usageText, "Usage: oping [OPTION]...\n\nChecks liveness between a client and a server\nand reports the Round Trip Time (RTT)\n") {
		t.Errorf("usage text starts differently from the reference's:\n%s", usageText)
	}
}

func TestErrnoOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("allocate flow to srv: %w", flow.ENAME), 1007},
		{&net.OpError{Op: "read", Err: flow.ETIMEDOUT}, 110},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), int(syscall.ECONNREFUSED)},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), 110},
		{errors.New("something else"), 1},
	}
	for _, tt := range tests {
		if got := tool.Errno(tt.err); got != tt.want {
			t.Errorf("tool.Errno(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
