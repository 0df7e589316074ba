package udp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// The tests run fake nsupdate and nslookup shell scripts, named by
// NsupdateEnv and NslookupEnv. The fakes record their stdin, arguments and
// initial environment (/proc/$$/environ) in their directory.

const opingHex = "7862c6fec5ecaef4aa2e3934725e23b3" // MD5("oping"): the DNS name of "oping"

// syncBuf is a log sink safe for concurrent use.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLog() (*slog.Logger, *syncBuf) {
	b := &syncBuf{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func opingHash(t *testing.T) []byte {
	t.Helper()
	h, err := hash.Sum(hash.MD5, "oping")
	if err != nil {
		t.Fatal(err)
	}
	if DNSName(h) != opingHex {
		t.Fatalf("DNSName = %s, want %s", DNSName(h), opingHex)
	}
	return h
}

// fakes is a directory with a fake nsupdate and nslookup.
type fakes struct {
	t   *testing.T
	dir string
}

// newFakes writes the fakes: nsupdate appends its stdin and "--" to
// nsupdate.log, then runs nsupdateBody; nslookup appends its arguments to
// nslookup.log, then runs nslookupBody. Both save their environment.
func newFakes(t *testing.T, nsupdateBody, nslookupBody string) *fakes {
	t.Helper()
	f := &fakes{t: t, dir: t.TempDir()}
	f.write("nsupdate", fmt.Sprintf("#!/bin/sh\ncat /proc/$$/environ > %[1]s/nsupdate.env\n"+
		"echo \"$#\" >> %[1]s/nsupdate.argc\ncat >> %[1]s/nsupdate.log\necho -- >> %[1]s/nsupdate.log\n%s\n",
		f.dir, nsupdateBody))
	f.write("nslookup", fmt.Sprintf("#!/bin/sh\ncat /proc/$$/environ > %[1]s/nslookup.env\n"+
		"echo \"$@\" >> %[1]s/nslookup.log\n%s\n", f.dir, nslookupBody))
	t.Setenv(NsupdateEnv, filepath.Join(f.dir, "nsupdate"))
	t.Setenv(NslookupEnv, filepath.Join(f.dir, "nslookup"))
	return f
}

func (f *fakes) write(name, body string) {
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(body), 0o755); err != nil {
		f.t.Fatal(err)
	}
}

// read returns a file the fakes wrote, "" if there is none.
func (f *fakes) read(name string) string {
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		f.t.Fatal(err)
	}
	return string(b)
}

// waitFor polls file name until it holds want.
func (f *fakes) waitFor(name, want string) {
	f.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if f.read(name) == want {
			return
		}
	}
	f.t.Fatalf("%s:\n%q\nwant\n%q", name, f.read(name), want)
}

// testUDP returns the ops of a bootstrapped IPCP with address self and
// DNS server 10.0.0.1 or fd00::1, without a socket or an IPCP.
func testUDP(t *testing.T, v6 bool) (*UDP, *syncBuf) {
	t.Helper()
	log, buf := testLog()
	u := newUDP(nil, log, v6)
	server, self := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	if v6 {
		server, self = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	}
	u.ddns = newDDNS(server, self, v6, log)
	if u.ddns == nil {
		t.Fatalf("no DDNS:\n%s", buf)
	}
	t.Cleanup(u.ddns.close)
	return u, buf
}

func TestDDNSRegUnreg(t *testing.T) {
	for _, c := range []struct {
		v6                  bool
		server, self, rtype string
	}{{false, "10.0.0.1", "10.0.0.2", "A"}, {true, "fd00::1", "fd00::2", "AAAA"}} {
		t.Run(c.rtype, func(t *testing.T) {
			f := newFakes(t, "exit 0", "exit 1")
			u, log := testUDP(t, c.v6)
			h := opingHash(t)
			if err := u.Reg(h); err != nil {
				t.Fatal(err)
			}
			add := fmt.Sprintf("server %s\nupdate add %s 86400 %s %s\nsend\nquit\n--\n", c.server, opingHex, c.rtype, c.self)
			// Reg returns once nsupdate has run.
			if got := f.read("nsupdate.log"); got != add {
				t.Fatalf("nsupdate stdin after Reg:\n%q\nwant\n%q", got, add)
			}
			if env := f.read("nsupdate.env"); env != "" {
				t.Errorf("nsupdate's environment is not empty: %q", env)
			}
			if err := u.Unreg(h); err != nil {
				t.Fatal(err)
			}
			f.waitFor("nsupdate.log", add+fmt.Sprintf("server %s\nupdate delete %s %s\nsend\nquit\n--\n", c.server, opingHex, c.rtype))
			if argc := f.read("nsupdate.argc"); argc != "0\n0\n" {
				t.Errorf("nsupdate argument counts %q, want none", argc)
			}
			if _, ok := u.names[string(h)]; ok {
				t.Error("still registered after Unreg")
			}
			if strings.Contains(log.String(), "failed") {
				t.Errorf("log:\n%s", log)
			}
		})
	}
}

// A failing nsupdate is logged; the registration succeeds.
func TestDDNSRegFailureOnlyLogs(t *testing.T) {
	newFakes(t, "echo 'update failed: REFUSED' >&2; exit 2", "exit 1")
	u, log := testUDP(t, false)
	h := opingHash(t)
	if err := u.Reg(h); err != nil {
		t.Fatalf("Reg: %v", err)
	}
	if _, ok := u.names[string(h)]; !ok {
		t.Error("not registered")
	}
	want := "DDNS: add " + opingHex + " on 10.0.0.1 failed: exit status 2: update failed: REFUSED."
	if !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
}

// A hanging nsupdate is killed after the timeout; Unreg does not wait for
// it, and updates run in order.
func TestDDNSUpdateTimeout(t *testing.T) {
	f := newFakes(t, "sleep 30", "exit 1")
	u, log := testUDP(t, false)
	u.ddns.timeout = 300 * time.Millisecond
	h := opingHash(t)
	start := time.Now()
	if err := u.Unreg(h); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("Unreg took %v", d)
	}
	if err := u.Reg(h); err != nil { // waits for the delete, then its add
		t.Fatal(err)
	}
	if d := time.Since(start); d < 600*time.Millisecond || d > 5*time.Second {
		t.Errorf("Unreg+Reg took %v, want two timeouts of 300ms", d)
	}
	want := fmt.Sprintf("server 10.0.0.1\nupdate delete %[1]s A\nsend\nquit\n--\n"+
		"server 10.0.0.1\nupdate add %[1]s 86400 A 10.0.0.2\nsend\nquit\n--\n", opingHex)
	if got := f.read("nsupdate.log"); got != want {
		t.Errorf("nsupdate stdin:\n%q\nwant\n%q", got, want)
	}
	l := log.String()
	if i, j := strings.Index(l, "delete "+opingHex+" on 10.0.0.1 failed: timed out after 300ms"),
		strings.Index(l, "add "+opingHex+" on 10.0.0.1 failed: timed out after 300ms"); i < 0 || j < i {
		t.Errorf("log:\n%s", l)
	}
}

// nslookupOut prints BIND nslookup's output for an answer addr.
func nslookupOut(addr string) string {
	return fmt.Sprintf(`printf 'Server:\t\t%%s\nAddress:\t%%s#53\n\nName:\t%%s\nAddress: %s\n\n' "$2" "$2" "$1"`, addr)
}

func TestDDNSQuery(t *testing.T) {
	for _, c := range []struct {
		v6           bool
		server, addr string
	}{{false, "10.0.0.1", "10.0.0.2"}, {true, "fd00::1", "fd00::7"}} {
		t.Run(c.addr, func(t *testing.T) {
			t.Setenv(HostsEnv, filepath.Join(t.TempDir(), "none")) // no fallback
			f := newFakes(t, "exit 1", nslookupOut(c.addr))
			u, log := testUDP(t, c.v6)
			h := opingHash(t)
			for range 2 {
				if err := u.Query(context.Background(), h); err != nil {
					t.Fatalf("Query: %v\n%s", err, log)
				}
			}
			if got := u.dir[string(h)]; got != netip.MustParseAddr(c.addr) {
				t.Errorf("cached %v, want %s", got, c.addr)
			}
			// Once: the second query is answered from the cache.
			if got, want := f.read("nslookup.log"), opingHex+" "+c.server+"\n"; got != want {
				t.Errorf("nslookup arguments %q, want %q", got, want)
			}
			if env := f.read("nslookup.env"); env != "" {
				t.Errorf("nslookup's environment is not empty: %q", env)
			}
		})
	}
}

// Without a usable answer from nslookup, the hosts file decides.
func TestDDNSQueryFallback(t *testing.T) {
	for _, c := range []struct {
		name, body string
	}{
		{"garbage", "echo hello; echo 'Address: nonsense'"},
		{"nxdomain", `printf 'Server:\t\t%s\nAddress:\t%s#53\n\n** server can'"'"'t find %s: NXDOMAIN\n\n' "$2" "$2" "$1"; exit 1`},
		{"server only", `printf 'Server:\t\t%s\nAddress:\t%s#53\n\n' "$2" "$2"`},
		{"wrong family", nslookupOut("fd00::2")},
		{"all zero", nslookupOut("0.0.0.0")},
		{"error", "echo ';; connection timed out; no servers could be reached'; exit 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hosts := filepath.Join(t.TempDir(), "hosts")
			if err := os.WriteFile(hosts, []byte("10.0.0.9 "+opingHex+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv(HostsEnv, hosts)
			f := newFakes(t, "exit 1", c.body)
			u, log := testUDP(t, false)
			h := opingHash(t)
			if err := u.Query(context.Background(), h); err != nil {
				t.Fatalf("Query: %v\n%s", err, log)
			}
			if f.read("nslookup.log") == "" {
				t.Fatal("nslookup not run")
			}
			if got := u.dir[string(h)]; got != netip.MustParseAddr("10.0.0.9") {
				t.Errorf("cached %v, want the hosts file's 10.0.0.9\n%s", got, log)
			}
			// Neither: the name is unknown.
			t.Setenv(HostsEnv, filepath.Join(t.TempDir(), "none"))
			clear(u.dir)
			if err := u.Query(context.Background(), h); !errors.Is(err, oerr.ENAME) {
				t.Errorf("Query without a hosts entry: %v, want ENAME", err)
			}
		})
	}
}

// nslookup's exit status does not matter when it printed an answer (BIND's
// exits 1 when one of its A and AAAA queries fails).
func TestDDNSQueryAnswerAndFailure(t *testing.T) {
	t.Setenv(HostsEnv, filepath.Join(t.TempDir(), "none"))
	newFakes(t, "exit 1", nslookupOut("10.0.0.2")+"; exit 1")
	u, log := testUDP(t, false)
	h := opingHash(t)
	if err := u.Query(context.Background(), h); err != nil {
		t.Fatalf("Query: %v\n%s", err, log)
	}
	if got := u.dir[string(h)]; got != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("cached %v, want 10.0.0.2", got)
	}
}

// A hanging nslookup is killed after the timeout, with its children, and
// the hosts file used.
func TestDDNSQueryTimeout(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("10.0.0.9 "+opingHex+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(HostsEnv, hosts)
	f := newFakes(t, "exit 1", "")
	f.write("nslookup", "#!/bin/sh\nsleep 30 &\necho $! > "+f.dir+"/child\nwait\n")
	u, log := testUDP(t, false)
	u.ddns.timeout = 300 * time.Millisecond
	start := time.Now()
	if err := u.Query(context.Background(), opingHash(t)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("Query took %v, want the 300ms timeout", d)
	}
	if !strings.Contains(log.String(), "nslookup: timed out after 300ms") {
		t.Errorf("log:\n%s", log)
	}
	var child int
	if _, err := fmt.Sscan(f.read("child"), &child); err != nil {
		t.Fatalf("child pid: %v", err)
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// Gone, or a zombie waiting for init.
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil || strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("nslookup's child %d outlived the timeout", child)
		}
	}
	// The caller's context bounds it too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	u.ddns.timeout = time.Minute
	start = time.Now()
	if _, err := u.ddns.lookup(ctx, opingHash(t)); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("lookup with a 100ms context: %v after %v", err, time.Since(start))
	}
}

func TestParseNslookup(t *testing.T) {
	const head = "Server:\t\t10.0.0.1\nAddress:\t10.0.0.1#53\n\n"
	for _, c := range []struct {
		name, out string
		v6        bool
		want      string // "" = error
	}{
		{"bind A", head + "Name:\t" + opingHex + "\nAddress: 10.0.0.2\n", false, "10.0.0.2"},
		{"bind AAAA", head + "Name:\t" + opingHex + "\nAddress: fd00::2\n\n", true, "fd00::2"},
		{"non-authoritative", head + "Non-authoritative answer:\nName:\tx\nAddress: 10.0.0.3\n\n", false, "10.0.0.3"},
		{"last of several", head + "Name:\tx\nAddress: 10.0.0.2\nName:\tx\nAddress: 10.0.0.3\n", false, "10.0.0.3"},
		{"A and AAAA, v4", head + "Name:\tx\nAddress: 10.0.0.2\nName:\tx\nAddress: fd00::2\n", false, "10.0.0.2"},
		{"A and AAAA, v6", head + "Name:\tx\nAddress: 10.0.0.2\nName:\tx\nAddress: fd00::2\n", true, "fd00::2"},
		{"port stripped", "Name:\tx\nAddress: 10.0.0.2#53\n", false, "10.0.0.2"},
		{"busybox", "Server:\t\t10.0.0.1\nAddress:\t10.0.0.1:53\n\nName:\tx\nAddress: 10.0.0.2\n", false, "10.0.0.2"},
		{"no trailing newline", "Name:\tx\nAddress: 10.0.0.2", false, "10.0.0.2"},
		{"mapped in v6", "Name:\tx\nAddress: ::ffff:10.0.0.2\n", true, ""},
		{"server only", head, false, ""},
		{"nxdomain", head + "** server can't find x: NXDOMAIN\n\n", false, ""},
		{"no answer", head + "*** Can't find x: No answer\n", true, ""},
		{"wrong family", head + "Name:\tx\nAddress: 10.0.0.2\n", true, ""},
		{"unspecified", "Name:\tx\nAddress: 0.0.0.0\n", false, ""},
		{"garbage", "Name:\tx\nAddress: 10.0.0.300\n", false, ""},
		{"empty", "", false, ""},
	} {
		a, err := parseNslookup([]byte(c.out), c.v6)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: got %v, want an error", c.name, a)
			}
			continue
		}
		if err != nil || a != netip.MustParseAddr(c.want) {
			t.Errorf("%s: got %v, %v; want %s", c.name, a, err, c.want)
		}
	}
}

func TestNewDDNS(t *testing.T) {
	server, self := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	f := newFakes(t, "exit 0", "exit 0")
	log, buf := testLog()
	if d := newDDNS(netip.IPv4Unspecified(), self, false, log); d != nil {
		t.Error("DDNS without a server")
	}
	if d := newDDNS(netip.Addr{}, self, false, log); d != nil {
		t.Error("DDNS without a server")
	}
	if buf.String() != "" {
		t.Errorf("logged without a server: %s", buf)
	}
	d := newDDNS(server, self, false, log)
	if d == nil {
		t.Fatalf("no DDNS:\n%s", buf)
	}
	d.close()
	if d.nsupdate != filepath.Join(f.dir, "nsupdate") || d.nslookup != filepath.Join(f.dir, "nslookup") {
		t.Errorf("tools %s, %s", d.nsupdate, d.nslookup)
	}
	d.reg(opingHash(t)) // after close: returns at once, runs nothing
	d.unreg(opingHash(t))
	if f.read("nsupdate.log") != "" {
		t.Error("nsupdate ran after close")
	}

	for _, missing := range []string{NsupdateEnv, NslookupEnv} {
		t.Setenv(missing, filepath.Join(f.dir, "missing"))
		log, buf := testLog()
		if d := newDDNS(server, self, false, log); d != nil {
			d.close()
			t.Errorf("DDNS without %s", missing)
		}
		tool := strings.ToLower(strings.TrimPrefix(missing, "OUROBOROS_"))
		if l := buf.String(); strings.Count(l, "level=WARN") != 1 || !strings.Contains(l, "no "+tool) ||
			!strings.Contains(l, "dynamic DNS disabled") {
			t.Errorf("log without %s:\n%s", tool, l)
		}
		t.Setenv(missing, filepath.Join(f.dir, tool))
	}
}

// Bootstrap reads the dns address from the configuration: udp4 as a
// little-endian s_addr, udp6 as 16 bytes; zero means none.
func TestBootstrapDNS(t *testing.T) {
	newFakes(t, "exit 0", "exit 0")
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := uint32(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	le := func(a string) uint32 {
		b := netip.MustParseAddr(a).As4()
		return binary.LittleEndian.Uint32(b[:])
	}
	layer := "l"
	for _, c := range []struct {
		name string
		conf *pb.IpcpConfigMsg
		dns  string // "" = no DDNS
	}{
		{"udp4", &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: &layer},
			Udp4: &pb.Udp4ConfigMsg{IpAddr: ptr(le("127.0.0.1")), Port: &port, DnsAddr: ptr(le("127.0.0.53"))}}, "127.0.0.53"},
		{"udp4 none", &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: &layer},
			Udp4: &pb.Udp4ConfigMsg{IpAddr: ptr(le("127.0.0.1")), Port: &port, DnsAddr: ptr(uint32(0))}}, ""},
		{"udp6", &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: &layer},
			Udp6: &pb.Udp6ConfigMsg{IpAddr: net.IPv6loopback, Port: &port, DnsAddr: net.ParseIP("fd00::53")}}, "fd00::53"},
		{"udp6 none", &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: &layer},
			Udp6: &pb.Udp6ConfigMsg{IpAddr: net.IPv6loopback, Port: &port, DnsAddr: make([]byte, 16)}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			log, buf := testLog()
			u := newUDP(nil, log, c.conf.Udp6 != nil)
			if _, _, err := u.Bootstrap(context.Background(), c.conf); err != nil {
				if c.conf.Udp6 != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				t.Fatal(err)
			}
			defer u.Close()
			switch {
			case c.dns == "" && u.ddns != nil:
				t.Errorf("DDNS with server %v", u.ddns.server)
			case c.dns != "" && (u.ddns == nil || u.ddns.server != netip.MustParseAddr(c.dns)):
				t.Errorf("DDNS %+v, want server %s\n%s", u.ddns, c.dns, buf)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
