package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
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

// instance describes the private Ouroboros instances of a path: one host,
// whose irmd serves this process and the server process, or two hosts, A for
// this process and B for the server, each with its own irmd and run
// directory, joined by a layer.
type instance struct {
	noDirect bool     // irmd --no-direct: flows always go through an IPCP
	ipcps    []string // the IPCP programs it needs (checked before starting)
	twoHosts bool     // the server runs on a second host, B
	// serverNS is the network namespace that host B's processes (its irmd,
	// the IPCPs that irmd starts, the server) run in; "" for this
	// process's. Only with twoHosts.
	serverNS string
	// lossy says that the layer may lose packets (UDP, Ethernet): a flow
	// whose QoS tolerates loss sees the losses, a reliable flow
	// retransmits.
	lossy bool
	// hosts maps names to the address of the host that has them, in a
	// hosts file that every irmd passes to its IPCPs (udp.HostsEnv); nil
	// for none.
	hosts map[string]netip.Addr
	// layer creates and bootstraps the IPCPs of host a (this process's)
	// and host b (the server's; b == a on one host), and registers
	// serverName in b's layer. It records every IPCP it creates with
	// host.createIPCP, so that they count and are stopped even on failure.
	// nil for none.
	layer func(ctx context.Context, a, b *host) error
	// securityDir is every irmd's --security-dir (the enc.conf files of
	// the names); "" for the irmd's default.
	securityDir string
}

// host is one private Ouroboros instance: an irmd with its own run
// directory, and the IPCPs it started.
type host struct {
	name  string   // of its irmd, in error messages: "irmd", "irmd A", "irmd B"
	dir   string   // its run directory
	env   []string // the environment of its processes
	netns string   // the network namespace its processes run in; "" for this process's
	irmd  *child
	pids  []int // its irmd and IPCPs, whose CPU time counts
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
		if !strings.HasPrefix(e, rundir.Env+"=") && !strings.HasPrefix(e, "PATH=") &&
			!strings.HasPrefix(e, udp.HostsEnv+"=") {
			env = append(env, e)
		}
	}
	return append(env, rundir.Env+"="+dir, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// nsCommand returns a command that runs path with args inside the network
// namespace ns, or in this process's for "": ip netns exec enters the
// namespace and then executes the command in place, so the process keeps the
// pid the harness sees.
func nsCommand(ns, path string, args ...string) (*exec.Cmd, error) {
	if ns == "" {
		return exec.Command(path, args...), nil
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return nil, fmt.Errorf("network namespace %s: %w", ns, err)
	}
	return exec.Command(ip, append([]string{"netns", "exec", ns, path}, args...)...), nil
}

// startHost starts an irmd called name for inst in a new run directory,
// inside the network namespace netns ("" for this process's). push registers
// each teardown step (stop the irmd, remove the directory) as soon as there
// is something to undo.
func (h *Harness) startHost(name, irmdPath, netns string, inst instance, push func(func())) (*host, error) {
	dir, err := h.procs.tempDir("obench-run-")
	if err != nil {
		return nil, err
	}
	push(func() { h.procs.removeDir(dir) })
	o := &host{name: name, dir: dir, env: instanceEnv(dir, filepath.Dir(irmdPath)), netns: netns}
	if inst.hosts != nil {
		path := filepath.Join(dir, "hosts")
		if err := writeHosts(path, inst.hosts); err != nil {
			return nil, err
		}
		o.env = append(o.env, udp.HostsEnv+"="+path)
	}
	args := []string{"--stdout", "--run-dir", dir}
	if inst.noDirect {
		args = append(args, "--no-direct")
	}
	if inst.securityDir != "" {
		args = append(args, "--security-dir", inst.securityDir)
	}
	cmd, err := nsCommand(netns, irmdPath, args...)
	if err != nil {
		return nil, err
	}
	cmd.Env = o.env
	if o.irmd, err = h.procs.start(name, cmd, true); err != nil {
		return nil, err
	}
	push(func() { h.procs.stop(o.irmd) })
	if _, err := o.irmd.waitOutput("daemon started", readyWait); err != nil {
		return nil, err
	}
	o.pids = []int{o.irmd.pid()}
	return o, nil
}

// hostSet is the running hosts of an instance: the client's and the
// server's (the same host for a one-host instance), their layer set up and
// serverName registered in it.
type hostSet struct {
	hosts          []*host // the client's first
	client, server *host
	stops          []func() // teardown, newest first
	secDir         string   // every irmd's security directory, if the hosts have their own
}

// push registers a teardown step, run before the ones registered earlier.
func (hs *hostSet) push(f func()) { hs.stops = append([]func(){f}, hs.stops...) }

// close runs every teardown step: the processes, then the directories.
func (hs *hostSet) close() {
	for _, f := range hs.stops {
		f()
	}
	hs.stops = nil
}

// pids returns the irmds and IPCPs of every host.
func (hs *hostSet) pids() []int {
	var pids []int
	for _, o := range hs.hosts {
		pids = append(pids, o.pids...)
	}
	return pids
}

// logs returns every irmd's output, for an error message.
func (hs *hostSet) logs() string {
	var b strings.Builder
	for _, o := range hs.hosts {
		fmt.Fprintf(&b, "\n%s log:\n%s", o.name, o.irmd.out.String())
	}
	return b.String()
}

// startHosts starts the hosts of inst (each a private irmd in a new run
// directory; host B's inside inst.serverNS if set) and their layer. On
// failure it tears down what it started.
func (h *Harness) startHosts(ctx context.Context, inst instance) (_ *hostSet, err error) {
	names := []string{"irmd"}
	if inst.twoHosts {
		names = []string{"irmd A", "irmd B"}
	}
	hs, err := h.startNamedHosts(inst, names, func(i int) string {
		if inst.twoHosts && i == 1 {
			return inst.serverNS
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			hs.close()
		}
	}()
	hs.client, hs.server = hs.hosts[0], hs.hosts[len(hs.hosts)-1]
	if inst.layer != nil {
		ctx, cancel := context.WithTimeout(ctx, 2*readyWait)
		defer cancel()
		if err := inst.layer(ctx, hs.client, hs.server); err != nil {
			return nil, fmt.Errorf("%w%s", err, hs.logs())
		}
	}
	return hs, nil
}

// startNamedHosts starts one host per name (a private irmd in a new run
// directory, in the namespace netns(i) gives, "" for this one) after checking
// that the irmd and inst's IPCP programs exist. On failure it tears down what
// it started.
func (h *Harness) startNamedHosts(inst instance, names []string, netns func(i int) string) (_ *hostSet, err error) {
	irmdPath, err := findCommand(h.self, "irmd")
	if err != nil {
		return nil, err
	}
	for _, prog := range inst.ipcps {
		if _, err := findCommand(irmdPath, prog); err != nil {
			return nil, err
		}
	}
	// Not the named result: a failure returns nil, and closes this.
	hs := &hostSet{}
	defer func() {
		if err != nil {
			hs.close()
		}
	}()
	for i, name := range names {
		o, err := h.startHost(name, irmdPath, netns(i), inst, hs.push)
		if err != nil {
			return nil, err
		}
		hs.hosts = append(hs.hosts, o)
	}
	return hs, nil
}

// openOuroboros starts the hosts of inst and their layer (startHosts), a
// server process bound to serverName on the server's host (in its
// namespace), and allocates a flow with QoS spec from this process, an
// application of the client's host, to it (the server adopts that QoS when
// it accepts).
func openOuroboros(ctx context.Context, h *Harness, inst instance, spec qos.Spec) (s *Session, err error) {
	hs, err := h.startHosts(ctx, inst)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			hs.close()
		}
	}()
	client, server := hs.client, hs.server
	ctx, cancel := context.WithTimeout(ctx, 2*readyWait)
	defer cancel()

	cmd, err := nsCommand(server.netns, h.self, PeerCommand, "flow", serverName)
	if err != nil {
		return nil, err
	}
	cmd.Env = server.env
	peer, err := h.procs.start("flow peer", cmd, false)
	if err != nil {
		return nil, err
	}
	hs.push(func() { h.procs.stop(peer) })
	if _, err := peer.waitOutput("ready", readyWait); err != nil {
		return nil, err
	}
	pids := append([]int{os.Getpid()}, hs.pids()...)
	pids = append(pids, peer.pid())

	// This process is an application of the client's host: the flow
	// package reads the run directory when it announces the process.
	flow.Fini()
	orig, had := os.LookupEnv(rundir.Env)
	os.Setenv(rundir.Env, client.dir)
	hs.push(func() {
		flow.Fini()
		if had {
			os.Setenv(rundir.Env, orig)
		} else {
			os.Unsetenv(rundir.Env)
		}
	})
	f, err := flow.Alloc(ctx, serverName, spec)
	if err != nil {
		return nil, fmt.Errorf("alloc %s: %w%s", serverName, err, hs.logs())
	}
	hs.push(func() {
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
	return &Session{Conn: f, Lossy: inst.lossy && !spec.Reliable(), PIDs: pids, close: hs.close}, nil
}

// client is a client of o's irmd.
func (o *host) client() *irm.Client { return &irm.Client{Dir: o.dir} }

// createIPCP creates an IPCP of type t called name in o and returns its pid,
// which it records in o.
func (o *host) createIPCP(ctx context.Context, name string, t irm.IPCPType) (int, error) {
	c := o.client()
	if err := c.CreateIPCP(ctx, name, t); err != nil {
		return 0, err
	}
	list, err := c.ListIPCPs(ctx)
	if err != nil {
		return 0, err
	}
	for _, i := range list {
		if i.Name == name {
			o.irmd.extra = append(o.irmd.extra, i.PID) // killed after the irmd if still there
			o.pids = append(o.pids, i.PID)
			return i.PID, nil
		}
	}
	return 0, fmt.Errorf("%s: the new IPCP %s is not listed", o.name, name)
}

// bootstrap bootstraps the IPCP pid of o with conf.
func (o *host) bootstrap(ctx context.Context, pid int, conf irm.Config) error {
	return o.client().BootstrapIPCP(ctx, pid, conf)
}

// registerServer creates serverName in o and registers it in the layer of
// its IPCP pid.
func (o *host) registerServer(ctx context.Context, pid int) error {
	c := o.client()
	if err := c.CreateName(ctx, irm.NameInfo{Name: serverName}); err != nil {
		return err
	}
	return c.RegName(ctx, serverName, pid)
}

// bootstrapLocal creates and bootstraps a local IPCP on the server's host b
// (this process's too), and registers serverName in its layer.
func bootstrapLocal(ctx context.Context, _, b *host) error {
	pid, err := b.createIPCP(ctx, ipcpName, irm.Local)
	if err != nil {
		return err
	}
	if err := b.bootstrap(ctx, pid, irm.DefaultConfig(irm.Local, layerName)); err != nil {
		return err
	}
	return b.registerServer(ctx, pid)
}
