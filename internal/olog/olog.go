// Package olog is the slog.Handler that writes the reference's log line format:
//
//	==<pid, 5 digits>== <component>(<LVL>): <message>
//
// with LVL one of EE, WW, II, DB and, on a terminal-style stdout log, the
// reference's colours (EE red, WW yellow, II green, DB none). The component is
// set with Logger.With(olog.Comp, "irmd/ipcp"); other attributes are appended as
// key=value pairs. Without --stdout the daemons log to syslog with the same
// message and no "==pid==" prefix.
//
// One record is one line: control characters in the message, in attribute
// keys and values and in the component are written as escapes (a newline as
// \n, ESC as \x1b), since names, paths and layer names in log messages come
// from clients and from the network, and must not forge lines or drive the
// terminal.
package olog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Comp is the attribute key that sets the component prefix of a line.
const Comp = "comp"

const (
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	green  = "\x1b[32m"
	reset  = "\x1b[0m"
)

// Options configures a handler.
type Options struct {
	Colour bool       // wrap lines in the reference's ANSI colours
	Level  slog.Level // lowest level written (default Info)
	PID    int        // pid shown in the prefix (default os.Getpid())
}

type sink struct {
	mu  sync.Mutex
	w   io.Writer
	sys *syslog.Writer
}

// Handler writes O7s log lines.
type Handler struct {
	s     *sink
	opt   Options
	comp  string
	attrs string
}

// NewHandler returns a handler writing lines to w.
func NewHandler(w io.Writer, comp string, opt Options) *Handler {
	if opt.PID == 0 {
		opt.PID = os.Getpid()
	}
	return &Handler{s: &sink{w: w}, opt: opt, comp: comp}
}

// New returns a logger writing to w with the given component.
func New(w io.Writer, comp string, opt Options) *slog.Logger {
	return slog.New(NewHandler(w, comp, opt))
}

// NewSyslog returns a logger to the system log (LOG_DAEMON); if syslog cannot
// be reached it falls back to stderr.
func NewSyslog(tag, comp string, level slog.Level) *slog.Logger {
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, tag)
	if err != nil {
		return New(os.Stderr, comp, Options{Level: level})
	}
	h := &Handler{s: &sink{sys: w}, opt: Options{Level: level, PID: os.Getpid()}, comp: comp}
	return slog.New(h)
}

// Discard returns a logger that writes nothing.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.opt.Level }

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != Comp {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	msg := escape(b.String())
	comp := h.comp
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == Comp {
			comp = escape(a.Value.String())
		}
		return true
	})
	lvl, colour := levelTag(r.Level)
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.s.sys != nil {
		line := fmt.Sprintf("%s(%s): %s", comp, lvl, msg)
		switch {
		case r.Level >= slog.LevelError:
			return h.s.sys.Err(line)
		case r.Level >= slog.LevelWarn:
			return h.s.sys.Warning(line)
		case r.Level >= slog.LevelInfo:
			return h.s.sys.Info(line)
		}
		return h.s.sys.Debug(line)
	}
	line := fmt.Sprintf("==%05d== %s(%s): %s", h.opt.PID, comp, lvl, msg)
	if h.opt.Colour && colour != "" {
		line = colour + line + reset
	}
	_, err := io.WriteString(h.s.w, line+"\n")
	return err
}

// escape returns s with every control character (C0, DEL, C1), the Unicode
// line and paragraph separators and every byte that is not UTF-8 written as
// a Go escape: \n, \r, \t, \xHH or \uHHHH. Other text is unchanged.
func escape(s string) string {
	clean := true
	for _, c := range s {
		if needsEscape(c) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x100 && needsEscape(c):
			fmt.Fprintf(&b, `\x%02x`, c)
		case needsEscape(c):
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(c rune) bool {
	return c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029 || c == utf8.RuneError
}

func levelTag(l slog.Level) (string, string) {
	switch {
	case l >= slog.LevelError:
		return "EE", red
	case l >= slog.LevelWarn:
		return "WW", yellow
	case l >= slog.LevelInfo:
		return "II", green
	}
	return "DB", ""
}

// WithAttrs implements slog.Handler; the Comp attribute replaces the component.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		if a.Key == Comp {
			n.comp = escape(a.Value.String())
			continue
		}
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	n.attrs = b.String()
	return &n
}

// WithGroup implements slog.Handler; groups are flattened.
func (h *Handler) WithGroup(string) slog.Handler { return h }
