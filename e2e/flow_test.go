package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestFlowThroughLocalIPCP allocates, uses and deallocates a flow through a
// local IPCP (direct flows off), with messages of every size class.
func TestFlowThroughLocalIPCP(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local1", "local-layer")
	e.register("echo.local", pid)
	e.serve("echo.local")
	f := e.alloc("echo.local", qos.Raw)
	if f.FD() < 64 {
		t.Errorf("fd = %d, want >= 64", f.FD())
	}
	if f.PeerPID() != pid {
		t.Errorf("peer pid = %d, want the IPCP %d", f.PeerPID(), pid)
	}
	for _, n := range []int{1, 64, 1400, 9000, flow.MaxSDU} {
		roundTrip(t, f, bytes.Repeat([]byte{byte(n)}, n))
	}
	// Message boundaries survive: three writes, three reads.
	for _, m := range []string{"a", "bb", "ccc"} {
		if _, err := f.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 100)
	for _, m := range []string{"a", "bb", "ccc"} {
		n, err := f.Read(buf)
		if err != nil || string(buf[:n]) != m {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, m)
		}
	}
	if _, err := f.Write(make([]byte, flow.MaxSDU+1)); !isErrno(err, flow.EMSGSIZE) {
		t.Errorf("oversized write: %v, want EMSGSIZE", err)
	}
	if got := f.QoS(); got.InOrder != qos.Raw.InOrder || got.Timeout != qos.Raw.Timeout {
		t.Errorf("QoS = %+v", got)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v, want net.ErrClosed", err)
	}
	e.WaitLog("Completed deallocation of flow_id", 10*time.Second)
	if strings := e.Log(); contains(strings, "(direct)") {
		t.Errorf("a flow went direct with --no-direct:\n%s", strings)
	}
}

// TestFlowDirect connects two local processes without an IPCP.
func TestFlowDirect(t *testing.T) {
	e := setup(t, rig.Options{})
	srv := e.role("echo-server", "echo.direct")
	srv.WaitOutput(t, "ready", 10*time.Second)
	f := e.alloc("echo.direct", qos.Raw)
	if f.PeerPID() != srv.PID() {
		t.Errorf("peer pid = %d, want the server %d", f.PeerPID(), srv.PID())
	}
	for i := range 100 {
		roundTrip(t, f, []byte(fmt.Sprintf("message %d", i)))
	}
	e.WaitLog("allocated (direct)", time.Second)
	e.WaitLog("accepted (direct)", time.Second)
}

// TestPartialReads checks the documented message semantics of a short buffer.
func TestPartialReads(t *testing.T) {
	e := setup(t, rig.Options{})
	e.serve("echo.partial")
	f := e.alloc("echo.partial", qos.Raw)
	f.SetReadTimeout(10 * time.Second)
	read := func(size int) (string, error) {
		b := make([]byte, size)
		n, err := f.Read(b)
		return string(b[:n]), err
	}
	f.Write([]byte("0123456789"))
	for _, want := range []string{"0123", "4567", "89"} {
		if got, err := read(4); err != nil || got != want {
			t.Fatalf("read = %q, %v; want %q", got, err, want)
		}
	}
	// A piece that fills the buffer exactly is followed by a 0-length read.
	f.Write([]byte("abcdefgh"))
	for _, want := range []string{"abcd", "efgh", ""} {
		if got, err := read(4); err != nil || got != want {
			t.Fatalf("read = %q, %v; want %q", got, err, want)
		}
	}
	// Without partial reads, a message that does not fit is dropped.
	f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart)
	f.Write([]byte("too long for four"))
	f.Write([]byte("ok"))
	if _, err := read(4); !isErrno(err, flow.EMSGSIZE) {
		t.Fatalf("short read without partial reads: %v, want EMSGSIZE", err)
	}
	if got, err := read(4); err != nil || got != "ok" {
		t.Fatalf("next message = %q, %v", got, err)
	}
}

// Test200ConcurrentFlows allocates 200 flows at once through the local IPCP
// and uses them all concurrently.
func Test200ConcurrentFlows(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local1", "local-layer")
	e.register("echo.many", pid)
	e.serve("echo.many")
	const n = 200
	flows := make([]*flow.Flow, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := flow.Alloc(e.ctx(), "echo.many", qos.Raw)
			if err != nil {
				errs <- fmt.Errorf("alloc %d: %w", i, err)
				return
			}
			flows[i] = f
			buf := make([]byte, 64)
			for j := range 10 {
				msg := fmt.Sprintf("flow %d message %d", i, j)
				f.Write([]byte(msg))
				f.SetReadDeadline(time.Now().Add(20 * time.Second))
				k, err := f.Read(buf)
				if err != nil || string(buf[:k]) != msg {
					errs <- fmt.Errorf("flow %d: %q, %v", i, buf[:k], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ids := map[int]bool{}
	for _, f := range flows {
		if f == nil {
			continue
		}
		if ids[f.FD()] {
			t.Errorf("fd %d handed out twice", f.FD())
		}
		ids[f.FD()] = true
		f.Close()
	}
}

// TestDeadlines covers read deadlines and timeouts, changing a deadline while
// blocked, and write deadlines against a peer that does not read.
func TestDeadlines(t *testing.T) {
	e := setup(t, rig.Options{})
	// The echo server is another process: this one accepts for the sink, and
	// a process's accepts take flows for any name it is bound to.
	srv := e.role("echo-server", "echo.deadline")
	srv.WaitOutput(t, "ready", 10*time.Second)
	f := e.alloc("echo.deadline", qos.Raw)
	buf := make([]byte, 64)

	f.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := f.Read(buf)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !isErrno(err, flow.ETIMEDOUT) ||
		!errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past deadline: %v", err)
	}
	f.SetReadDeadline(time.Time{})
	f.SetReadTimeout(30 * time.Millisecond)
	if _, err := f.Read(buf); !isErrno(err, flow.ETIMEDOUT) {
		t.Fatalf("read past timeout: %v", err)
	}
	if d, ok := f.ReadTimeout(); !ok || d != 30*time.Millisecond {
		t.Errorf("ReadTimeout = %v, %v", d, ok)
	}
	f.SetReadTimeout(0)

	// A deadline moved into the past wakes a blocked reader.
	f.SetReadDeadline(time.Now().Add(time.Hour))
	done := make(chan error)
	go func() { _, err := f.Read(buf); done <- err }()
	time.Sleep(20 * time.Millisecond)
	f.SetReadDeadline(time.Now())
	select {
	case err := <-done:
		if !isErrno(err, flow.ETIMEDOUT) {
			t.Fatalf("woken read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("moving the deadline did not wake the reader")
	}
	f.SetReadDeadline(time.Time{})
	roundTrip(t, f, []byte("still works"))

	// A peer that accepts and never reads: writes block and then time out.
	sink := newSink(t, e, "sink.deadline")
	g := e.alloc("sink.deadline", qos.Raw)
	<-sink
	g.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	msg := make([]byte, 1400)
	var werr error
	for i := 0; i < 1_000_000 && werr == nil; i++ {
		_, werr = g.Write(msg)
	}
	if !isErrno(werr, flow.ETIMEDOUT) || !errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a full flow: %v, want ETIMEDOUT", werr)
	}
}

// newSink accepts one flow for name and never reads it; the channel delivers
// once the flow is accepted.
func newSink(t *testing.T, e *env, name string) <-chan struct{} {
	if err := e.irm.BindProcess(e.ctx(), os.Getpid(), name); err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var held *flow.Flow
	go func() {
		defer close(done)
		f, err := flow.Accept(ctx)
		if err != nil {
			return
		}
		held = f
		close(accepted)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if held != nil {
			held.Close()
		}
	})
	return accepted
}

// TestNonBlocking checks EAGAIN on reads with nothing queued and on writes to
// a full flow.
func TestNonBlocking(t *testing.T) {
	e := setup(t, rig.Options{})
	srv := e.role("echo-server", "echo.nb")
	srv.WaitOutput(t, "ready", 10*time.Second)
	f := e.alloc("echo.nb", qos.Raw)
	f.SetFlags(flow.FlagRdWr | flow.FlagNonBlock)
	if got := f.Flags(); got != flow.FlagRdWr|flow.FlagNonBlock {
		t.Errorf("Flags = %o", got)
	}
	buf := make([]byte, 64)
	if _, err := f.Read(buf); !isErrno(err, flow.EAGAIN) {
		t.Fatalf("empty non-blocking read: %v, want EAGAIN", err)
	}
	f.Write([]byte("hello"))
	eventually(t, "the echo", func() bool {
		n, err := f.Read(buf)
		return err == nil && string(buf[:n]) == "hello"
	})

	sink := newSink(t, e, "sink.nb")
	g := e.alloc("sink.nb", qos.Raw)
	<-sink
	g.SetFlags(flow.FlagRdWr | flow.FlagWNoBlock)
	var werr error
	start := time.Now()
	for i := 0; i < 1_000_000 && werr == nil; i++ {
		_, werr = g.Write(make([]byte, 1400))
	}
	if !isErrno(werr, flow.EAGAIN) {
		t.Fatalf("non-blocking write to a full flow: %v, want EAGAIN", werr)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("non-blocking writes took %v", time.Since(start))
	}
	g.SetFlags(flow.FlagRdOnly)
	if _, err := g.Write([]byte("x")); !isErrno(err, flow.EPERM) {
		t.Errorf("write on a read-only flow: %v, want EPERM", err)
	}
}

// TestAcceptTimeoutAndCancel checks that an accept with a deadline times out,
// a cancelled accept leaves the irmd serving, and the next accept works.
func TestAcceptTimeoutAndCancel(t *testing.T) {
	e := setup(t, rig.Options{})
	if err := e.irm.BindProcess(e.ctx(), os.Getpid(), "acceptor"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := flow.Accept(ctx); !isErrno(err, flow.ETIMEDOUT) {
		t.Fatalf("accept past deadline: %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	if _, err := flow.Accept(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled accept: %v", err)
	}
	e.serve("acceptor")
	f := e.alloc("acceptor", qos.Raw)
	roundTrip(t, f, []byte("after cancel"))
}
