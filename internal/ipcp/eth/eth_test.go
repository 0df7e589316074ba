package eth

import (
	"bytes"
	"context"
	"errors"
	"math/bits"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

var formats = []struct {
	name string
	f    wire.EthFormat
}{{"dix", wire.EthDIX}, {"llc", wire.EthLLC}}

func hashOf(t *testing.T, name string) []byte {
	h, err := hash.Sum(hash.SHA3_256, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func recv[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

var testQoS = qos.Spec{Delay: 7, Bandwidth: 1 << 40, Availability: 2, Loss: 3, BER: 4, InOrder: 1, MaxGap: 5, Timeout: 6}

// connect allocates a flow from a to the name "srv" on b. b's IRMd accepts
// the moment the flow is published (before FlowReqArr returns), which works
// only if the peer's MAC and id were recorded before.
func connect(t *testing.T, a, b *node, id int) (fa *ipcp.Flow, appA, appB *datapath.Endpoint) {
	t.Helper()
	h := hashOf(t, "srv")
	b.e.Reg(h)
	b.irm.mu.Lock()
	b.irm.onPublish = func(f *ipcp.Flow) {
		if err := b.e.FlowAllocResp(context.Background(), f, 0, []byte("resp")); err != nil {
			t.Errorf("FlowAllocResp right after publication: %v", err)
		}
	}
	b.irm.mu.Unlock()
	fa, appA = newFlow(t, id)
	if err := a.e.FlowAlloc(context.Background(), fa, h, testQoS, []byte("req")); err != nil {
		t.Fatalf("FlowAlloc: %v", err)
	}
	arr := recv(t, b.irm.arrived, "flow request at the responder")
	if !bytes.Equal(arr.h, h) || arr.q != testQoS || arr.mpl != MPL || string(arr.pk) != "req" {
		t.Fatalf("request arrived as hash %x qos %+v mpl %d data %q", arr.h, arr.q, arr.mpl, arr.pk)
	}
	rep := recv(t, a.irm.replies, "allocation reply at the requester")
	if rep.id != id || rep.resp != 0 || rep.mpl != 100 || string(rep.pk) != "resp" {
		t.Fatalf("reply %+v", rep)
	}
	// Each application is told the layer's largest SDU first, before any
	// packet.
	for i, app := range []*datapath.Endpoint{appA, arr.app} {
		k, p, err := read(t, app, 5*time.Second)
		if n, ok := datapath.ParseMTU(p); err != nil || k != datapath.KindMTU || !ok || n != a.e.maxSDU {
			t.Fatalf("first record at end %d: kind %d %x %v; want KindMTU of %d", i, k, p, err, a.e.maxSDU)
		}
	}
	return fa, appA, arr.app
}

func TestEthNameResolution(t *testing.T) {
	for _, tf := range formats {
		t.Run(tf.name, func(t *testing.T) {
			var b bus
			a, srv := newNode(t, &b, tf.f, 1), newNode(t, &b, tf.f, 2)
			h := hashOf(t, "srv")
			srv.e.Reg(h)
			// Ten concurrent lookups share one broadcast query.
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := a.e.Query(context.Background(), h); err != nil {
						t.Errorf("query: %v", err)
					}
				}()
			}
			wg.Wait()
			if got := a.e.dir[string(h)]; got != srv.mac {
				t.Fatalf("cached %v, want %v", got, srv.mac)
			}
			queries := b.frames(func(f []byte) bool {
				return bytes.Equal(f[0:6], wire.EthBroadcast[:]) && bytes.Contains(f, h)
			})
			// One query, repeated at most queryRepeats times while
			// unanswered (a slow answer), not one per lookup.
			if len(queries) < 1 || len(queries) > queryRepeats {
				t.Fatalf("%d broadcast queries, want 1 (at most %d)", len(queries), queryRepeats)
			}
			// A cached name needs no frame.
			all := func([]byte) bool { return true }
			before := len(b.frames(all))
			if err := a.e.Query(context.Background(), h); err != nil || len(b.frames(all)) != before {
				t.Fatalf("cached query: %v, %d frames sent", err, len(b.frames(all))-before)
			}
			// An unregistered name: no answer, ENAME after the timeout.
			srv.e.Unreg(h)
			c := newNode(t, &b, tf.f, 3)
			start := time.Now()
			if err := c.e.Query(context.Background(), h); !errors.Is(err, oerr.ENAME) || time.Since(start) < c.e.queryTimeout {
				t.Fatalf("query for a name nobody has: %v after %v", err, time.Since(start))
			}
		})
	}
}

// TestEthQueryRepeated: a lost name query (a link just up, a busy
// receiver) does not fail the lookup: the query is sent again within the
// timeout and the answer to the copy resolves it.
func TestEthQueryRepeated(t *testing.T) {
	for _, tf := range formats {
		t.Run(tf.name, func(t *testing.T) {
			var b bus
			lost := 0
			b.drop = func(f []byte) bool {
				if bytes.Equal(f[0:6], wire.EthBroadcast[:]) && lost == 0 {
					lost++
					return true
				}
				return false
			}
			a, srv := newNode(t, &b, tf.f, 1), newNode(t, &b, tf.f, 2)
			h := hashOf(t, "srv")
			srv.e.Reg(h)
			if err := a.e.Query(context.Background(), h); err != nil {
				t.Fatalf("query after the first was lost: %v", err)
			}
			if got := a.e.dir[string(h)]; got != srv.mac {
				t.Fatalf("cached %v, want %v", got, srv.mac)
			}
			queries := b.frames(func(f []byte) bool {
				return bytes.Equal(f[0:6], wire.EthBroadcast[:]) && bytes.Contains(f, h)
			})
			if len(queries) < 2 {
				t.Fatalf("%d broadcast queries, want the lost one and a repeat", len(queries))
			}
		})
	}
}

func TestEthAllocAndData(t *testing.T) {
	for _, tf := range formats {
		t.Run(tf.name, func(t *testing.T) {
			var b bus
			a, srv := newNode(t, &b, tf.f, 1), newNode(t, &b, tf.f, 2)
			_, appA, appB := connect(t, a, srv, 7)
			for _, msg := range []string{"hello", "", strings.Repeat("x", a.e.maxSDU)} {
				write(t, appA, []byte(msg))
				if k, p, err := read(t, appB, 5*time.Second); err != nil || k != datapath.KindData || string(p) != msg {
					t.Fatalf("A->B %d bytes: kind %d, %d bytes, %v", len(msg), k, len(p), err)
				}
				write(t, appB, []byte(msg))
				if _, p, err := read(t, appA, 5*time.Second); err != nil || string(p) != msg {
					t.Fatalf("B->A %d bytes: %d bytes, %v", len(msg), len(p), err)
				}
			}
			// One byte over the MTU is dropped and counted; the flow goes on.
			write(t, appA, make([]byte, a.e.maxSDU+1))
			write(t, appA, []byte("after"))
			if _, p, err := read(t, appB, 5*time.Second); err != nil || string(p) != "after" || a.e.stats.txTooBig.Load() != 1 {
				t.Fatalf("after an oversized SDU: %q %v, %d counted", p, err, a.e.stats.txTooBig.Load())
			}
			// The frames on the wire: A's data carries B's id (and, for
			// LLC, A's SAP), bit-reversed SAPs, the Ethertype for DIX.
			fa, fb := a.e.tab.get(a.e.tab.lo), srv.e.tab.get(srv.e.tab.lo)
			data := b.frames(func(f []byte) bool { return bytes.HasSuffix(f, []byte("after")) })
			if len(data) != 1 {
				t.Fatalf("%d data frames", len(data))
			}
			f := data[0]
			if tf.f == wire.EthDIX {
				if f[12] != 0xa0 || f[13] != 0 || int(f[14])<<8|int(f[15]) != int(fb.leid) || int(f[16])<<8|int(f[17]) != 5 {
					t.Fatalf("DIX frame % x, B's EID %d", f[:18], fb.leid)
				}
			} else if int(f[12])<<8|int(f[13]) != 8 || f[14] != bits.Reverse8(uint8(fb.leid)) ||
				f[15] != bits.Reverse8(uint8(fa.leid)) || f[16] != 3 {
				t.Fatalf("LLC frame % x, SAPs A %d B %d", f[:17], fa.leid, fb.leid)
			}
		})
	}
}

func TestEthWrongPeerAndReplays(t *testing.T) {
	for _, tf := range formats {
		t.Run(tf.name, func(t *testing.T) {
			var b bus
			a, srv := newNode(t, &b, tf.f, 1), newNode(t, &b, tf.f, 2)
			_, _, appB := connect(t, a, srv, 7)
			fa, fb := a.e.tab.get(a.e.tab.lo), srv.e.tab.get(srv.e.tab.lo)
			other := wire.EthAddr{2, 0, 0, 0, 0, 9}
			srv.link.inject(srv.frame(other, srv.mac, fa.leid, fb.leid, []byte("spoofed MAC")))
			if tf.f == wire.EthLLC {
				srv.link.inject(srv.frame(a.mac, srv.mac, fa.leid+1, fb.leid, []byte("wrong SAP")))
			}
			srv.link.inject(srv.frame(a.mac, other, fa.leid, fb.leid, []byte("not for B")))
			// A replayed FLOW_REPLY is not taken for a new allocation.
			a.link.inject(a.mgmtFrame(srv.mac, wire.EthMgmt{Code: wire.EthFlowReply, SEID: fb.leid, DEID: fa.leid}))
			srv.link.inject(srv.frame(a.mac, srv.mac, fa.leid, fb.leid, []byte("good")))
			if _, p, err := read(t, appB, 5*time.Second); err != nil || string(p) != "good" {
				t.Fatalf("B read %q, %v", p, err)
			}
			wantWrong := uint64(1)
			if tf.f == wire.EthLLC {
				wantWrong = 2
			}
			eventually(t, "the replay dropped", func() bool { return a.e.stats.mgmtStray.Load() == 1 })
			if srv.e.stats.rxWrongPeer.Load() != wantWrong || srv.e.stats.rxNotUs.Load() != 1 || len(a.irm.replies) != 0 {
				t.Fatalf("wrong peer %d, not us %d, extra replies %d", srv.e.stats.rxWrongPeer.Load(),
					srv.e.stats.rxNotUs.Load(), len(a.irm.replies))
			}
		})
	}
}

// TestBoundsChecks feeds every id value a frame can carry where a table is
// indexed with it: nothing may panic, and nothing is delivered.
func TestEthBoundsChecks(t *testing.T) {
	for _, tf := range formats {
		t.Run(tf.name, func(t *testing.T) {
			var b bus
			nd := newNode(t, &b, tf.f, 1)
			h := hashOf(t, "srv")
			nd.e.Reg(h)
			peer := wire.EthAddr{2, 0, 0, 0, 0, 2}
			n := 256
			for id := range n {
				rid := uint16(id)
				if tf.f == wire.EthDIX {
					rid = uint16(id*255 + 1) // 1..65026, in and out of the table's range, never 0
				}
				nd.link.inject(nd.frame(peer, nd.mac, 5, rid, []byte("data")))
				nd.link.inject(nd.mgmtFrame(peer, wire.EthMgmt{Code: wire.EthFlowReply, SEID: 5, DEID: uint16(id)}))
			}
			bad := []uint16{0, 1, 66, 255} // not data SAPs
			if tf.f == wire.EthDIX {
				bad = []uint16{0}
			}
			for _, id := range bad {
				nd.link.inject(nd.mgmtFrame(peer, wire.EthMgmt{Code: wire.EthFlowReq, SEID: id, Hash: h}))
			}
			nd.link.inject(nd.frame(peer, nd.mac, 5, 70, nil)[:15]) // truncated header
			s := &nd.e.stats
			eventually(t, "all counted", func() bool {
				return s.rxNoFlow.Load() == uint64(n) && s.mgmtStray.Load() == uint64(n) &&
					s.mgmtBad.Load() == uint64(len(bad)) && s.rxBad.Load() == 1
			})
			if len(nd.irm.arrived) != 0 || nd.e.tab.len() != 0 {
				t.Fatalf("a bad request reached the IRMd or the table")
			}
		})
	}
}

// TestLLCSAPLimit: 64 flows per eth-llc IPCP, as requester and responder.
func TestEthLLCSAPLimit(t *testing.T) {
	var b bus
	a, a2, srv := newNode(t, &b, wire.EthLLC, 1), newNode(t, &b, wire.EthLLC, 2), newNode(t, &b, wire.EthLLC, 3)
	h := hashOf(t, "srv")
	srv.e.Reg(h)
	var flows []*ipcp.Flow
	saps := map[uint16]bool{}
	for i := range LLCMaxFlows {
		f, _ := newFlow(t, i)
		if err := a.e.FlowAlloc(context.Background(), f, h, qos.Raw, nil); err != nil {
			t.Fatalf("flow %d: %v", i, err)
		}
		flows = append(flows, f)
		saps[a.e.byID[i].leid] = true
	}
	if len(saps) != 64 || !saps[2] || !saps[65] {
		t.Fatalf("SAPs used: %v", saps)
	}
	f, _ := newFlow(t, 100)
	if err := a.e.FlowAlloc(context.Background(), f, h, qos.Raw, nil); !errors.Is(err, ErrNoSAP) || !errors.Is(err, oerr.ENOMEM) {
		t.Fatalf("65th flow: %v", err)
	}
	freed := a.e.byID[10].leid
	a.e.FlowDealloc(flows[10])
	if err := a.e.FlowAlloc(context.Background(), f, h, qos.Raw, nil); err != nil || a.e.byID[100].leid != freed {
		t.Fatalf("after a release: %v", err)
	}
	// The responder holds the 64 requests (its IRMd has not answered); a
	// 65th requester is refused at once with a negative FLOW_REPLY.
	for range 64 {
		recv(t, srv.irm.arrived, "request at the responder")
	}
	f2, _ := newFlow(t, 200)
	if err := a2.e.FlowAlloc(context.Background(), f2, h, qos.Raw, nil); err != nil {
		t.Fatal(err)
	}
	rep := recv(t, a2.irm.replies, "refusal")
	if rep.id != 200 || rep.resp != -int32(oerr.ENOMEM) || a2.e.tab.len() != 0 {
		t.Fatalf("refusal %+v, requester table %d", rep, a2.e.tab.len())
	}
}

func TestEthRefusals(t *testing.T) {
	for _, tf := range formats {
		t.Run(tf.name, func(t *testing.T) {
			var b bus
			a, srv := newNode(t, &b, tf.f, 1), newNode(t, &b, tf.f, 2)
			h := hashOf(t, "srv")
			// Not registered at the responder: ignored, as the reference.
			a.e.mu.Lock()
			a.e.dir[string(h)] = srv.mac
			a.e.mu.Unlock()
			f1, _ := newFlow(t, 1)
			if err := a.e.FlowAlloc(context.Background(), f1, h, qos.Raw, nil); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the request ignored", func() bool { return srv.e.stats.mgmtStray.Load() == 1 })
			// The IRMd fails the request: a negative reply, nothing kept.
			srv.e.Reg(h)
			srv.irm.setFail(oerr.EIRMD)
			f2, _ := newFlow(t, 2)
			if err := a.e.FlowAlloc(context.Background(), f2, h, qos.Raw, nil); err != nil {
				t.Fatal(err)
			}
			if rep := recv(t, a.irm.replies, "refusal"); rep.id != 2 || rep.resp != -int32(oerr.EIRMD) {
				t.Fatalf("refusal %+v", rep)
			}
			if srv.e.tab.len() != 0 || a.e.byID[2] != nil || a.e.tab.len() != 1 {
				t.Fatalf("tables after the refusal: responder %d, requester %d", srv.e.tab.len(), a.e.tab.len())
			}
			// The application refuses: FlowAllocResp with a negative response.
			srv.irm.setFail(nil)
			f3, _ := newFlow(t, 3)
			a.e.FlowAlloc(context.Background(), f3, h, qos.Raw, []byte("req"))
			arr := recv(t, srv.irm.arrived, "request")
			if err := srv.e.FlowAllocResp(context.Background(), arr.f, -int32(oerr.EPERM), nil); err != nil {
				t.Fatal(err)
			}
			if rep := recv(t, a.irm.replies, "refusal"); rep.id != 3 || rep.resp != -int32(oerr.EPERM) || srv.e.tab.len() != 0 {
				t.Fatalf("refusal %+v", rep)
			}
			// A management message over the MTU is refused locally.
			f4, _ := newFlow(t, 4)
			if err := a.e.FlowAlloc(context.Background(), f4, h, qos.Raw, make([]byte, 1500)); !errors.Is(err, oerr.EMSGSIZE) || a.e.byID[4] != nil {
				t.Fatalf("oversized request: %v", err)
			}
			// A response over the MTU (an OAP answer with a KEM ciphertext
			// and a certificate): the requester is refused with EMSGSIZE at
			// once, in a frame that fits, instead of waiting for its timeout.
			f5, _ := newFlow(t, 5)
			a.e.FlowAlloc(context.Background(), f5, h, qos.Raw, []byte("req"))
			arr = recv(t, srv.irm.arrived, "request")
			if err := srv.e.FlowAllocResp(context.Background(), arr.f, 0, make([]byte, 1500)); !errors.Is(err, oerr.EMSGSIZE) {
				t.Fatalf("oversized response: %v", err)
			}
			if rep := recv(t, a.irm.replies, "refusal"); rep.id != 5 || rep.resp != -int32(oerr.EMSGSIZE) || len(rep.pk) != 0 {
				t.Fatalf("refusal after an oversized response %+v", rep)
			}
			if srv.e.tab.len() != 0 {
				t.Fatalf("the responder kept %d flows", srv.e.tab.len())
			}
		})
	}
}
