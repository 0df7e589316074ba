package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ouroboros-go/ouroboros/irm"
)

// env is what every handler works with.
type env struct {
	ctx context.Context
	out io.Writer // results and requested help
	err io.Writer // diagnostics and usage after a mistake
	c   *irm.Client
}

func (e *env) errorf(format string, a ...any) { fmt.Fprintf(e.err, format+"\n", a...) }

var (
	// errFailed means the failure has been reported; exit 1 without more output.
	errFailed = errors.New("failed")
	// errHelp means usage was printed on request; exit 0.
	errHelp = errors.New("help")
)

// failf reports a failure and returns errFailed.
func (e *env) failf(format string, a ...any) error {
	e.errorf(format, a...)
	return errFailed
}

// usage prints a usage text after a mistake and returns errFailed.
func (e *env) usage(text string) error {
	fmt.Fprint(e.err, text)
	return errFailed
}

// matches reports whether the typed word selects keyword: any prefix does,
// including the empty word. Tables are searched in order, so the first
// keyword a word is a prefix of wins.
func matches(word, keyword string) bool { return strings.HasPrefix(keyword, word) }

// wildcardMatch reports whether s matches pattern, in which '*' stands for
// any sequence of bytes and every other byte for itself.
func wildcardMatch(pattern, s string) bool {
	// Greedy with backtracking to the last star: on a mismatch the last star
	// absorbs one more byte. Linear in practice, O(len(p)*len(s)) at worst.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// command is one entry of a keyword table; the order of a table decides
// which command an ambiguous prefix selects.
type command struct {
	keyword string
	run     func(e *env, args []string) error
	usage   string // printed for "<command> help"
}

// group is a level of the grammar: "irm", "irm ipcp", "irm bind", ...
type group struct {
	path     string // as the user types it, for messages
	usage    string
	commands []command
	// keepWord passes the command word on to the handler, where it doubles
	// as the keyword of the first value (irm bind program <prog> ...).
	keepWord bool
}

// dispatch runs the command args[0] selects. No words is a usage error.
func (e *env) dispatch(g *group, args []string) error {
	if len(args) == 0 {
		return e.usage(g.usage)
	}
	for _, c := range g.commands {
		if !matches(args[0], c.keyword) {
			continue
		}
		// Caught here because in keepWord groups "help" would be taken as
		// the value of the command word. So a name or program called just
		// "help" cannot be given alone.
		if len(args) == 2 && isHelp(args[1]) && c.usage != "" {
			return e.help(c.usage)
		}
		if g.keepWord {
			return c.run(e, append([]string{c.keyword}, args[1:]...))
		}
		return c.run(e, args[1:])
	}
	if isHelp(args[0]) {
		return e.help(g.usage)
	}
	return e.failf("\"%s\" is unknown, try \"%s help\".", args[0], g.path)
}

// help prints a usage text on request.
func (e *env) help(text string) error {
	fmt.Fprint(e.out, text)
	return errHelp
}

func isHelp(w string) bool { return w == "help" || w == "--help" || w == "-h" }

// option is one keyword a command accepts among its arguments.
type option struct {
	keyword string
	exact   bool // must be spelled in full (auto, --)
	flag    bool // takes no value
	rest    bool // takes all remaining words as its value
	// set stores a value ("" for a flag); it reports a bad value itself and
	// returns errFailed.
	set func(v string) error
	// setRest receives the words after a rest option.
	setRest func(v []string)
}

// cmdInfo names a command for its messages.
type cmdInfo struct {
	path  string // "irm ipcp create"
	usage string
	// unknown formats the message for an unknown keyword; by default
	// "<word>" is unknown, try "<path> help".
	unknown string
}

// parse walks args as keyword/value pairs and flags, in any order, each
// keyword selected by prefix in table order. "help" where a keyword is
// expected prints the usage. A keyword without its value is a usage error.
func (e *env) parse(ci cmdInfo, args []string, opts []option) error {
	for i := 0; i < len(args); i++ {
		w := args[i]
		o := findOption(opts, w)
		if o == nil {
			if isHelp(w) {
				return e.help(ci.usage)
			}
			if ci.unknown != "" {
				return e.failf(ci.unknown, w)
			}
			return e.failf("\"%s\" is unknown, try \"%s help\".", w, ci.path)
		}
		switch {
		case o.rest:
			o.setRest(args[i+1:])
			return nil
		case o.flag:
			if err := o.set(""); err != nil {
				return err
			}
		default:
			if i+1 >= len(args) {
				return e.usage(ci.usage)
			}
			i++
			if err := o.set(args[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func findOption(opts []option, w string) *option {
	for i := range opts {
		o := &opts[i]
		if o.keyword == w || (!o.exact && matches(w, o.keyword)) {
			return o
		}
	}
	return nil
}

// store returns a setter that saves the value in *p.
func store(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

// appendTo returns a setter that appends the value to *p.
func appendTo(p *[]string) func(string) error {
	return func(v string) error { *p = append(*p, v); return nil }
}

// setTrue returns a flag setter.
func setTrue(p *bool) func(string) error {
	return func(string) error { *p = true; return nil }
}
