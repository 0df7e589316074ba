package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestUDPDDNS: two udp4 hosts (127.0.0.1, 127.0.0.2) bootstrapped with a
// dynamic DNS server, 127.0.0.53, that is really a pair of fake nsupdate and
// nslookup scripts (OUROBOROS_NSUPDATE, OUROBOROS_NSLOOKUP) sharing a
// directory: nsupdate logs the update script it receives, nslookup answers
// for one name, as BIND's nslookup prints it. The hosts file is empty, so a
// name resolves only through nslookup.
func TestUDPDDNS(t *testing.T) {
	const name = "ddns.b"
	h, err := hash.Sum(hash.MD5, name)
	if err != nil {
		t.Fatal(err)
	}
	hex := udp.DNSName(h)
	dir := t.TempDir()
	script := func(file, body string) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nsupdate := script("nsupdate", fmt.Sprintf("cat >> %[1]s/nsupdate.log\necho -- >> %[1]s/nsupdate.log\n", dir))
	nslookup := script("nslookup", fmt.Sprintf(`echo "$@" >> %s/nslookup.log
if [ "$1" = %s ]; then
	printf 'Server:\t\t%%s\nAddress:\t%%s#53\n\nName:\t%%s\nAddress: 127.0.0.2\n\n' "$2" "$2" "$1"
else
	printf 'Server:\t\t%%s\nAddress:\t%%s#53\n\n** server can'"'"'t find %%s: NXDOMAIN\n\n' "$2" "$2" "$1"
	exit 1
fi
`, dir, hex))
	hosts := script("hosts", "")
	read := func(file string) string {
		b, _ := os.ReadFile(filepath.Join(dir, file))
		return string(b)
	}

	opt := rig.Options{NoDirect: true, Env: []string{udp.HostsEnv + "=" + hosts,
		udp.NsupdateEnv + "=" + nsupdate, udp.NslookupEnv + "=" + nslookup}}
	a := setup(t, opt)
	b := rig.Start(t, opt)
	port := strconv.Itoa(freeUDPPort(t, "127.0.0.1", "127.0.0.2"))
	a.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp-a", "layer", "udp-layer", "ip", "127.0.0.1", "port", port, "dns", "127.0.0.53")
	b.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp-b", "layer", "udp-layer", "ip", "127.0.0.2", "port", port, "dns", "127.0.0.53")

	// Registering publishes the name: nsupdate has run when irm returns.
	b.Irm("name", "register", name, "layer", "udp-layer")
	add := fmt.Sprintf("server 127.0.0.53\nupdate add %s 86400 A 127.0.0.2\nsend\nquit\n--\n", hex)
	if got := read("nsupdate.log"); got != add {
		t.Fatalf("nsupdate stdin:\n%q\nwant\n%q\nB:\n%s", got, add, b.Tail())
	}

	// A resolves the name with nslookup and allocates a flow to B.
	srv := roleIn(t, b, "echo-server", name)
	srv.WaitOutput(t, "ready", 10*time.Second)
	f, err := flow.Alloc(a.ctx(), name, qos.Raw)
	if err != nil {
		t.Fatalf("alloc %s: %v\nnslookup: %q\nA:\n%s", name, err, read("nslookup.log"), a.Tail())
	}
	roundTrip(t, f, []byte("through DDNS"))
	f.Close()
	if got := read("nslookup.log"); !strings.HasPrefix(got, hex+" 127.0.0.53\n") {
		t.Errorf("nslookup arguments %q, want %q", got, hex+" 127.0.0.53")
	}

	// An unknown name: nslookup says NXDOMAIN, the hosts file is empty.
	if f, err := flow.Alloc(a.ctx(), "nowhere", qos.Raw); err == nil {
		f.Close()
		t.Error("allocated a flow to an unknown name")
	}

	// Unregistering removes the record (queued: irm does not wait for it).
	b.Irm("name", "unregister", name, "layer", "udp-layer")
	want := add + fmt.Sprintf("server 127.0.0.53\nupdate delete %s A\nsend\nquit\n--\n", hex)
	for deadline := time.Now().Add(10 * time.Second); read("nsupdate.log") != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nsupdate stdin:\n%q\nwant\n%q", read("nsupdate.log"), want)
		}
	}
}
