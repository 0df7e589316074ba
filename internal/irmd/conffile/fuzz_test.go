package conffile

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/irm"
)

// FuzzParse: whatever the input, Parse does not panic, returns either a
// File or an *Error naming the file, and a File it returns holds only what
// the checks allow.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"[local.l]\nbootstrap = \"l\"\nreg = [\"a\"]\n",
		"[name.oping]\nprog = [\"/usr/bin/oping\"]\nargs = [\"--listen\"]\nlb = \"round-robin\"\n",
		"[eth-dix.e]\nbootstrap = \"ed\"\ndev = \"eth0\"\nethertype = 0xA007\n",
		"[udp4.u]\nbootstrap = \"ul\"\nip = \"192.0.2.10\"\nport = 3_500\ndns = \"192.0.2.53\"\n",
		"[udp6.u]\nbootstrap = \"ul\"\nip = \"2001:db8::1\"\n",
		"[unicast.\"lan.1\"]\nbootstrap = \"LAN\"\nautobind = true\ncongestion = \"lfa\"\ndht_t_expiry = 60\n",
		"[unicast.u2]\nenrol = \"LAN\"\nconn = [\"u1\"]\n",
		"[broadcast.b]\nbootstrap = \"b\"\n",
		"a = 1\n[[x]]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.conf", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Path != "f.conf" || e.Line < 0 || !strings.HasPrefix(err.Error(), "f.conf") {
				t.Fatalf("error %T %q", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, ip := range file.IPCPs {
			if !ip.Type.Valid() || ip.Line < 1 {
				t.Fatalf("IPCP %+v", ip)
			}
			if ip.Name == "" || len(ip.Name) > irm.MaxNameLen || seen[ip.Name] {
				t.Fatalf("IPCP name %q (seen %v)", ip.Name, seen[ip.Name])
			}
			seen[ip.Name] = true
			if ip.Bootstrap != "" && ip.Enrol != "" {
				t.Fatalf("both bootstrap and enrol: %+v", ip)
			}
			if ip.Bootstrap != "" {
				if err := ip.Config.Validate(); err != nil || ip.Config.Layer != ip.Bootstrap || ip.Config.Type != ip.Type {
					t.Fatalf("config %+v: %v", ip.Config, err)
				}
			}
			if (len(ip.Reg) > 0 || len(ip.Conn) > 0) && ip.Bootstrap == "" && ip.Enrol == "" {
				t.Fatalf("reg or conn outside a layer: %+v", ip)
			}
		}
		for _, n := range file.Names {
			if n.Name == "" || len(n.Name) > irm.MaxNameLen || (n.LB != irm.Spill && n.LB != irm.RoundRobin) {
				t.Fatalf("name %+v", n)
			}
			for _, p := range n.Progs {
				if len(p.Argv) == 0 || p.Argv[0] == "" {
					t.Fatalf("program %+v", p)
				}
			}
		}
		again, err := Parse("f.conf", data)
		if err != nil || !reflect.DeepEqual(file, again) {
			t.Fatalf("a second parse differs: %+v, %v", again, err)
		}
	})
}
