package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Names used in the private instances.
const (
	serverName = "obench.server"
	ipcpName   = "obench-local"
	layerName  = "obench-layer"
)

// findCommand returns the path of the command name: next to this executable,
// else on $PATH.
func findCommand(self, name string) (string, error) {
	p := filepath.Join(filepath.Dir(self), name)
	if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is neither next to %s nor on $PATH", name, self)
	}
	return filepath.Abs(p)
}

// instance describes the private Ouroboros instance of a path. A path over
// another layer (udp4 on loopback, a unicast layer) is another instance.
type instance struct {
	noDirect bool     // irmd --no-direct: flows always go through an IPCP
	ipcps    []string // the IPCP programs it needs (checked before starting)
	// layer creates and bootstraps the IPCPs and registers serverName in
	// their layer; it returns their pids, even on failure. nil for none.
	layer func(ctx context.Context, c irm.Client) ([]int, error)
}

// closeLinger bounds how long closing a reliable flow at the end of a path
// waits for the server to acknowledge what is still unacknowledged: the
// measurements are over, and a server that is gone must not hold the
// teardown for flow.DefaultLinger.
const closeLinger = 2 * time.Second

// openDirect is a flow with QoS spec that the irmd connects directly between
// this process and the server process.
func openDirect(ctx context.Context, h *Harness, spec qos.Spec) (*Session, error) {
	return openOuroboros(ctx, h, instance{}, spec)
}

// openLocalIPCP is a flow with QoS spec through a local IPCP: the irmd runs
// with --no-direct, and the server's name is registered in the IPCP's layer.
func openLocalIPCP(ctx context.Context, h *Harness, spec qos.Spec) (*Session, error) {
	return openOuroboros(ctx, h, instance{noDirect: true, ipcps: []string{"ipcpd-local"}, layer: bootstrapLocal}, spec)
}

// instanceEnv is the environment of the processes of the instance in dir.
func instanceEnv(dir, binDir string) []string {
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, rundir.Env+"=") && !strings.HasPrefix(e, "PATH=") {
			env = append(env, e)
		}
	}
	return append(env, rundir.Env+"="+dir, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// openOuroboros starts a private irmd in a new run directory, the layer of
// inst, a server process bound to serverName, and allocates a flow with QoS
// spec from this process to it (the server adopts that QoS when it accepts).
func openOuroboros(ctx context.Context, h *Harness, inst instance, spec qos.Spec) (s *Session, err error) {
	irmdPath, err := findCommand(h.self, "irmd")
	if err != nil {
		return nil, err
	}
	binDir := filepath.Dir(irmdPath)
	for _, prog := range inst.ipcps {
		if _, err := findCommand(irmdPath, prog); err != nil {
			return nil, err
		}
	}
	dir, err := h.procs.tempDir("obench-run-")
	if err != nil {
		return nil, err
	}
	env := instanceEnv(dir, binDir)
	var stops []func() // teardown, newest first
	push := func(f func()) { stops = append([]func(){f}, stops...) }
	teardown := func() {
		for _, f := range stops {
			f()
		}
		h.procs.removeDir(dir)
	}
	defer func() {
		if err != nil {
			teardown()
		}
	}()

	args := []string{"--stdout", "--run-dir", dir}
	if inst.noDirect {
		args = append(args, "--no-direct")
	}
	cmd := exec.Command(irmdPath, args...)
	cmd.Env = env
	irmd, err := h.procs.start("irmd", cmd, true)
	if err != nil {
		return nil, err
	}
	push(func() { h.procs.stop(irmd) })
	if _, err := irmd.waitOutput("daemon started", readyWait); err != nil {
		return nil, err
	}
	pids := []int{os.Getpid(), irmd.pid()}

	ctx, cancel := context.WithTimeout(ctx, 2*readyWait)
	defer cancel()
	if inst.layer != nil {
		ipcps, err := inst.layer(ctx, irm.Client{Dir: dir})
		irmd.extra = append(irmd.extra, ipcps...)
		if err != nil {
			return nil, fmt.Errorf("%w\nirmd log:\n%s", err, irmd.out.String())
		}
		pids = append(pids, ipcps...)
	}

	cmd = exec.Command(h.self, PeerCommand, "flow", serverName)
	cmd.Env = env
	peer, err := h.procs.start("flow peer", cmd, false)
	if err != nil {
		return nil, err
	}
	push(func() { h.procs.stop(peer) })
	if _, err := peer.waitOutput("ready", readyWait); err != nil {
		return nil, err
	}
	pids = append(pids, peer.pid())

	// This process is a client of the same instance: the flow package reads
	// the run directory when it announces the process.
	flow.Fini()
	orig, had := os.LookupEnv(rundir.Env)
	os.Setenv(rundir.Env, dir)
	push(func() {
		flow.Fini()
		if had {
			os.Setenv(rundir.Env, orig)
		} else {
			os.Unsetenv(rundir.Env)
		}
	})
	f, err := flow.Alloc(ctx, serverName, spec)
	if err != nil {
		return nil, fmt.Errorf("alloc %s: %w\nirmd log:\n%s", serverName, err, irmd.out.String())
	}
	push(func() {
		f.SetLinger(closeLinger)
		f.Close()
	})
	if got := f.QoS(); got.InOrder != spec.InOrder || got.Loss != spec.Loss {
		return nil, fmt.Errorf("the flow has QoS %+v, not the %+v asked for", got, spec)
	}
	if !inst.noDirect && f.PeerPID() != peer.pid() {
		return nil, fmt.Errorf("the flow did not go direct: its peer is pid %d, not the server %d",
			f.PeerPID(), peer.pid())
	}
	// Whole messages only: a message that fills the read buffer is not
	// followed by a zero-length read.
	if err := f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart); err != nil {
		return nil, err
	}
	return &Session{Conn: f, PIDs: pids, close: teardown}, nil
}

// bootstrapLocal creates and bootstraps a local IPCP, and creates and
// registers serverName in its layer. It returns the pid of the IPCP.
func bootstrapLocal(ctx context.Context, c irm.Client) ([]int, error) {
	if err := c.CreateIPCP(ctx, ipcpName, irm.Local); err != nil {
		return nil, err
	}
	list, err := c.ListIPCPs(ctx)
	if err != nil {
		return nil, err
	}
	pid := 0
	for _, i := range list {
		if i.Name == ipcpName {
			pid = i.PID
		}
	}
	if pid == 0 {
		return nil, errors.New("the new IPCP is not listed")
	}
	pids := []int{pid}
	if err := c.BootstrapIPCP(ctx, pid, irm.DefaultConfig(irm.Local, layerName)); err != nil {
		return pids, err
	}
	if err := c.CreateName(ctx, irm.NameInfo{Name: serverName}); err != nil {
		return pids, err
	}
	if err := c.RegName(ctx, serverName, pid); err != nil {
		return pids, err
	}
	return pids, nil
}
