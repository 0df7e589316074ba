package fa

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Sender is the data transfer as the flow allocator uses it.
type Sender interface {
	// Addr returns our address.
	Addr() uint64
	// Send sends pkt (wire.DTPCILen bytes of headroom, then the payload)
	// to EID eid at address dst in cube qc; it does not keep pkt.
	Send(dst uint64, qc qos.Cube, eid uint64, pkt []byte) error
}

// Directory resolves a name hash to the address of a member that
// registered it.
type Directory interface {
	Query(hash []byte) (uint64, error)
}

// Upper is the IRMd side of the IPCP: the N+1 flows and the calls about
// them. In the daemon it is the IPCP skeleton; in the simulator, a fake.
type Upper interface {
	// FlowReqArr tells the IRMd a flow request arrived for hash, with the
	// QoS and piggybacked data pk, and returns the new N+1 flow's id once
	// an application accepted it. prepare runs before the flow is
	// published, so that an allocation response, which may follow at
	// once, finds the flow allocator's state ready.
	FlowReqArr(hash []byte, q qos.Spec, pk []byte, prepare func(id int)) (int, error)
	// FlowAllocReply answers the IRMd's allocation of flow id with the
	// peer's response and piggybacked data.
	FlowAllocReply(id int, response int32, pk []byte)
	// Deliver writes an SDU to N+1 flow id. sdu is only valid during the
	// call.
	Deliver(id int, sdu []byte) error
}

// Config is a flow allocator's configuration.
type Config struct {
	DT      Sender
	Dir     Directory
	Upper   Upper
	HashLen int       // the layer's name hash length, bytes
	CA      ca.Policy // congestion avoidance of every flow
	// Rand is the source of the EIDs' random halves; crypto/rand if nil.
	Rand io.Reader
	// Log is for dropped messages; slog.Default if nil.
	Log *slog.Logger
	// Queue is the depth of the control message queue of Post; 256 if 0.
	Queue int
	// Pace is how a writer waits when the congestion avoidance paces its
	// flow; nil for a wait in the kernel, exact to the thread's timer
	// slack rather than to the runtime's millisecond (see pace.go).
	Pace func(time.Duration)
}

// FA is a flow allocator. Its methods are safe for concurrent use.
type FA struct {
	cfg   Config
	log   *slog.Logger
	epoch time.Time // origin of the congestion avoidance's clock

	mu    sync.RWMutex
	byID  map[int]*flow
	byEID map[uint64]*flow // by our EID

	ctl  chan ctlMsg   // Post, and messages to ourselves → worker
	reqs chan struct{} // a token per FLOW_REQ being handed to the IRMd
	// asking holds the requesters (address, EID) whose FLOW_REQ is being
	// handed to the IRMd, so that a duplicate is refused even before the
	// first one made a flow. Guarded by mu.
	asking map[[2]uint64]bool
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	stats counters
}

// maxReqs bounds the flow requests handed to the IRMd at once. Each waits
// for the IRMd in a goroutine of its own, so that a burst of requests (a
// hundred applications allocating at once) does not queue behind one
// another in the worker and overflow its queue; beyond this many, a
// request is refused at once.
const maxReqs = 256

// ctlMsg is a queued flow allocator message; local is true for one we
// sent to ourselves (a flow between two applications on this member).
type ctlMsg struct {
	b     []byte
	local bool
}

type state int

const (
	pending state = iota // requester: FLOW_REQ sent, no reply yet
	arrived              // responder: handed to the IRMd, no response yet
	up                   // data flows
)

type flow struct {
	id    int
	seid  uint64     // our EID
	cube  qos.Cube   // the cube our data travels in
	mu    sync.Mutex // guards the fields below
	state state
	reid  uint64 // the peer's EID
	raddr uint64 // the peer's address
	ca    ca.Ctx
}

// Errors, besides those of the directory and the data transfer.
var (
	ErrNotAlloc = fmt.Errorf("fa: no such flow: %w", oerr.ENOTALLOC)
	ErrHash     = fmt.Errorf("fa: name hash of the wrong length: %w", oerr.EINVAL)
	ErrState    = fmt.Errorf("fa: flow not in a state for this: %w", oerr.EPERM)
)

// New returns a flow allocator. Call Start to run the worker that Post
// feeds, and Close to stop it.
func New(cfg Config) (*FA, error) {
	if cfg.DT == nil || cfg.Dir == nil || cfg.Upper == nil {
		return nil, errors.New("fa: missing data transfer, directory or IRMd side")
	}
	if cfg.HashLen <= 0 || cfg.HashLen > 64 {
		return nil, fmt.Errorf("fa: hash length %d", cfg.HashLen)
	}
	if !cfg.CA.Valid() {
		return nil, fmt.Errorf("fa: unknown %v", cfg.CA)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 256
	}
	if cfg.Pace == nil {
		cfg.Pace = finePace
	}
	return &FA{cfg: cfg, log: cfg.Log, epoch: time.Now(), byID: make(map[int]*flow),
		byEID: make(map[uint64]*flow), ctl: make(chan ctlMsg, cfg.Queue),
		reqs: make(chan struct{}, maxReqs), asking: make(map[[2]uint64]bool), done: make(chan struct{})}, nil
}

// now is the congestion avoidance's clock: monotonic nanoseconds.
func (fa *FA) now() int64 { return int64(time.Since(fa.epoch)) }

// newEID returns a fresh EID for flow id: a random non-zero upper half
// and the flow id as lower half, so that it is at least 2^32 (never a
// component's) and a stale or forged packet for a reused flow id does not
// match. Called under fa.mu.
func (fa *FA) newEID(id int) (uint64, error) {
	var b [4]byte
	for range 16 {
		if _, err := io.ReadFull(fa.cfg.Rand, b[:]); err != nil {
			return 0, fmt.Errorf("fa: random source: %w", err)
		}
		hi := binary.BigEndian.Uint32(b[:])
		eid := uint64(hi)<<32 | uint64(uint32(id))
		if hi != 0 && fa.byEID[eid] == nil {
			return eid, nil
		}
	}
	return 0, errors.New("fa: random source gives no fresh EID")
}

// add enters a new flow in the tables. An old flow with the same id is
// stale (the IRMd reuses ids only for gone flows) and is replaced.
func (fa *FA) add(id int, cube qos.Cube, st state, reid, raddr uint64) (*flow, error) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	eid, err := fa.newEID(id)
	if err != nil {
		return nil, err
	}
	if old := fa.byID[id]; old != nil {
		delete(fa.byEID, old.seid)
	}
	f := &flow{id: id, seid: eid, cube: cube, state: st, reid: reid, raddr: raddr,
		ca: ca.New(fa.cfg.CA, fa.now())}
	fa.byID[id] = f
	fa.byEID[eid] = f
	return f, nil
}

func (fa *FA) remove(f *flow) {
	fa.mu.Lock()
	if fa.byID[f.id] == f {
		delete(fa.byID, f.id)
	}
	if fa.byEID[f.seid] == f {
		delete(fa.byEID, f.seid)
	}
	fa.mu.Unlock()
}

func (fa *FA) flowByID(id int) *flow {
	fa.mu.RLock()
	defer fa.mu.RUnlock()
	return fa.byID[id]
}

func (fa *FA) flowByEID(eid uint64) *flow {
	fa.mu.RLock()
	defer fa.mu.RUnlock()
	return fa.byEID[eid]
}

// sendMsg sends a flow allocator message to the FA of dst. One for our own
// address is queued for our worker directly, marked local: it never
// touches the data transfer, so a request "from ourselves" is believed
// only when it really is ours. The queue does not wait (the worker itself
// sends replies): when it is full the message is dropped and counted.
func (fa *FA) sendMsg(dst uint64, m wire.FAMsg) error {
	if dst == fa.cfg.DT.Addr() {
		select {
		case fa.ctl <- ctlMsg{b: m.Append(nil), local: true}:
			return nil
		default:
			fa.stats.ctlDropped.Add(1)
			return fmt.Errorf("fa: control queue full: %w", oerr.EAGAIN)
		}
	}
	b := m.Append(make([]byte, wire.DTPCILen, wire.DTPCILen+m.Len()))
	return fa.cfg.DT.Send(dst, qos.CubeBE, wire.DTEIDFlowAllocator, b)
}

// Alloc starts the allocation of N+1 flow id to the name with hash h: it
// finds the name's member in the directory and sends it a FLOW_REQ. The
// answer comes later, through Upper.FlowAllocReply. The member may be this
// one: the request and the reply then stay inside it, and the data goes
// through the data transfer's local delivery.
func (fa *FA) Alloc(id int, h []byte, q qos.Spec, pk []byte) error {
	if len(h) != fa.cfg.HashLen {
		return ErrHash
	}
	dst, err := fa.cfg.Dir.Query(h)
	if err != nil {
		return fmt.Errorf("fa: directory: %w", err)
	}
	if dst == 0 {
		return fmt.Errorf("fa: directory gives no address: %w", oerr.ENAME)
	}
	// The entry exists before the request leaves: a fast reply finds it.
	f, err := fa.add(id, q.Cube(), pending, 0, dst)
	if err != nil {
		return err
	}
	m := wire.FAMsg{Code: wire.FAFlowReq, SAddr: fa.cfg.DT.Addr(), SEID: f.seid,
		Bandwidth: q.Bandwidth, Delay: q.Delay, Loss: q.Loss, BER: q.BER, MaxGap: q.MaxGap,
		Timeout: q.Timeout, Availability: q.Availability, InOrder: q.InOrder, Hash: h, Data: pk}
	if m.Len() > wire.FAMaxLen {
		fa.remove(f)
		return fmt.Errorf("fa: allocation data of %d bytes too long: %w", len(pk), oerr.EMSGSIZE)
	}
	if err := fa.sendMsg(dst, m); err != nil {
		fa.remove(f)
		return fmt.Errorf("fa: send FLOW_REQ: %w", err)
	}
	return nil
}

// AllocResp answers a flow request that arrived as N+1 flow id: response
// 0 accepts (data may flow), a negative errno refuses and forgets the
// flow. pk goes to the requester.
func (fa *FA) AllocResp(id int, response int32, pk []byte) error {
	f := fa.flowByID(id)
	if f == nil {
		return ErrNotAlloc
	}
	f.mu.Lock()
	if f.state != arrived {
		f.mu.Unlock()
		return ErrState
	}
	if response == 0 {
		f.state = up
	}
	m := wire.FAMsg{Code: wire.FAFlowReply, REID: f.reid, SEID: f.seid, Response: response, Data: pk}
	raddr := f.raddr
	f.mu.Unlock()
	var err error
	if m.Len() > wire.FAMaxLen {
		err = fmt.Errorf("fa: response data of %d bytes too long: %w", len(pk), oerr.EMSGSIZE)
	} else {
		err = fa.sendMsg(raddr, m)
	}
	if errors.Is(err, oerr.EMSGSIZE) && m.Data != nil {
		// The answer (an OAP response with a KEM ciphertext and a
		// certificate, say) does not fit: refuse the flow in a message
		// that fits, so the requester learns it now and may propose
		// something smaller, rather than wait for its timeout.
		m.Response, m.Data = -int32(oerr.EMSGSIZE), nil
		err = errors.Join(err, fa.sendMsg(raddr, m))
	}
	if response != 0 || err != nil {
		fa.remove(f)
	}
	if err != nil {
		return fmt.Errorf("fa: send FLOW_REPLY: %w", err)
	}
	return nil
}

// Dealloc forgets N+1 flow id. Nothing is sent: the peer's flow ends when
// its application gives up on it, and its packets to us are dropped as
// for an unknown EID.
func (fa *FA) Dealloc(id int) {
	if f := fa.flowByID(id); f != nil {
		fa.remove(f)
	}
}

// Flows returns the number of flows in the table.
func (fa *FA) Flows() int {
	fa.mu.RLock()
	defer fa.mu.RUnlock()
	return len(fa.byID)
}
