package main

import (
	"bytes"
	"context"
	"testing"
)

// TestRunUsage: --help prints the reference's usage (exit 0); no name is
// the reference's "Please specify a name." and the usage (exit 1); an
// unknown option or a missing value is named before the usage (exit 1).
func TestRunUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, usageText},
		{[]string{"-h"}, 0, usageText},
		{nil, 1, "Please specify a name.\n\n" + usageText},
		{[]string{"-l", "-m", "x"}, 1, "Please specify a name.\n\n" + usageText},
		{[]string{"-x"}, 1, "obc: unknown option \"-x\".\n" + usageText},
		{[]string{"-n"}, 1, "obc: option -n needs a value.\n" + usageText},
		{[]string{"-n", "bc", "--message"}, 1, "obc: option --message needs a value.\n" + usageText},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), tt.args, &out); code != tt.code || out.String() != tt.out {
			t.Errorf("run(%q) = %d, printed %q; want %d, %q", tt.args, code, out.String(), tt.code, tt.out)
		}
	}
	const head = "Usage: obc [OPTION]...\nSends a message to a broadcast network\n"
	if !bytes.HasPrefix([]byte(usageText), []byte(head)) {
		t.Errorf("usage text starts differently from the reference's:\n%s", usageText)
	}
}

func TestCString(t *testing.T) {
	for in, want := range map[string]string{"abc\x00": "abc", "abc": "abc", "a\x00b": "a", "": ""} {
		if got := cString([]byte(in)); got != want {
			t.Errorf("cString(%q) = %q, want %q", in, got, want)
		}
	}
}
