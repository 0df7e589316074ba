package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// writeConfig writes an irmd configuration file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "irmd.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFileLocal: an irmd started with a configuration file that binds
// oping --listen (auto-started) to a name, bootstraps a local IPCP and
// registers the name in it. oping to the name then works through the local
// IPCP (no direct flows), without any irm command.
func TestConfigFileLocal(t *testing.T) {
	bin := rig.Bin(t)
	conf := writeConfig(t, fmt.Sprintf(`# a local layer and an auto-started ping server
[name."ping.cfg"]
prog = [%q]
args = ["--listen"]
lb = "round-robin"

[local.loc]
bootstrap = "loc-layer"
hash = "SHA3_384"
reg = ["ping.cfg"]
`, filepath.Join(bin, "oping")))
	in := rig.Start(t, rig.Options{NoDirect: true, Config: conf})
	in.WaitLog("carried out", 20*time.Second)

	l := rig.Lines(in.Irm("ipcp", "list"), " loc ")
	if len(l) != 1 || !strings.Contains(l[0], "local") || !strings.Contains(l[0], "loc-layer") {
		t.Fatalf("irm ipcp list: %q", l)
	}
	if l := rig.Lines(in.Irm("name", "list"), "ping.cfg"); len(l) != 1 || !strings.Contains(l[0], "round-robin") {
		t.Fatalf("irm name list: %q", l)
	}
	out, errOut, code := in.Run("oping", "-n", "ping.cfg", "-c", "10", "-i", "10ms")
	if code != 0 || !strings.Contains(out, "10 packets transmitted, 10 received, 0 out-of-order, 0% packet loss") {
		t.Fatalf("oping: exit %d\n%s%s\n%s", code, out, errOut, in.Tail())
	}
	if !strings.Contains(in.Log(), "Starting "+filepath.Join(bin, "oping")+" for ping.cfg") {
		t.Fatalf("the server was not auto-started:\n%s", in.Tail())
	}
}

// TestConfigFileUnicastOverUDP: two irmds on 127.0.0.1 and 127.0.0.2, each
// configured by its file only. A bootstraps a udp4 layer and a unicast
// layer over it (autobind); B bootstraps its udp4 IPCP, enrolls its unicast
// IPCP through the layer's name, connects it to A's and registers a name
// bound to an auto-started oping server. oping from A to that name works.
func TestConfigFileUnicastOverUDP(t *testing.T) {
	bin := rig.Bin(t)
	ipA, ipB := "127.0.0.1", "127.0.0.2"
	hosts := writeHosts(t, map[string]string{"uni.a": ipA, "uni": ipA, "uni.b": ipB})
	port := freeUDPPort(t, ipA, ipB)
	confA := writeConfig(t, fmt.Sprintf(`[udp4.udp-a]
bootstrap = "udp-layer"
ip = %q
port = %d
reg = ["uni.a", "uni"]

[unicast."uni.a"]
bootstrap = "uni"
autobind = true
congestion = "mb-ecn"
dht_t_expiry = 3600
`, ipA, port))
	confB := writeConfig(t, fmt.Sprintf(`[name."oping.uni"]
prog = [%q]
args = ["--listen"]

[udp4.udp-b]
bootstrap = "udp-layer"
ip = %q
port = %d
reg = ["uni.b"]

[unicast."uni.b"]
enrol = "uni"
autobind = true
conn = ["uni.a"]
reg = ["oping.uni"]
`, filepath.Join(bin, "oping"), ipB, port))
	env := []string{udp.HostsEnv + "=" + hosts}
	a := rig.Start(t, rig.Options{NoDirect: true, Env: env, Config: confA})
	a.WaitLog("carried out", 20*time.Second)
	b := rig.Start(t, rig.Options{NoDirect: true, Env: env, Config: confB})
	b.WaitLog("carried out", 60*time.Second)
	for _, in := range []*rig.Instance{a, b} {
		in.WaitLog("Data Transfer connection", 10*time.Second)
	}
	if l := rig.Lines(b.Irm("ipcp", "list"), "uni.b"); len(l) != 1 || !strings.Contains(l[0], "uni") {
		t.Fatalf("irm ipcp list on B: %q", l)
	}
	t.Logf("oping over a configured unicast layer: %s", pingUntil(t, a, "oping.uni"))
	for _, in := range []*rig.Instance{a, b} {
		if errs := unicastErrors(in.Log()); len(errs) != 0 {
			t.Fatalf("a unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}

// runIRMd runs an irmd to its end in a private run directory.
func runIRMd(t *testing.T, args ...string) (out string, code int, runDir string) {
	t.Helper()
	runDir = filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(rig.Bin(t), "irmd"),
		append([]string{"--stdout", "--run-dir", runDir}, args...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.Env = append(os.Environ(), "PATH="+rig.Bin(t)+":"+os.Getenv("PATH"))
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		t.Fatalf("irmd did not exit: %v\n%s", err, rig.Tail(buf.String(), rig.TailLines))
	}
	return buf.String(), code, runDir
}

// TestConfigFileMistake: a mistake in the file is reported with the file,
// line and key, and the irmd exits 1 before it starts anything (no run
// directory, no IPCP).
func TestConfigFileMistake(t *testing.T) {
	conf := writeConfig(t, "[local.ok]\nbootstrap = \"l\"\n\n[unicast.u]\nbootstrap = \"x\"\ndht_k = 21\n")
	out, code, runDir := runIRMd(t, "--config", conf)
	if code != 1 || !strings.Contains(out, conf+":6: [unicast.u] dht_k: 21 is out of range 1..20") {
		t.Fatalf("exit %d, want 1 and the mistake:\n%s", code, out)
	}
	if strings.Contains(out, "ipcpd") || strings.Contains(out, "daemon started") {
		t.Fatalf("something started:\n%s", out)
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Fatalf("run directory %s exists: %v", runDir, err)
	}
}

// TestConfigFileStepFails: an enrollment that fails stops the irmd, as in
// the reference: the failing step is logged in words, the IPCP it created is
// stopped and the irmd exits 1.
func TestConfigFileStepFails(t *testing.T) {
	conf := writeConfig(t, "[unicast.lost]\nenrol = \"nowhere\"\n")
	out, code, _ := runIRMd(t, "--config", conf)
	want := "Configuration failed: " + conf + ":1: IPCP lost: enrolling through nowhere:"
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "daemon exited") {
		t.Fatalf("exit %d, want 1 and %q:\n%s", code, want, out)
	}
	pid := ""
	for _, l := range rig.Lines(out, "Created IPCP ") {
		pid = strings.TrimSuffix(l[strings.LastIndex(l, " ")+1:], ".")
	}
	if n, err := strconv.Atoi(pid); err != nil || !errors.Is(syscall.Kill(n, 0), syscall.ESRCH) {
		t.Fatalf("IPCP %q still alive (or never created):\n%s", pid, out)
	}
}

// TestConfigFileUDP6: a udp6 IPCP bootstrapped from the file binds the ip
// and port it gives (the reference's parser drops the ip and binds ::).
func TestConfigFileUDP6(t *testing.T) {
	port := freeUDPPort(t, "::1")
	conf := writeConfig(t, fmt.Sprintf("[udp6.u6]\nbootstrap = \"udp6-layer\"\nip = \"::1\"\nport = %d\nreg = [\"some.name\"]\n", port))
	in := rig.Start(t, rig.Options{Config: conf})
	in.WaitLog("carried out", 20*time.Second)
	in.WaitLog(fmt.Sprintf("Bound to ::1 port %d (UDP/IPv6)", port), 10*time.Second)
	if l := rig.Lines(in.Irm("ipcp", "list"), "u6"); len(l) != 1 || !strings.Contains(l[0], "udp6-layer") {
		t.Fatalf("irm ipcp list: %q", l)
	}
}
