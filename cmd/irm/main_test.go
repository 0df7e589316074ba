package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/irmtest"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/irm"
)

// irmRun runs one command line in-process.
func irmRun(c *irm.Client, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e, c)
	return code, o.String(), e.String()
}

// system is a fake IRMd with a few IPCPs, as irm ipcp list would show them.
func system(t *testing.T, ipcps ...irm.IPCPInfo) (*irmtest.Server, *irmtest.Fake) {
	f := irmtest.NewFake()
	for _, i := range ipcps {
		f.AddIPCP(i)
	}
	return irmtest.Start(t, f.Handle), f
}

// sent returns the requests with the given code.
func sent(srv *irmtest.Server, code pb.IrmMsgCode) []*pb.IrmMsg {
	var out []*pb.IrmMsg
	for _, r := range srv.Requests() {
		if r.GetCode() == code {
			out = append(out, r)
		}
	}
	return out
}

const (
	create    = pb.IrmMsgCode_IRM_CREATE_IPCP
	destroy   = pb.IrmMsgCode_IRM_DESTROY_IPCP
	list      = pb.IrmMsgCode_IRM_LIST_IPCPS
	bootstrap = pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP
	enroll    = pb.IrmMsgCode_IRM_ENROLL_IPCP
	connect   = pb.IrmMsgCode_IRM_CONNECT_IPCP
	disc      = pb.IrmMsgCode_IRM_DISCONNECT_IPCP
	bindProg  = pb.IrmMsgCode_IRM_BIND_PROGRAM
	unbindPrg = pb.IrmMsgCode_IRM_UNBIND_PROGRAM
	bindProc  = pb.IrmMsgCode_IRM_BIND_PROCESS
	unbindPrc = pb.IrmMsgCode_IRM_UNBIND_PROCESS
	mkName    = pb.IrmMsgCode_IRM_CREATE_NAME
	rmName    = pb.IrmMsgCode_IRM_DESTROY_NAME
	names     = pb.IrmMsgCode_IRM_LIST_NAMES
	reg       = pb.IrmMsgCode_IRM_REG_NAME
	unreg     = pb.IrmMsgCode_IRM_UNREG_NAME
)

var lan1 = irm.IPCPInfo{PID: 11, Type: irm.Unicast, Name: "lan1", Layer: "LAN"}

func TestMatches(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		word, kw string
		want     bool
	}{
		{"", "ipcp", true}, {"i", "ipcp", true}, {"ipcp", "ipcp", true},
		{"ipcps", "ipcp", false}, {"p", "ipcp", false}, {"IPCP", "ipcp", false},
	} {
		if got := matches(tc.word, tc.kw); got != tc.want {
			t.Errorf("matches(%q, %q) = %v", tc.word, tc.kw, got)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"", "", true}, {"", "x", false},
		{"dt", "dt", true}, {"dt", "mgmt", false}, {"d*", "dt", true},
		{"lan*", "lan", true}, {"lan*", "lan12", true}, {"lan*", "la", false},
		{"*2", "lan12", true}, {"*1", "lan12", false}, {"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false}, {"**", "x", true}, {"a*a", "a", false},
		{"*ab", "aab", true}, {"?", "x", false},
	} {
		if got := wildcardMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

// TestDispatch checks that abbreviated command lines reach the right request,
// the first keyword in table order winning: "b p" and "b pro" are bind
// program, "b proc" bind process.
func TestDispatch(t *testing.T) {
	leakcheck.Check(t)
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		args  string
		codes []pb.IrmMsgCode
	}{
		{"i c n foo t local", []pb.IrmMsgCode{create}},
		{"ipcp cr name foo type eth-dix", []pb.IrmMsgCode{create}},
		{"i d n lan1", []pb.IrmMsgCode{list, destroy}},
		{"i l", []pb.IrmMsgCode{list}},
		{"i conn n lan1 d lan2", []pb.IrmMsgCode{list, connect, connect}},
		{"i di n lan1 d lan2", []pb.IrmMsgCode{list, disc, disc}},
		{"b proc " + self + " n srv", []pb.IrmMsgCode{bindProc}},
		{"b pro /bin/sh n srv", []pb.IrmMsgCode{bindProg}},
		{"b i lan1 n srv", []pb.IrmMsgCode{list, bindProc}},
		{"b i nosuch n srv", []pb.IrmMsgCode{list}},
		{"u p oping n srv", []pb.IrmMsgCode{unbindPrg}},
		{"u proc 12 n srv", []pb.IrmMsgCode{unbindPrc}},
		{"u i lan1 n srv", []pb.IrmMsgCode{list, unbindPrc}},
		{"n c srv", []pb.IrmMsgCode{mkName}},
		{"n d srv", []pb.IrmMsgCode{rmName}},
		{"n r srv l LAN", []pb.IrmMsgCode{list, mkName, reg}},
		{"n u srv i lan1", []pb.IrmMsgCode{list, unreg}},
		{"n l", []pb.IrmMsgCode{names}},
	} {
		srv, f := system(t, lan1)
		f.AddName(irm.NameInfo{Name: "srv"})
		code, _, stderr := irmRun(srv.Client(), strings.Fields(tc.args)...)
		if code != 0 || stderr != "" {
			t.Errorf("irm %s: exit %d, stderr %q", tc.args, code, stderr)
		}
		if got := srv.Codes(); !slices.Equal(got, tc.codes) {
			t.Errorf("irm %s: requests %v, want %v", tc.args, got, tc.codes)
		}
	}
	// Destroying an IPCP that does not exist says so on stderr and fails
	// (the reference succeeds silently); stdout stays empty.
	srv, _ := system(t, lan1)
	code, stdout, stderr := irmRun(srv.Client(), "i", "d", "n", "nosuch")
	if code != 1 || stdout != "" || stderr != "No IPCP named \"nosuch\".\n" {
		t.Errorf("irm i d n nosuch: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got := srv.Codes(); !slices.Equal(got, []pb.IrmMsgCode{list}) {
		t.Errorf("irm i d n nosuch: requests %v, want only a list", got)
	}

	// The empty word matches the first keyword: "irm '' ''" is irm ipcp create.
	srv, _ = system(t)
	if code, _, _ := irmRun(srv.Client(), "", "", "n", "x", "t", "udp6"); code != 0 {
		t.Errorf("irm '' '' n x t udp6: exit %d", code)
	}
	if r := sent(srv, create); len(r) != 1 || r[0].GetIpcpInfo().GetType() != 6 ||
		r[0].GetIpcpInfo().GetName() != "x" {
		t.Errorf("irm '' '' n x t udp6 sent %v", srv.Requests())
	}
}

// TestUsage checks exit status and output of mistakes and help requests; none
// of them may reach the IRMd.
func TestUsage(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // prefix
		stderr string // prefix
	}{
		{nil, 1, "", topUsage},
		{[]string{"help"}, 0, topUsage, ""},
		{[]string{"--help"}, 0, topUsage, ""},
		{[]string{"h"}, 0, topUsage, ""},
		{[]string{"foo"}, 1, "", "\"foo\" is unknown, try \"irm help\".\n"},
		{[]string{"ipcp"}, 1, "", ipcpUsage},
		{[]string{"ipcp", "help"}, 0, ipcpUsage, ""},
		{[]string{"i", "h"}, 0, ipcpUsage, ""},
		{[]string{"ipcp", "zap"}, 1, "", "\"zap\" is unknown, try \"irm ipcp help\".\n"},
		{[]string{"bind"}, 1, "", bindUsage},
		{[]string{"bind", "help"}, 0, bindUsage, ""},
		{[]string{"b", "p", "help"}, 0, bindProgramUsage, ""},
		{[]string{"unbind", "help"}, 0, unbindUsage, ""},
		{[]string{"name", "help"}, 0, nameUsage, ""},
		{[]string{"name", "destroy", "help"}, 0, nameDestroyUsage, ""},
		{[]string{"ipcp", "create", "help"}, 0, ipcpCreateUsage, ""},
		{[]string{"ipcp", "create", "name", "x"}, 1, "", ipcpCreateUsage},
		{[]string{"ipcp", "create", "name"}, 1, "", ipcpCreateUsage},
		{[]string{"ipcp", "create", "type", "local"}, 1, "", ipcpCreateUsage},
		{[]string{"ipcp", "create", "name", "x", "type", "foo"}, 1, "",
			"IPCP type \"foo\" is unknown.\n" + ipcpCreateUsage},
		{[]string{"ipcp", "create", "name", "x", "type", "uni"}, 1, "",
			"IPCP type \"uni\" is unknown.\n"},
		{[]string{"ipcp", "create", "bogus", "x"}, 1, "",
			"\"bogus\" is unknown, try \"irm ipcp create help\".\n"},
		{[]string{"ipcp", "destroy"}, 1, "", ipcpDestroyUsage},
		{[]string{"ipcp", "bootstrap", "name", "x"}, 1, "", ipcpBootstrapUsage},
		{[]string{"ipcp", "bootstrap", "layer", "x"}, 1, "", ipcpBootstrapUsage},
		{[]string{"ipcp", "bootstrap", "name", "x", "layer", "l", "bogus", "1"}, 1, "",
			"Unknown option: \"bogus\".\n"},
		{[]string{"ipcp", "bootstrap", "name", "x", "layer", "l", "type", "foo"}, 1, "",
			"IPCP type \"foo\" is unknown.\n" + ipcpBootstrapUsage},
		{[]string{"ipcp", "bootstrap", "name", "x", "layer", "l", "hash", "MD5"}, 1, "",
			"Unknown parameter for hash: \"MD5\".\n"},
		{[]string{"ipcp", "bootstrap", "name", "x", "layer", "l", "routing", "link-state"}, 1, "",
			"Unknown parameter for routing: \"link-state\".\n"},
		{[]string{"ipcp", "bootstrap", "name", "x", "layer", "l", "ttl", "256"}, 1, "",
			"Unknown parameter for ttl: \"256\".\n"},
		{[]string{"ipcp", "bootstrap", "name", "x", "layer", "l", "ip", "1.2.3"}, 1, "",
			"Invalid IP address: \"1.2.3\".\n"},
		{[]string{"ipcp", "bootstrap", "name", "x", "layer", strings.Repeat("l", 256)}, 1, "",
			"Layer name too long.\n"},
		{[]string{"ipcp", "enroll", "name", "x"}, 1, "", ipcpEnrollUsage},
		{[]string{"ipcp", "connect", "name", "x"}, 1, "", ipcpConnectUsage},
		{[]string{"ipcp", "disconnect", "dst", "x"}, 1, "", ipcpDisconnectUsage},
		{[]string{"ipcp", "list", "type", "foo"}, 1, "", "IPCP type \"foo\" is unknown.\n"},
		{[]string{"bind", "program", "/bin/sh"}, 1, "", bindProgramUsage},
		{[]string{"bind", "program", "/bin/sh", "name", "x", "au"}, 1, "",
			"\"au\" is unknown, try \"irm bind program help\".\n"},
		{[]string{"bind", "process", "abc", "name", "x"}, 1, "", "\"abc\" is not a valid process id.\n"},
		{[]string{"bind", "process", "-3", "name", "x"}, 1, "", "\"-3\" is not a valid process id.\n"},
		{[]string{"bind", "process", "2147483646", "name", "x"}, 1, "",
			"\"2147483646\" is not a valid process id.\n"},
		{[]string{"unbind", "process", "x1", "name", "x"}, 1, "", "\"x1\" is not a valid process id.\n"},
		{[]string{"bind", "ipcp", "lan1"}, 1, "", bindIPCPUsage},
		{[]string{"unbind", "ipcp", "lan1"}, 1, "", unbindIPCPUsage},
		{[]string{"name", "create"}, 1, "", nameCreateUsage},
		{[]string{"name", "create", strings.Repeat("n", 256)}, 1, "", "Name too long.\n"},
		{[]string{"name", "create", "x", "lb", "spill"}, 1, "", "Unknown parameter for lb: \"spill\".\n"},
		{[]string{"name", "destroy"}, 1, "", nameDestroyUsage},
		{[]string{"name", "destroy", "a", "b"}, 1, "", nameDestroyUsage},
		{[]string{"name", "register", "x"}, 1, "", nameRegisterUsage},
		{[]string{"name", "unregister", "x"}, 1, "", nameUnregisterUsage},
		{[]string{"name", "list", "foo", "bar"}, 1, "", "\"foo\" is unknown, try \"irm name list help\".\n"},
	} {
		srv, _ := system(t, lan1)
		code, stdout, stderr := irmRun(srv.Client(), tc.args...)
		if code != tc.code || !strings.HasPrefix(stdout, tc.stdout) || !strings.HasPrefix(stderr, tc.stderr) ||
			(tc.stdout == "") != (stdout == "") || (tc.stderr == "") != (stderr == "") {
			t.Errorf("irm %q: exit %d, stdout %q, stderr %q; want %d, %q, %q",
				tc.args, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("irm %q sent %d requests", tc.args, n)
		}
	}
}

func TestEthertype(t *testing.T) {
	leakcheck.Check(t)
	const bad = "Recommended range: 0xA000-0xEFFF.\n"
	for _, tc := range []struct {
		v    string
		want uint32 // 0: refused
	}{
		{"0xA007", 0xA007}, {"a007", 0xA007}, {"0X0600", 0x0600}, {"fffe", 0xFFFE},
		{"0x05ff", 0}, {"ffff", 0}, {"0xffff", 0}, {"40960", 0}, {"zz", 0}, {"0x", 0}, {"-1", 0},
	} {
		srv, _ := system(t, irm.IPCPInfo{PID: 5, Type: irm.EthDIX, Name: "e", Layer: irm.NotEnrolled})
		code, _, stderr := irmRun(srv.Client(), "i", "b", "n", "e", "l", "eth", "dev", "lo", "ethertype", tc.v)
		if tc.want == 0 {
			if code != 1 || stderr != "Invalid Ethertype: \""+tc.v+"\".\n"+bad {
				t.Errorf("ethertype %s: exit %d, stderr %q", tc.v, code, stderr)
			}
			continue
		}
		r := sent(srv, bootstrap)
		if code != 0 || len(r) != 1 || r[0].GetConf().GetEth().GetEthertype() != tc.want {
			t.Errorf("ethertype %s: exit %d, sent %v, want 0x%04X", tc.v, code, r, tc.want)
		}
	}
}

func TestNoIRMd(t *testing.T) {
	leakcheck.Check(t)
	// A run directory created long ago: irm does not wait for an IRMd to
	// start there.
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	c := &irm.Client{Dir: dir}
	for _, args := range [][]string{
		{"ipcp", "list"}, {"name", "list"}, {"ipcp", "create", "name", "x", "type", "local"},
		{"ipcp", "bootstrap", "name", "x", "layer", "l"}, {"name", "register", "x", "layer", "l"},
	} {
		code, stdout, stderr := irmRun(c, args...)
		if code != 1 || stdout != "" ||
			stderr != "Failed to communicate with the Ouroboros IPC Resource Manager daemon.\n" {
			t.Errorf("irm %q without IRMd: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// TestIRMdErrorsAreExplained: a refusal by the IRMd leaves stdout as the
// reference's (empty) and says why on stderr.
func TestIRMdErrorsAreExplained(t *testing.T) {
	leakcheck.Check(t)
	srv := irmtest.Start(t, irmtest.Result(-1001))
	code, stdout, stderr := irmRun(srv.Client(), "ipcp", "create", "name", "x", "type", "udp6")
	if code != 1 || stdout != "" || stderr != "irm: create udp6 IPCP \"x\": wrong IPCP type.\n" {
		t.Errorf("refused create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestIPCPList(t *testing.T) {
	leakcheck.Check(t)
	srv, _ := system(t,
		irm.IPCPInfo{PID: 23932, Type: irm.EthLLC, Name: "llc", Layer: "llc"},
		irm.IPCPInfo{PID: 7, Type: irm.Local, Name: "local1", Layer: irm.NotEnrolled},
		irm.IPCPInfo{PID: 1234567, Type: 9, Name: "weird", Layer: "x"},
		irm.IPCPInfo{PID: 300, Type: irm.Unicast, Name: "a-rather-long-ipcp-name", Layer: "LAN"},
	)
	const rule = "+---------+----------------------+------------+----------------------+\n"
	const head = rule +
		"|     pid |                 name |       type |                layer |\n" +
		rule
	want := head +
		"|       7 |               local1 |      local |        Not enrolled. |\n" +
		"|     300 | a-rather-long-ipcp-name |    unicast |                  LAN |\n" +
		"|   23932 |                  llc |    eth-llc |                  llc |\n" +
		"| 1234567 |                weird |    UNKNOWN |                    x |\n" +
		rule + "\n"
	code, stdout, stderr := irmRun(srv.Client(), "ipcp", "list")
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("irm ipcp list: exit %d, stderr %q, stdout\n%s\nwant\n%s", code, stderr, stdout, want)
	}

	want = head + "|   23932 |                  llc |    eth-llc |                  llc |\n" + rule + "\n"
	for _, args := range [][]string{{"type", "eth-llc"}, {"name", "l*c"}, {"layer", "llc"}} {
		_, stdout, _ := irmRun(srv.Client(), append([]string{"i", "l"}, args...)...)
		if stdout != want {
			t.Errorf("irm ipcp list %q:\n%s\nwant\n%s", args, stdout, want)
		}
	}

	srv, _ = system(t)
	code, stdout, _ = irmRun(srv.Client(), "ipcp", "list")
	if code != 0 || stdout != "No IPCPs in system.\n\n" {
		t.Errorf("empty irm ipcp list: exit %d, %q", code, stdout)
	}
}

func TestNameList(t *testing.T) {
	leakcheck.Check(t)
	srv, f := system(t)
	code, stdout, _ := irmRun(srv.Client(), "name", "list")
	if code != 0 || stdout != "No names in system.\n\n" {
		t.Errorf("empty irm name list: exit %d, %q", code, stdout)
	}
	f.AddName(irm.NameInfo{Name: "oping", LB: irm.RoundRobin})
	f.AddName(irm.NameInfo{Name: "oping.secure", LB: irm.Spill})
	f.AddName(irm.NameInfo{Name: "other", LB: 5})
	const rule = "+----------------------------------------------------+----------------------+\n"
	const head = rule +
		"|                                               name |  load-balance policy |\n" +
		rule
	want := head +
		"|                                              oping |          round-robin |\n" +
		"|                                       oping.secure |            spillover |\n" +
		"|                                              other |              UNKNOWN |\n" +
		rule
	code, stdout, _ = irmRun(srv.Client(), "name", "list")
	if code != 0 || stdout != want {
		t.Errorf("irm name list: exit %d\n%s\nwant\n%s", code, stdout, want)
	}
	want = head +
		"|                                              oping |          round-robin |\n" +
		"|                                       oping.secure |            spillover |\n" +
		rule
	if _, stdout, _ = irmRun(srv.Client(), "n", "l", "l", "op"); stdout != want {
		t.Errorf("irm name list list op:\n%s\nwant\n%s", stdout, want)
	}
	if _, stdout, _ = irmRun(srv.Client(), "name", "list", "op"); stdout != want {
		t.Errorf("irm name list op:\n%s\nwant\n%s", stdout, want)
	}
}
