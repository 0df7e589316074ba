package fa

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// net joins flow allocators directly: what one sends reaches the other's
// handler at once, with an optional congestion mark on data.
type net struct {
	mu   sync.Mutex
	fas  map[uint64]*FA
	sent [][]byte // every DT packet, PCI included
	ecn  uint8
}

type dtOf struct {
	n    *net
	addr uint64
}

func (d dtOf) Addr() uint64 { return d.addr }
func (d dtOf) Send(dst uint64, qc qos.Cube, eid uint64, pkt []byte) error {
	wire.DTFields{Dst: dst, QoS: uint8(qc), TTL: 60, EID: eid}.Put(wire.DT(pkt))
	d.n.mu.Lock()
	d.n.sent = append(d.n.sent, bytes.Clone(pkt))
	peer, ecn := d.n.fas[dst], d.n.ecn
	d.n.mu.Unlock()
	if peer == nil {
		return errors.New("no route")
	}
	if eid == wire.DTEIDFlowAllocator {
		peer.Handle(bytes.Clone(pkt[wire.DTPCILen:]))
	} else {
		peer.Receive(eid, ecn, pkt[wire.DTPCILen:])
	}
	return nil
}

type dir map[string]uint64

func (d dir) Query(h []byte) (uint64, error) {
	if a, ok := d[string(h)]; ok {
		return a, nil
	}
	return 0, oerr.ENAME
}

// upper is a fake IRMd side.
type upper struct {
	mu      sync.Mutex
	nextID  int
	refuse  error
	arrived []int
	replies map[int]int32
	rxData  map[int][]string
	rxPk    []string
}

func newUpper(first int) *upper {
	return &upper{nextID: first, replies: map[int]int32{}, rxData: map[int][]string{}}
}

func (u *upper) FlowReqArr(h []byte, q qos.Spec, pk []byte, prepare func(int)) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.refuse != nil {
		return 0, u.refuse
	}
	id := u.nextID
	u.nextID++
	prepare(id)
	u.arrived = append(u.arrived, id)
	u.rxPk = append(u.rxPk, string(pk))
	return id, nil
}
func (u *upper) FlowAllocReply(id int, r int32, pk []byte) {
	u.mu.Lock()
	u.replies[id] = r
	u.rxPk = append(u.rxPk, string(pk))
	u.mu.Unlock()
}
func (u *upper) Deliver(id int, sdu []byte) error {
	u.mu.Lock()
	u.rxData[id] = append(u.rxData[id], string(sdu))
	u.mu.Unlock()
	return nil
}

const (
	addrA = 0x11223344
	addrB = 0x0a0b0c0d
)

var hashB = bytes.Repeat([]byte{0xbb}, 32)

type pair struct {
	n      *net
	a, b   *FA
	ua, ub *upper
}

func newPair(t *testing.T, p ca.Policy, randA io.Reader) *pair {
	t.Helper()
	n := &net{fas: map[uint64]*FA{}}
	ua, ub := newUpper(1000), newUpper(100)
	d := dir{string(hashB): addrB}
	a, err := New(Config{DT: dtOf{n, addrA}, Dir: d, Upper: ua, HashLen: 32, CA: p, Rand: randA, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(Config{DT: dtOf{n, addrB}, Dir: d, Upper: ub, HashLen: 32, CA: p, Log: quiet})
	n.fas[addrA], n.fas[addrB] = a, b
	return &pair{n, a, b, ua, ub}
}

func write(t *testing.T, f *FA, id int, s string) {
	t.Helper()
	if err := f.Write(id, append(make([]byte, wire.DTPCILen), s...)); err != nil {
		t.Fatalf("write on flow %d: %v", id, err)
	}
}

// TestAllocate: request (bytes as the worked example), arrival,
// response, reply, data both ways, deallocation.
func TestAllocate(t *testing.T) {
	p := newPair(t, ca.None, bytes.NewReader([]byte{0x9a, 0xbc, 0xde, 0xf0}))
	if err := p.a.Alloc(65, hashB, qos.Raw, []byte("oap-req")); err != nil {
		t.Fatal(err)
	}
	req := p.n.sent[0]
	wantPCI := []byte{0x0d, 0x0c, 0x0b, 0x0a, 0, 0x3c, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	wantHdr := []byte{
		0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0, 0, 0, 0,
		0x9a, 0xbc, 0xde, 0xf0, 0, 0, 0, 0x41, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 1,
		0xff, 0xff, 0xff, 0xff, 0, 1, 0xd4, 0xc0, 0, 0, 0, 0, 0}
	want := append(append(append(wantPCI, wantHdr...), hashB...), "oap-req"...)
	if !bytes.Equal(req, want) {
		t.Fatalf("FLOW_REQ\n% x\nwant\n% x", req, want)
	}
	if len(p.ub.arrived) != 1 || p.ub.arrived[0] != 100 || p.ub.rxPk[0] != "oap-req" {
		t.Fatalf("arrivals %v %q", p.ub.arrived, p.ub.rxPk)
	}
	// No data before the reply.
	if err := p.a.Write(65, make([]byte, 20)); !errors.Is(err, ErrState) {
		t.Errorf("write before reply: %v", err)
	}
	if err := p.b.AllocResp(100, 0, []byte("oap-resp")); err != nil {
		t.Fatal(err)
	}
	if r, ok := p.ua.replies[65]; !ok || r != 0 || p.ua.rxPk[0] != "oap-resp" {
		t.Fatalf("replies %v %q", p.ua.replies, p.ua.rxPk)
	}
	if err := p.b.AllocResp(100, 0, nil); !errors.Is(err, ErrState) {
		t.Errorf("second response: %v", err)
	}
	write(t, p.a, 65, "ping")
	write(t, p.b, 100, "pong")
	if got := p.ub.rxData[100]; len(got) != 1 || got[0] != "ping" {
		t.Errorf("B got %q", got)
	}
	if got := p.ua.rxData[65]; len(got) != 1 || got[0] != "pong" {
		t.Errorf("A got %q", got)
	}
	fi, _ := p.a.Flow(65)
	if fi.LocalEID != 0x9abcdef000000041 || fi.RemoteAddr != addrB || !fi.Up {
		t.Errorf("A's flow %+v", fi)
	}
	// B deallocates: A's data to it is dropped as an unknown EID.
	p.b.Dealloc(100)
	write(t, p.a, 65, "lost")
	if s := p.b.Stats(); s.UnknownEID != 1 {
		t.Errorf("B stats %+v", s)
	}
	if p.b.Flows() != 0 || p.a.Flows() != 1 {
		t.Errorf("flows %d %d", p.a.Flows(), p.b.Flows())
	}
}

// TestRefused: the IRMd refuses, the requester hears it at once; an
// application refusal is passed on too.
func TestRefused(t *testing.T) {
	p := newPair(t, ca.None, nil)
	p.ub.refuse = oerr.ENAME
	if err := p.a.Alloc(65, hashB, qos.Raw, nil); err != nil {
		t.Fatal(err)
	}
	if r := p.ua.replies[65]; r != -int32(oerr.ENAME) {
		t.Errorf("reply %d, want %d", r, -int32(oerr.ENAME))
	}
	if p.a.Flows() != 0 {
		t.Error("refused flow kept")
	}
	p.ub.refuse = nil
	p.a.Alloc(66, hashB, qos.Raw, nil)
	if err := p.b.AllocResp(100, -13, nil); err != nil {
		t.Fatal(err)
	}
	if r := p.ua.replies[66]; r != -13 || p.a.Flows() != 0 || p.b.Flows() != 0 {
		t.Errorf("reply %d, flows %d %d", r, p.a.Flows(), p.b.Flows())
	}
	if err := p.a.Alloc(67, []byte("short"), qos.Raw, nil); !errors.Is(err, ErrHash) {
		t.Errorf("short hash: %v", err)
	}
	if err := p.a.Alloc(67, bytes.Repeat([]byte{1}, 32), qos.Raw, nil); !errors.Is(err, oerr.ENAME) {
		t.Errorf("unknown name: %v", err)
	}
}

// TestResponseTooLong: a response whose OAP data makes the FLOW_REPLY
// longer than a member accepts reaches the requester at once as a
// refusal with EMSGSIZE and no data (before, nothing was sent and the
// requester waited for its timeout), so its IRMd may propose something
// smaller.
func TestResponseTooLong(t *testing.T) {
	p := newPair(t, ca.None, nil)
	if err := p.a.Alloc(65, hashB, qos.Raw, []byte("oap-req")); err != nil {
		t.Fatal(err)
	}
	err := p.b.AllocResp(100, 0, make([]byte, wire.FAMaxLen))
	if !errors.Is(err, oerr.EMSGSIZE) {
		t.Errorf("response of %d bytes: %v, want EMSGSIZE", wire.FAMaxLen, err)
	}
	if r, ok := p.ua.replies[65]; !ok || r != -int32(oerr.EMSGSIZE) {
		t.Fatalf("requester's reply %d (%v), want %d", r, ok, -int32(oerr.EMSGSIZE))
	}
	if pk := p.ua.rxPk[len(p.ua.rxPk)-1]; pk != "" {
		t.Errorf("the refusal carried %d bytes of data", len(pk))
	}
	if p.a.Flows() != 0 || p.b.Flows() != 0 {
		t.Errorf("flows left: %d, %d", p.a.Flows(), p.b.Flows())
	}
}

// TestFlowUpdate: marked data makes the receiver send FLOW_UPDATEs, which
// put the sender out of slow start with the receiver's level.
func TestFlowUpdate(t *testing.T) {
	p := newPair(t, ca.MBECN, nil)
	p.a.Alloc(65, hashB, qos.Raw, nil)
	p.b.AllocResp(100, 0, nil)
	p.n.ecn = 3
	for range 3 {
		write(t, p.a, 65, "x")
	}
	if s := p.b.Stats(); s.UpdatesSent != 2 {
		t.Errorf("receiver sent %d updates, want 2 (start and 2nd marked packet)", s.UpdatesSent)
	}
	fi, _ := p.a.Flow(65)
	if p.a.Stats().UpdatesRcvd != 2 || fi.CA.SlowStart || fi.CA.TxECE == 0 {
		t.Errorf("sender: %+v, %+v", p.a.Stats(), fi.CA)
	}
	// The update's wire form: 61 bytes, r_eid, ece and code only.
	upd := p.n.sent[len(p.n.sent)-1][wire.DTPCILen:]
	m, err := wire.ParseFA(upd, 32)
	if err != nil || len(upd) != wire.FAHeaderLen || m.Code != wire.FAFlowUpdate || m.REID != fi.LocalEID || m.SEID != 0 {
		t.Errorf("update % x: %+v %v", upd, m, err)
	}
}

// TestWorker: Post queues copies for the worker, which handles them in
// order until Close; the caller's buffer is free at once.
func TestWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, ca.None, nil)
		p.n.fas[addrB] = nil // the request goes nowhere; we post it ourselves
		p.a.Alloc(65, hashB, qos.Raw, nil)
		req := p.n.sent[0][wire.DTPCILen:]
		p.n.fas[addrB] = p.b
		p.b.Start()
		p.b.Post(0, 0, []byte{1, 2, 3})
		p.b.Post(0, 0, req)
		clear(req)
		synctest.Wait()
		p.b.Close()
		if len(p.ub.arrived) != 1 || p.b.Stats().Malformed != 1 || p.ua.replies[65] != 0 {
			t.Errorf("arrived %v, stats %+v, replies %v", p.ub.arrived, p.b.Stats(), p.ua.replies)
		}
	})
}

// FuzzHandle: any message from a peer leaves an established flow alone
// unless it names the flow's full EID, and never panics.
func FuzzHandle(f *testing.F) {
	seed := func(m wire.FAMsg) { f.Add(m.Append(nil)) }
	seed(wire.FAMsg{Code: wire.FAFlowReq, SAddr: addrA, SEID: 1 << 40, Hash: hashB, Data: []byte("pk")})
	seed(wire.FAMsg{Code: wire.FAFlowReply, REID: 1 << 40, SEID: 77})
	seed(wire.FAMsg{Code: wire.FAFlowUpdate, REID: 1 << 40, ECE: 9})
	seed(wire.FAMsg{Code: 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := newPair(t, ca.MBECN, nil)
		p.a.Alloc(65, hashB, qos.Raw, nil)
		p.b.AllocResp(100, 0, nil)
		before, _ := p.a.Flow(65)
		p.a.Handle(b)
		p.b.Handle(b)
		after, ok := p.a.Flow(65)
		if !ok {
			t.Fatal("flow gone")
		}
		m, err := wire.ParseFA(b, 32)
		names := err == nil && m.REID == before.LocalEID
		if !names && (after.RemoteEID != before.RemoteEID || after.RemoteAddr != before.RemoteAddr || !after.Up) {
			t.Fatalf("flow changed by a message for another EID: %+v -> %+v", before, after)
		}
		write(t, p.a, 65, "still")
		if got := p.ub.rxData[100]; len(got) != 1 || got[0] != "still" {
			t.Fatalf("data after the message: %q", got)
		}
	})
}

var quiet = slog.New(slog.DiscardHandler)

// TestRequestFromSelf: a FLOW_REQ claiming to come from our own address or
// from a component EID is dropped before the IRMd hears of it.
func TestRequestFromSelf(t *testing.T) {
	p := newPair(t, ca.None, nil)
	for _, m := range []wire.FAMsg{
		{Code: wire.FAFlowReq, SAddr: addrB, SEID: 1 << 40, Hash: hashB},
		{Code: wire.FAFlowReq, SAddr: addrA, SEID: 1, Hash: hashB},
		{Code: wire.FAFlowReq, SAddr: 0, SEID: 1 << 40, Hash: hashB},
	} {
		p.b.Handle(m.Append(nil))
	}
	if len(p.ub.arrived) != 0 || p.b.Stats().Malformed != 3 || len(p.n.sent) != 0 {
		t.Errorf("arrived %v, stats %+v, sent %d", p.ub.arrived, p.b.Stats(), len(p.n.sent))
	}
}

// TestAllocateSelf: a flow to a name registered at this member. The request
// and the reply stay inside the member (nothing reaches the data transfer
// but the data), the flow comes up and data goes both ways.
func TestAllocateSelf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, ca.None, nil)
		b, ub := p.b, p.ub
		b.Start()
		defer b.Close()
		if err := b.Alloc(1, hashB, qos.Spec{}, []byte("pk")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ub.mu.Lock()
		arrived := append([]int(nil), ub.arrived...)
		ub.mu.Unlock()
		if len(arrived) != 1 || arrived[0] != 100 {
			t.Fatalf("arrived %v, want [100]", arrived)
		}
		if err := b.AllocResp(100, 0, []byte("rpk")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ub.mu.Lock()
		r, ok := ub.replies[1]
		ub.mu.Unlock()
		if !ok || r != 0 {
			t.Fatalf("reply for flow 1: %d (%v)", r, ok)
		}
		write(t, b, 1, "ping")
		write(t, b, 100, "pong")
		ub.mu.Lock()
		defer ub.mu.Unlock()
		if got := ub.rxData; len(got[100]) != 1 || got[100][0] != "ping" || len(got[1]) != 1 || got[1][0] != "pong" {
			t.Errorf("data %v", got)
		}
		if fmt.Sprint(ub.rxPk) != "[pk rpk]" {
			t.Errorf("piggybacked data %q", ub.rxPk)
		}
		if len(p.n.sent) != 2 {
			t.Errorf("%d packets through the data transfer, want the 2 data packets", len(p.n.sent))
		}
		if st := b.Stats(); st.Malformed != 0 || st.CtlDropped != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// slowUpper is a fake IRMd side that answers a flow request only when
// the test lets it (each call takes a token from gate).
type slowUpper struct {
	*upper
	gate chan struct{}
}

func (u slowUpper) FlowReqArr(h []byte, q qos.Spec, pk []byte, prepare func(int)) (int, error) {
	<-u.gate
	return u.upper.FlowReqArr(h, q, pk, prepare)
}

// TestRequestBurst: 200 flow requests that arrive at once, while the IRMd
// has not answered the first, all reach the IRMd (none is dropped in the
// worker's queue); a duplicate of a pending one is dropped.
func TestRequestBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &net{fas: map[uint64]*FA{}}
		up := slowUpper{upper: newUpper(100), gate: make(chan struct{})}
		b, err := New(Config{DT: dtOf{n, addrB}, Dir: dir{}, Upper: up, HashLen: 32, CA: ca.None, Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		n.fas[addrB] = b
		b.Start()
		defer b.Close()
		const burst = 200
		for i := range burst {
			m := wire.FAMsg{Code: wire.FAFlowReq, SAddr: addrA, SEID: 1<<40 + uint64(i), Hash: hashB}
			b.Post(0, 0, m.Append(nil))
		}
		dup := wire.FAMsg{Code: wire.FAFlowReq, SAddr: addrA, SEID: 1 << 40, Hash: hashB}
		b.Post(0, 0, dup.Append(nil))
		synctest.Wait() // every request waits for the IRMd now
		for range burst {
			up.gate <- struct{}{}
		}
		synctest.Wait()
		up.mu.Lock()
		arrived := len(up.arrived)
		up.mu.Unlock()
		if st := b.Stats(); arrived != burst || st.CtlDropped != 0 || st.Malformed != 1 {
			t.Errorf("%d of %d requests reached the IRMd; stats %+v", arrived, burst, st)
		}
	})
}
