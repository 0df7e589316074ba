package unicast

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

var quiet = slog.New(slog.DiscardHandler)

// wait bounds every wait for the member's goroutines: far above what any
// step takes, it only keeps a broken test from hanging.
const wait = 20 * time.Second

// skel is a fake IPCP skeleton and IRMd: flows are real channels, whose
// application ends the test holds.
type skel struct {
	mu      sync.Mutex
	next    int
	flows   map[int]*ipcp.Flow
	apps    map[int]*datapath.Endpoint
	arrived chan int   // flows that arrived (FLOW_REQ_ARR)
	replies chan reply // FLOW_ALLOC_REPLY
}

type reply struct {
	id   int
	resp int32
	pk   string
}

func newSkel() *skel {
	return &skel{next: 1, flows: map[int]*ipcp.Flow{}, apps: map[int]*datapath.Endpoint{},
		arrived: make(chan int, 16), replies: make(chan reply, 16)}
}

// newFlow creates a flow's channel and enters the IPCP's end in the table.
func (s *skel) newFlow(t *testing.T) *ipcp.Flow {
	t.Helper()
	a, b, err := datapath.Pair(false)
	if err != nil {
		t.Fatal(err)
	}
	app, err := datapath.New(a)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := datapath.New(b)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &ipcp.Flow{ID: s.next, EP: ep}
	s.next++
	s.flows[f.ID], s.apps[f.ID] = f, app
	t.Cleanup(func() { app.Close(); ep.Close() })
	return f
}

func (s *skel) app(id int) *datapath.Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps[id]
}

func (s *skel) FlowReqArr(_ context.Context, h []byte, q qos.Spec, mpl uint32, pk []byte, prepare func(*ipcp.Flow)) (*ipcp.Flow, error) {
	a, b, err := datapath.Pair(false)
	if err != nil {
		return nil, err
	}
	app, _ := datapath.New(a)
	ep, _ := datapath.New(b)
	s.mu.Lock()
	f := &ipcp.Flow{ID: s.next, EP: ep}
	s.next++
	s.mu.Unlock()
	prepare(f)
	s.mu.Lock()
	s.flows[f.ID], s.apps[f.ID] = f, app
	s.mu.Unlock()
	s.arrived <- f.ID
	return f, nil
}

func (s *skel) FlowAllocReply(_ context.Context, id int, resp int32, mpl uint32, pk []byte) error {
	s.replies <- reply{id, resp, string(pk)}
	return nil
}

func (s *skel) Flow(id int) *ipcp.Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flows[id]
}

// release does what the skeleton does on IPCP_FLOW_DEALLOC.
func (s *skel) release(u *Unicast, f *ipcp.Flow) {
	s.mu.Lock()
	delete(s.flows, f.ID)
	s.mu.Unlock()
	u.FlowDealloc(f)
	f.EP.Close()
}

func bootstrapped(t *testing.T, s *skel, conf irm.Config) *Unicast {
	t.Helper()
	u := newUnicast(s, quiet, newMemNet().lower())
	t.Cleanup(u.Close)
	layer, algo, err := u.Bootstrap(context.Background(), conf.Message())
	if err != nil {
		t.Fatal(err)
	}
	if layer != conf.Layer || algo != hash.Algo(conf.Hash) || u.Addr() == 0 {
		t.Fatalf("bootstrap: layer %q, hash %v, address %#x", layer, algo, u.Addr())
	}
	return u
}

func recv[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("no %s", what)
	}
	panic("unreachable")
}

// TestOneMemberFlow: a name registered at the member is found; a flow to it
// comes up through FLOW_REQ and FLOW_REPLY with the piggybacked data both
// ways; SDUs (and a keepalive) cross in both directions, in order; after
// deallocation nothing is left.
func TestOneMemberFlow(t *testing.T) {
	leakcheck.Check(t)
	s := newSkel()
	u := bootstrapped(t, s, irm.DefaultConfig(irm.Unicast, "L"))
	h, _ := hash.Sum(hash.SHA3_256, "server")
	if err := u.Query(context.Background(), h); !errors.Is(err, oerr.ENAME) {
		t.Fatalf("query before registration: %v", err)
	}
	if err := u.Reg(h); err != nil {
		t.Fatal(err)
	}
	if err := u.Query(context.Background(), h); err != nil {
		t.Fatalf("query: %v", err)
	}

	a := s.newFlow(t)
	if err := u.FlowAlloc(context.Background(), a, h, qos.Raw, []byte("req-pk")); err != nil {
		t.Fatal(err)
	}
	bid := recv(t, s.arrived, "flow arrival")
	b := s.Flow(bid)
	if err := u.FlowAllocResp(context.Background(), b, 0, []byte("resp-pk")); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, s.replies, "allocation reply"); r != (reply{a.ID, 0, "resp-pk"}) {
		t.Fatalf("reply %+v", r)
	}

	appA, appB := s.app(a.ID), s.app(bid)
	echo(t, appA, appB, 50)

	appA.Close()
	s.release(u, a)
	appB.Close()
	s.release(u, b)
	if n := u.fa.Flows(); n != 0 {
		t.Errorf("%d flows left in the flow allocator", n)
	}
	if st := u.dt.Stats(); st.NoEID != 0 || st.Delivered != 150 {
		t.Errorf("data transfer stats %+v", st)
	}
}

// TestRefusedFlow: a flow the IRMd refuses on the responder side is
// refused to the requester, with the reason, and forgotten on both.
func TestRefusedFlow(t *testing.T) {
	leakcheck.Check(t)
	s := newSkel()
	u := bootstrapped(t, s, irm.DefaultConfig(irm.Unicast, "L"))
	h, _ := hash.Sum(hash.SHA3_256, "server")
	u.Reg(h)
	a := s.newFlow(t)
	if err := u.FlowAlloc(context.Background(), a, h, qos.Raw, nil); err != nil {
		t.Fatal(err)
	}
	b := s.Flow(recv(t, s.arrived, "flow arrival"))
	u.FlowAllocResp(context.Background(), b, -int32(oerr.EPERM), nil)
	if r := recv(t, s.replies, "allocation reply"); r.id != a.ID || r.resp != -int32(oerr.EPERM) {
		t.Fatalf("reply %+v", r)
	}
	if n := u.fa.Flows(); n != 0 {
		t.Errorf("%d flows left in the flow allocator", n)
	}
}

// TestUnregisteredName: allocation to a name nobody registered (or no
// longer) fails at once with ENAME.
func TestUnregisteredName(t *testing.T) {
	s := newSkel()
	u := bootstrapped(t, s, irm.DefaultConfig(irm.Unicast, "L"))
	h, _ := hash.Sum(hash.SHA3_256, "server")
	u.Reg(h)
	u.Unreg(h)
	if err := u.Query(context.Background(), h); !errors.Is(err, oerr.ENAME) {
		t.Errorf("query after unregistration: %v", err)
	}
	if err := u.FlowAlloc(context.Background(), s.newFlow(t), h, qos.Raw, nil); !errors.Is(err, oerr.ENAME) {
		t.Errorf("allocation: %v", err)
	}
}

// TestBootstrapConfig: the parameters of the message reach the components;
// values the IPCP cannot work with are refused with the reason.
func TestBootstrapConfig(t *testing.T) {
	c := irm.DefaultConfig(irm.Unicast, "L")
	c.Hash = irm.SHA3_512
	c.Unicast.MaxTTL = 9
	c.Unicast.LinkState = irm.LinkStateConfig{Policy: irm.LSLFA, Recalc: 2, Update: 5, Timeout: 20}
	c.Unicast.Congestion = irm.CongestionNone
	c.Unicast.DHT = irm.DHTConfig{Alpha: 2, K: 5, Expire: 600, Refresh: 60, Replicate: 30}
	u := bootstrapped(t, newSkel(), c)
	l := u.layer
	if l.MaxTTL != 9 || l.Routing != routing.LFA || l.CA != ca.None || l.Hash != hash.SHA3_512 ||
		l.TRecalc != 2*time.Second || l.TUpdate != 5*time.Second || l.TTimeo != 20*time.Second ||
		l.DHT.Alpha != 2 || l.DHT.K != 5 || l.DHT.TExpire != 600*time.Second ||
		l.DHT.TRefresh != time.Minute || l.DHT.TReplicate != 30*time.Second || l.DHT.IDLen != 64 ||
		l.DHT.Peer != u.Addr() {
		t.Errorf("layer %+v", l)
	}

	for _, bad := range []struct {
		name string
		mod  func(*irm.Config)
		want error
	}{
		{"address size", func(c *irm.Config) { c.Unicast.AddrSize = 2 }, oerr.EINVAL},
		{"TTL 0", func(c *irm.Config) { c.Unicast.MaxTTL = 0 }, oerr.EINVAL},
		{"routing", func(c *irm.Config) { c.Unicast.Routing = 1 }, oerr.ENOTSUP},
		{"link-state policy", func(c *irm.Config) { c.Unicast.LinkState.Policy = 3 }, oerr.EINVAL},
		{"congestion", func(c *irm.Config) { c.Unicast.Congestion = 2 }, oerr.EINVAL},
		{"address policy", func(c *irm.Config) { c.Unicast.AddrAuth = 1 }, oerr.EINVAL},
		{"directory", func(c *irm.Config) { c.Unicast.Directory = 1 }, oerr.EINVAL},
		{"dht_alpha", func(c *irm.Config) { c.Unicast.DHT.Alpha = 11 }, oerr.EINVAL},
		{"dht_t_expire", func(c *irm.Config) { c.Unicast.DHT.Expire = 5 }, oerr.EINVAL},
		{"hash", func(c *irm.Config) { c.Hash = irm.HashAlgo(hash.MD5) }, oerr.EINVAL},
	} {
		c := irm.DefaultConfig(irm.Unicast, "L")
		bad.mod(&c)
		u := newUnicast(newSkel(), quiet, newMemNet().lower())
		if _, _, err := u.Bootstrap(context.Background(), c.Message()); !errors.Is(err, bad.want) {
			t.Errorf("%s: %v, want %v", bad.name, err, bad.want)
		}
		u.Close()
	}
	m := irm.DefaultConfig(irm.Unicast, "L").Message()
	m.Unicast = nil
	if _, _, err := newUnicast(newSkel(), quiet, newMemNet().lower()).Bootstrap(context.Background(), m); !errors.Is(err, oerr.EINVAL) {
		t.Errorf("no unicast part: %v", err)
	}
}

// TestBeforeBootstrap: before the bootstrap or enrollment names are
// refused for the state, and so are connections; an enrollment with a
// member that cannot be reached fails and leaves the IPCP able to try
// again.
func TestBeforeBootstrap(t *testing.T) {
	u := newUnicast(newSkel(), quiet, newMemNet().lower())
	defer u.Close()
	h, _ := hash.Sum(hash.SHA3_256, "x")
	if err := u.Reg(h); !errors.Is(err, oerr.EIPCPSTATE) {
		t.Errorf("reg before bootstrap: %v", err)
	}
	if err := u.Connect(context.Background(), "peer", "dt", qos.Raw); !errors.Is(err, oerr.EIPCPSTATE) {
		t.Errorf("connect: %v", err)
	}
	if _, _, err := u.Enroll(context.Background(), "peer"); !errors.Is(err, oerr.EIPCP) {
		t.Errorf("enroll with nobody: %v", err)
	}
	if _, _, err := u.Bootstrap(context.Background(), irm.DefaultConfig(irm.Unicast, "L").Message()); err != nil {
		t.Errorf("bootstrap after a failed enrollment: %v", err)
	}
}
