package unicast

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestEnrollFailures: an IPCP enrolling through its own name fails (no
// member answers there), and so does one whose enroller dies after the
// request; either way it stays able to enroll, and then does. A member
// enrolling again, even through itself, is refused for its state.
func TestEnrollFailures(t *testing.T) {
	leakcheck.Check(t)
	n := newMemNet()
	a, x := newNode(t, n, "a", "L"), newNode(t, n, "x")
	ctx := context.Background()
	if _, _, err := a.u.Bootstrap(ctx, ringConf().Message()); err != nil {
		t.Fatal(err)
	}
	// An enroller that reads the request and goes.
	dying := connmgr.New(n.lower("dying"), quiet)
	dying.Register(connmgr.EnrollInfo(), func(c connmgr.Conn) {
		buf := make([]byte, 2048)
		c.Flow.Read(buf)
		c.Flow.Close()
	})
	dctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		dying.Serve(dctx)
	}()
	t.Cleanup(func() { stop(); <-done })

	h, _ := hash.Sum(hash.SHA3_256, "x")
	for _, dst := range []string{"x", "dying"} {
		if _, _, err := x.u.Enroll(ctx, dst); !errors.Is(err, oerr.EIPCP) {
			t.Errorf("enrolling through %s: %v", dst, err)
		}
		if err := x.u.Reg(h); !errors.Is(err, oerr.EIPCPSTATE) {
			t.Errorf("after the failed enrollment through %s: %v", dst, err)
		}
	}
	if _, _, err := x.u.Enroll(ctx, "L"); err != nil {
		t.Fatalf("enrolling after the failure: %v", err)
	}
	for _, m := range []*node{a, x} {
		for _, dst := range []string{"a", "x", "L"} {
			if _, _, err := m.u.Enroll(ctx, dst); !errors.Is(err, oerr.EIPCPSTATE) {
				t.Errorf("a member enrolling through %s: %v", dst, err)
			}
		}
	}
	if err := x.u.Connect(ctx, "a", "", qos.Raw); err != nil {
		t.Errorf("connect after all that: %v", err)
	}
}

// TestConnectFailures: connecting to a name nobody has, or to a member
// that has Management but refuses Data Transfer, fails and leaves no
// connection behind (a half-made connect is undone); disconnecting from a
// name never connected, or again, succeeds and changes nothing.
func TestConnectFailures(t *testing.T) {
	leakcheck.Check(t)
	n := newMemNet()
	a, b := newNode(t, n, "a", "L"), newNode(t, n, "b")
	ctx := context.Background()
	if _, _, err := a.u.Bootstrap(ctx, ringConf().Message()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.u.Enroll(ctx, "L"); err != nil {
		t.Fatal(err)
	}
	if err := a.u.Connect(ctx, "b", "", qos.Raw); err != nil {
		t.Fatal(err)
	}
	before := a.conns()
	if len(before) != 2 {
		t.Fatalf("connections %+v", before)
	}

	// A responder with Management only.
	half := connmgr.New(n.lower("half"), quiet)
	half.Register(connmgr.MgmtInfo(0x1234), func(c connmgr.Conn) {})
	hctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		half.Serve(hctx)
	}()
	t.Cleanup(func() { stop(); <-done })

	for _, c := range []struct{ dst, comp string }{{"nobody", ""}, {"nobody", "dt"}, {"nobody", "mgmt"}, {"half", ""}, {"half", "dt"}} {
		if err := a.u.Connect(ctx, c.dst, c.comp, qos.Raw); !errors.Is(err, oerr.EIPCP) {
			t.Errorf("connect %s %q: %v", c.dst, c.comp, err)
		}
		if got := a.conns(); !slices.Equal(got, before) {
			t.Errorf("after connect %s %q: connections %+v, want %+v", c.dst, c.comp, got, before)
		}
	}
	for _, dst := range []string{"nobody", "half", "c", ""} {
		if err := a.u.Disconnect(ctx, dst, ""); err != nil {
			t.Errorf("disconnect %q: %v", dst, err)
		}
	}
	if err := b.u.Disconnect(ctx, "a", ""); err != nil { // b accepted, so it has no "a"
		t.Errorf("disconnect on the accepting side: %v", err)
	}
	if got := a.conns(); !slices.Equal(got, before) {
		t.Errorf("connections %+v, want %+v", got, before)
	}
	if err := a.u.Connect(ctx, "b", "bogus", qos.Raw); !errors.Is(err, oerr.EINVAL) {
		t.Errorf("unknown component: %v", err)
	}
	for range 2 {
		if err := a.u.Disconnect(ctx, "b", ""); err != nil {
			t.Errorf("disconnect b: %v", err)
		}
	}
	if got := a.conns(); len(got) != 0 {
		t.Errorf("after disconnect: %+v", got)
	}
}

// TestCloseDuringEnrollment: closing a member does not wait for an
// enrollee that went silent after connection establishment (the
// enrollment exchange ends with the member; virtual time), and the
// enrollee's flow is closed.
func TestCloseDuringEnrollment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newMemNet()
		u := newUnicast(newSkel(), quiet, n.lower("a"))
		ctx := context.Background()
		if _, _, err := u.Bootstrap(ctx, ringConf().Message()); err != nil {
			t.Fatal(err)
		}
		c, err := connmgr.New(n.lower("x"), quiet).Connect(ctx, connmgr.EnrollInfo(), "a", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		u.Close()
		if el := time.Since(start); el != 0 {
			t.Errorf("Close took %v", el)
		}
		if _, err := c.Flow.Read(make([]byte, 64)); err == nil {
			t.Error("the enrollee's flow is still open")
		}
	})
}

// TestConcurrentJoin: of enrollments and a bootstrap asked for at the same
// time, one makes the IPCP a member and the others are refused for the
// state; the member works (connects to its enroller).
func TestConcurrentJoin(t *testing.T) {
	leakcheck.Check(t)
	n := newMemNet()
	a, x := newNode(t, n, "a", "L"), newNode(t, n, "x")
	ctx := context.Background()
	if _, _, err := a.u.Bootstrap(ctx, ringConf().Message()); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			var err error
			if i == 3 {
				_, _, err = x.u.Bootstrap(ctx, ringConf().Message())
			} else {
				_, _, err = x.u.Enroll(ctx, "L")
			}
			errs <- err
		}()
	}
	ok := 0
	for range 4 {
		switch err := recv(t, errs, "an answer"); {
		case err == nil:
			ok++
		case !errors.Is(err, oerr.EIPCPSTATE):
			t.Errorf("refused with %v, want EIPCPSTATE", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 4 succeeded", ok)
	}
	if err := x.u.Connect(ctx, "a", "", qos.Raw); err != nil {
		t.Error(err)
	}
}
