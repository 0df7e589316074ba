package olog

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestFormat(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "irmd", Options{PID: 773, Level: slog.LevelDebug})
	l.Info("Created IPCP 6794.")
	l.With(Comp, "irmd/ipcp").Warn("slow", "pid", 7)
	l.Error("bad")
	l.Debug("dbg")
	want := "==00773== irmd(II): Created IPCP 6794.\n" +
		"==00773== irmd/ipcp(WW): slow pid=7\n" +
		"==00773== irmd(EE): bad\n" +
		"==00773== irmd(DB): dbg\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestColourAndLevel(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "irmd", Options{PID: 25959, Colour: true})
	l.Debug("hidden")
	l.Info("Ouroboros IPC Resource Manager daemon started...")
	want := "\x1b[32m==25959== irmd(II): Ouroboros IPC Resource Manager daemon started...\x1b[0m\n"
	if buf.String() != want {
		t.Errorf("got %q want %q", buf.String(), want)
	}
}

// A name with a newline in it must not forge a second log line.
func TestForgedLine(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "irmd", Options{PID: 42})
	name := "evil\n==00001== irmd(II): forged"
	l.Info("Created new name: "+name+".", "layer", "a\nb")
	l.With(Comp, "ipcp\n").Info("x")
	want := `==00042== irmd(II): Created new name: evil\n==00001== irmd(II): forged. layer=a\nb` + "\n" +
		`==00042== ipcp\n(II): x` + "\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain name.layer", "plain name.layer"},
		{"ünïcødé ✓", "ünïcødé ✓"},
		{"a\r\nb\tc", `a\r\nb\tc`},
		{"\x1b[31mred", `\x1b[31mred`},
		{"del\x7f c1\u0085 ls\u2028 ps\u2029", `del\x7f c1\x85 ls\u2028 ps\u2029`},
		{"bad\xffutf8\xc3", `bad\xffutf8\xc3`},
		{"nul\x00", `nul\x00`},
	} {
		if got := escape(c.in); got != c.want {
			t.Errorf("escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
