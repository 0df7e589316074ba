package tool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ouroboros-go/ouroboros/flow"
)

// Stderr is where Why writes; tests may replace it.
var Stderr io.Writer = os.Stderr

// Explain returns err in words for a user: the library's own text (which
// names the run directory when no IRMd serves it), followed, for the error
// numbers the IRMd answers with, by what they mean to someone who asked for
// a flow or a name.
func Explain(err error) string {
	s := err.Error()
	hint := ""
	switch {
	case errors.Is(err, flow.ErrIRMDGone):
		// The text already says where and why.
	case errors.Is(err, flow.ENAME):
		hint = "unknown name: no layer reaches it and no local process is bound to it"
	case errors.Is(err, flow.EIPCP):
		hint = "no IPCP could allocate the flow"
	case errors.Is(err, flow.EIRMD):
		hint = "the IPC Resource Manager daemon did not answer as expected"
	case errors.Is(err, flow.ETIMEDOUT):
		hint = "timed out"
	}
	if hint != "" && !strings.Contains(s, hint) {
		s += " (" + hint + ")"
	}
	return s
}

// Why prints the reason for a failure on Stderr, as "prog: reason", after
// the tool printed its reference line (such as "Failed to allocate flow.")
// on standard output, which stays as the reference prints it.
func Why(prog string, err error) {
	fmt.Fprintf(Stderr, "%s: %s\n", prog, Explain(err))
}

// Unknown is the exit error for an argument a tool does not know: it names
// the argument, then the usage follows; exit status 1.
func Unknown(prog, arg string) *ExitError {
	return &ExitError{Code: 1, Msg: fmt.Sprintf("%s: unknown option %q.", prog, arg), Usage: true}
}

// Missing is the exit error for an option given without its value.
func Missing(prog, arg string) *ExitError {
	return &ExitError{Code: 1, Msg: fmt.Sprintf("%s: option %s needs a value.", prog, arg), Usage: true}
}

// BadValue is the exit error for a value an option cannot take.
func BadValue(prog, arg, val, want string) *ExitError {
	return &ExitError{Code: 1, Msg: fmt.Sprintf("%s: invalid value %q for %s: %s.", prog, val, arg, want)}
}

// Int parses a whole base-10 integer (optional sign, no suffix) in
// [min, max]; ok is false otherwise.
func Int(s string, min, max int64) (int64, bool) {
	n, rest := Strtol(s)
	if rest != "" || s == "" || strings.TrimSpace(s) != s || n < min || n > max {
		return 0, false
	}
	return n, true
}
