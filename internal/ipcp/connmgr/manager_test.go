package connmgr_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr/connmgrtest"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/qos"
)

var quiet = slog.New(slog.DiscardHandler)

// wait bounds the waits of the tests that run in real time: far above
// what any step takes, it only keeps a broken test from hanging.
const wait = 20 * time.Second

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The OCEP messages of the protocol's description: a DT message for address
// 0x0a0b0c0d, and the all-zero "unknown component" answer.
const (
	dtHex   = "0a 0d 44617461205472616e73666572 12 03 647470 18 01 28 02 40 8d98ac50"
	zeroHex = "0a 00 12 00 18 00 28 00 40 00"
)

// readSDU reads one SDU from e within d.
func readSDU(t *testing.T, e *connmgrtest.End, d time.Duration) ([]byte, error) {
	t.Helper()
	e.SetReadDeadline(time.Now().Add(d))
	defer e.SetReadDeadline(time.Time{})
	buf := make([]byte, 2048)
	n, err := e.Read(buf)
	return buf[:n], err
}

type result struct {
	c   connmgr.Conn
	err error
}

// connect runs m.Connect in a goroutine.
func connect(m *connmgr.Manager, ours connmgr.ConnInfo, dst string) chan result {
	ch := make(chan result, 1)
	go func() {
		c, err := m.Connect(context.Background(), ours, dst, qos.Raw)
		ch <- result{c, err}
	}()
	return ch
}

// TestConnectBytes: the initiator sends exactly the reference's DT message
// and, on a compatible answer, returns the connection with the peer's
// address and the name it connected to, the flow open and its read
// deadline cleared.
func TestConnectBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := connmgrtest.NewNet()
		peer := n.Lower("b")
		m := connmgr.New(n.Lower("a"), quiet)
		ch := connect(m, connmgr.DTInfo(0x0a0b0c0d), "b")
		e, err := peer.AcceptEnd(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got, err := readSDU(t, e, time.Second)
		if want := unhex(t, dtHex); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("initiator sent %x, %v; want %x", got, err, want)
		}
		answer, _ := connmgr.DTInfo(0xe4c46f9c).Marshal()
		e.Write(answer)
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.c.Peer != connmgr.DTInfo(0xe4c46f9c) || r.c.Dst != "b" {
			t.Errorf("connection %+v", r.c)
		}
		f := r.c.Flow.(*connmgrtest.End)
		if f.Closed() || !f.ReadDeadline().IsZero() {
			t.Errorf("flow closed %v, read deadline %v", f.Closed(), f.ReadDeadline())
		}
		f.Write([]byte("data")) // the connection is the component's now
		if b, err := readSDU(t, e, time.Second); err != nil || string(b) != "data" {
			t.Errorf("after OCEP: %q %v", b, err)
		}
	})
}

// responder starts Serve on a manager reachable as "b" with the DT
// component of address 0x0a0b0c0d, whose connections go to the returned
// channel; the returned Lower ("a") is the test's, to play initiators.
func responder(t *testing.T, ctx context.Context) (*connmgrtest.Lower, chan connmgr.Conn, chan struct{}) {
	n := connmgrtest.NewNet()
	m := connmgr.New(n.Lower("b"), quiet)
	conns := make(chan connmgr.Conn, 8)
	m.Register(connmgr.DTInfo(0x0a0b0c0d), func(c connmgr.Conn) { conns <- c })
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Serve(ctx)
	}()
	return n.Lower("a"), conns, done
}

// TestServeBytes: the responder answers a DT message with exactly its own
// DT message and hands the connection, with the initiator's address and no
// name, to the component, the read deadline cleared.
func TestServeBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, conns, _ := responder(t, ctx)
		e, err := a.Dial("b")
		if err != nil {
			t.Fatal(err)
		}
		hello, _ := connmgr.DTInfo(7).Marshal()
		e.Write(hello)
		got, err := readSDU(t, e, time.Second)
		if want := unhex(t, dtHex); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("responder sent %x, %v; want %x", got, err, want)
		}
		c := <-conns
		if c.Peer != connmgr.DTInfo(7) || c.Dst != "" {
			t.Errorf("connection %+v", c)
		}
		if f := c.Flow.(*connmgrtest.End); f.Closed() || !f.ReadDeadline().IsZero() {
			t.Errorf("flow closed %v, read deadline %v", f.Closed(), f.ReadDeadline())
		}
	})
}

// TestUnknownComponent: a flow for a component the responder does not have
// gets the 10-byte all-zero message and is closed; the component's handler
// hears nothing. Unregister makes a component unknown.
func TestUnknownComponent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, conns, _ := responder(t, ctx)
		for _, info := range []connmgr.ConnInfo{connmgr.MgmtInfo(7), connmgr.EnrollInfo(), {Comp: "data transfer", Protocol: "dtp", Version: 1, Syntax: 2}} {
			e, _ := a.Dial("b")
			hello, _ := info.Marshal()
			e.Write(hello)
			got, err := readSDU(t, e, time.Second)
			if want := unhex(t, zeroHex); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%q: responder sent %x, %v; want %x", info.Comp, got, err, want)
			}
			if _, err := readSDU(t, e, time.Second); err != io.EOF {
				t.Errorf("%q: after the refusal: %v, want the flow closed (EOF)", info.Comp, err)
			}
		}
		synctest.Wait()
		if len(conns) != 0 {
			t.Errorf("%d connections handed to the DT component", len(conns))
		}
	})
}

// TestConnectRefusesIncompatible: an answer with another protocol, version
// or syntax, the all-zero answer, a malformed or an oversized one make
// Connect fail, and the initiator closes its flow.
func TestConnectRefusesIncompatible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := connmgrtest.NewNet()
		peer := n.Lower("b")
		la := n.Lower("a")
		m := connmgr.New(la, quiet)
		mgmt, _ := connmgr.MgmtInfo(2).Marshal()
		v2, _ := connmgr.ConnInfo{Comp: connmgr.CompDT, Protocol: "dtp", Version: 2, Syntax: connmgr.SyntaxFixed}.Marshal()
		long := append(unhex(t, dtHex), bytes.Repeat([]byte{0x20, 0x01}, 50)...) // 50 supp_version fields: 129 bytes
		for _, c := range []struct {
			name   string
			answer []byte
			want   error
		}{
			{"all-zero", unhex(t, zeroHex), connmgr.ErrIncompatible},
			{"Management", mgmt, connmgr.ErrIncompatible},
			{"version 2", v2, connmgr.ErrIncompatible},
			{"malformed", []byte{0x0a, 0x05, 0x41}, connmgr.ErrOCEPMalformed},
			{"oversized", long, connmgr.ErrOCEPTooLong},
		} {
			ch := connect(m, connmgr.DTInfo(1), "b")
			e, _ := peer.AcceptEnd(context.Background())
			readSDU(t, e, time.Second)
			e.Write(c.answer)
			r := <-ch
			if !errors.Is(r.err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, r.err, c.want)
			}
			all := la.Allocated()
			if f := all[len(all)-1]; !f.Closed() {
				t.Errorf("%s: the initiator's flow is open", c.name)
			}
		}
	})
}

// TestConnectSilentPeer: a peer that never answers makes Connect fail
// after exactly Timeout (virtual time), with the flow closed; so does a
// name nobody has, at once.
func TestConnectSilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := connmgrtest.NewNet()
		peer := n.Lower("b")
		la := n.Lower("a")
		m := connmgr.New(la, quiet)
		start := time.Now()
		ch := connect(m, connmgr.MgmtInfo(1), "b")
		e, _ := peer.AcceptEnd(context.Background())
		r := <-ch
		if el := time.Since(start); !errors.Is(r.err, os.ErrDeadlineExceeded) || el != connmgr.Timeout {
			t.Errorf("silent peer: %v after %v, want a timeout after %v", r.err, el, connmgr.Timeout)
		}
		if !e.PeerClosed() {
			t.Error("the initiator's flow is open")
		}
		if _, err := m.Connect(context.Background(), connmgr.MgmtInfo(1), "nobody", qos.Raw); err == nil {
			t.Error("connect to a name nobody has succeeded")
		}
	})
}

// TestConnectCancelled: Connect gives up as soon as its context ends, not
// only at Timeout, and closes its flow.
func TestConnectCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := connmgrtest.NewNet()
		peer := n.Lower("b")
		m := connmgr.New(n.Lower("a"), quiet)
		ctx, cancel := context.WithCancel(context.Background())
		ch := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := m.Connect(ctx, connmgr.DTInfo(1), "b", qos.Raw)
			ch <- err
		}()
		e, _ := peer.AcceptEnd(context.Background())
		time.Sleep(100 * time.Millisecond)
		cancel()
		err := <-ch
		if el := time.Since(start); err == nil || el != 100*time.Millisecond {
			t.Errorf("cancelled after 100ms: %v after %v", err, el)
		}
		synctest.Wait()
		if !e.PeerClosed() {
			t.Error("the initiator's flow is open")
		}
	})
}

// TestServeSilentPeer: a flow whose initiator says nothing does not hold
// up another: the second connection is established at once (virtual
// time), and the silent one is closed after Timeout.
func TestServeSilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, conns, _ := responder(t, ctx)
		start := time.Now()
		silent, _ := a.Dial("b")
		e, _ := a.Dial("b")
		hello, _ := connmgr.DTInfo(7).Marshal()
		e.Write(hello)
		c := <-conns
		if el := time.Since(start); el != 0 || c.Peer.Addr != 7 {
			t.Errorf("second connection %+v after %v", c.Peer, el)
		}
		if _, err := readSDU(t, silent, 2*connmgr.Timeout); err != io.EOF || time.Since(start) != connmgr.Timeout {
			t.Errorf("silent flow: %v after %v, want closed after %v", err, time.Since(start), connmgr.Timeout)
		}
	})
}

// TestServeOversized: a first SDU longer than 128 bytes, or not an OCEP
// message, gets no answer; the flow is closed and no component hears of it.
func TestServeOversized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, conns, _ := responder(t, ctx)
		long := append(unhex(t, dtHex), bytes.Repeat([]byte{0x20, 0x01}, 50)...) // 50 supp_version fields: 129 bytes
		if len(long) != 129 {
			t.Fatalf("%d-byte message", len(long))
		}
		for _, m := range [][]byte{long, make([]byte, 2000), {0xff, 0xff}} {
			e, _ := a.Dial("b")
			e.Write(m)
			if b, err := readSDU(t, e, 2*connmgr.Timeout); err != io.EOF {
				t.Errorf("%d-byte message: answer %x, %v; want the flow closed", len(m), b, err)
			}
		}
		// 128 bytes is still fine: the same message with 49 such fields.
		e, _ := a.Dial("b")
		e.Write(long[:127])
		if b, err := readSDU(t, e, time.Second); err != nil || !bytes.Equal(b, unhex(t, dtHex)) {
			t.Errorf("127-byte message: answer %x, %v", b, err)
		}
		synctest.Wait()
		if len(conns) != 1 {
			t.Errorf("%d connections handed to the DT component, want 1", len(conns))
		}
	})
}

// TestServeEnds: when its context ends, Serve returns, closing the flow of
// an exchange in progress, and leaves no goroutine (TestServeEndsVirtual
// checks that it does not wait out the silent peer).
func TestServeEnds(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	a, conns, done := responder(t, ctx)
	e, _ := a.Dial("b")
	hello, _ := connmgr.DTInfo(7).Marshal()
	e.Write(hello)
	select {
	case <-conns:
	case <-time.After(wait):
		t.Fatal("no connection")
	}
	silent, _ := a.Dial("b")
	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Serve did not return")
	}
	if !silent.PeerClosed() {
		t.Error("the silent flow was left open")
	}
}

// TestServeEndsVirtual: the same in virtual time, where "at once" is exact.
func TestServeEndsVirtual(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		a, _, done := responder(t, ctx)
		silent, _ := a.Dial("b")
		synctest.Wait()
		start := time.Now()
		cancel()
		<-done
		if el := time.Since(start); el != 0 {
			t.Errorf("Serve returned after %v", el)
		}
		if !silent.PeerClosed() {
			t.Error("the silent flow was left open")
		}
	})
}

// TestServePendingBound: with as many silent flows as the responder waits
// for at once, a further flow is closed at once without an answer; once
// the silent ones time out, flows are served again.
func TestServePendingBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, conns, _ := responder(t, ctx)
		const maxPending = 64 // the manager's bound
		var silent []*connmgrtest.End
		for range maxPending {
			e, _ := a.Dial("b")
			silent = append(silent, e)
		}
		synctest.Wait()
		hello, _ := connmgr.DTInfo(7).Marshal()
		extra, _ := a.Dial("b")
		extra.Write(hello)
		synctest.Wait()
		if !extra.PeerClosed() {
			t.Error("a flow beyond the bound is still open")
		}
		if len(conns) != 0 {
			t.Error("a flow beyond the bound was served")
		}
		time.Sleep(connmgr.Timeout)
		synctest.Wait()
		for i, e := range silent {
			if !e.PeerClosed() {
				t.Fatalf("silent flow %d open after %v", i, connmgr.Timeout)
			}
		}
		e, _ := a.Dial("b")
		e.Write(hello)
		if c := <-conns; c.Peer.Addr != 7 {
			t.Errorf("connection %+v", c.Peer)
		}
	})
}
