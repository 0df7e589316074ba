// Package eth is the eth-dix and eth-llc IPCPs: a
// layer directly over one Ethernet segment, wire-compatible with the
// reference. Format selects the framing (internal/wire): eth-dix is Ethernet
// II with the layer's Ethertype (0xA000 by default) and a 16-bit endpoint id
// (EID 0 is management); eth-llc is 802.3 with an LLC UI header whose SAPs
// (bit-reversed on the wire; management SAP 1, data SAPs 2..65) name the
// endpoints, so an eth-llc IPCP carries at most 64 flows at once.
//
// One AF_PACKET raw socket bound to the device (the layer's Ethertype for
// DIX, ETH_P_802_2 for LLC) carries everything; frames not addressed to our
// MAC or to the broadcast address are dropped. Names are resolved by
// broadcasting NAME_QUERY_REQ with the name hash and caching (hash -> MAC)
// from the NAME_QUERY_REPLY; hosts answer for the hashes registered with them.
//
// Allocation, client flow A on host 1, server flow B on host 2:
//
//	IRMd1 -> IPCP_FLOW_ALLOC(A)       FlowAlloc: the MAC of the name's host, a
//	                                  local id for A, FLOW_REQ{seid = id(A)}
//	host 2: FLOW_REQ                  if the hash is registered: a local id for
//	                                  B, peer and remote id recorded, then
//	                                  IPCP_FLOW_REQ_ARR to IRMd2 publishes B
//	IRMd2 -> IPCP_FLOW_ALLOC_RESP(B)  B up, then FLOW_REPLY{seid = id(B),
//	                                  deid = id(A), response}
//	host 1: FLOW_REPLY                checked against A (id, state, sender MAC),
//	                                  A up, IPCP_FLOW_ALLOC_REPLY(A) to IRMd1
//
// Goroutines: one reader receives every frame. Data goes to its flow's
// channel without blocking (when an application does not keep up the packet
// is dropped and counted, as Ethernet would), so one slow flow never stalls
// the others. FLOW_REPLY and NAME_QUERY_REPLY change only tables and are
// handled by the reader itself, in frame order, so a flow is up before any
// data that follows its reply is looked at; FLOW_REQ and NAME_QUERY_REQ, which
// need the IRMd or a send, wait in a bounded FIFO queue for a pool of
// workers (a full queue drops and counts them), so a flood of requests costs
// later requests at most the time the queue takes to drain, and never holds
// up replies, answers or data. Each live flow has a writer goroutine that
// reads the application's channel and sends frames; at deallocation it is
// given up to a second to send what the application wrote before closing.
// A netlink monitor marks every flow down (FLOW_DOWN) while the interface is
// down. Drops are logged at most once a second.
//
// Every id taken from the wire is checked against the table's range before
// use (the reference indexes its SAP table with any received byte), and a
// requested flow's peer MAC and remote id are recorded before the IRMd
// publishes it (the reference stores them afterwards, racing the response).
//
// Deviations from the reference, all local: frames for other MACs are dropped;
// data is accepted only from the flow's peer MAC (and, for LLC, its SAP); a
// FLOW_REQ that cannot be served (no free SAP, the IRMd refuses) is answered
// with a negative FLOW_REPLY; the SAP of a requested flow is taken when the
// request arrives, and none is taken for a refusal; the management queue is
// FIFO; the socket is bound to the layer's protocol, not ETH_P_ALL as in the
// reference, which changes nothing on the wire. Deallocation is local, as in
// the reference: the peer's flow ends through its own keepalive timeout. No BPF, netmap or qdisc bypass.
package eth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// MPL is the maximum packet lifetime reported to the IRMd, in ms.
const MPL = uint32(wire.EthMPL / time.Millisecond)

const (
	mgmtWorkers = 32          // management messages handled at once
	mgmtQueue   = 4096        // management messages waiting; more are dropped
	dirMax      = 10240       // cached answers; unsolicited ones beyond are dropped
	dixFirstEID = 64          // DIX ids are 64..65535, like the reference's fds
	ifNameMax   = 15          // IFNAMSIZ - 1
	drainWait   = time.Second // FlowDealloc waits this long for the writer to drain
	// queryRepeats is how many times a name query is sent within its
	// timeout (once at the start, then every timeout/queryRepeats).
	queryRepeats = 4
)

// reqArrTTL: wait for the IRMd (ipcp_wait_flow_req_arr, alloc reply).
const reqArrTTL = ipcp.FlowReqArrWait

// LLCMaxFlows is how many flows an eth-llc IPCP carries at once.
const LLCMaxFlows = wire.EthLLCMaxDataSAP - wire.EthLLCMinDataSAP + 1

// ErrNoSAP refuses an eth-llc flow when all the data SAPs are in use.
var ErrNoSAP = fmt.Errorf("all %d LLC SAPs in use: eth-llc carries at most %d flows: %w",
	LLCMaxFlows, LLCMaxFlows, oerr.ENOMEM)

// IRMd is what the IPCP asks of its IRMd; *ipcp.IPCP provides it.
type IRMd interface {
	FlowReqArr(ctx context.Context, h []byte, q qos.Spec, mplMs uint32, pk []byte, prepare func(*ipcp.Flow)) (*ipcp.Flow, error)
	FlowAllocReply(ctx context.Context, id int, response int32, mplMs uint32, pk []byte) error
	Log() *slog.Logger
}

// link is the Ethernet device: frames start at the destination MAC.
type link interface {
	ReadFrame(b []byte) (int, error) // one frame; net.ErrClosed or os.ErrClosed once closed
	WriteFrame(b []byte) error
	Close() error
}

// flow is one N+1 flow. leid and client are fixed once it is in the table;
// the other fields are guarded by Eth.mu.
type flow struct {
	leid   uint16 // ours: the DIX EID or LLC SAP of frames to us
	client bool   // we sent the FLOW_REQ

	f       *ipcp.Flow   // nil while a request waits for the IRMd
	peer    wire.EthAddr // the peer IPCP's MAC
	reid    uint16       // the peer's id; valid once up (client) or from the request
	replied bool         // a FLOW_REPLY was accepted (client)
	up      bool
	done    chan struct{} // closed when the writer ends; nil before up
}

// Eth is the behaviour of an eth-dix or eth-llc IPCP.
type Eth struct {
	ipcp.Unsupported
	// Format is wire.EthDIX or wire.EthLLC, as given to New; it selects the
	// framing, the management layout and the id space (EIDs or SAPs).
	Format wire.EthFormat

	irm          IRMd
	log          *slog.Logger
	queryTimeout time.Duration

	// Set by Bootstrap, then read-only.
	link      link
	mon       io.Closer // link state monitor, if any
	dev       string
	mac       wire.EthAddr
	ethertype uint16 // DIX
	mtu       int
	maxSDU    int // largest payload per frame
	hashLen   int

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu       sync.Mutex
	tab      table
	byID     map[int]*flow
	names    map[string]struct{}      // registered hashes
	dir      map[string]wire.EthAddr  // answers (never expire, as in the reference)
	queries  map[string]chan struct{} // outstanding name queries, closed on answer
	linkDown bool
	closed   bool // no more writers start

	mgmtQ chan mgmtMsg // to the workers; closed by the reader
	wg    sync.WaitGroup
	stats counters
}

// NewDIX returns the operations of an eth-dix IPCP.
func NewDIX(p *ipcp.IPCP) ipcp.Ops { return New(p, wire.EthDIX) }

// NewLLC returns the operations of an eth-llc IPCP.
func NewLLC(p *ipcp.IPCP) ipcp.Ops { return New(p, wire.EthLLC) }

// New returns an IPCP of format f (wire.EthDIX or wire.EthLLC) working for irm.
func New(irm IRMd, f wire.EthFormat) *Eth {
	e := &Eth{Format: f, irm: irm, log: irm.Log(), queryTimeout: wire.EthNameQueryTimeout,
		byID: map[int]*flow{}, names: map[string]struct{}{}, dir: map[string]wire.EthAddr{},
		queries: map[string]chan struct{}{}, mgmtQ: make(chan mgmtMsg, mgmtQueue)}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if f == wire.EthLLC {
		e.tab = newTable(wire.EthLLCMinDataSAP, wire.EthLLCMaxDataSAP)
	} else {
		e.tab = newTable(dixFirstEID, 0xffff)
	}
	return e
}

func (e *Eth) name() string {
	if e.Format == wire.EthLLC {
		return "eth-llc"
	}
	return "eth-dix"
}

// Bootstrap opens the raw socket on the configured device and starts the
// goroutines. The hash algorithm is the layer's (SHA3-224 to SHA3-512).
func (e *Eth) Bootstrap(_ context.Context, conf *pb.IpcpConfigMsg) (string, hash.Algo, error) {
	layer := conf.GetLayerInfo().GetName()
	algo := hash.Algo(conf.GetLayerInfo().GetDirHashAlgo())
	c := conf.GetEth()
	switch {
	case layer == "":
		return "", 0, fmt.Errorf("no layer name: %w", oerr.EINVAL)
	case algo > hash.SHA3_512:
		return "", 0, fmt.Errorf("hash algorithm %v is not for this layer: %w", algo, oerr.EINVAL)
	case c == nil || c.GetDev() == "":
		return "", 0, fmt.Errorf("%s bootstrap without a device: %w", e.name(), oerr.EINVAL)
	case len(c.GetDev()) > ifNameMax:
		return "", 0, fmt.Errorf("device name %q is longer than %d bytes: %w", c.GetDev(), ifNameMax, oerr.EINVAL)
	}
	proto, ethertype := uint16(ethP8022), uint16(0)
	if e.Format == wire.EthDIX {
		t := c.GetEthertype()
		if t > 0xffff || !wire.ValidEthertype(uint16(t)) {
			return "", 0, fmt.Errorf("Ethertype 0x%04X is not in 0x0600..0xFFFE: %w", t, oerr.EINVAL)
		}
		proto, ethertype = uint16(t), uint16(t)
	}
	l, ifi, err := openRaw(c.GetDev(), proto)
	if err != nil {
		return "", 0, fmt.Errorf("device %s: %w", c.GetDev(), err)
	}
	e.dev = c.GetDev()
	e.linkDown = !ifi.up
	mtu := capMTU(e.Format, e.dev, ifi.mtu)
	if err := e.start(l, ifi.mac, mtu, algo.Len(), ethertype); err != nil {
		l.Close()
		return "", 0, fmt.Errorf("device %s: %w", e.dev, err)
	}
	if mon, err := openLinkMonitor(); err != nil {
		e.log.Warn(fmt.Sprintf("No link state monitor for %s: %v.", e.dev, err))
	} else {
		e.mon = mon
		e.wg.Add(1)
		go func() { defer e.wg.Done(); mon.run(ifi.index, e.linkState) }()
	}
	what := "LLC (802.2)"
	if e.Format == wire.EthDIX {
		what = fmt.Sprintf("DIX (Ethertype 0x%04X)", ethertype)
	}
	e.log.Info(fmt.Sprintf("Bootstrapped %s over %s %s, MAC %v, MTU %d, layer %s.",
		e.name(), e.dev, what, e.mac, e.mtu, layer))
	return layer, algo, nil
}

// capMTU is the IPCP's MTU for an interface MTU.
func capMTU(f wire.EthFormat, dev string, ifMTU int) int {
	mtu := min(ifMTU, wire.EthDIXMTUMax)
	if f == wire.EthLLC {
		mtu = min(mtu, wire.EthLLCMTUMax)
	}
	if strings.HasPrefix(dev, "lo") {
		mtu = min(mtu, wire.EthLoMTU)
	}
	return mtu
}

// start takes the link and starts the reader and the workers.
func (e *Eth) start(l link, mac wire.EthAddr, mtu, hashLen int, ethertype uint16) error {
	e.mtu, e.mac, e.hashLen, e.ethertype = mtu, mac, hashLen, ethertype
	e.maxSDU = mtu - wire.EthDIXOverhead
	if e.Format == wire.EthLLC {
		e.maxSDU = mtu - wire.EthLLCOverhead
	}
	if e.maxSDU < e.Format.MgmtLen()+hashLen {
		return fmt.Errorf("MTU %d cannot carry a name query: %w", mtu, oerr.EINVAL)
	}
	e.link = l
	e.wg.Add(1 + mgmtWorkers)
	go e.reader()
	for range mgmtWorkers {
		go e.mgmtWorker()
	}
	return nil
}

// Reg adds a hash to the names this host answers for (no frame is sent).
func (e *Eth) Reg(h []byte) error {
	e.mu.Lock()
	e.names[string(h)] = struct{}{}
	e.mu.Unlock()
	e.log.Info(fmt.Sprintf("Registered %s.", hash.Short(h)))
	return nil
}

// Unreg removes a hash.
func (e *Eth) Unreg(h []byte) error {
	e.mu.Lock()
	delete(e.names, string(h))
	e.mu.Unlock()
	return nil
}

func (e *Eth) registered(h []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.names[string(h)]
	return ok
}

// Query resolves a hash to the MAC of a host that has it.
func (e *Eth) Query(ctx context.Context, h []byte) error {
	_, err := e.lookup(ctx, h)
	return err
}

// lookup returns the cached MAC of h, or broadcasts a NAME_QUERY_REQ and
// waits for an answer (shared by concurrent lookups of one hash).
func (e *Eth) lookup(ctx context.Context, h []byte) (wire.EthAddr, error) {
	k := string(h)
	e.mu.Lock()
	if a, ok := e.dir[k]; ok {
		e.mu.Unlock()
		return a, nil
	}
	ch, pending := e.queries[k]
	if !pending {
		ch = make(chan struct{})
		e.queries[k] = ch
	}
	e.mu.Unlock()
	if !pending {
		if err := e.sendMgmt(wire.EthBroadcast, wire.EthMgmt{Code: wire.EthNameQueryReq, Hash: h}); err != nil {
			e.log.Debug(fmt.Sprintf("Name query for %s: %v.", hash.Short(h), err))
			e.mu.Lock()
			if e.queries[k] == ch {
				delete(e.queries, k)
			}
			e.mu.Unlock()
			return wire.EthAddr{}, oerr.ENAME
		}
	}
	t := time.NewTimer(e.queryTimeout)
	defer t.Stop()
	// The asker repeats its query a few times within the timeout: one
	// broadcast frame is easily lost (a link just brought up, a busy
	// receiver), and an answer to any copy completes the lookup. The
	// reference asks once; the frames are the same.
	var again <-chan time.Time
	if !pending {
		r := time.NewTicker(e.queryTimeout / queryRepeats)
		defer r.Stop()
		again = r.C
	}
wait:
	for {
		select {
		case <-ch:
			break wait
		case <-t.C:
			break wait
		case <-ctx.Done():
			break wait
		case <-e.ctx.Done():
			break wait
		case <-again:
			if err := e.sendMgmt(wire.EthBroadcast, wire.EthMgmt{Code: wire.EthNameQueryReq, Hash: h}); err != nil {
				e.log.Debug(fmt.Sprintf("Name query for %s, again: %v.", hash.Short(h), err))
			}
		}
	}
	e.mu.Lock()
	a, ok := e.dir[k]
	if !ok && e.queries[k] == ch {
		delete(e.queries, k) // the next lookup asks again
	}
	e.mu.Unlock()
	if !ok {
		return wire.EthAddr{}, oerr.ENAME
	}
	return a, nil
}

// FlowAlloc sends a FLOW_REQ to the host of hash h.
func (e *Eth) FlowAlloc(ctx context.Context, f *ipcp.Flow, h []byte, q qos.Spec, pk []byte) error {
	if len(h) != e.hashLen {
		return oerr.EINVAL
	}
	mac, err := e.lookup(ctx, h)
	if err != nil {
		return err
	}
	fl := &flow{client: true, peer: mac}
	if err := e.reserve(fl); err != nil {
		e.log.Warn(fmt.Sprintf("Flow allocation to %s refused: %v.", hash.Short(h), err))
		return err
	}
	e.bind(fl, f)
	m := wire.EthMgmt{Code: wire.EthFlowReq, SEID: fl.leid, Hash: h, Data: pk,
		Delay: q.Delay, Bandwidth: q.Bandwidth, Availability: q.Availability, Loss: q.Loss,
		BER: q.BER, InOrder: q.InOrder, MaxGap: q.MaxGap, Timeout: q.Timeout}
	if err := e.sendMgmt(mac, m); err != nil {
		e.remove(fl)
		return err
	}
	return nil
}

// FlowAllocResp answers a FLOW_REQ once the local application accepted
// (response 0) or refused it. The flow is up before the reply leaves: the
// requester may send at once.
func (e *Eth) FlowAllocResp(_ context.Context, f *ipcp.Flow, response int32, pk []byte) error {
	e.mu.Lock()
	fl := e.byID[f.ID]
	ok := fl != nil && fl.f == f && !fl.client
	e.mu.Unlock()
	if !ok {
		return oerr.ENOTALLOC
	}
	m := wire.EthMgmt{Code: wire.EthFlowReply, SEID: fl.leid, DEID: fl.reid, Response: response, Data: pk}
	if n := m.Len(e.Format); n > e.maxMgmt() {
		// The answer (an OAP response with a KEM ciphertext and a
		// certificate, say) does not fit a frame: refuse the flow in one
		// that fits, so the requester learns it now and may propose
		// something smaller, rather than wait for its timeout.
		e.log.Error(fmt.Sprintf("Flow %d: the response of %d bytes does not fit a frame of this layer (%d): refused.",
			f.ID, n, e.maxMgmt()))
		m.Response, m.Data = -int32(oerr.EMSGSIZE), nil
		err := e.sendMgmt(fl.peer, m)
		e.remove(fl)
		return errors.Join(fmt.Errorf("response of %d bytes: %w", n, oerr.EMSGSIZE), err)
	}
	if response == 0 {
		e.startFlow(fl)
	}
	err := e.sendMgmt(fl.peer, m)
	if response != 0 || err != nil {
		e.remove(fl)
	}
	return err
}

// FlowDealloc forgets the flow (nothing goes on the wire, as in the
// reference). An application closes its end before it deallocates, so the
// writer sends what the application wrote last and then sees the end of the
// channel; FlowDealloc waits for that (up to drainWait), because the skeleton
// closes our end next, which would discard those packets.
func (e *Eth) FlowDealloc(f *ipcp.Flow) {
	e.mu.Lock()
	fl := e.byID[f.ID]
	ok := fl != nil && fl.f == f // not a newer flow that reuses the id
	var done chan struct{}
	if ok {
		done = fl.done
	}
	e.mu.Unlock()
	if !ok {
		return
	}
	e.remove(fl)
	if done != nil {
		t := time.NewTimer(drainWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		case <-e.ctx.Done():
		}
	}
}

// Close stops the reader, the workers and the monitor, and waits for every
// goroutine; flow writers end when their channels close (the skeleton closes
// them before calling Close).
func (e *Eth) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	if e.link != nil {
		e.link.Close()
	}
	if e.mon != nil {
		e.mon.Close()
	}
	e.wg.Wait()
	e.logDrops(true)
}
