// Package e2e tests the whole stack with real processes: a private irmd in a
// temporary run directory, real IPCP processes, and applications that are
// either this test process (through the public flow package) or child
// processes (the module's commands, or this test binary re-run in a role).
package e2e

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// roleEnv selects a role when this test binary runs as a child process.
const roleEnv = "O7S_E2E_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Getenv("O7S_E2E_NAME")))
	}
	code := m.Run()
	rig.Cleanup()
	os.Exit(code)
}

// runRole is the body of a child process: an echo server bound to name, or a
// client that echoes through a flow to name until it fails.
func runRole(role, name string) int {
	if r, ok := moreRoles[role]; ok {
		return r(name)
	}
	ctx := context.Background()
	defer flow.Fini()
	switch role {
	case "echo-server":
		// flow.Bind: the one call a message-flow server needs (README).
		if err := flow.Bind(ctx, name); err != nil {
			fmt.Println("bind:", err)
			return 1
		}
		fmt.Println("ready")
		for {
			f, err := flow.Accept(ctx)
			if err != nil {
				fmt.Println("accept:", err)
				return 1
			}
			fmt.Println("accepted", f.ID())
			if p := f.PeerName(); p != "" {
				fmt.Println("peer", f.ID(), p) // the client authenticated
			}
			go echo(f)
		}
	case "slow-server":
		// An echo server bound to name that starts accepting only once the
		// file O7S_E2E_GO exists (if set) and pauses O7S_E2E_PAUSE ms after
		// each accept; it reports a failed accept and exits.
		if !bindProcess(ctx, name) {
			return 1
		}
		waitFile(os.Getenv("O7S_E2E_GO"))
		pause, _ := strconv.Atoi(os.Getenv("O7S_E2E_PAUSE"))
		fmt.Println("accepting")
		for {
			f, err := flow.Accept(ctx)
			if err != nil {
				fmt.Println("accept:", err)
				return 1
			}
			fmt.Println("accepted", f.ID())
			go echo(f)
			time.Sleep(time.Duration(pause) * time.Millisecond)
		}
	case "echo-small":
		// The echo server for many flows: messages of up to 1 KiB, so an
		// idle flow costs little here (see TestTenThousandFlows).
		if !bindProcess(ctx, name) {
			return 1
		}
		for {
			f, err := flow.Accept(ctx)
			if err != nil {
				fmt.Println("accept:", err)
				return 1
			}
			go func() {
				defer f.Close()
				buf := make([]byte, 1024)
				for {
					n, err := f.Read(buf)
					if err != nil {
						return
					}
					if _, err := f.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	case "counter":
		// Counts the messages of each flow until one says "END", then
		// replies with the count: the far end of a one-way throughput test.
		if !bindProcess(ctx, name) {
			return 1
		}
		for {
			f, err := flow.Accept(ctx)
			if err != nil {
				return 1
			}
			go func() {
				defer f.Close()
				buf := make([]byte, flow.MaxSDU)
				count := 0
				for {
					n, err := f.Read(buf)
					if err != nil {
						return
					}
					if n == 3 && string(buf[:3]) == "END" {
						f.Write([]byte(strconv.Itoa(count)))
						count = 0
						continue
					}
					count++
				}
			}()
		}
	case "late-counter":
		// Accepts one flow, reads nothing until the file O7S_E2E_GO exists,
		// then counts the messages until the flow ends and prints the count:
		// the far end of a burst its client closes while packets are queued.
		if !bindProcess(ctx, name) {
			return 1
		}
		f, err := flow.Accept(ctx)
		if err != nil {
			fmt.Println("accept:", err)
			return 1
		}
		fmt.Println("accepted")
		waitFile(os.Getenv("O7S_E2E_GO"))
		buf := make([]byte, flow.MaxSDU)
		count := 0
		for {
			if _, err := f.Read(buf); err != nil {
				fmt.Printf("count %d (%v)\n", count, err)
				return 0
			}
			count++
		}
	case "hash-sink":
		// Accepts one stream, hashes everything until EOF, prints the
		// count and the SHA-256: the far end of the bulk-transfer test.
		l, err := flow.Listen(name)
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		fmt.Println("ready")
		c, err := l.Accept()
		if err != nil {
			fmt.Println("accept:", err)
			return 1
		}
		// With O7S_E2E_BYTES it reads that many bytes: across a shim layer
		// (UDP, Ethernet) the peer's close is not signalled, as in the
		// reference, so EOF would only come with the keepalive timeout.
		h := sha256.New()
		var n int64
		if want, _ := strconv.ParseInt(os.Getenv("O7S_E2E_BYTES"), 10, 64); want > 0 {
			n, err = io.CopyN(h, c, want)
		} else {
			n, err = io.Copy(h, c)
		}
		fmt.Printf("received %d bytes sha256 %x err %v\n", n, h.Sum(nil), err)
		c.Close()
		l.Close()
		return 0
	case "stream-source":
		// Dials name and writes O7S_E2E_BYTES bytes of a fixed pseudo-random
		// sequence, then prints their count and SHA-256: the near end of a
		// bulk transfer between hosts.
		n, _ := strconv.Atoi(os.Getenv("O7S_E2E_BYTES"))
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		c, err := flow.Dial(ctx, name)
		if err != nil {
			fmt.Println("dial:", err)
			return 1
		}
		// Optionally wait for a go-ahead file (the test degrades the
		// link between allocation and transfer).
		fmt.Println("connected")
		waitFile(os.Getenv("O7S_E2E_GO"))
		h := sha256.New()
		rng := rand.New(rand.NewPCG(11, 12))
		buf := make([]byte, 64<<10)
		for sent := 0; sent < n; sent += len(buf) {
			b := buf[:min(len(buf), n-sent)]
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			h.Write(b)
			if _, err := c.Write(b); err != nil {
				fmt.Println("write:", err)
				return 2
			}
		}
		if err := c.Close(); err != nil {
			fmt.Println("close:", err)
			return 2
		}
		fmt.Printf("sent %d bytes sha256 %x\n", n, h.Sum(nil))
		return 0
	case "client":
		if err := flow.Init(); err != nil {
			fmt.Println("init:", err)
			return 1
		}
		fmt.Println("allocating")
		f, err := flow.Alloc(ctx, name, qos.Raw)
		if err != nil {
			fmt.Println("alloc:", err)
			return 1
		}
		fmt.Println("allocated", f.ID())
		buf := make([]byte, 2048)
		for i := 0; ; i++ {
			if _, err := f.Write([]byte("ping " + strconv.Itoa(i))); err != nil {
				fmt.Println("write:", err)
				return 2
			}
			if _, err := f.Read(buf); err != nil {
				fmt.Println("read:", err)
				return 2
			}
			if i == 0 {
				fmt.Println("echoing")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return 3
}

// bindProcess initializes the flow library, binds this process to name
// (flows to name come to it) and prints "ready"; on failure it prints why
// and returns false.
func bindProcess(ctx context.Context, name string) bool {
	if err := flow.Init(); err != nil {
		fmt.Println("init:", err)
		return false
	}
	var c irm.Client
	if err := c.BindProcess(ctx, os.Getpid(), name); err != nil {
		fmt.Println("bind:", err)
		return false
	}
	fmt.Println("ready")
	return true
}

// waitFile waits until the file at path exists (the test's go-ahead);
// "" does not wait.
func waitFile(path string) {
	for path != "" {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// moreRoles are roles defined next to the tests that use them.
var moreRoles = map[string]func(name string) int{}

// echo writes back every message until the flow fails.
func echo(f *flow.Flow) {
	defer f.Close()
	f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart)
	buf := make([]byte, flow.MaxSDU)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return
		}
	}
}

// env is a private instance with this test process as one of its applications.
type env struct {
	*rig.Instance
	t   testing.TB
	irm irm.Client
}

// setup starts a private irmd and points this process at it. Tests using it
// must not run in parallel: the flow package has one IRMd per process.
func setup(t testing.TB, opt rig.Options) *env {
	t.Helper()
	leakcheck.Check(t)
	in := rig.Start(t, opt)
	t.Setenv(rundir.Env, in.Dir)
	t.Cleanup(flow.Fini) // runs before the instance stops
	if err := flow.Init(); err != nil {
		t.Fatal(err)
	}
	return &env{Instance: in, t: t, irm: irm.Client{Dir: in.Dir}}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// localLayer creates and bootstraps a local IPCP and returns its pid.
func (e *env) localLayer(name, layer string) int {
	e.t.Helper()
	ctx := e.ctx()
	if err := e.irm.CreateIPCP(ctx, name, irm.Local); err != nil {
		e.t.Fatalf("create IPCP: %v\n%s", err, e.Tail())
	}
	pid := e.ipcpPID(name)
	if err := e.irm.BootstrapIPCP(ctx, pid, irm.DefaultConfig(irm.Local, layer)); err != nil {
		e.t.Fatalf("bootstrap: %v\n%s", err, e.Tail())
	}
	return pid
}

func (e *env) ipcpPID(name string) int {
	e.t.Helper()
	l, err := e.irm.ListIPCPs(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, i := range l {
		if i.Name == name {
			return i.PID
		}
	}
	e.t.Fatalf("no IPCP %s in %v", name, l)
	return 0
}

// serve binds this process to name and echoes on every accepted flow until
// the test ends.
func (e *env) serve(name string) {
	e.t.Helper()
	if err := e.irm.BindProcess(e.ctx(), os.Getpid(), name); err != nil && !errors.Is(err, irm.EEXIST) {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			f, err := flow.Accept(ctx)
			if ctx.Err() != nil {
				if f != nil {
					f.Close()
				}
				return
			}
			if err != nil {
				e.t.Errorf("accept for %s: %v", name, err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			go echo(f)
		}
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

// register creates name and registers it in the layer of the IPCP pid.
func (e *env) register(name string, pid int) {
	e.t.Helper()
	if err := e.irm.CreateName(e.ctx(), irm.NameInfo{Name: name}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.irm.RegName(e.ctx(), name, pid); err != nil {
		e.t.Fatal(err)
	}
}

// role starts this test binary as a child process in a role.
func (e *env) role(role, name string) *rig.Proc {
	e.t.Helper()
	return roleIn(e.t, e.Instance, role, name)
}

// alloc allocates a flow to name and closes it at the end of the test.
func (e *env) alloc(name string, q qos.Spec) *flow.Flow {
	e.t.Helper()
	f, err := flow.Alloc(e.ctx(), name, q)
	if err != nil {
		e.t.Fatalf("alloc %s: %v\n%s", name, err, e.Tail())
	}
	e.t.Cleanup(func() { f.Close() })
	return f
}

// roundTrip writes msg and reads it back.
func roundTrip(t *testing.T, f *flow.Flow, msg []byte) {
	t.Helper()
	if _, err := f.Write(msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg)+16)
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer f.SetReadDeadline(time.Time{})
	n, err := f.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(buf[:n]) != string(msg) {
		t.Fatalf("echo = %q, want %q", buf[:n], msg)
	}
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func isErrno(err error, e flow.Errno) bool { return errors.Is(err, e) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
