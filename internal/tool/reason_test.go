package tool

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/flow"
)

// TestExplain: the error numbers the IRMd answers with are said in words,
// after the library's own text.
func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("allocate flow to x: %w", flow.ENAME),
			"allocate flow to x: naming error (unknown name: no layer reaches it and no local process is bound to it)"},
		{fmt.Errorf("allocate flow to x: %w", flow.EIPCP),
			"allocate flow to x: no IPCP reaches the destination or IPCP failure (no IPCP could allocate the flow)"},
		{fmt.Errorf("x: %w", flow.EFLOWDOWN), "x: flow is down"},
	} {
		if got := Explain(tc.err); got != tc.want {
			t.Errorf("Explain(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	var b bytes.Buffer
	old := Stderr
	Stderr = &b
	defer func() { Stderr = old }()
	Why("oping", flow.ENAME)
	if !strings.HasPrefix(b.String(), "oping: naming error (unknown name") || !strings.HasSuffix(b.String(), ")\n") {
		t.Errorf("Why printed %q", b.String())
	}
}

// TestInt: whole numbers in range only; no suffix, no blank, no empty.
func TestInt(t *testing.T) {
	for _, tc := range []struct {
		s  string
		n  int64
		ok bool
	}{
		{"5", 5, true}, {"0", 0, true}, {"+7", 7, true}, {"4294967295", 4294967295, true},
		{"4294967296", 0, false}, {"-1", 0, false}, {"abc", 0, false}, {"5abc", 0, false},
		{"", 0, false}, {" 5", 0, false}, {"0.5", 0, false},
	} {
		if n, ok := Int(tc.s, 0, 1<<32-1); n != tc.n || ok != tc.ok {
			t.Errorf("Int(%q) = %d, %v; want %d, %v", tc.s, n, ok, tc.n, tc.ok)
		}
	}
}
