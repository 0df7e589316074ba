package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/irm"
)

var (
	local1 = irm.IPCPInfo{PID: 3, Type: irm.Local, Name: "local1", Layer: "local"}
	lan2   = irm.IPCPInfo{PID: 12, Type: irm.Unicast, Name: "lan2", Layer: "LAN"}
	wan1   = irm.IPCPInfo{PID: 13, Type: irm.Unicast, Name: "wan1", Layer: "WAN"}
)

func TestNameRegister(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		args string
		pids []int32
	}{
		{"n r srv l LAN", []int32{11, 12}},
		{"n r srv l LAN i lan1", []int32{11, 12}}, // once per IPCP
		{"n r srv i local1 l WAN", []int32{3, 13}},
		{"n r srv l *", []int32{3, 11, 12, 13}},
		{"n r srv i *1", []int32{3, 11, 13}},
	} {
		srv, f := system(t, local1, lan1, lan2, wan1)
		if code, _, stderr := irmRun(srv.Client(), strings.Fields(tc.args)...); code != 0 {
			t.Errorf("irm %s: exit %d, stderr %q", tc.args, code, stderr)
		}
		var pids []int32
		for _, r := range sent(srv, reg) {
			pids = append(pids, r.GetPid())
			if r.GetName() != "srv" {
				t.Errorf("irm %s: registered %q", tc.args, r.GetName())
			}
		}
		if !slices.Equal(pids, tc.pids) {
			t.Errorf("irm %s: registered with %v, want %v", tc.args, pids, tc.pids)
		}
		// A missing name is created with the spill policy.
		if n := f.Names(); len(n) != 1 || n[0] != (irm.NameInfo{Name: "srv", LB: irm.Spill}) {
			t.Errorf("irm %s: names %+v", tc.args, n)
		}
	}

	// An existing name is left as it is (creating it again changes nothing),
	// and the names are not listed: a registry may hold 100,000 of them.
	srv, f := system(t, lan1)
	f.AddName(irm.NameInfo{Name: "srv", LB: irm.RoundRobin})
	irmRun(srv.Client(), strings.Fields("n r srv l LAN")...)
	if n := f.Names(); len(n) != 1 || n[0].LB != irm.RoundRobin {
		t.Errorf("existing name changed: %+v", n)
	}
	if len(sent(srv, names)) != 0 {
		t.Error("names listed before registering")
	}
	// An IRMd that refuses to create an existing name: the name is looked up.
	srv, f = system(t, lan1)
	f.AddName(irm.NameInfo{Name: "srv", LB: irm.RoundRobin})
	f.Fail(mkName, irm.EEXIST)
	if code, _, stderr := irmRun(srv.Client(), strings.Fields("n r srv l LAN")...); code != 0 || len(sent(srv, reg)) != 1 {
		t.Errorf("create refused for an existing name: exit %d, stderr %q", code, stderr)
	}
	srv, f = system(t, lan1)
	f.Fail(mkName, irm.EINVAL)
	if code, _, _ := irmRun(srv.Client(), strings.Fields("n r srv l LAN")...); code != 1 || len(sent(srv, reg)) != 0 {
		t.Errorf("create refused for a missing name: exit %d", code)
	}

	srv, _ = system(t)
	code, _, stderr := irmRun(srv.Client(), strings.Fields("n r srv l LAN")...)
	if code != 1 || stderr != "Cannot register srv: there are no IPCPs.\n" {
		t.Errorf("no IPCPs: exit %d, stderr %q", code, stderr)
	}
	if len(sent(srv, mkName)) != 0 {
		t.Error("name created with no IPCP to register it in")
	}

	srv, _ = system(t, lan1)
	code, _, stderr = irmRun(srv.Client(), strings.Fields("n r srv l nosuch i nope*")...)
	if code != 1 || stderr != "Cannot register srv: no IPCP matches layer nosuch or ipcp nope* (irm ipcp list shows them).\n" {
		t.Errorf("no such layer: exit %d, stderr %q", code, stderr)
	}
	if len(sent(srv, mkName)) != 0 || len(sent(srv, reg)) != 0 {
		t.Error("name created or registered with no IPCP in the layer")
	}

	srv, _ = system(t, lan1)
	code, _, stderr = irmRun(srv.Client(), strings.Fields("n u srv l nosuch")...)
	if code != 1 || !strings.HasPrefix(stderr, "Cannot unregister srv: no IPCP matches layer nosuch") {
		t.Errorf("unregister, no such layer: exit %d, stderr %q", code, stderr)
	}

	srv, f = system(t, lan1)
	f.Fail(reg, irm.EIPCP)
	code, _, stderr = irmRun(srv.Client(), strings.Fields("n r srv l L*")...)
	if code != 1 || !strings.HasPrefix(stderr, "Failed to register with LAN\nirm: ") {
		t.Errorf("failed register: exit %d, stderr %q", code, stderr)
	}
}

func TestNameUnregister(t *testing.T) {
	leakcheck.Check(t)
	srv, f := system(t, local1, lan1, lan2, wan1)
	f.AddName(irm.NameInfo{Name: "srv"})
	if code, _, _ := irmRun(srv.Client(), strings.Fields("n u srv i lan* l WAN")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var pids []int32
	for _, r := range sent(srv, unreg) {
		pids = append(pids, r.GetPid())
	}
	if !slices.Equal(pids, []int32{11, 12, 13}) {
		t.Errorf("unregistered from %v", pids)
	}

	srv, f = system(t, lan1)
	f.Fail(unreg, irm.EIPCP)
	code, _, stderr := irmRun(srv.Client(), strings.Fields("n u srv i lan1")...)
	if code != 1 || !strings.HasPrefix(stderr, "Failed to unregister from lan1\nirm: ") {
		t.Errorf("failed unregister: exit %d, stderr %q", code, stderr)
	}
}

func TestNameCreate(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	crt := filepath.Join(dir, "crt.pem")
	enc := filepath.Join(dir, "enc.conf")
	for _, p := range []string{crt, enc} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)

	srv, _ := system(t)
	code, _, stderr := irmRun(srv.Client(), "name", "create", "srv", "lb", "spillover",
		"scrtpath", "crt.pem", "sencpath", enc)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	ni := sent(srv, mkName)[0].GetNameInfo()
	if ni.GetName() != "srv" || ni.GetPolLb() != 1 || ni.GetScrt() != crt || ni.GetSkey() != "" ||
		ni.GetCkey() != "" || ni.GetCcrt() != "" {
		t.Errorf("name info %v", ni)
	}

	srv, _ = system(t)
	irmRun(srv.Client(), "n", "c", "srv")
	if ni := sent(srv, mkName)[0].GetNameInfo(); ni.GetPolLb() != uint32(irm.Spill) {
		t.Errorf("default policy %d, want spillover (as for implicitly created names)", ni.GetPolLb())
	}

	srv, _ = system(t)
	code, _, stderr = irmRun(srv.Client(), "n", "c", "srv", "ckeypath", "/nonexistent/key.pem")
	if code != 1 || stderr != "Failed to check path /nonexistent/key.pem: No such file or directory\n" {
		t.Errorf("missing path: exit %d, stderr %q", code, stderr)
	}
	if len(srv.Requests()) != 0 {
		t.Error("name with a missing path created")
	}
}

func TestBindProgram(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	exe := filepath.Join(dir, "server")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Chdir(t.TempDir())

	srv, f := system(t)
	code, _, _ := irmRun(srv.Client(), "b", "p", "server", "n", "srv", "auto", "--", "--listen", "name", "x")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	r := sent(srv, bindProg)[0]
	if r.GetName() != "srv" || r.GetOpts() != 1 ||
		!slices.Equal(r.GetExec(), []string{exe, "--listen", "name", "x", ""}) {
		t.Errorf("bind program request %v", r)
	}
	if n := f.Names(); len(n) != 1 || n[0].Name != "srv" {
		t.Errorf("names %v", n)
	}

	// A program in the working directory is bound by its real path.
	t.Chdir(dir)
	srv, _ = system(t)
	irmRun(srv.Client(), "bind", "program", "server", "name", "srv")
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		t.Fatal(err)
	}
	if r := sent(srv, bindProg)[0]; r.GetOpts() != 0 || !slices.Equal(r.GetExec(), []string{real, ""}) {
		t.Errorf("bind program from cwd: %v", r)
	}

	// A directory in the working directory does not hide the program.
	if err := os.Mkdir("server.d", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Join(dir, "server.d")+":"+dir)
	if err := os.WriteFile(filepath.Join(dir, "server.d", "server.d"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, _ = system(t)
	irmRun(srv.Client(), "bind", "program", "server.d", "name", "srv")
	if r := sent(srv, bindProg); len(r) != 1 || r[0].GetExec()[0] != filepath.Join(dir, "server.d", "server.d") {
		t.Errorf("bind program shadowed by a directory: %v", r)
	}

	for _, tc := range []struct{ prog, stderr string }{
		{"nosuch", "nosuch does not exist.\n"},
		{"/nonexistent/server", "/nonexistent/server does not exist.\n"},
		{"data", "Cannot execute data, please check permissions.\n"},
	} {
		srv, _ := system(t)
		code, _, stderr := irmRun(srv.Client(), "bind", "program", tc.prog, "name", "srv")
		if code != 1 || stderr != tc.stderr || len(srv.Requests()) != 0 {
			t.Errorf("bind program %s: exit %d, stderr %q, %d requests", tc.prog, code, stderr,
				len(srv.Requests()))
		}
	}
}

func TestUnbindWithoutName(t *testing.T) {
	leakcheck.Check(t)
	// The usage allows it, the library refuses it: exit status 1, no request.
	for _, args := range [][]string{{"unbind", "program", "oping"}, {"unbind", "process", "12"}} {
		srv, _ := system(t)
		code, _, _ := irmRun(srv.Client(), args...)
		if code != 1 || len(srv.Requests()) != 0 {
			t.Errorf("irm %q: exit %d, %d requests", args, code, len(srv.Requests()))
		}
	}
}
