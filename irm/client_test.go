package irm_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/irmtest"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

func req(code pb.IrmMsgCode) *pb.IrmMsg { return &pb.IrmMsg{Code: code.Enum()} }

// sentOne checks that exactly want reached the IRMd.
func sentOne(t *testing.T, srv *irmtest.Server, want *pb.IrmMsg) {
	t.Helper()
	got := srv.Requests()
	if len(got) != 1 {
		t.Fatalf("IRMd got %d requests, want 1", len(got))
	}
	if !proto.Equal(got[0], want) {
		t.Errorf("request:\n%s\nwant:\n%s", prototext.Format(got[0]), prototext.Format(want))
	}
}

// TestRequests checks the message each method sends.
func TestRequests(t *testing.T) {
	leakcheck.Check(t)
	ctx := context.Background()
	cases := []struct {
		name string
		call func(c *irm.Client) error
		want *pb.IrmMsg
	}{
		{"CreateIPCP", func(c *irm.Client) error { return c.CreateIPCP(ctx, "lan1", irm.EthDIX) },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_CREATE_IPCP)
				m.IpcpInfo = &pb.IpcpInfoMsg{Type: proto.Uint32(4), Name: proto.String("lan1"),
					Pid: proto.Uint32(0), State: proto.Uint32(0)}
				return m
			}()},
		{"DestroyIPCP", func(c *irm.Client) error { return c.DestroyIPCP(ctx, 4242) },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_DESTROY_IPCP)
				m.Pid = proto.Int32(4242)
				return m
			}()},
		{"EnrollIPCP", func(c *irm.Client) error { return c.EnrollIPCP(ctx, 7, "lan1") },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_ENROLL_IPCP)
				m.Pid, m.Dst = proto.Int32(7), proto.String("lan1")
				return m
			}()},
		{"ConnectIPCP", func(c *irm.Client) error { return c.ConnectIPCP(ctx, 7, "lan1", irm.DTComponent, qos.Voice) },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_CONNECT_IPCP)
				m.Pid, m.Dst, m.Comp = proto.Int32(7), proto.String("lan1"), proto.String("Data Transfer")
				m.Qosspec = ctrl.QoSToPB(qos.Voice)
				return m
			}()},
		{"DisconnectIPCP", func(c *irm.Client) error { return c.DisconnectIPCP(ctx, 7, "lan1", irm.MgmtComponent) },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_DISCONNECT_IPCP)
				m.Pid, m.Dst, m.Comp = proto.Int32(7), proto.String("lan1"), proto.String("Management")
				return m
			}()},
		{"UnbindProgram", func(c *irm.Client) error { return c.UnbindProgram(ctx, "oping", "srv") },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_UNBIND_PROGRAM)
				m.Prog, m.Name = proto.String("oping"), proto.String("srv")
				return m
			}()},
		{"BindProcess", func(c *irm.Client) error { return c.BindProcess(ctx, 99, "srv") },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_BIND_PROCESS)
				m.Pid, m.Name = proto.Int32(99), proto.String("srv")
				return m
			}()},
		{"UnbindProcess", func(c *irm.Client) error { return c.UnbindProcess(ctx, 99, "srv") },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_UNBIND_PROCESS)
				m.Pid, m.Name = proto.Int32(99), proto.String("srv")
				return m
			}()},
		{"CreateName", func(c *irm.Client) error {
			return c.CreateName(ctx, irm.NameInfo{Name: "srv", LB: irm.Spill,
				ServerKey: "/k", ServerCrt: "/c"})
		}, func() *pb.IrmMsg {
			m := req(pb.IrmMsgCode_IRM_CREATE_NAME)
			m.NameInfo = &pb.NameInfoMsg{Name: proto.String("srv"), PolLb: proto.Uint32(1),
				Skey: proto.String("/k"), Scrt: proto.String("/c"), Ckey: proto.String(""),
				Ccrt: proto.String("")}
			return m
		}()},
		{"DestroyName", func(c *irm.Client) error { return c.DestroyName(ctx, "srv") },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_DESTROY_NAME)
				m.Name = proto.String("srv")
				return m
			}()},
		{"RegName", func(c *irm.Client) error { return c.RegName(ctx, "srv", 12) },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_REG_NAME)
				m.Name, m.Pid = proto.String("srv"), proto.Int32(12)
				return m
			}()},
		{"UnregName", func(c *irm.Client) error { return c.UnregName(ctx, "srv", 12) },
			func() *pb.IrmMsg {
				m := req(pb.IrmMsgCode_IRM_UNREG_NAME)
				m.Name, m.Pid = proto.String("srv"), proto.Int32(12)
				return m
			}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := irmtest.Start(t, irmtest.Result(0))
			if err := tc.call(srv.Client()); err != nil {
				t.Fatal(err)
			}
			sentOne(t, srv, tc.want)
		})
	}
}

func TestBootstrapUDP4(t *testing.T) {
	leakcheck.Check(t)
	srv := irmtest.Start(t, irmtest.Result(0))
	conf := irm.DefaultConfig(irm.UDP4, "udp")
	conf.UDP4.IP = netip.MustParseAddr("192.0.2.10")
	conf.UDP4.DNS = netip.MustParseAddr("198.51.100.1")
	conf.UDP4.Port = 4000
	if err := srv.Client().BootstrapIPCP(context.Background(), 31, conf); err != nil {
		t.Fatal(err)
	}
	want := req(pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP)
	want.Pid = proto.Int32(31)
	want.Conf = &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String("udp"), DirHashAlgo: proto.Uint32(1)},
		IpcpType:  proto.Uint32(5),
		Udp4: &pb.Udp4ConfigMsg{
			// s_addr read little-endian: the first octet is the low byte.
			IpAddr:  proto.Uint32(10<<24 | 2<<16 | 0<<8 | 192),
			Port:    proto.Uint32(4000),
			DnsAddr: proto.Uint32(1<<24 | 100<<16 | 51<<8 | 198),
		},
	}
	sentOne(t, srv, want)
}

func TestBindProgram(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	exe := filepath.Join(dir, "prog")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	ctx := context.Background()

	srv := irmtest.Start(t, irmtest.Result(0))
	c := srv.Client()
	if err := c.BindProgram(ctx, "prog", "srv", true, []string{"--listen", "x"}); err != nil {
		t.Fatal(err)
	}
	want := req(pb.IrmMsgCode_IRM_BIND_PROGRAM)
	want.Name = proto.String("srv")
	want.Exec = []string{exe, "--listen", "x", ""} // "" terminates argv
	want.Opts = proto.Uint32(1)
	sentOne(t, srv, want)

	t.Chdir(dir)
	srv = irmtest.Start(t, irmtest.Result(0))
	if err := srv.Client().BindProgram(ctx, "./prog", "srv", false, nil); err != nil {
		t.Fatal(err)
	}
	want.Exec = []string{exe, ""}
	want.Opts = proto.Uint32(0)
	sentOne(t, srv, want)

	for _, tc := range []struct {
		prog, path string
		want       error
	}{
		{"missing", dir, irm.ENOENT},
		{"/nonexistent/prog", dir, irm.ENOENT},
		{"plain", dir, irm.EPERM},
		{"./plain", dir, irm.EPERM},
		{"prog", "relative:" + dir, irm.EINVAL},
		{"prog", dir + ":relative", nil}, // found before the bad entry
		{"", dir, irm.EINVAL},
	} {
		t.Setenv("PATH", tc.path)
		srv := irmtest.Start(t, irmtest.Result(0))
		err := srv.Client().BindProgram(ctx, tc.prog, "srv", false, nil)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("BindProgram(%q) with PATH=%s: %v, want %v", tc.prog, tc.path, err, tc.want)
		}
		if n := len(srv.Requests()); tc.want != nil && n != 0 {
			t.Errorf("BindProgram(%q) failed locally but sent %d requests", tc.prog, n)
		}
	}
}

// TestLocalChecks covers arguments the library refuses without asking the IRMd.
func TestLocalChecks(t *testing.T) {
	leakcheck.Check(t)
	ctx := context.Background()
	srv := irmtest.Start(t, irmtest.Result(0))
	c := srv.Client()
	long := strings.Repeat("x", irm.MaxNameLen+1)
	for name, err := range map[string]error{
		"unbind program without name": c.UnbindProgram(ctx, "oping", ""),
		"unbind process without name": c.UnbindProcess(ctx, 12, ""),
		"create IPCP long name":       c.CreateIPCP(ctx, long, irm.Local),
		"create long name":            c.CreateName(ctx, irm.NameInfo{Name: long}),
		"bootstrap long layer":        c.BootstrapIPCP(ctx, 1, irm.DefaultConfig(irm.Local, long)),
		"bootstrap bad type":          c.BootstrapIPCP(ctx, 1, irm.DefaultConfig(7, "l")),
		"bootstrap udp4 with IPv6": c.BootstrapIPCP(ctx, 1, func() irm.Config {
			conf := irm.DefaultConfig(irm.UDP4, "l")
			conf.UDP4.IP = netip.MustParseAddr("2001:db8::1")
			return conf
		}()),
	} {
		if !errors.Is(err, irm.EINVAL) {
			t.Errorf("%s: %v, want EINVAL", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("refused calls sent %d requests", n)
	}
}

func TestLists(t *testing.T) {
	leakcheck.Check(t)
	ipcps := []irm.IPCPInfo{
		{PID: 10, Type: irm.Local, Name: "local", Layer: "local", HashAlgo: irm.SHA3_256},
		{PID: 23932, Type: irm.EthLLC, Name: "llc", Layer: irm.NotEnrolled, HashAlgo: irm.SHA3_224},
		{PID: 5, Type: irm.UDP6, Name: "u6", Layer: "udp", HashAlgo: irm.MD5},
	}
	names := []irm.NameInfo{{Name: "a", LB: irm.Spill}, {Name: "oping", LB: irm.RoundRobin}}
	srv := irmtest.Start(t, func(m *pb.IrmMsg) *pb.IrmMsg {
		if m.GetCode() == pb.IrmMsgCode_IRM_LIST_IPCPS {
			return irmtest.IPCPsReply(ipcps...)
		}
		return irmtest.NamesReply(names...)
	})
	c := srv.Client()
	ctx := context.Background()
	gotI, err := c.ListIPCPs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotI) != len(ipcps) {
		t.Fatalf("ListIPCPs = %v, want %v", gotI, ipcps)
	}
	for i := range ipcps {
		if gotI[i] != ipcps[i] {
			t.Errorf("ListIPCPs[%d] = %+v, want %+v", i, gotI[i], ipcps[i])
		}
	}
	gotN, err := c.ListNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotN) != 2 || gotN[0] != names[0] || gotN[1] != names[1] {
		t.Errorf("ListNames = %+v, want %+v", gotN, names)
	}
	codes := srv.Codes()
	if len(codes) != 2 || codes[0] != pb.IrmMsgCode_IRM_LIST_IPCPS || codes[1] != pb.IrmMsgCode_IRM_LIST_NAMES {
		t.Errorf("requests = %v", codes)
	}
}

func TestErrors(t *testing.T) {
	leakcheck.Check(t)
	ctx := context.Background()

	srv := irmtest.Start(t, irmtest.Result(-1003))
	err := srv.Client().EnrollIPCP(ctx, 7, "lan")
	if !errors.Is(err, irm.EIPCP) || !strings.Contains(err.Error(), "enroll IPCP 7") {
		t.Errorf("result -1003: %v, want EIPCP with context", err)
	}
	if _, err := srv.Client().ListIPCPs(ctx); !errors.Is(err, irm.EIPCP) {
		t.Errorf("list with result -1003: %v", err)
	}

	srv = irmtest.Start(t, irmtest.Result(-17))
	if err := srv.Client().CreateName(ctx, irm.NameInfo{Name: "x"}); !errors.Is(err, irm.EEXIST) {
		t.Errorf("result -17: %v, want EEXIST", err)
	}

	for name, h := range map[string]irmtest.Handler{
		"no result": func(*pb.IrmMsg) *pb.IrmMsg { return req(pb.IrmMsgCode_IRM_REPLY) },
		"no reply":  func(*pb.IrmMsg) *pb.IrmMsg { return nil },
	} {
		srv := irmtest.Start(t, h)
		if err := srv.Client().DestroyIPCP(ctx, 1); !errors.Is(err, irm.EIRMD) {
			t.Errorf("%s: %v, want EIRMD", name, err)
		}
	}

	c := &irm.Client{Dir: quietDir(t)}
	if _, err := c.ListNames(ctx); !errors.Is(err, irm.EIRMD) {
		t.Errorf("no IRMd: %v, want EIRMD", err)
	}
	srv = irmtest.Start(t, irmtest.Result(-1007))
	t.Setenv("OUROBOROS_RUN_DIR", srv.Dir)
	var zero irm.Client
	if err := zero.DestroyName(ctx, "x"); !errors.Is(err, irm.ENAME) {
		t.Errorf("zero Client with $OUROBOROS_RUN_DIR set: %v, want the server's ENAME", err)
	}
}

func TestCancel(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	srv := irmtest.Start(t, func(*pb.IrmMsg) *pb.IrmMsg {
		<-release
		return irmtest.Reply(0)
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Client().EnrollIPCP(ctx, 1, "lan") }()
	for len(srv.Requests()) == 0 { // wait until the request is in flight
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v, want context.Canceled", err)
	}
}

// quietDir is a run directory with no IRMd that was not created moments ago,
// so a client does not wait for an IRMd to start there.
func quietDir(t *testing.T) string {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestStartingIRMd checks that a call made while an IRMd is starting (its run
// directory just created, no socket yet: "irmd & irm ...") waits for it, and
// that a call to a quiet directory fails without waiting rundir.StartWait.
func TestStartingIRMd(t *testing.T) {
	leakcheck.Check(t)
	ctx := context.Background()
	dir := t.TempDir()
	started := make(chan *irmtest.Server, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		s, err := irmtest.Listen(dir, irmtest.Result(0))
		if err != nil {
			t.Error(err)
		}
		started <- s
	}()
	err := (&irm.Client{Dir: dir}).DestroyName(ctx, "x")
	if s := <-started; s != nil {
		defer s.Close()
		if err != nil {
			t.Errorf("call while the IRMd starts: %v, want success", err)
		}
		if len(s.Requests()) != 1 {
			t.Errorf("the starting IRMd got %d requests, want 1", len(s.Requests()))
		}
	}

	// A lock file naming a live process (ours) counts as an IRMd starting,
	// however old the directory.
	dir = quietDir(t)
	if err := os.WriteFile(filepath.Join(dir, "irmd.lock"), []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(dir, old, old)
	go func() {
		time.Sleep(300 * time.Millisecond)
		s, err := irmtest.Listen(dir, irmtest.Result(0))
		if err != nil {
			t.Error(err)
		}
		started <- s
	}()
	err = (&irm.Client{Dir: dir}).DestroyName(ctx, "x")
	if s := <-started; s != nil {
		defer s.Close()
		if err != nil {
			t.Errorf("call while the IRMd holding the lock starts: %v, want success", err)
		}
	}

	start := time.Now()
	if _, err := (&irm.Client{Dir: quietDir(t)}).ListNames(ctx); !errors.Is(err, irm.EIRMD) {
		t.Errorf("quiet directory: %v, want EIRMD", err)
	}
	if d := time.Since(start); d >= rundir.StartWait {
		t.Errorf("quiet directory: failed after %v, want no wait", d)
	}
}
