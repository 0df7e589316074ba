package eth

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/olog"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// bus is a fake Ethernet segment: every frame goes to every other link (a
// hub; the IPCPs filter on the destination MAC themselves) and to the tap.
type bus struct {
	mu    sync.Mutex
	links []*fakeLink
	tap   [][]byte
	drop  func(frame []byte) bool // if set and true, the frame reaches the tap only (called with mu held)
}

type fakeLink struct {
	bus    *bus
	in     chan []byte
	closed chan struct{}
	once   sync.Once
}

func (b *bus) link() *fakeLink {
	l := &fakeLink{bus: b, in: make(chan []byte, 1<<15), closed: make(chan struct{})}
	b.mu.Lock()
	b.links = append(b.links, l)
	b.mu.Unlock()
	return l
}

// frames returns copies of the frames sent so far that match keep.
func (b *bus) frames(keep func([]byte) bool) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][]byte
	for _, f := range b.tap {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

func (l *fakeLink) ReadFrame(b []byte) (int, error) {
	select {
	case f := <-l.in:
		return copy(b, f), nil
	case <-l.closed:
		return 0, net.ErrClosed
	}
}

func (l *fakeLink) WriteFrame(f []byte) error {
	select {
	case <-l.closed:
		return net.ErrClosed
	default:
	}
	cp := bytes.Clone(f)
	l.bus.mu.Lock()
	defer l.bus.mu.Unlock()
	l.bus.tap = append(l.bus.tap, cp)
	if l.bus.drop != nil && l.bus.drop(cp) {
		return nil
	}
	for _, o := range l.bus.links {
		if o != l {
			select {
			case o.in <- cp:
			default: // a full receiver loses the frame, like Ethernet
			}
		}
	}
	return nil
}

func (l *fakeLink) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// inject delivers a frame to l as if from the wire.
func (l *fakeLink) inject(f []byte) { l.in <- f }

// fakeIRMd stands for the IRMd: FlowReqArr publishes a new flow (after the
// IPCP's prepare, then onPublish), FlowAllocReply is recorded.
type fakeIRMd struct {
	t         *testing.T
	mu        sync.Mutex
	nextID    int
	fail      error
	block     chan struct{} // FlowReqArr waits for it to close, if set
	onPublish func(f *ipcp.Flow)
	handled   atomic.Int64 // FlowReqArr calls that returned
	arrived   chan arrival
	replies   chan allocReply
}

type arrival struct {
	f   *ipcp.Flow
	app *datapath.Endpoint
	h   []byte
	q   qos.Spec
	mpl uint32
	pk  []byte
}

type allocReply struct {
	id   int
	resp int32
	mpl  uint32
	pk   []byte
}

func newFakeIRMd(t *testing.T) *fakeIRMd {
	return &fakeIRMd{t: t, nextID: 1000, arrived: make(chan arrival, 256), replies: make(chan allocReply, 256)}
}

func (r *fakeIRMd) Log() *slog.Logger { return olog.Discard() }

func (r *fakeIRMd) setFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

func (r *fakeIRMd) FlowReqArr(_ context.Context, h []byte, q qos.Spec, mpl uint32, pk []byte, prepare func(*ipcp.Flow)) (*ipcp.Flow, error) {
	defer r.handled.Add(1)
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block != nil {
		<-block
	}
	r.mu.Lock()
	fail := r.fail
	r.nextID++
	id, hook := r.nextID, r.onPublish
	r.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	f, app := newFlow(r.t, id)
	prepare(f)
	if hook != nil {
		hook(f) // the IRMd may answer as soon as the flow is published
	}
	r.arrived <- arrival{f: f, app: app, h: bytes.Clone(h), q: q, mpl: mpl, pk: bytes.Clone(pk)}
	return f, nil
}

func (r *fakeIRMd) FlowAllocReply(_ context.Context, id int, resp int32, mpl uint32, pk []byte) error {
	r.replies <- allocReply{id: id, resp: resp, mpl: mpl, pk: bytes.Clone(pk)}
	return nil
}

// newFlow returns an IPCP-side flow and the application's end of its
// channel, both closed when the test ends.
func newFlow(t *testing.T, id int) (*ipcp.Flow, *datapath.Endpoint) {
	a, b, err := datapath.Pair(false)
	if err != nil {
		t.Fatal(err)
	}
	ipcpEnd, err := datapath.New(b)
	if err != nil {
		t.Fatal(err)
	}
	app, err := datapath.New(a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(); ipcpEnd.Close() })
	return &ipcp.Flow{ID: id, EP: ipcpEnd}, app
}

// node is one IPCP on the bus.
type node struct {
	e    *Eth
	irm  *fakeIRMd
	link *fakeLink
	mac  wire.EthAddr
}

// newNode starts an IPCP of format f with MAC 02:00:00:00:00:<n> on b, with
// a 1500-byte MTU and SHA3-256 hashes. It is closed when the test ends,
// after the flows created later (cleanups run last first).
func newNode(t *testing.T, b *bus, f wire.EthFormat, n byte) *node {
	t.Helper()
	irm := newFakeIRMd(t)
	e := New(irm, f)
	e.queryTimeout = 300 * time.Millisecond
	nd := &node{e: e, irm: irm, link: b.link(), mac: wire.EthAddr{2, 0, 0, 0, 0, n}}
	et := uint16(0)
	if f == wire.EthDIX {
		et = wire.EthDefaultEthertype
	}
	if err := e.start(nd.link, nd.mac, 1500, 32, et); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return nd
}

// frame builds a frame from src to dst with payload, between ids (DIX: the
// EID is rid; LLC: DSAP rid, SSAP lid).
func (nd *node) frame(src, dst wire.EthAddr, lid, rid uint16, payload []byte) []byte {
	if nd.e.Format == wire.EthLLC {
		h := wire.EthLLCHeader{Dst: dst, Src: src, Length: uint16(3 + len(payload)), DSAP: uint8(rid), SSAP: uint8(lid)}
		return append(h.Append(nil), payload...)
	}
	h := wire.EthDIXHeader{Dst: dst, Src: src, Ethertype: wire.EthDefaultEthertype, EID: rid, Length: uint16(len(payload))}
	return append(h.Append(nil), payload...)
}

// mgmtFrame builds a management frame from src to nd.
func (nd *node) mgmtFrame(src wire.EthAddr, m wire.EthMgmt) []byte {
	id := uint16(0)
	if nd.e.Format == wire.EthLLC {
		id = wire.EthLLCMgmtSAP
	}
	return nd.frame(src, nd.mac, id, id, m.Append(nil, nd.e.Format))
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// read reads one packet from ep within d.
func read(t *testing.T, ep *datapath.Endpoint, d time.Duration) (datapath.Kind, []byte, error) {
	t.Helper()
	ep.SetReadDeadline(time.Now().Add(d))
	defer ep.SetReadDeadline(time.Time{})
	k, p, err := ep.ReadPacket(make([]byte, datapath.MaxSDU+1))
	return k, bytes.Clone(p), err
}

func write(t *testing.T, ep *datapath.Endpoint, sdu []byte) {
	t.Helper()
	if err := ep.WritePacket(datapath.KindData, append([]byte{0}, sdu...)); err != nil {
		t.Fatal(err)
	}
}
