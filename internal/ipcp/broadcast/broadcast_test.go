package broadcast

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr/connmgrtest"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

// fakeSkeleton records the allocation replies.
type fakeSkeleton struct {
	mu      sync.Mutex
	replies map[int]int32
}

func (s *fakeSkeleton) FlowAllocReply(_ context.Context, id int, response int32, mpl uint32, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replies == nil {
		s.replies = map[int]int32{}
	}
	s.replies[id] = response
	return nil
}

// TestBroadcastDTInfoBytes: the broadcast Data Transfer OCEP message is
// the reference's: the component name and every other field zero.
func TestBroadcastDTInfoBytes(t *testing.T) {
	b, err := connmgr.BroadcastDTInfo().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "0a0d" + hex.EncodeToString([]byte("Data Transfer")) + "1200180028004000"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("OCEP %s, want %s", got, want)
	}
}

// app is an application's joined flow: the test holds the application's
// end of the channel.
type app struct {
	end *datapath.Endpoint
}

func (a app) write(t *testing.T, msg string) {
	t.Helper()
	if err := a.end.WritePacket(datapath.KindData, append([]byte{0}, msg...)); err != nil {
		t.Fatal(err)
	}
}

func (a app) read(t *testing.T) string {
	t.Helper()
	buf := make([]byte, datapath.MaxSDU+1)
	a.end.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, sdu, err := a.end.ReadPacket(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(sdu)
}

// join joins a new flow id at member b and returns the application's end.
func join(t *testing.T, b *Broadcast, id int, layer string) (app, error) {
	t.Helper()
	aEnd, iEnd, err := datapath.Pair(false)
	if err != nil {
		t.Fatal(err)
	}
	ae, err := datapath.New(aEnd)
	if err != nil {
		t.Fatal(err)
	}
	ie, err := datapath.New(iEnd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ae.Close(); ie.Close() })
	h, _ := hash.Sum(hash.SHA3_256, layer)
	return app{ae}, b.FlowJoin(context.Background(), &ipcp.Flow{ID: id, PID: 1, EP: ie}, h)
}

// TestMembersRing: four members over in-memory N-1 flows, the first
// bootstrapped and the others enrolled through it, connected in a ring
// (each member connects to the next). 50 messages from the application
// at m1 reach the applications at the others exactly once each (the
// end marker, sent last, comes after them), and every member floods each
// message once.
func TestMembersRing(t *testing.T) {
	leakcheck.Check(t)
	net := connmgrtest.NewNet()
	const n = 4
	ms := make([]*Broadcast, n)
	sk := &fakeSkeleton{}
	for i := range ms {
		name := fmt.Sprintf("m%d", i+1)
		ms[i] = newBroadcast(sk, quiet, net.Lower(name))
		t.Cleanup(ms[i].Close)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conf := &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: proto.String("bc"), DirHashAlgo: proto.Uint32(0)},
		IpcpType: proto.Uint32(typeBroadcast)}
	if layer, algo, err := ms[0].Bootstrap(ctx, conf); err != nil || layer != "bc" || algo != hash.SHA3_256 {
		t.Fatalf("bootstrap: %q %v %v", layer, algo, err)
	}
	for i := 1; i < n; i++ {
		if layer, _, err := ms[i].Enroll(ctx, "m1"); err != nil || layer != "bc" {
			t.Fatalf("enroll m%d: %q %v", i+1, layer, err)
		}
	}
	for i := range n {
		if err := ms[i].Connect(ctx, fmt.Sprintf("m%d", (i+1)%n+1), "dt", qos.Raw); err != nil {
			t.Fatalf("connect m%d: %v", i+1, err)
		}
	}
	for _, m := range ms {
		waitFor(t, func() bool { return m.fl.count() == 2 }, "two connections at each member")
	}
	apps := make([]app, n)
	for i := range n {
		var err error
		if apps[i], err = join(t, ms[i], 100+i, "bc"); err != nil {
			t.Fatalf("join at m%d: %v", i+1, err)
		}
	}
	const count = 50
	for k := range count {
		apps[0].write(t, fmt.Sprintf("message %d", k))
	}
	apps[0].write(t, "end")
	for i := 1; i < n; i++ {
		seen := map[string]bool{}
		for {
			m := apps[i].read(t)
			if seen[m] {
				t.Fatalf("m%d's application got %q twice", i+1, m)
			}
			seen[m] = true
			if len(seen) == count+1 {
				break
			}
		}
	}
	for i, m := range ms {
		if f := m.fl.flooded.Load(); f != count+1 {
			t.Fatalf("m%d flooded %d packets, want %d", i+1, f, count+1)
		}
	}
	sk.mu.Lock()
	if len(sk.replies) != n {
		t.Errorf("%d allocation replies, want %d", len(sk.replies), n)
	}
	sk.mu.Unlock()
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %s after 20 s", what)
		}
	}
}

// TestJoinChecks: a join before bootstrap, or with the hash of another
// layer name (the reference lets some through), is refused; a Management
// connection is refused in words.
func TestJoinChecks(t *testing.T) {
	leakcheck.Check(t)
	net := connmgrtest.NewNet()
	b := newBroadcast(&fakeSkeleton{}, quiet, net.Lower("m1"))
	t.Cleanup(b.Close) // after the joined flows' channels close, as the skeleton does
	if _, err := join(t, b, 70, "bc"); !errors.Is(err, oerr.EIPCPSTATE) {
		t.Fatalf("join before bootstrap: %v", err)
	}
	conf := &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: proto.String("bc"), DirHashAlgo: proto.Uint32(1)}}
	if _, _, err := b.Bootstrap(context.Background(), conf); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"bb", "bd", "c", "bc "} {
		if _, err := join(t, b, 71, other); !errors.Is(err, oerr.EINVAL) {
			t.Fatalf("join with the hash of %q: %v", other, err)
		}
	}
	if _, err := join(t, b, 72, "bc"); err != nil {
		t.Fatalf("join: %v", err)
	}
	if err := b.Connect(context.Background(), "m2", "mgmt", qos.Raw); !errors.Is(err, oerr.ENOTSUP) {
		t.Fatalf("mgmt connect: %v", err)
	}
	if _, _, err := b.Bootstrap(context.Background(), conf); !errors.Is(err, oerr.EIPCPSTATE) {
		t.Fatalf("second bootstrap: %v", err)
	}
}
