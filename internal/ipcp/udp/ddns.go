package udp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Dynamic DNS, done like the reference: by running
// the BIND tools. A udp4/udp6 IPCP bootstrapped with a dns address publishes
// the names registered with it with nsupdate and resolves names it has not
// cached with nslookup, before falling back to the hosts file or the system
// resolver (resolve.go). The DNS name of a name is DNSName(hash).
//
// What the reference does and where we differ:
//   - The reference finds nsupdate and nslookup when it is built and has no
//     DDNS without them. We look for them with exec.LookPath when the IPCP is
//     bootstrapped, or take the paths in NsupdateEnv and NslookupEnv; when
//     one is missing the dns address is ignored with a warning, as in a
//     reference built without DDNS.
//   - Both run nsupdate with an empty environment and judge it by its exit
//     status, only logging the result: a registration never fails because of
//     DDNS (the reference fails it when it cannot write the script to
//     nsupdate; we do not). We also give nslookup an empty environment (what
//     the reference gives it is not known): the output parsed is then in the
//     C locale and the IPCP's environment is not handed to a foreign program.
//   - The record type is A for udp4 and AAAA for udp6. The reference
//     publishes an A record for udp6 too ([QUIRK]).
//   - The reference caches 0.0.0.0 instead of the address nslookup gave
//     ([QUIRK]); we cache the address resolved.
//   - The reference takes the last non-empty line of nslookup's output and
//     requires "Address:" in it. We take the last "Address:" line of the
//     answer (after the first "Name:" line) holding an address of the
//     layer's family, so the server's own "Address:" line is never taken for
//     the answer and a name with both A and AAAA records resolves in both
//     layers. A trailing "#port" is stripped.
//   - Every command is killed (with its process group) after ddnsTimeout.
//     The reference waits for it.
//   - An unregistration queues its nsupdate and returns at once (the IRMd
//     waits only 500 ms for it); a registration waits for its own. Updates
//     run one at a time in order, so an unreg followed by a reg of the same
//     name leaves the record in place.

// NsupdateEnv and NslookupEnv name environment variables holding the paths
// of nsupdate and nslookup, for tests and unusual installs. Unset, the
// executables are looked for in PATH.
const (
	NsupdateEnv = "OUROBOROS_NSUPDATE"
	NslookupEnv = "OUROBOROS_NSLOOKUP"
)

const (
	ddnsTimeout = 5 * time.Second // bound on every nsupdate and nslookup
	ddnsTTL     = 86400           // TTL of the records published, s (as the reference)
	ddnsQueue   = 256             // updates waiting; an unreg blocks beyond that
	ddnsOutMax  = 64 << 10        // output kept from a command, bytes
)

// ddns publishes and looks up names on one DNS server.
type ddns struct {
	nsupdate, nslookup string     // executables
	server, self       netip.Addr // the DNS server; our address, published
	v6                 bool
	timeout            time.Duration
	log                *slog.Logger

	ctx     context.Context // cancelled by close: kills what runs
	cancel  context.CancelFunc
	updates chan ddnsUpdate
	wg      sync.WaitGroup
}

// ddnsUpdate is one nsupdate run.
type ddnsUpdate struct {
	what   string        // for the log, e.g. "add 7862…"
	script string        // nsupdate's stdin
	done   chan struct{} // closed once run, if someone waits
}

// newDDNS returns the DDNS client of a layer whose IPCP has address self, or
// nil when server is unset or the tools are missing (logged once, here).
// close must be called on a non-nil result.
func newDDNS(server, self netip.Addr, v6 bool, log *slog.Logger) *ddns {
	if !server.IsValid() || server.IsUnspecified() {
		return nil
	}
	nsupdate, err1 := findTool(NsupdateEnv, "nsupdate")
	nslookup, err2 := findTool(NslookupEnv, "nslookup")
	if err := errors.Join(err1, err2); err != nil {
		log.Warn(fmt.Sprintf("Dynamic DNS server %v configured, but %v: "+
			"dynamic DNS disabled, names are resolved through the hosts file.",
			server, strings.ReplaceAll(err.Error(), "\n", "; ")))
		return nil
	}
	d := &ddns{nsupdate: nsupdate, nslookup: nslookup, server: server, self: self, v6: v6,
		timeout: ddnsTimeout, log: log, updates: make(chan ddnsUpdate, ddnsQueue)}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1)
	go d.run()
	log.Info(fmt.Sprintf("Dynamic DNS server %v, with %s and %s.", server, nsupdate, nslookup))
	return d
}

// findTool returns the path of an executable: the one named by the
// environment variable env, else name looked up in PATH.
func findTool(env, name string) (string, error) {
	p := os.Getenv(env)
	if p == "" {
		p = name
	}
	path, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("no %s (%v)", name, err)
	}
	return path, nil
}

// close kills a running command, drops the queued updates and waits for the
// update goroutine.
func (d *ddns) close() {
	d.cancel()
	d.wg.Wait()
}

// rrType is the type of the records of the layer.
func (d *ddns) rrType() string {
	if d.v6 {
		return "AAAA"
	}
	return "A"
}

// reg publishes hash h with our address and waits until nsupdate has run.
func (d *ddns) reg(h []byte) {
	name := DNSName(h)
	script := fmt.Sprintf("server %v\nupdate add %s %d %s %v\nsend\nquit\n",
		d.server, name, ddnsTTL, d.rrType(), d.self)
	done := make(chan struct{})
	if d.enqueue(ddnsUpdate{what: "add " + name, script: script, done: done}) {
		select {
		case <-done:
		case <-d.ctx.Done():
		}
	}
}

// unreg queues the removal of hash h's records.
func (d *ddns) unreg(h []byte) {
	name := DNSName(h)
	script := fmt.Sprintf("server %v\nupdate delete %s %s\nsend\nquit\n", d.server, name, d.rrType())
	d.enqueue(ddnsUpdate{what: "delete " + name, script: script})
}

func (d *ddns) enqueue(up ddnsUpdate) bool {
	if d.ctx.Err() != nil { // closed; select would pick at random
		return false
	}
	select {
	case d.updates <- up:
		return true
	case <-d.ctx.Done():
		return false
	}
}

// run runs the queued updates in order.
func (d *ddns) run() {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case up := <-d.updates:
			d.update(up)
			if up.done != nil {
				close(up.done)
			}
		}
	}
}

// update runs nsupdate with up's script and logs the outcome.
func (d *ddns) update(up ddnsUpdate) {
	ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
	defer cancel()
	var out capped
	cmd := d.command(ctx, d.nsupdate)
	cmd.Stdin = strings.NewReader(up.script)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		d.log.Debug(fmt.Sprintf("DDNS: %s on %v done.", up.what, d.server))
		return
	}
	d.log.Warn(fmt.Sprintf("DDNS: %s on %v failed: %v%s.", up.what, d.server, runErr(ctx, err, d.timeout), out.tail()))
}

// lookup asks the DNS server for hash h with nslookup.
func (d *ddns) lookup(ctx context.Context, h []byte) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var out capped
	cmd := d.command(ctx, d.nslookup, DNSName(h), d.server.String())
	cmd.Stdout = &out // stderr goes to /dev/null
	err := cmd.Run()
	if ctx.Err() != nil {
		return netip.Addr{}, fmt.Errorf("nslookup: %v", runErr(ctx, err, d.timeout))
	}
	// The output decides, whatever the exit status: nslookup may fail one
	// of its queries (A or AAAA) and answer the other.
	a, perr := parseNslookup(out.b, d.v6)
	if perr != nil && err != nil {
		return netip.Addr{}, fmt.Errorf("nslookup: %v%s", err, out.tail())
	}
	return a, perr
}

// command prepares path with an empty environment in a process group of
// its own, all of which is killed when ctx ends.
func (d *ddns) command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // a child left holding the output pipe
	return cmd
}

// runErr describes why a command failed, telling a timeout apart.
func runErr(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %v", timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// parseNslookup takes the answer from nslookup's output: the last
// "Address:" line after the first "Name:" line whose address, without a
// trailing "#port", is a specific address of the family asked for. BIND's
// nslookup prints:
//
//	Server:		10.0.0.1
//	Address:	10.0.0.1#53
//
//	Name:	7862c6fec5ecaef4aa2e3934725e23b3
//	Address: 10.0.0.2
func parseNslookup(out []byte, v6 bool) (netip.Addr, error) {
	var found netip.Addr
	answer := false
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "Name:") {
			answer = true
			continue
		}
		i := strings.Index(line, "Address:")
		if !answer || i < 0 {
			continue
		}
		f := strings.TrimSpace(line[i+len("Address:"):])
		if j := strings.IndexByte(f, '#'); j >= 0 {
			f = f[:j]
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.IsUnspecified() {
			continue
		}
		if !v6 {
			a = a.Unmap()
		}
		if a.Is6() != v6 || a.Is4In6() {
			continue
		}
		found = a
	}
	if !found.IsValid() {
		fam := "IPv4"
		if v6 {
			fam = "IPv6"
		}
		return netip.Addr{}, fmt.Errorf("no %s address in nslookup's answer", fam)
	}
	return found, nil
}

// capped keeps the first ddnsOutMax bytes written to it.
type capped struct{ b []byte }

func (c *capped) Write(p []byte) (int, error) {
	if room := ddnsOutMax - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// tail is the end of the output, for a log line: ": <text>" or "".
func (c *capped) tail() string {
	s := string(bytes.TrimSpace(c.b))
	if len(s) > 200 {
		s = "…" + s[len(s)-200:]
	}
	if s == "" {
		return ""
	}
	return ": " + strings.Join(strings.Fields(s), " ")
}
