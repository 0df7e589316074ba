// Package irmd is the IPC Resource Manager daemon: one per host (per run
// directory). It owns the registry (package reg), spawns and drives the IPCP
// processes, answers applications and the irm tool on irm.sock, and brokers
// flow allocation.
//
// Concurrency: one goroutine per accepted control connection, one request per
// connection. Requests that block (accept, allocation) wait on registry state
// with a context that is cancelled when the requester hangs up, so an abandoned
// accept never captures a flow. Dead processes are noticed through pidfds (a
// goroutine parked in the netpoller per process) backed by a one-second sweep
// with kill(pid, 0), and spawned IPCPs through Wait on the child.
//
// Permissions (perm.go): every request is judged by the credentials the
// kernel gives for its connection, never by what it claims; management is for
// root, the irmd's user and Config.Group, a request naming a pid must come
// from that pid, and the IPCPs' messages only from the IPCPs we spawned.
// Connections (conns.go): a deadline on the request, a limit per uid.
//
// Data path: for every flow the daemon creates the channel (internal/datapath)
// and passes one end to each side with the reply that completes the
// allocation: to the IPCP with IPCP_FLOW_ALLOC or the IPCP_FLOW_REQ_ARR reply,
// to the application with the FLOW_ALLOC/FLOW_ACCEPT reply. It keeps no copy.
package irmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/fdlimit"
	"github.com/ouroboros-go/ouroboros/internal/irmd/conffile"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oap"
	"github.com/ouroboros-go/ouroboros/internal/olog"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

// Version is printed by irmd --version.
const Version = "0.23.0-go"

// Timeouts: the reference's, and ours where we differ.
const (
	bootTimeout      = 30 * time.Second // IPCP_CREATE_R after spawn from a living IPCP (reference: 500 ms)
	socketTimeout    = 500 * time.Millisecond
	bootstrapTimeout = 5 * time.Second
	enrollTimeout    = 20 * time.Second
	regTimeout       = 20 * time.Second
	connectTimeout   = 20 * time.Second
	flowAllocTimeout = 20 * time.Second
	reqArrTimeout    = time.Second      // wait for an accepter, again after auto-start
	busyWait         = 15 * time.Second // wait for a busy bound accepter (ours)
	respTimeout      = 5 * time.Second  // IPCP_FLOW_ALLOC_RESP (reference: 500 ms)
	bindProcWait     = time.Second      // wait for a pid to announce before binding (reference: 10 ms)
	sweepPeriod      = time.Second
	pkillTimeout     = 30 * time.Second
	directMPL        = 1 // s, DIRECT_MPL
)

// Config configures a daemon. The zero value is usable except for Dir.
type Config struct {
	Dir      string       // run directory (rundir.Dir() if empty)
	Log      *slog.Logger // nil: discard
	Syslog   bool         // IPCPs are told to log to syslog
	NoDirect bool         // never connect two local processes directly
	Sockets  bool         // flows carry packets through sockets, not shared-memory rings
	IPCPPath []string     // directories searched first for ipcpd-* binaries
	// Group (a name or a gid) may manage the stack besides root and the
	// irmd's user; irm.sock is then 0660 with that group, and the run
	// directory 0750 with it. Empty: irm.sock is 0666 (applications of
	// every user may use it) and only root and the irmd's user manage.
	Group string
	// Setup, if not nil, is carried out once Serve answers requests: the
	// IRMd configuration file. A step that fails is logged and shuts the
	// daemon down (Serve returns ErrSetup).
	Setup *conffile.File
	// SecurityDir holds the per-name security files (security.go);
	// empty: crypt.DefaultSecurityDir.
	SecurityDir string
	// MaxConnsPerUID bounds the open connections of each uid other than
	// root and the irmd's (0: 1024).
	MaxConnsPerUID int
}

// Daemon is a running IRMd.
type Daemon struct {
	cfg Config
	log *slog.Logger
	reg *reg.Registry
	ln  *net.UnixListener
	lk  *os.File

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	uid      uint32       // the irmd's effective uid: privileged like root
	gid      int          // Config.Group resolved, -1 if none
	limit    connLimit    // open connections per uid
	refusals keyedRateLog // of the refused requests, by uid and request
	connLog  rateLog      // of the refused connections and failed accepts

	// spawnMu is held for writing while an IPCP is started and recorded,
	// so that its first message waits until it is known as ours.
	spawnMu    sync.RWMutex
	mu         sync.Mutex
	spawned    map[int]*exec.Cmd     // IPCPs we started
	exited     map[int]chan struct{} // closed when a spawned IPCP exits
	destroying map[int]bool          // spawned IPCPs being destroyed on request
	watched    map[int]func()        // pids with a death watch, and its stop
	conns      map[*net.UnixConn]struct{}

	replay *oap.ReplayCache  // OAP requests accepted in the last 20 s
	trust  *crypt.TrustStore // CA and intermediate certificates, loaded once by New

}

// New takes the single-instance lock and opens irm.sock in the run directory.
func New(cfg Config) (*Daemon, error) {
	if cfg.Dir == "" {
		cfg.Dir = rundir.Dir()
	}
	if cfg.Log == nil {
		cfg.Log = olog.Discard()
	}
	gid := -1
	if cfg.Group != "" {
		var err error
		if gid, err = lookupGroup(cfg.Group); err != nil {
			return nil, err
		}
	}
	if cfg.MaxConnsPerUID <= 0 {
		cfg.MaxConnsPerUID = defaultMaxConnsPerUID
	}
	// The trust store is read once, before anything else starts: a broken
	// one stops the daemon, as in the reference.
	trust, err := loadTrust(cfg)
	if err != nil {
		return nil, err
	}
	if err := makeRunDir(cfg.Dir, gid); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	lk, err := lock(cfg.Dir)
	if err != nil {
		return nil, err
	}
	ln, err := ctrl.Listen(rundir.IRMSocket(cfg.Dir))
	if err != nil {
		lk.Close()
		return nil, fmt.Errorf("open %s: %w", rundir.IRMSocket(cfg.Dir), err)
	}
	if err := socketMode(rundir.IRMSocket(cfg.Dir), gid); err != nil {
		ln.Close()
		lk.Close()
		return nil, fmt.Errorf("open %s: %w", rundir.IRMSocket(cfg.Dir), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{cfg: cfg, log: cfg.Log, reg: reg.New(), ln: ln, lk: lk, ctx: ctx, cancel: cancel,
		uid: uint32(os.Geteuid()), gid: gid, limit: connLimit{max: cfg.MaxConnsPerUID},
		spawned: map[int]*exec.Cmd{}, exited: map[int]chan struct{}{}, destroying: map[int]bool{},
		watched: map[int]func(){}, conns: map[*net.UnixConn]struct{}{}, replay: oap.NewReplayCache(0),
		trust: trust}
	if a, i := trust.Len(); a+i > 0 {
		d.log.Info(fmt.Sprintf("Loaded %d trusted CA and %d intermediate certificates from %s.", a, i, crypt.SecurityDir(cfg.SecurityDir).Root()))
	}
	return d, nil
}

// makeRunDir creates the run directory, 0755 (every user reaches irm.sock),
// or, with a group, makes it 0750 with that group.
func makeRunDir(dir string, gid int) error {
	if err := os.Mkdir(dir, 0o755); err == nil {
		if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
			return err
		}
	} else if !errors.Is(err, os.ErrExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if gid < 0 {
		return nil
	}
	if err := os.Chown(dir, -1, gid); err != nil {
		return err
	}
	return os.Chmod(dir, 0o750)
}

// socketMode opens irm.sock to every user (0666), or with a group to that
// group only (0660).
func socketMode(path string, gid int) error {
	if gid < 0 {
		return os.Chmod(path, 0o666)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		return err
	}
	return os.Chmod(path, 0o660)
}

// lock takes an exclusive flock on the run directory's lock file and writes
// our pid in it.
func lock(dir string) (*os.File, error) {
	path := rundir.LockFile(dir)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b := make([]byte, 16)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		pid, _ := strconv.Atoi(string(trimSpace(b[:n])))
		return nil, fmt.Errorf("IRMd already running (%d), exiting", pid)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// LogCensus logs the number of flows in the registry, those an IPCP holds and
// those waiting only for their IPCP to release the id (irmd logs it on
// SIGUSR1).
func (d *Daemon) LogCensus() {
	c := d.reg.Census()
	d.log.Info(fmt.Sprintf("Flows: %d (%d held by IPCPs, %d being released).", c.Flows, c.IPCPHeld, c.Releasing))
}

// Registry exposes the registry (for tests).
func (d *Daemon) Registry() *reg.Registry { return d.reg }

// Serve answers requests until ctx is cancelled or Shutdown is called, then
// shuts down: every registered process gets SIGTERM, spawned IPCPs are waited
// for (SIGKILL after 30 s), the socket and lock are removed. It carries out
// Config.Setup meanwhile, and returns ErrSetup if that failed.
func (d *Daemon) Serve(ctx context.Context) error {
	d.log.Info("Ouroboros IPC Resource Manager daemon started...")
	// Raised before any IPCP starts: they inherit the hard limit.
	d.log.Debug(fmt.Sprintf("Open files limit: %d.", fdlimit.Raise()))
	d.wg.Add(2)
	go func() { defer d.wg.Done(); d.acceptLoop() }()
	go func() { defer d.wg.Done(); d.sweep() }()
	setupDone := make(chan error, 1)
	if f := d.cfg.Setup; f != nil {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.log.Info(fmt.Sprintf("Reading configuration file %s.", f.Path))
			err := d.setup(d.ctx, f)
			if err == nil {
				d.log.Info(fmt.Sprintf("Configuration file %s carried out.", f.Path))
			} else if d.ctx.Err() == nil {
				d.log.Error(fmt.Sprintf("Configuration failed: %v. Shutting down.", err))
			}
			setupDone <- err
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case <-d.ctx.Done():
	case err = <-setupDone:
		if err == nil {
			select {
			case <-ctx.Done():
			case <-d.ctx.Done():
			}
		} else {
			err = ErrSetup
		}
	}
	d.shutdown()
	return err
}

// Shutdown makes Serve return.
func (d *Daemon) Shutdown() { d.cancel() }

func (d *Daemon) acceptLoop() {
	for {
		c, err := d.ln.AcceptUnix()
		if err != nil {
			if d.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			d.connLog.logf(d.log, "Failed to accept connection: %v.", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		cred, err := ctrl.PeerCred(c)
		if err != nil {
			d.connLog.logf(d.log, "Failed to read the credentials of a connection: %v.", err)
			c.Close()
			continue
		}
		release, ok := d.admit(c, cred)
		if !ok {
			c.Close()
			continue
		}
		d.mu.Lock()
		d.conns[c] = struct{}{}
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer release()
			d.serveConn(c, cred)
			d.mu.Lock()
			delete(d.conns, c)
			d.mu.Unlock()
		}()
	}
}

func (d *Daemon) shutdown() {
	d.log.Info("IRMd shutting down...")
	d.cancel()
	d.ln.Close()
	// SIGTERM every registered process (IRMD_KILL_ALL_PROCESSES) that
	// announced itself (a pid announced by another process, even root's, is
	// not ours to signal), then wait for the IPCPs we spawned.
	for _, pid := range d.reg.ListProcs() {
		if p, ok := d.reg.GetProc(pid); ok && p.Own && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	d.mu.Lock()
	for pid := range d.spawned {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	waits := make([]chan struct{}, 0, len(d.exited))
	for _, ch := range d.exited {
		waits = append(waits, ch)
	}
	d.mu.Unlock()
	deadline := time.After(pkillTimeout)
	for _, ch := range waits {
		select {
		case <-ch:
		case <-deadline:
			d.mu.Lock()
			for pid := range d.spawned {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			d.mu.Unlock()
			<-ch
		}
	}
	d.mu.Lock()
	for c := range d.conns {
		c.Close()
	}
	for _, stop := range d.watched {
		stop()
	}
	d.mu.Unlock()
	d.wg.Wait()
	os.Remove(rundir.LockFile(d.cfg.Dir))
	d.lk.Close()
	d.log.Info("Ouroboros IPC Resource Manager daemon exited. Bye.")
}

// ipcpBinary finds ipcpd-<type>: in cfg.IPCPPath, next to our executable, then on $PATH.
func (d *Daemon) ipcpBinary(typ string) (string, error) {
	bin := "ipcpd-" + typ
	dirs := append([]string(nil), d.cfg.IPCPPath...)
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, bin)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o100 != 0 {
			return p, nil
		}
	}
	return exec.LookPath(bin)
}

// childEnv is the environment of the processes we spawn: the run directory,
// so they find us, and PATH.
func (d *Daemon) childEnv() []string {
	env := []string{rundir.Env + "=" + d.cfg.Dir}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	}
	if h := os.Getenv("HOME"); h != "" {
		env = append(env, "HOME="+h)
	}
	// Settings for the IPCPs, such as OUROBOROS_HOSTS (udp name resolution).
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "OUROBOROS_") && !strings.HasPrefix(e, rundir.Env+"=") {
			env = append(env, e)
		}
	}
	return env
}
