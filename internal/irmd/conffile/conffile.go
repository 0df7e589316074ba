// Package conffile reads the IRMd configuration file (irmd --config FILE): a
// TOML file that names programs and creates, bootstraps or enrolls, binds,
// registers and connects IPCPs when the IRMd starts.
//
// Tables:
//
//	[name.<name>]        lb, prog, args and the six security file keys
//	[local.<ipcp>]       \
//	[eth-llc.<ipcp>]      |
//	[eth-dix.<ipcp>]      |  bootstrap or enrol, autobind, reg, conn
//	[udp4.<ipcp>]         |  and the options of the type
//	[udp6.<ipcp>]         |
//	[unicast.<ipcp>]     /
//	[broadcast.<ipcp>]   bootstrap or enrol, autobind, reg, conn (Data Transfer only)
//
// Parse checks the whole file before anything is done with it: every error
// names the file, the line and the key (or table), and the first one found is
// returned. Unknown tables and keys are errors. Where the reference's parser
// has quirks this one differs, on purpose: congestion = "mb-ecn" is accepted
// (as well as the reference's "lfa"), dht_t_expiry is a synonym of
// dht_t_expire, the udp6 ip and dns are used, a dns address is checked,
// autobind = false does not bind, a unicast hash is used, and a file that
// gives both bootstrap and enrol, or options that an enrolling IPCP cannot
// use, is refused rather than half-ignored.
package conffile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/ouroboros-go/ouroboros/irm"
)

// MaxSize bounds the file (bytes): a configuration is a few kilobytes.
const MaxSize = 1 << 20

// File is a checked configuration, ready to carry out: first the names, then
// the IPCPs, each in the order of the file.
type File struct {
	Path  string
	Names []Name
	IPCPs []IPCP
}

// Name is a [name.<name>] table: the name is created with LB and each
// program is bound to it.
type Name struct {
	Name  string
	Line  int
	LB    irm.LBPolicy
	Progs []Prog
	// Security files, absolute paths that existed when the file was read;
	// empty means the default. The irmd keeps the enc files with the name
	// (irm name create cannot give them: the protocol has no field).
	ServerCrt, ServerKey, ClientCrt, ClientKey string
	ServerEnc, ClientEnc                       string
}

// Prog is a program bound to a name: Argv[0] is the path as written (not
// searched in $PATH), the rest its arguments when auto-started.
type Prog struct {
	Argv      []string
	AutoStart bool
}

// IPCP is an IPCP table. Without Bootstrap and Enrol the IPCP is only
// created.
type IPCP struct {
	Name string
	Type irm.IPCPType
	Line int // of the table header

	Bootstrap string     // layer to found; Config is then complete
	Config    irm.Config // the bootstrap configuration
	Enrol     string     // destination to enroll with (unicast only)
	Autobind  bool       // bind the IPCP process to its name and its layer's
	Reg       []string   // names to create if needed and register
	Conn      []string   // destinations to connect: management, then data transfer
}

// Error is a mistake in the file.
type Error struct {
	Path  string
	Line  int    // 1-based; 0 if the whole file
	Table string // "unicast.lan1"; empty outside tables
	Key   string // empty for an error of the table itself
	Msg   string
}

func (e *Error) Error() string {
	where := e.Path
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	switch {
	case e.Table != "" && e.Key != "":
		return fmt.Sprintf("%s: [%s] %s: %s", where, e.Table, e.Key, e.Msg)
	case e.Table != "":
		return fmt.Sprintf("%s: [%s]: %s", where, e.Table, e.Msg)
	case e.Key != "":
		return fmt.Sprintf("%s: %s: %s", where, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", where, e.Msg)
}

// ReadFile reads and parses the file at path.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: errText(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, &Error{Path: path, Msg: errText(err)}
	}
	if len(data) > MaxSize {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("larger than %d bytes", MaxSize)}
	}
	return Parse(path, data)
}

// errText is the reason of a file error without the path the caller prints.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse checks data, the contents of the file path (used in errors).
func Parse(path string, data []byte) (*File, error) {
	p := &parser{path: path, file: &File{Path: path}, seen: map[string]int{}, ipcps: map[string]string{}}
	if err := p.parse(data); err != nil {
		return nil, err
	}
	return p.file, nil
}

// parser walks the TOML expressions in order. A table's keys are collected
// until the next header, then checked as a whole (table.finish).
type parser struct {
	path  string
	file  *File
	toml  unstable.Parser
	cur   *table
	seen  map[string]int    // table "kind.name" → line of its header
	ipcps map[string]string // IPCP name → its table
}

func (p *parser) parse(data []byte) error {
	if !utf8.Valid(data) {
		return &Error{Path: p.path, Msg: "not UTF-8 text"}
	}
	p.toml.Reset(data)
	for p.toml.NextExpression() {
		e := p.toml.Expression()
		var err error
		switch e.Kind {
		case unstable.Table:
			err = p.header(e)
		case unstable.ArrayTable:
			err = p.errAt(e.Raw, "", "", "arrays of tables ([[...]]) are not used in this file")
		case unstable.KeyValue:
			err = p.keyValue(e)
		}
		if err != nil {
			return err
		}
	}
	if err := p.toml.Error(); err != nil {
		return p.syntaxError(err)
	}
	return p.finish()
}

func (p *parser) syntaxError(err error) error {
	e := &Error{Path: p.path, Msg: err.Error()}
	var pe *unstable.ParserError
	if errors.As(err, &pe) {
		e.Msg = pe.Message
		if len(pe.Key) > 0 {
			e.Key = joinKey(pe.Key)
		}
		if pe.Highlight != nil && within(p.toml.Data(), pe.Highlight) {
			e.Line = p.toml.Shape(p.toml.Range(pe.Highlight)).Start.Line
			if e.Key == "" {
				e.Key = keyOnLine(p.toml.Data(), e.Line)
			}
		}
	}
	// A key's line belongs to the current table; a header's does not.
	if p.cur != nil && e.Key != "" {
		e.Table = p.cur.id
	}
	return e
}

// keyOnLine is the key a key = value line starts with, for syntax errors
// inside the value; empty for other lines.
func keyOnLine(data []byte, line int) string {
	lines := bytes.SplitN(data, []byte("\n"), line+1)
	if line < 1 || line > len(lines) {
		return ""
	}
	l := bytes.TrimSpace(lines[line-1])
	i := bytes.IndexByte(l, '=')
	if i <= 0 || l[0] == '[' || l[0] == '#' {
		return ""
	}
	k := string(bytes.TrimSpace(l[:i]))
	if len(k) > 64 {
		k = k[:64] + "..."
	}
	return strconv.Quote(k)[1 : len(strconv.Quote(k))-1]
}

// within reports whether b lies inside data, so that Parser.Range, which
// panics otherwise, can place it (a highlight is a subslice of the input).
func within(data, b []byte) bool {
	off := cap(data) - cap(b)
	return cap(b) > 0 && off >= 0 && off+len(b) <= len(data)
}

func (p *parser) line(r unstable.Range) int {
	return p.toml.Shape(r).Start.Line
}

func (p *parser) errAt(r unstable.Range, tbl, key, format string, args ...any) error {
	return &Error{Path: p.path, Line: p.line(r), Table: tbl, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// keyParts returns the parts of a (dotted) key and the range of the first.
func keyParts(n *unstable.Node) ([]string, unstable.Range) {
	var parts []string
	var r unstable.Range
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if parts == nil {
			r = k.Raw
		}
		parts = append(parts, string(k.Data))
	}
	return parts, r
}

// joinKey writes a key as TOML would, quoting parts that need it.
func joinKey(parts []string) string {
	var b bytes.Buffer
	for i, s := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		bare := s != ""
		for j := 0; j < len(s); j++ {
			c := s[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				bare = false
				break
			}
		}
		if bare {
			b.WriteString(s)
		} else {
			b.WriteString(strconv.Quote(s))
		}
	}
	return b.String()
}

func (p *parser) header(e *unstable.Node) error {
	if err := p.finishTable(); err != nil {
		return err
	}
	parts, r := keyParts(e)
	id := joinKey(parts)
	line := p.line(r)
	kind, known := kinds[parts[0]]
	switch {
	case !known:
		return p.errAt(r, "", "", "unknown table [%s]: want name, local, eth-llc, eth-dix, udp4, udp6, unicast or broadcast", id)
	case len(parts) != 2:
		return p.errAt(r, "", "", "table [%s] must be [%s.<name>]", id, parts[0])
	case parts[1] == "" || len(parts[1]) > irm.MaxNameLen:
		return p.errAt(r, "", "", "table [%s]: the name must be 1 to %d bytes", id, irm.MaxNameLen)
	}
	if prev, dup := p.seen[id]; dup {
		return p.errAt(r, "", "", "table [%s] is defined twice (first on line %d)", id, prev)
	}
	p.seen[id] = line
	if kind != kindName {
		if other, dup := p.ipcps[parts[1]]; dup {
			return p.errAt(r, "", "", "table [%s]: IPCP %s is already defined in [%s]", id, parts[1], other)
		}
		p.ipcps[parts[1]] = id
	}
	p.cur = &table{id: id, kind: kind, name: parts[1], line: line, keys: map[string]*entry{}}
	return nil
}

func (p *parser) keyValue(e *unstable.Node) error {
	parts, r := keyParts(e)
	key := joinKey(parts)
	if p.cur == nil {
		return p.errAt(r, "", key, "keys must be inside a table such as [unicast.<name>]")
	}
	if len(parts) != 1 {
		return p.errAt(r, p.cur.id, key, "unknown key (dotted keys are not used in this file)")
	}
	if _, dup := p.cur.keys[key]; dup {
		return p.errAt(r, p.cur.id, key, "given twice")
	}
	p.cur.keys[key] = &entry{key: key, line: p.line(r), val: copyValue(e.Value())}
	p.cur.order = append(p.cur.order, key)
	return nil
}

func (p *parser) finishTable() error {
	if p.cur == nil {
		return nil
	}
	t := p.cur
	var err error
	if t.kind == kindName {
		err = p.nameTable(t)
	} else {
		err = p.ipcpTable(t)
	}
	p.cur = nil
	return err
}

func (p *parser) finish() error {
	if err := p.finishTable(); err != nil {
		return err
	}
	return nil
}
