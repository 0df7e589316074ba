// Package tool holds what the command-line tools (oping, operf, ocbr) share:
// C-compatible number parsing for their hand-rolled argument parsers, the
// exit error they return and its report, the signal context they stop on, a
// line printer safe for concurrent goroutines, and the errno they print.
package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"

	"github.com/ouroboros-go/ouroboros/flow"
)

// Strtol parses a base-10 integer prefix of s as C's strtol does: leading white
// space and one sign are accepted, the value saturates at the int64 limits, and
// rest is what follows the digits (all of s if there are none).
func Strtol(s string) (n int64, rest string) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	i := 0
	var u uint64
	over := false
	for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
		d := uint64(t[i] - '0')
		if u > (1<<63-d)/10 {
			over = true
		}
		if !over {
			u = u*10 + d
		}
	}
	if i == 0 {
		return 0, s
	}
	switch {
	case over && neg:
		n = -1 << 63
	case over:
		n = 1<<63 - 1
	case neg:
		n = -int64(u)
	case u == 1<<63:
		n = 1<<63 - 1
	default:
		n = int64(u)
	}
	return n, t[i:]
}

// TimeUnits maps the tools' time suffixes to milliseconds.
var TimeUnits = map[string]int64{"": 1, "ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}

// ParseTime reads a number with an optional unit (ms, s, m, h, d; none = ms)
// and returns milliseconds; ok is false for an unknown unit, which is returned.
// Like strtol, leading garbage reads as 0 and becomes part of the unit.
func ParseTime(s string) (ms int64, unit string, ok bool) {
	n, unit := Strtol(s)
	mul, ok := TimeUnits[unit]
	return n * mul, unit, ok
}

// Errno returns the Ouroboros error number in err, for the lines that print
// it negated as the reference does ("Failed to allocate flow: -1007.").
// Errors without a number give 1.
func Errno(err error) int {
	var e flow.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		return int(se)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return int(flow.ETIMEDOUT)
	}
	return 1
}

// Printer serialises the lines of concurrent goroutines on one writer.
type Printer struct {
	mu sync.Mutex
	W  io.Writer
}

// Printf prints a formatted line (or part of one).
func (p *Printer) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.W, format, args...)
}

// Print prints s.
func (p *Printer) Print(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.W, s)
}

// PrintJSON prints v as one line of JSON.
func (p *Printer) PrintJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	p.Print(string(b) + "\n")
}
