package udp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// bootLoopback bootstraps a udp4 IPCP on 127.0.0.1 at a free port.
func bootLoopback(t *testing.T) *UDP {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := uint32(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	b := netip.MustParseAddr("127.0.0.1").As4()
	layer := "l"
	conf := &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: &layer},
		Udp4: &pb.Udp4ConfigMsg{IpAddr: ptr(binary.LittleEndian.Uint32(b[:])), Port: &port}}
	log, _ := testLog()
	u := newUDP(nil, log, false)
	if _, _, err := u.Bootstrap(context.Background(), conf); err != nil {
		t.Fatal(err)
	}
	return u
}

// The peer's first data packet leaves right behind its FLOW_REPLY (its
// application writes as soon as it accepted). It must reach the flow even
// though the reply is still on its way to the IRMd: it used to be dropped
// "for no flow" when it overtook the reply's handling, and a reliable flow
// whose first packet is lost that way depends on FRCT to recover.
func TestFlowReplyThenDataNotDropped(t *testing.T) {
	u := bootLoopback(t)
	defer u.Close()
	var mu sync.Mutex
	replied := map[int]int32{}
	u.allocReply = func(_ context.Context, id int, response int32, _ uint32, _ []byte) error {
		mu.Lock()
		replied[id] = response
		mu.Unlock()
		return nil
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), u.port)

	// Many pending allocations, all answered in one burst of replies with
	// each flow's first data packet right behind the replies, so that the
	// data would overtake any reply handled off the reader.
	const n = 64
	apps := make([]*datapath.Endpoint, n)
	flows := make([]*flow, n)
	for i := range n {
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
		defer app.Close()
		defer ep.Close()
		apps[i] = app
		flows[i] = &flow{id: 1000 + i, f: &ipcp.Flow{ID: 1000 + i, EP: ep}, peer: peerAddr}
		if err := u.add(flows[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, fl := range flows {
		r := wire.UDPMgmt{Code: wire.UDPFlowReply, SEID: fl.eid, DEID: uint32(500 + i)}
		if _, err := peer.WriteToUDPAddrPort(r.Append(nil), to); err != nil {
			t.Fatal(err)
		}
	}
	for i, fl := range flows {
		d := append(wire.AppendUDPEID(nil, fl.eid), fmt.Sprintf("first %d", i)...)
		if _, err := peer.WriteToUDPAddrPort(d, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, datapath.MaxSDU+1)
	for i, app := range apps {
		app.SetReadDeadline(time.Now().Add(20 * time.Second))
		kind, sdu, err := app.ReadPacket(buf)
		if kind == datapath.KindMTU && err == nil {
			// The layer's largest SDU, told when the flow starts.
			if n, ok := datapath.ParseMTU(sdu); !ok || n != u.maxData {
				t.Fatalf("flow %d: MTU record %x, want %d", i, sdu, u.maxData)
			}
			kind, sdu, err = app.ReadPacket(buf)
		}
		if err != nil {
			t.Fatalf("flow %d: no first packet: %v (dropped for no flow: %d)", i, err, u.stats.rxNoFlow.Load())
		}
		if want := fmt.Sprintf("first %d", i); kind != datapath.KindData || string(sdu) != want {
			t.Fatalf("flow %d: got kind %v %q, want %q", i, kind, sdu, want)
		}
	}
	if d := u.stats.rxNoFlow.Load(); d != 0 {
		t.Errorf("%d packets dropped for no flow", d)
	}
	// The IRMd is told of every allocation, and the peer's EID is recorded.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := len(replied)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the IRMd heard of %d of %d replies", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, fl := range flows {
		if !fl.up || fl.reid != uint32(500+i) || replied[fl.id] != 0 {
			t.Errorf("flow %d: up %v, reid %d, response %d", i, fl.up, fl.reid, replied[fl.id])
		}
	}
}
