package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// census is what the irmd and an IPCP report on SIGUSR1: the flows in the
// irmd's registry, those an IPCP holds, and the flows the IPCP holds.
type census struct {
	flows, ipcpHeld, inIPCP int
}

var (
	irmdCensus = regexp.MustCompile(`Flows: (\d+) \((\d+) held by IPCPs`)
	ipcpCensus = regexp.MustCompile(`Flows held: (\d+)\.`)
)

// census asks the irmd and the IPCP ipcp for their counts (SIGUSR1) and
// waits for both lines.
func (e *env) census(ipcp int) census {
	e.t.Helper()
	lastOf := func(re *regexp.Regexp) ([]string, int) {
		m := re.FindAllStringSubmatch(e.Log(), -1)
		if len(m) == 0 {
			return nil, 0
		}
		return m[len(m)-1], len(m)
	}
	_, n1 := lastOf(irmdCensus)
	_, n2 := lastOf(ipcpCensus)
	syscall.Kill(e.IRMdPID(), syscall.SIGUSR1)
	syscall.Kill(ipcp, syscall.SIGUSR1)
	for deadline := time.Now().Add(10 * time.Second); ; {
		m1, c1 := lastOf(irmdCensus)
		m2, c2 := lastOf(ipcpCensus)
		if c1 > n1 && c2 > n2 {
			var c census
			c.flows, _ = strconv.Atoi(m1[1])
			c.ipcpHeld, _ = strconv.Atoi(m1[2])
			c.inIPCP, _ = strconv.Atoi(m2[1])
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no census from the irmd and IPCP %d after SIGUSR1:\n%s", ipcp, rig.Tail(e.Log(), 30))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settles waits until the census is want (flows still being released are
// given the time they need) and fails with the log's tail otherwise.
func (e *env) settles(ipcp int, want census) {
	e.t.Helper()
	var got census
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if got = e.census(ipcp); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("flows left behind: irmd has %d (%d held by the IPCP), the IPCP holds %d; want %d, %d, %d\n%s",
		got.flows, got.ipcpHeld, got.inIPCP, want.flows, want.ipcpHeld, want.inIPCP, rig.Tail(e.Log(), 40))
}

// TestKilledRequesterSparesOtherFlows: a client killed while its allocation
// through the local IPCP waits for a slow server must not touch anyone
// else's flow. The irmd used to free the killed client's flow id while the
// IPCP still held it; the next allocation reused the id, and when the slow
// server finally accepted, the stale request paired onto that flow: it went
// down, and the slow server's accept failed with EIPCP.
func TestKilledRequesterSparesOtherFlows(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	ipcp := e.localLayer("local1", "local-layer")
	e.register("slow.srv", ipcp)
	e.register("fast.srv", ipcp)
	goFile := filepath.Join(t.TempDir(), "go")
	slow := roleIn(t, e.Instance, "slow-server", "slow.srv", "O7S_E2E_GO="+goFile)
	slow.WaitOutput(t, "ready", 10*time.Second)
	fast := e.role("echo-server", "fast.srv")
	fast.WaitOutput(t, "ready", 10*time.Second)

	// Client A's request reaches the IPCP and waits there for the slow
	// server; A is killed.
	a := e.role("client", "slow.srv")
	e.WaitLog("Flow request arrived for slow.srv", 10*time.Second)
	a.Kill()
	e.WaitLog(fmt.Sprintf("Process %d died.", a.PID()), 5*time.Second)

	// Client B (this process) talks to the fast server.
	b := e.alloc("fast.srv", qos.Raw)
	roundTrip(t, b, []byte("before"))

	// The slow server starts accepting: A's request is gone, so its first
	// accept is for a new client, and B's flow carries on.
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	slow.WaitOutput(t, "accepting", 10*time.Second)
	c := e.alloc("slow.srv", qos.Raw)
	roundTrip(t, c, []byte("slow"))
	for i := range 20 {
		roundTrip(t, b, []byte(fmt.Sprintf("after %d", i)))
	}
	if strings.Contains(slow.Out.String(), "accept:") {
		t.Errorf("the slow server's accept failed:\n%s", slow.Out.String())
	}
	if l := rig.Lines(e.Log(), "reused while still held"); len(l) > 0 {
		t.Errorf("the IPCP saw a flow id reused:\n%s", strings.Join(l, "\n"))
	}
	b.Close()
	c.Close()
	// Left: the two servers' pending accepts.
	e.settles(ipcp, census{flows: 2})
}

// churnCycles is the number of reliable allocate/close cycles of
// TestReliableChurn: about four times the flow ids of an irmd (two per
// cycle). Under the race detector (and -short) the test does a thousand,
// for the races; make test runs the end-to-end tests again without it.
const churnCycles = 20000

// TestReliableChurn: reliable flows allocated and closed through the local
// IPCP, many more than there are flow ids. FRCT's keep time used to be
// passed down as the deallocation timeout: the IPCP slept that long (130 s)
// before releasing, the irmd kept both ids, and after 5,119 cycles every
// allocation failed (with EBADF, and nothing in the log). Lingering belongs
// to the application; the ids are released as soon as both ends closed.
// make test runs it with both data paths (shm under the race detector, then
// sockets). The ids must be free as soon as both ends closed (the census).
func TestReliableChurn(t *testing.T) {
	cycles := churnCycles
	if rig.Race() || testing.Short() {
		cycles = 1000
	}
	e := setup(t, rig.Options{NoDirect: true})
	ipcp := e.localLayer("local1", "local-layer")
	e.register("churn.srv", ipcp)
	e.serve("churn.srv")
	const workers = 4
	start := time.Now()
	var next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for {
				n := next.Add(1)
				if n > int64(cycles) {
					errs <- nil
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				f, err := flow.Alloc(ctx, "churn.srv", qos.Data)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("allocation %d: %w", n, err)
					return
				}
				// One round trip: FRCT keeps a flow that carried data
				// for its keep time (130 s) after close.
				buf := make([]byte, 16)
				f.SetReadDeadline(time.Now().Add(20 * time.Second))
				if _, err := f.Write([]byte("x")); err != nil {
					errs <- fmt.Errorf("write %d: %w", n, err)
					return
				}
				if _, err := f.Read(buf); err != nil {
					errs <- fmt.Errorf("read %d: %w", n, err)
					return
				}
				if err := f.Close(); err != nil {
					errs <- fmt.Errorf("close %d: %w", n, err)
					return
				}
			}
		}()
	}
	var failed error
	for range workers {
		if err := <-errs; err != nil && failed == nil {
			failed = err
			next.Store(int64(cycles)) // stop the others
		}
	}
	if failed != nil {
		t.Fatalf("%v\n%s", failed, rig.Tail(e.Log(), 30))
	}
	t.Logf("%d reliable allocate/close cycles in %v", cycles, time.Since(start).Round(time.Millisecond))
	// Left: the server's pending accept.
	e.settles(ipcp, census{flows: 1})
}

// TestKilledClientsStress: 200 clients killed at random moments (starting
// up, while their allocation through the local IPCP waits for a busy server,
// during transfer) while long-lived flows through the same IPCP do round
// trips throughout. The long-lived flows never fail, no server's accept
// fails, and afterwards the irmd and the IPCP hold nothing but the
// long-lived flows.
func TestKilledClientsStress(t *testing.T) {
	const (
		clients  = 200
		parallel = 40
		steady   = 4
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	e := setup(t, rig.Options{NoDirect: true})
	ipcp := e.localLayer("local1", "local-layer")
	for _, n := range []string{"steady.srv", "fast.srv", "lazy.srv"} {
		e.register(n, ipcp)
	}
	servers := []*rig.Proc{
		e.role("echo-server", "steady.srv"),
		e.role("echo-server", "fast.srv"),
		// Accepts one flow every 30 ms: requests queue for it.
		roleIn(t, e.Instance, "slow-server", "lazy.srv", "O7S_E2E_PAUSE=30"),
	}
	for _, s := range servers {
		s.WaitOutput(t, "ready", 10*time.Second)
	}

	// The long-lived flows: round trips until told to stop.
	stop := make(chan struct{})
	steadyErr := make(chan error, steady)
	var trips atomic.Int64
	flows := make([]*flow.Flow, steady)
	for i := range flows {
		flows[i] = e.alloc("steady.srv", qos.Raw)
		go func(f *flow.Flow) {
			buf := make([]byte, 64)
			for n := 0; ; n++ {
				select {
				case <-stop:
					steadyErr <- nil
					return
				default:
				}
				msg := fmt.Sprintf("flow %d trip %d", f.ID(), n)
				f.SetReadDeadline(time.Now().Add(20 * time.Second))
				if _, err := f.Write([]byte(msg)); err != nil {
					steadyErr <- fmt.Errorf("long-lived flow %d, trip %d: write: %w", f.ID(), n, err)
					return
				}
				k, err := f.Read(buf)
				if err != nil || string(buf[:k]) != msg {
					steadyErr <- fmt.Errorf("long-lived flow %d, trip %d: read %q, %v", f.ID(), n, buf[:k], err)
					return
				}
				trips.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}(flows[i])
	}

	// The victims, parallel at a time: each is killed at a random moment
	// of its start-up, its allocation or its transfer.
	start := time.Now()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var phases [3]atomic.Int64
	for i := range clients {
		name := []string{"fast.srv", "lazy.srv"}[i%2]
		phase := rng.IntN(3)
		delay := time.Duration(rng.IntN(100)) * time.Millisecond
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := e.role("client", name)
			switch phase {
			case 1:
				waitOut(c, "allocating")
			case 2:
				waitOut(c, "echoing")
			}
			time.Sleep(delay)
			c.Kill()
			phases[phase].Add(1)
		}()
	}
	wg.Wait()
	t.Logf("%d clients killed (%d starting, %d allocating, %d transferring) in %v; %d round trips on the long-lived flows",
		clients, phases[0].Load(), phases[1].Load(), phases[2].Load(), time.Since(start).Round(time.Millisecond), trips.Load())
	close(stop)
	for range steady {
		if err := <-steadyErr; err != nil {
			t.Errorf("%v", err)
		}
	}
	for _, s := range servers {
		if strings.Contains(s.Out.String(), "accept:") {
			t.Errorf("a server's accept failed:\n%s", rig.Tail(s.Out.String(), 5))
		}
	}
	if l := rig.Lines(e.Log(), "reused while still held"); len(l) > 0 {
		t.Errorf("the IPCP saw a flow id reused:\n%s", strings.Join(l, "\n"))
	}
	if t.Failed() {
		t.FailNow()
	}
	// Everything the victims held is released: left are the long-lived
	// flows (two ids each, one per side of the IPCP) and the three
	// servers' pending accepts.
	e.settles(ipcp, census{flows: 2*steady + 3, ipcpHeld: 2 * steady, inIPCP: 2 * steady})
	for _, f := range flows {
		roundTrip(t, f, []byte("still there"))
		f.Close()
	}
	e.settles(ipcp, census{flows: 3})
}

// waitOut waits up to 3 s for p to print s (or exit).
func waitOut(p *rig.Proc, s string) {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if strings.Contains(p.Out.String(), s) {
			return
		}
		select {
		case <-p.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}
