package conffile

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/irm"
)

func mustParse(t *testing.T, text string) *File {
	t.Helper()
	f, err := Parse("t.conf", []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", text, err)
	}
	return f
}

func only(t *testing.T, f *File) IPCP {
	t.Helper()
	if len(f.IPCPs) != 1 {
		t.Fatalf("%d IPCPs, want 1: %+v", len(f.IPCPs), f.IPCPs)
	}
	return f.IPCPs[0]
}

// TestParseValid: every table and key, with the values they give.
func TestParseValid(t *testing.T) {
	def := func(typ irm.IPCPType, layer string) irm.Config { return irm.DefaultConfig(typ, layer) }
	cases := []struct {
		name string
		text string
		want func() IPCP
	}{
		{"local defaults", "[local.l]\nbootstrap = \"ll\"\n", func() IPCP {
			return IPCP{Name: "l", Type: irm.Local, Line: 1, Bootstrap: "ll", Config: def(irm.Local, "ll")}
		}},
		{"local only created", "# nothing else\n\n[local.l]\n", func() IPCP {
			return IPCP{Name: "l", Type: irm.Local, Line: 3, Config: def(irm.Local, "")}
		}},
		{"local hash reg", "[local.l]\nbootstrap = 'll'\nhash = \"SHA3_224\"\nreg = [\"a\", \"b.c\"]\n", func() IPCP {
			c := def(irm.Local, "ll")
			c.Hash = irm.SHA3_224
			return IPCP{Name: "l", Type: irm.Local, Line: 1, Bootstrap: "ll", Config: c, Reg: []string{"a", "b.c"}}
		}},
		{"eth-llc", "[eth-llc.e]\nbootstrap = \"el\"\ndev = \"eth0\"\nhash = \"SHA3_512\"\n", func() IPCP {
			c := def(irm.EthLLC, "el")
			c.Eth.Dev, c.Hash = "eth0", irm.SHA3_512
			return IPCP{Name: "e", Type: irm.EthLLC, Line: 1, Bootstrap: "el", Config: c}
		}},
		{"eth-dix", "[eth-dix.e]\nbootstrap = \"ed\"\ndev = \"veth-0123456789\"\nethertype = 0xA007\nhash = \"SHA3_384\"\n", func() IPCP {
			c := def(irm.EthDIX, "ed")
			c.Eth.Dev, c.Eth.Ethertype, c.Hash = "veth-0123456789", 0xA007, irm.SHA3_384
			return IPCP{Name: "e", Type: irm.EthDIX, Line: 1, Bootstrap: "ed", Config: c}
		}},
		{"eth-dix lowest ethertype", "[eth-dix.e]\nbootstrap = \"ed\"\ndev = \"e\"\nethertype = 1536\n", func() IPCP {
			c := def(irm.EthDIX, "ed")
			c.Eth.Dev, c.Eth.Ethertype = "e", 0x0600
			return IPCP{Name: "e", Type: irm.EthDIX, Line: 1, Bootstrap: "ed", Config: c}
		}},
		{"udp4", "[udp4.u]\nbootstrap = \"ul\"\nip = \"192.0.2.10\"\nport = 3_500\ndns = \"192.0.2.53\"\nreg = [\"x\"]\n", func() IPCP {
			c := def(irm.UDP4, "ul")
			c.UDP4.IP, c.UDP4.DNS = netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.53")
			c.UDP4.Port, c.UDP6.Port = 3500, 3500
			return IPCP{Name: "u", Type: irm.UDP4, Line: 1, Bootstrap: "ul", Config: c, Reg: []string{"x"}}
		}},
		{"udp6 keeps ip and dns", "[udp6.u]\nbootstrap = \"ul\"\nip = \"2001:db8::1\"\ndns = \"2001:db8::53\"\nport = 65535\n", func() IPCP {
			c := def(irm.UDP6, "ul")
			c.UDP6.IP, c.UDP6.DNS = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::53")
			c.UDP4.Port, c.UDP6.Port = 65535, 65535
			return IPCP{Name: "u", Type: irm.UDP6, Line: 1, Bootstrap: "ul", Config: c}
		}},
		{"unicast every option", `[unicast."lan.1"]
bootstrap = "LAN"
autobind = true
reg = ["oping"]
conn = ["peer"]
addr_size = 4
eid_size = 8
max_ttl = 255
addr-auth = "flat"
routing = "ecmp"
ls_t_recalc = 1
ls_t_update = 2
ls_t_timeo = 3
congestion = "none"
directory = "dht"
dht_alpha = 10
dht_k = 20
dht_t_expire = 10
dht_t_refresh = 3600
dht_t_replicate = 3
hash = "SHA3_512"
`, func() IPCP {
			c := def(irm.Unicast, "LAN")
			u := &c.Unicast
			c.Hash = irm.SHA3_512
			u.MaxTTL = 255
			u.LinkState = irm.LinkStateConfig{Policy: irm.LSECMP, Recalc: 1, Update: 2, Timeout: 3}
			u.Congestion = irm.CongestionNone
			u.DHT.Alpha, u.DHT.K, u.DHT.Expire, u.DHT.Refresh, u.DHT.Replicate = 10, 20, 10, 3600, 3
			return IPCP{Name: "lan.1", Type: irm.Unicast, Line: 1, Bootstrap: "LAN", Config: c,
				Autobind: true, Reg: []string{"oping"}, Conn: []string{"peer"}}
		}},
		{"unicast mb-ecn, lfa, DHT, dht_t_expiry", "[unicast.u]\nbootstrap = \"L\"\ncongestion = \"mb-ecn\"\nrouting = \"lfa\"\ndirectory = \"DHT\"\ndht_t_expiry = 86400\nautobind = false\n", func() IPCP {
			c := def(irm.Unicast, "L")
			c.Unicast.LinkState.Policy = irm.LSLFA
			return IPCP{Name: "u", Type: irm.Unicast, Line: 1, Bootstrap: "L", Config: c}
		}},
		{"unicast congestion lfa means mb-ecn", "[unicast.u]\nbootstrap = \"L\"\ncongestion = \"lfa\"\nrouting = \"link-state\"\n", func() IPCP {
			return IPCP{Name: "u", Type: irm.Unicast, Line: 1, Bootstrap: "L", Config: def(irm.Unicast, "L")}
		}},
		{"unicast enrol", "[unicast.u2]\nenrol = \"LAN\"\nconn = [\"u1\", \"u3\"]\nautobind = true\nreg = []\n", func() IPCP {
			return IPCP{Name: "u2", Type: irm.Unicast, Line: 1, Enrol: "LAN", Config: def(irm.Unicast, ""),
				Autobind: true, Conn: []string{"u1", "u3"}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := only(t, mustParse(t, c.text))
			want := c.want()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			if got.Bootstrap != "" {
				if err := got.Config.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
			}
		})
	}
}

// TestParseNames: [name.<name>] tables, programs with and without
// auto-start, and the order of the file kept.
func TestParseNames(t *testing.T) {
	dir := t.TempDir()
	crt := filepath.Join(dir, "crt.pem")
	for _, p := range []string{crt, filepath.Join(dir, "enc.conf")} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dir, _ = filepath.EvalSymlinks(dir)
	f := mustParse(t, `[name.oping]
prog = ["/usr/bin/oping", "/bin/other"]
args = ["--listen  -q  raw"]
lb = "round-robin"

[local.l]
bootstrap = "l"

[name."oping.secure"]
prog = ["/usr/bin/oping"]
args = [""]
server_crt_file = "`+crt+`"
client_key_file = "`+crt+`"
server_key_file = "`+crt+`"
client_crt_file = "`+crt+`"
server_enc_file = "`+filepath.Join(dir, "enc.conf")+`"
client_enc_file = "`+filepath.Join(dir, "enc.conf")+`"

[name.bare]
`)
	pem := filepath.Join(dir, "crt.pem")
	want := []Name{
		{Name: "oping", Line: 1, LB: irm.RoundRobin, Progs: []Prog{
			{Argv: []string{"/usr/bin/oping", "--listen", "-q", "raw"}, AutoStart: true},
			{Argv: []string{"/bin/other"}}}},
		{Name: "oping.secure", Line: 9, LB: irm.Spill, Progs: []Prog{{Argv: []string{"/usr/bin/oping"}, AutoStart: true}},
			ServerCrt: pem, ServerKey: pem, ClientCrt: pem, ClientKey: pem,
			ServerEnc: filepath.Join(dir, "enc.conf"), ClientEnc: filepath.Join(dir, "enc.conf")},
		{Name: "bare", Line: 19, LB: irm.Spill},
	}
	if !reflect.DeepEqual(f.Names, want) {
		t.Fatalf("names:\n got %+v\nwant %+v", f.Names, want)
	}
	if len(f.IPCPs) != 1 || f.IPCPs[0].Name != "l" {
		t.Fatalf("IPCPs: %+v", f.IPCPs)
	}
}

// TestParseOrder: IPCPs are kept in the order of the file.
func TestParseOrder(t *testing.T) {
	f := mustParse(t, "[unicast.c]\n[local.a]\n[udp4.b]\n[eth-llc.d]\n")
	var got []string
	for _, i := range f.IPCPs {
		got = append(got, i.Type.String()+"."+i.Name)
	}
	if strings.Join(got, " ") != "unicast.c local.a udp4.b eth-llc.d" {
		t.Fatalf("order: %v", got)
	}
	if f := mustParse(t, "# only a comment\n"); len(f.IPCPs)+len(f.Names) != 0 {
		t.Fatalf("empty file: %+v", f)
	}
}

// TestParseErrors: every mistake gives the file, the line, the table and
// the key.
func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	cases := []struct{ text, want string }{
		// TOML syntax, with the key where there is one
		{"[unicast.x\n", "t.conf:1: expected ']'"},
		{"[local.l]\nbootstrap = \"l\"\n[unicast.x\n", "t.conf:3: expected ']'"},
		{"[local.l]\nbootstrap = \"l\nz\"\n", "t.conf:2: [local.l] bootstrap: basic strings cannot have new lines"},
		{"[unicast.u]\n\n\ndht_k = \n", "t.conf:4: [unicast.u] dht_k: "},
		{"[unicast.u]\nmax_ttl = 010\n", "t.conf:2: [unicast.u] max_ttl: integers cannot have leading zeroes"},
		{"[local.l]\nbootstrap = \"l\" junk\n", "t.conf:2: [local.l] bootstrap: "},
		{"\xff", "t.conf: not UTF-8 text"},
		// tables
		{"a = 1\n", "t.conf:1: a: keys must be inside a table"},
		{"[foo.x]\n", "t.conf:1: unknown table [foo.x]"},
		{"[local]\n", "t.conf:1: table [local] must be [local.<name>]"},
		{"[local.a.b]\n", "t.conf:1: table [local.a.b] must be [local.<name>]"},
		{"[local.\"\"]\n", "t.conf:1: table [local.\"\"]: the name must be 1 to 255 bytes"},
		{"[local." + long + "]\n", "the name must be 1 to 255 bytes"},
		{"[[local.x]]\n", "t.conf:1: arrays of tables ([[...]]) are not used in this file"},
		{"[local.x]\n[local.y]\n[local.x]\n", "t.conf:3: table [local.x] is defined twice (first on line 1)"},
		{"[local.x]\n[udp4.x]\n", "t.conf:2: table [udp4.x]: IPCP x is already defined in [local.x]"},
		{"[broadcast.b]\nhash = \"SHA3_256\"\n", "t.conf:2: [broadcast.b] hash: unknown key for a broadcast IPCP"},
		// keys and their values
		{"[local.l]\nfoo = 1\n", "t.conf:2: [local.l] foo: unknown key for a local IPCP: want one of bootstrap, enrol, autobind, reg, conn, hash"},
		{"[local.l]\nbootstrap.x = \"l\"\n", "t.conf:2: [local.l] bootstrap.x: unknown key (dotted keys"},
		{"[local.l]\nbootstrap = \"l\"\nbootstrap = \"m\"\n", "t.conf:3: [local.l] bootstrap: given twice"},
		{"[local.l]\nbootstrap = 1\n", "t.conf:2: [local.l] bootstrap: want a string, not an integer"},
		{"[local.l]\nbootstrap = \"\"\n", "t.conf:2: [local.l] bootstrap: want a name of 1 to 255 bytes"},
		{"[local.l]\nbootstrap = \"" + long + "\"\n", "[local.l] bootstrap: want a name of 1 to 255 bytes"},
		{"[local.l]\nbootstrap = \"l\"\nhash = \"MD5\"\n", "t.conf:3: [local.l] hash: unknown value \"MD5\": want SHA3_224, SHA3_256, SHA3_384 or SHA3_512"},
		{"[local.l]\nbootstrap = \"l\"\nreg = \"a\"\n", "t.conf:3: [local.l] reg: want an array of strings, not a string"},
		{"[local.l]\nbootstrap = \"l\"\nreg = [\"a\", 2]\n", "t.conf:3: [local.l] reg: want an array of strings, not one holding an integer"},
		{"[local.l]\nbootstrap = \"l\"\nreg = [\"\"]\n", "t.conf:3: [local.l] reg: \"\": want names of 1 to 255 bytes"},
		{"[local.l]\nreg = [\"a\"]\n", "t.conf:2: [local.l] reg: needs bootstrap or enrol"},
		{"[local.l]\nhash = \"SHA3_256\"\n", "t.conf:2: [local.l] hash: applies only with bootstrap"},
		{"[local.l]\nenrol = \"x\"\n", "t.conf:2: [local.l] enrol: a local IPCP cannot enroll: use bootstrap"},
		{"[local.l]\nbootstrap = \"l\"\nautobind = true\n", "t.conf:3: [local.l] autobind: only unicast and broadcast IPCPs can be bound"},
		{"[udp4.l]\nbootstrap = \"l\"\nip = \"192.0.2.1\"\nconn = [\"x\"]\n", "t.conf:4: [udp4.l] conn: only unicast and broadcast IPCPs connect"},
		{"[unicast.u]\nautobind = 1\n", "t.conf:2: [unicast.u] autobind: want true or false, not an integer"},
		{"[unicast.u]\nbootstrap = \"a\"\nenrol = \"b\"\n", "t.conf:3: [unicast.u] enrol: give bootstrap or enrol, not both"},
		{"[unicast.u]\nconn = [\"a\"]\n", "t.conf:2: [unicast.u] conn: needs bootstrap or enrol"},
		{"[unicast.u]\nenrol = \"a\"\ndht_k = 3\n", "t.conf:3: [unicast.u] dht_k: applies only with bootstrap"},
		{"[eth-llc.e]\nbootstrap = \"l\"\n", "t.conf:1: [eth-llc.e]: dev (the interface) is required to bootstrap"},
		{"[eth-llc.e]\nbootstrap = \"l\"\ndev = \"0123456789abcdef\"\n", "t.conf:3: [eth-llc.e] dev: want an interface name of 1 to 15 bytes"},
		{"[eth-llc.e]\nbootstrap = \"l\"\ndev = \"e\"\nethertype = 0xA000\n", "t.conf:4: [eth-llc.e] ethertype: unknown key for a eth-llc IPCP"},
		{"[eth-dix.e]\nbootstrap = \"l\"\ndev = \"e\"\nethertype = 0x05FF\n", "t.conf:4: [eth-dix.e] ethertype: 0x05FF is not an Ethertype"},
		{"[eth-dix.e]\nbootstrap = \"l\"\ndev = \"e\"\nethertype = 0xFFFF\n", "[eth-dix.e] ethertype: 0xFFFF is not an Ethertype"},
		{"[eth-dix.e]\nbootstrap = \"l\"\ndev = \"e\"\nethertype = 0x10000\n", "[eth-dix.e] ethertype: 0x10000 is out of range 0..65535"},
		{"[eth-dix.e]\nbootstrap = \"l\"\ndev = \"e\"\nethertype = \"0xA000\"\n", "[eth-dix.e] ethertype: want an integer, not a string"},
		{"[udp4.u]\nbootstrap = \"l\"\n", "t.conf:1: [udp4.u]: ip (the address to bind) is required to bootstrap"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"0.0.0.0\"\n", "t.conf:3: [udp4.u] ip: 0.0.0.0 is not an address to bind"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"2001:db8::1\"\n", "t.conf:3: [udp4.u] ip: \"2001:db8::1\" is not an IPv4 address"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"1.2.3.4\"\ndns = \"1.2.3\"\n", "t.conf:4: [udp4.u] dns: \"1.2.3\" is not an IPv4 address"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"1.2.3.4\"\ndns = \"0.0.0.0\"\n", "t.conf:4: [udp4.u] dns: 0.0.0.0 is not a DNS server address"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"1.2.3.4\"\nport = 0\n", "t.conf:4: [udp4.u] port: 0 is out of range 1..65535"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"1.2.3.4\"\nport = 65536\n", "[udp4.u] port: 65536 is out of range 1..65535"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"1.2.3.4\"\nhash = \"SHA3_256\"\n", "t.conf:4: [udp4.u] hash: unknown key for a udp4 IPCP"},
		{"[udp6.u]\nbootstrap = \"l\"\nip = \"::\"\n", "t.conf:3: [udp6.u] ip: :: is not an address to bind"},
		{"[udp6.u]\nbootstrap = \"l\"\nip = \"192.0.2.1\"\n", "[udp6.u] ip: \"192.0.2.1\" is not an IPv6 address"},
		{"[udp6.u]\nbootstrap = \"l\"\nip = \"::ffff:192.0.2.1\"\n", "[udp6.u] ip: \"::ffff:192.0.2.1\" is not an IPv6 address"},
		{"[udp6.u]\nbootstrap = \"l\"\nip = \"::1\"\ndns = \"nowhere\"\n", "t.conf:4: [udp6.u] dns: \"nowhere\" is not an IPv6 address"},
		{"[unicast.u]\nbootstrap = \"l\"\naddr_size = 8\n", "t.conf:3: [unicast.u] addr_size: 8: the flat address authority needs 4"},
		{"[unicast.u]\nbootstrap = \"l\"\neid_size = 4\n", "[unicast.u] eid_size: 4: only 8 is supported"},
		{"[unicast.u]\nbootstrap = \"l\"\nmax_ttl = 0\n", "[unicast.u] max_ttl: 0 is out of range 1..255"},
		{"[unicast.u]\nbootstrap = \"l\"\nmax_ttl = 256\n", "[unicast.u] max_ttl: 256 is out of range 1..255"},
		{"[unicast.u]\nbootstrap = \"l\"\naddr-auth = \"random\"\n", "[unicast.u] addr-auth: unknown value \"random\": want \"flat\""},
		{"[unicast.u]\nbootstrap = \"l\"\nrouting = \"link_state\"\n", "[unicast.u] routing: unknown value \"link_state\": want \"link-state\", \"lfa\" or \"ecmp\""},
		{"[unicast.u]\nbootstrap = \"l\"\nls_t_recalc = 0\n", "[unicast.u] ls_t_recalc: 0 is out of range 1..4294967295"},
		{"[unicast.u]\nbootstrap = \"l\"\nls_t_update = -1\n", "[unicast.u] ls_t_update: -1 is out of range"},
		{"[unicast.u]\nbootstrap = \"l\"\nls_t_timeo = 1.5\n", "[unicast.u] ls_t_timeo: want an integer, not a float"},
		{"[unicast.u]\nbootstrap = \"l\"\ncongestion = \"cubic\"\n", "[unicast.u] congestion: unknown value \"cubic\": want \"none\" or \"mb-ecn\""},
		{"[unicast.u]\nbootstrap = \"l\"\ndirectory = \"dns\"\n", "[unicast.u] directory: unknown value \"dns\""},
		{"[unicast.u]\nbootstrap = \"l\"\ndht_alpha = 11\n", "t.conf:3: [unicast.u] dht_alpha: 11 is out of range 1..10"},
		{"[unicast.u]\nbootstrap = \"l\"\ndht_k = 0\n", "[unicast.u] dht_k: 0 is out of range 1..20"},
		{"[unicast.u]\nbootstrap = \"l\"\ndht_t_expire = 9\n", "[unicast.u] dht_t_expire: 9 is out of range 10..86400"},
		{"[unicast.u]\nbootstrap = \"l\"\ndht_t_expiry = 86401\n", "[unicast.u] dht_t_expiry: 86401 is out of range 10..86400"},
		{"[unicast.u]\nbootstrap = \"l\"\ndht_t_refresh = 2\n", "[unicast.u] dht_t_refresh: 2 is out of range 3..3600"},
		{"[unicast.u]\nbootstrap = \"l\"\ndht_t_replicate = 3601\n", "[unicast.u] dht_t_replicate: 3601 is out of range 3..3600"},
		{"[unicast.u]\nbootstrap = \"l\"\ndht_t_expire = 10\ndht_t_expiry = 10\n", "t.conf:4: [unicast.u] dht_t_expiry: dht_t_expire and dht_t_expiry are the same setting"},
		{"[unicast.u]\nbootstrap = \"l\"\nhash = { a = 1 }\n", "[unicast.u] hash: want a string, not an inline table"},
		{"[unicast.u]\nbootstrap = \"l\"\nhash = 1979-05-27\n", "[unicast.u] hash: want a string, not a date or time"},
		{"[unicast.u]\nbootstrap = \"l\"\nmax_ttl = 99999999999999999999\n", "[unicast.u] max_ttl: 99999999999999999999 is out of range 1..255"},
		// names
		{"[name.n]\nlb = \"spillover\"\n", "t.conf:2: [name.n] lb: unknown value \"spillover\": want \"spill\" or \"round-robin\""},
		{"[name.n]\nprog = \"/bin/x\"\n", "t.conf:2: [name.n] prog: want an array of strings, not a string"},
		{"[name.n]\nprog = [\"\"]\n", "[name.n] prog: \"\": want names of 1 to 255 bytes"},
		{"[name.n]\nprog = [\"/bin/x\"]\nargs = [\"a\", \"b\"]\n", "t.conf:3: [name.n] args: 2 arguments for 1 programs"},
		{"[name.n]\nargs = [\"a\"]\n", "t.conf:2: [name.n] args: 1 arguments for 0 programs"},
		{"[name.n]\nserver_crt_file = \"/nonexistent/crt.pem\"\n", "t.conf:2: [name.n] server_crt_file: /nonexistent/crt.pem: no such file or directory"},
		{"[name.n]\nclient_enc_file = \"\"\n", "t.conf:2: [name.n] client_enc_file: want a path of 1 to 511 bytes"},
		{"[name.n]\nbootstrap = \"l\"\n", "t.conf:2: [name.n] bootstrap: unknown key: want lb, prog, args"},
		{"[name.n]\n[name.n]\n", "t.conf:2: table [name.n] is defined twice"},
	}
	for _, c := range cases {
		f, err := Parse("t.conf", []byte(c.text))
		var e *Error
		if err == nil || !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %+v, %v\nwant an error with %q", c.text, f, err, c.want)
		}
	}
}

// TestReadFile: a missing file and one too large are errors naming it.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "none")); err == nil || err.Error() != filepath.Join(dir, "none")+": no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte("#"+strings.Repeat("x", MaxSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big); err == nil || !strings.Contains(err.Error(), big+": larger than") {
		t.Errorf("big file: %v", err)
	}
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte("[local.l]\nbootstrap = \"l\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadFile(ok); err != nil || f.Path != ok || len(f.IPCPs) != 1 {
		t.Errorf("ReadFile(ok) = %+v, %v", f, err)
	}
}

// TestBroadcastTables: a broadcast IPCP bootstraps or enrolls, binds and
// connects like a unicast one, and takes no type options.
func TestBroadcastTables(t *testing.T) {
	f, err := Parse("t.conf", []byte("[broadcast.b1]\nbootstrap = \"bl\"\nautobind = true\nreg = [\"b1\"]\n"+
		"[broadcast.b2]\nenrol = \"bl\"\nautobind = true\nconn = [\"b1\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.IPCPs) != 2 || f.IPCPs[0].Type != irm.Broadcast || f.IPCPs[0].Bootstrap != "bl" ||
		f.IPCPs[1].Enrol != "bl" || len(f.IPCPs[1].Conn) != 1 || !f.IPCPs[1].Autobind {
		t.Fatalf("parsed %+v", f.IPCPs)
	}
	if err := f.IPCPs[0].Config.Validate(); err != nil {
		t.Fatal(err)
	}
}
