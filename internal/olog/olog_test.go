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
