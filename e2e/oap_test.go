package e2e

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/oap"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestOAPAsPeer plays a remote host by hand with a UDP socket on
// 127.0.0.3: our irmd's FLOW_REQ carries a 36-byte OAP request with a fresh
// timestamp; a FLOW_REPLY with the right OAP response
// completes the allocation, and one whose request hash is wrong fails it
// with ECRYPT.
func TestOAPAsPeer(t *testing.T) {
	const ipA, ipPeer = "127.0.0.1", "127.0.0.3"
	port := freeUDPPort(t, ipA, ipPeer)
	hosts := writeHosts(t, map[string]string{"peer.c": ipPeer})
	a := setup(t, rig.Options{NoDirect: true, Env: []string{udp.HostsEnv + "=" + hosts}})
	a.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp-a", "layer", "udp-layer", "ip", ipA,
		"port", strconv.Itoa(port))
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ipPeer), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	h, _ := hash.Sum(hash.MD5, "peer.c")

	for _, good := range []bool{true, false} {
		type res struct {
			f   *flow.Flow
			err error
		}
		done := make(chan res, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			f, err := flow.Alloc(ctx, "peer.c", qos.Raw)
			done <- res{f, err}
		}()
		buf := make([]byte, 2048)
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no flow request: %v\n%s", err, a.Tail())
		}
		m, err := wire.ParseUDPMgmt(buf[:n])
		if err != nil || m.Code != wire.UDPFlowReq || m.Hash != [16]byte(h) {
			t.Fatalf("flow request %x: %v", buf[:n], err)
		}
		req, err := oap.DecodeRequest(m.Data)
		if err != nil || len(m.Data) != oap.MinHeaderLen {
			t.Fatalf("OAP request %x: %v", m.Data, err)
		}
		if d := time.Since(req.Time()); d < -time.Second || d > 10*time.Second {
			t.Fatalf("OAP timestamp %v away from now", d)
		}
		resp, err := oap.Process(m.Data, time.Now(), oap.NewReplayCache(0))
		if err != nil {
			t.Fatal(err)
		}
		if !good {
			resp[len(resp)-1] ^= 1 // the request hash no longer matches
		}
		reply := wire.UDPMgmt{Code: wire.UDPFlowReply, SEID: m.SEID, DEID: 70, Data: resp}.Append(nil)
		if _, err := peer.WriteToUDPAddrPort(reply, from); err != nil {
			t.Fatal(err)
		}
		r := <-done
		switch {
		case good && r.err != nil:
			t.Fatalf("allocation with a good OAP response: %v\n%s", r.err, a.Tail())
		case good:
			// Data flows to our endpoint 70 with a 4-byte EID header.
			r.f.Write([]byte("hello"))
			n, _, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:n]) != "\x00\x00\x00\x46hello" {
				t.Fatalf("data %x, %v", buf[:n], err)
			}
			r.f.Close()
		case !errors.Is(r.err, flow.ECRYPT):
			t.Fatalf("allocation with a bad OAP response: %v, want ECRYPT", r.err)
		}
	}
}

// TestOAPRefusals: B's irmd refuses flow requests whose OAP header is
// stale, replayed or garbage, answering with a FLOW_REPLY carrying -EAUTH,
// and its server keeps accepting: a normal allocation from A succeeds after.
func TestOAPRefusals(t *testing.T) {
	u := newUDPHosts(t, map[string]string{"echo.b": "b"})
	srv := roleIn(t, u.b, "echo-server", "echo.b")
	srv.WaitOutput(t, "ready", 10*time.Second)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.4")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := &net.UDPAddr{IP: net.ParseIP(u.ipB), Port: u.port}
	h, _ := hash.Sum(hash.MD5, "echo.b")
	fresh, _, err := oap.NewRequest(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stale, _, _ := oap.NewRequest(time.Now().Add(-30*time.Second), nil)
	cases := []struct {
		name string
		pk   []byte
		want int32
	}{
		{"fresh", fresh, 0},
		{"replayed", fresh, -int32(flow.EAUTH)},
		{"stale", stale, -int32(flow.EAUTH)},
		{"garbage", []byte("not an OAP header"), -int32(flow.EAUTH)},
	}
	buf := make([]byte, 2048)
	for i, tc := range cases {
		req := wire.UDPMgmt{Code: wire.UDPFlowReq, SEID: uint32(100 + i), Hash: [16]byte(h), Data: tc.pk}.Append(nil)
		if _, err := c.WriteToUDP(req, dst); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%s: no reply: %v\nB:\n%s", tc.name, err, u.b.Tail())
		}
		m, err := wire.ParseUDPMgmt(buf[:n])
		if err != nil || m.Code != wire.UDPFlowReply || m.SEID != uint32(100+i) || m.Response != tc.want {
			t.Fatalf("%s: reply %+v, %v; want response %d\nB:\n%s", tc.name, m, err, tc.want, u.b.Tail())
		}
		if tc.want == 0 {
			if _, err := oap.DecodeResponse(m.Data, 0); err != nil {
				t.Fatalf("%s: OAP response %x: %v", tc.name, m.Data, err)
			}
		}
	}
	f := u.a.alloc("echo.b", qos.Raw)
	roundTrip(t, f, []byte("after the refusals"))
}
