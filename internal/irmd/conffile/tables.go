package conffile

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/ouroboros-go/ouroboros/irm"
)

// kindName is the table kind of [name.<name>]; the IPCP kinds are their
// irm.IPCPType.
const kindName = -1

var kinds = map[string]int{
	"name":      kindName,
	"local":     int(irm.Local),
	"eth-llc":   int(irm.EthLLC),
	"eth-dix":   int(irm.EthDIX),
	"udp4":      int(irm.UDP4),
	"udp6":      int(irm.UDP6),
	"unicast":   int(irm.Unicast),
	"broadcast": int(irm.Broadcast),
}

// Reference limits of the config file.
const (
	maxPathLen = 511 // security file paths
	ifNameSize = 16  // IFNAMSIZ: an interface name has at most 15 bytes
)

// table is one table's header and keys, as written.
type table struct {
	id    string // "unicast.lan1"
	kind  int
	name  string
	line  int
	keys  map[string]*entry
	order []string
}

type entry struct {
	key  string
	line int
	val  value
}

// value is a TOML value copied out of the parser, whose nodes live only
// until its next expression.
type value struct {
	kind  unstable.Kind
	data  string  // a scalar's value: a string unescaped, an integer as written
	items []value // an array's
}

func copyValue(n *unstable.Node) value {
	v := value{kind: n.Kind, data: string(n.Data)}
	if n.Kind == unstable.Array {
		it := n.Children()
		for it.Next() {
			v.items = append(v.items, copyValue(it.Node()))
		}
	}
	return v
}

// bad is an error about e in t.
func (t *table) bad(p *parser, e *entry, format string, args ...any) error {
	return &Error{Path: p.path, Line: e.line, Table: t.id, Key: e.key, Msg: fmt.Sprintf(format, args...)}
}

// badTable is an error about t as a whole.
func (t *table) badTable(p *parser, format string, args ...any) error {
	return &Error{Path: p.path, Line: t.line, Table: t.id, Msg: fmt.Sprintf(format, args...)}
}

func kindText(n value) string {
	switch n.kind {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable:
		return "an inline table"
	}
	return "a date or time"
}

func (t *table) str(p *parser, e *entry) (string, error) {
	if e.val.kind != unstable.String {
		return "", t.bad(p, e, "want a string, not %s", kindText(e.val))
	}
	return e.val.data, nil
}

// name is a string of 1 to MaxNameLen bytes.
func (t *table) nameVal(p *parser, e *entry) (string, error) {
	s, err := t.str(p, e)
	if err == nil && (s == "" || len(s) > irm.MaxNameLen) {
		err = t.bad(p, e, "want a name of 1 to %d bytes", irm.MaxNameLen)
	}
	return s, err
}

func (t *table) integer(p *parser, e *entry, lo, hi int64) (int64, error) {
	if e.val.kind != unstable.Integer {
		return 0, t.bad(p, e, "want an integer, not %s", kindText(e.val))
	}
	v, err := strconv.ParseInt(e.val.data, 0, 64)
	if err != nil || v < lo || v > hi {
		return 0, t.bad(p, e, "%s is out of range %d..%d", e.val.data, lo, hi)
	}
	return v, nil
}

func (t *table) boolean(p *parser, e *entry) (bool, error) {
	if e.val.kind != unstable.Bool {
		return false, t.bad(p, e, "want true or false, not %s", kindText(e.val))
	}
	return e.val.data == "true", nil
}

// names is an array of names.
func (t *table) names(p *parser, e *entry, empty bool) ([]string, error) {
	if e.val.kind != unstable.Array {
		return nil, t.bad(p, e, "want an array of strings, not %s", kindText(e.val))
	}
	var out []string
	for _, n := range e.val.items {
		if n.kind != unstable.String {
			return nil, t.bad(p, e, "want an array of strings, not one holding %s", kindText(n))
		}
		s := n.data
		if !empty && (s == "" || len(s) > irm.MaxNameLen) {
			return nil, t.bad(p, e, "%q: want names of 1 to %d bytes", s, irm.MaxNameLen)
		}
		out = append(out, s)
	}
	return out, nil
}

// oneOf maps a string through m.
func oneOf[T any](t *table, p *parser, e *entry, m map[string]T, want string) (T, error) {
	var zero T
	s, err := t.str(p, e)
	if err != nil {
		return zero, err
	}
	v, ok := m[s]
	if !ok {
		return zero, t.bad(p, e, "unknown value %q: want %s", s, want)
	}
	return v, nil
}

func (p *parser) nameTable(t *table) error {
	n := Name{Name: t.name, Line: t.line, LB: irm.Spill}
	var progs []string
	var args []string
	var argsEntry *entry
	for _, k := range t.order {
		e := t.keys[k]
		var err error
		switch k {
		case "lb":
			n.LB, err = oneOf(t, p, e, map[string]irm.LBPolicy{"spill": irm.Spill, "round-robin": irm.RoundRobin},
				`"spill" or "round-robin"`)
		case "prog":
			progs, err = t.names(p, e, false)
		case "args":
			args, err = t.names(p, e, true)
			argsEntry = e
		case "server_crt_file":
			n.ServerCrt, err = t.path(p, e)
		case "server_key_file":
			n.ServerKey, err = t.path(p, e)
		case "client_crt_file":
			n.ClientCrt, err = t.path(p, e)
		case "client_key_file":
			n.ClientKey, err = t.path(p, e)
		case "server_enc_file":
			n.ServerEnc, err = t.path(p, e)
		case "client_enc_file":
			n.ClientEnc, err = t.path(p, e)
		default:
			err = t.bad(p, e, "unknown key: want lb, prog, args or a security file (server_crt_file, server_key_file, server_enc_file, client_crt_file, client_key_file, client_enc_file)")
		}
		if err != nil {
			return err
		}
	}
	if len(args) > len(progs) {
		return t.bad(p, argsEntry, "%d arguments for %d programs: args[i] belongs to prog[i]", len(args), len(progs))
	}
	for i, prog := range progs {
		pr := Prog{Argv: []string{prog}}
		if i < len(args) {
			pr.AutoStart = true
			pr.Argv = append(pr.Argv, strings.Fields(args[i])...)
		}
		n.Progs = append(n.Progs, pr)
	}
	p.file.Names = append(p.file.Names, n)
	return nil
}

// path is a file that must exist, made absolute with symbolic links
// resolved.
func (t *table) path(p *parser, e *entry) (string, error) {
	s, err := t.str(p, e)
	if err != nil {
		return "", err
	}
	if s == "" || len(s) > maxPathLen {
		return "", t.bad(p, e, "want a path of 1 to %d bytes", maxPathLen)
	}
	abs, err := filepath.Abs(s)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", t.bad(p, e, "%s: %s", s, errText(err))
	}
	return abs, nil
}

// Keys every IPCP table may have, and those of each type's bootstrap.
var (
	commonKeys = []string{"bootstrap", "enrol", "autobind", "reg", "conn"}
	typeKeys   = map[irm.IPCPType][]string{
		irm.Local:     {"hash"},
		irm.EthLLC:    {"dev", "hash"},
		irm.EthDIX:    {"dev", "ethertype", "hash"},
		irm.UDP4:      {"ip", "port", "dns"},
		irm.UDP6:      {"ip", "port", "dns"},
		irm.Broadcast: nil,
		irm.Unicast: {"addr_size", "eid_size", "max_ttl", "addr-auth", "routing",
			"ls_t_recalc", "ls_t_update", "ls_t_timeo", "congestion", "directory",
			"dht_alpha", "dht_k", "dht_t_expire", "dht_t_expiry", "dht_t_refresh",
			"dht_t_replicate", "hash"},
	}
)

var hashes = map[string]irm.HashAlgo{
	"SHA3_224": irm.SHA3_224, "SHA3_256": irm.SHA3_256, "SHA3_384": irm.SHA3_384, "SHA3_512": irm.SHA3_512,
}

const hashWant = "SHA3_224, SHA3_256, SHA3_384 or SHA3_512"

func (p *parser) ipcpTable(t *table) error {
	typ := irm.IPCPType(t.kind)
	ip := IPCP{Name: t.name, Type: typ, Line: t.line, Config: irm.DefaultConfig(typ, "")}
	allowed := map[string]bool{}
	for _, k := range append(append([]string{}, commonKeys...), typeKeys[typ]...) {
		allowed[k] = true
	}
	var option *entry // the first type option, which only bootstrap uses
	for _, k := range t.order {
		e := t.keys[k]
		if !allowed[k] {
			want := strings.Join(append(append([]string{}, commonKeys...), typeKeys[typ]...), ", ")
			return t.bad(p, e, "unknown key for a %s IPCP: want one of %s", typ, want)
		}
		var err error
		switch k {
		case "bootstrap":
			ip.Bootstrap, err = t.nameVal(p, e)
		case "enrol":
			ip.Enrol, err = t.nameVal(p, e)
		case "autobind":
			ip.Autobind, err = t.boolean(p, e)
		case "reg":
			ip.Reg, err = t.names(p, e, false)
		case "conn":
			ip.Conn, err = t.names(p, e, false)
		default:
			if option == nil {
				option = e
			}
			err = p.option(t, e, &ip.Config)
		}
		if err != nil {
			return err
		}
	}
	if e1, e2 := t.keys["dht_t_expire"], t.keys["dht_t_expiry"]; e1 != nil && e2 != nil {
		return t.bad(p, later(e1, e2), "dht_t_expire and dht_t_expiry are the same setting: give one")
	}
	if err := p.crossCheck(t, &ip, option); err != nil {
		return err
	}
	ip.Config.Layer = ip.Bootstrap
	p.file.IPCPs = append(p.file.IPCPs, ip)
	return nil
}

func later(a, b *entry) *entry {
	if b.line > a.line {
		return b
	}
	return a
}

// crossCheck checks what depends on more than one key.
func (p *parser) crossCheck(t *table, ip *IPCP, option *entry) error {
	typ := ip.Type
	layered := typ == irm.Unicast || typ == irm.Broadcast // enroll, bind and connect
	canEnrol := layered
	if ip.Bootstrap != "" && ip.Enrol != "" {
		return t.bad(p, t.keys["enrol"], "give bootstrap or enrol, not both")
	}
	if ip.Enrol != "" && !canEnrol {
		return t.bad(p, t.keys["enrol"], "a %s IPCP cannot enroll: use bootstrap", typ)
	}
	if ip.Bootstrap == "" {
		if option != nil {
			return t.bad(p, option, "applies only with bootstrap (an enrolling IPCP takes its layer's settings)")
		}
		for _, k := range []string{"reg", "conn"} {
			if e := t.keys[k]; e != nil && ip.Enrol == "" {
				return t.bad(p, e, "needs bootstrap or enrol: the IPCP must be in a layer")
			}
		}
	}
	if e := t.keys["autobind"]; e != nil && !layered {
		return t.bad(p, e, "only unicast and broadcast IPCPs can be bound")
	}
	if e := t.keys["conn"]; e != nil && !layered {
		return t.bad(p, e, "only unicast and broadcast IPCPs connect")
	}
	if ip.Bootstrap == "" {
		return nil
	}
	switch typ {
	case irm.EthLLC, irm.EthDIX:
		if t.keys["dev"] == nil {
			return t.badTable(p, "dev (the interface) is required to bootstrap")
		}
	case irm.UDP4, irm.UDP6:
		if t.keys["ip"] == nil {
			return t.badTable(p, "ip (the address to bind) is required to bootstrap")
		}
	}
	return nil
}

// option sets one type option of c.
func (p *parser) option(t *table, e *entry, c *irm.Config) error {
	u := &c.Unicast
	var err error
	var v int64
	set32 := func(dst *uint32, lo, hi int64) {
		if v, err = t.integer(p, e, lo, hi); err == nil {
			*dst = uint32(v)
		}
	}
	switch e.key {
	case "hash":
		c.Hash, err = oneOf(t, p, e, hashes, hashWant)
	case "dev":
		var s string
		if s, err = t.str(p, e); err == nil && (s == "" || len(s) >= ifNameSize) {
			err = t.bad(p, e, "want an interface name of 1 to %d bytes", ifNameSize-1)
		}
		c.Eth.Dev = s
	case "ethertype":
		if v, err = t.integer(p, e, 0, 0xFFFF); err == nil && (v < 0x0600 || v == 0xFFFF) {
			err = t.bad(p, e, "0x%04X is not an Ethertype: want 0x0600 to 0xFFFE (0xA000 to 0xEFFF recommended)", v)
		}
		c.Eth.Ethertype = uint16(v)
	case "ip":
		if c.Type == irm.UDP4 {
			c.UDP4.IP, err = t.addr(p, e, true, false)
		} else {
			c.UDP6.IP, err = t.addr(p, e, false, false)
		}
	case "dns":
		if c.Type == irm.UDP4 {
			c.UDP4.DNS, err = t.addr(p, e, true, true)
		} else {
			c.UDP6.DNS, err = t.addr(p, e, false, true)
		}
	case "port":
		if v, err = t.integer(p, e, 1, 65535); err == nil {
			c.UDP4.Port, c.UDP6.Port = uint16(v), uint16(v)
		}
	case "addr_size":
		if v, err = t.integer(p, e, 0, 255); err == nil && v != 4 {
			err = t.bad(p, e, "%d: the flat address authority needs 4", v)
		}
		u.AddrSize = uint8(v)
	case "eid_size":
		if v, err = t.integer(p, e, 0, 255); err == nil && v != 8 {
			err = t.bad(p, e, "%d: only 8 is supported", v)
		}
		u.EIDSize = uint8(v)
	case "max_ttl":
		if v, err = t.integer(p, e, 1, 255); err == nil {
			u.MaxTTL = uint8(v)
		}
	case "addr-auth":
		u.AddrAuth, err = oneOf(t, p, e, map[string]irm.AddrAuthPolicy{"flat": irm.AddrAuthFlat}, `"flat"`)
	case "routing":
		u.LinkState.Policy, err = oneOf(t, p, e, map[string]irm.LSPolicy{
			"link-state": irm.LSSimple, "lfa": irm.LSLFA, "ecmp": irm.LSECMP}, `"link-state", "lfa" or "ecmp"`)
	case "ls_t_recalc":
		set32(&u.LinkState.Recalc, 1, 1<<32-1)
	case "ls_t_update":
		set32(&u.LinkState.Update, 1, 1<<32-1)
	case "ls_t_timeo":
		set32(&u.LinkState.Timeout, 1, 1<<32-1)
	case "congestion":
		u.Congestion, err = oneOf(t, p, e, map[string]irm.CongestionPolicy{
			"none": irm.CongestionNone, "mb-ecn": irm.CongestionMBECN, "lfa": irm.CongestionMBECN},
			`"none" or "mb-ecn"`)
	case "directory":
		u.Directory, err = oneOf(t, p, e, map[string]irm.DirPolicy{"DHT": irm.DirDHT, "dht": irm.DirDHT}, `"DHT"`)
	case "dht_alpha":
		set32(&u.DHT.Alpha, 1, 10)
	case "dht_k":
		set32(&u.DHT.K, 1, 20)
	case "dht_t_expire", "dht_t_expiry":
		set32(&u.DHT.Expire, 10, 86400)
	case "dht_t_refresh":
		set32(&u.DHT.Refresh, 3, 3600)
	case "dht_t_replicate":
		set32(&u.DHT.Replicate, 3, 3600)
	}
	return err
}

// addr is an IPv4 (v4) or IPv6 address; an IP to bind may not be the
// unspecified address.
func (t *table) addr(p *parser, e *entry, v4, dns bool) (netip.Addr, error) {
	s, err := t.str(p, e)
	if err != nil {
		return netip.Addr{}, err
	}
	family := "IPv6"
	if v4 {
		family = "IPv4"
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4() != v4 || (!v4 && a.Is4In6()) {
		return netip.Addr{}, t.bad(p, e, "%q is not an %s address", s, family)
	}
	if a.IsUnspecified() {
		if dns {
			return netip.Addr{}, t.bad(p, e, "%s is not a DNS server address (leave dns out for none)", s)
		}
		return netip.Addr{}, t.bad(p, e, "%s is not an address to bind", s)
	}
	return a, nil
}
