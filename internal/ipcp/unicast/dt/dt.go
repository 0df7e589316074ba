package dt

// Data transfer, packet by packet.
//
// Sending (Send, from the flow allocator, the directory, or any local
// component):
//  0. a packet for our own address is delivered at once by EID, in the
//     sender's goroutine, as if it had arrived (no link, no TTL check);
//  1. look up the next hop for the destination in the cube's forwarding table;
//  2. fill the PCI in the headroom the caller reserved: destination, cube,
//     TTL = the layer's maximum, ECN 0, EID;
//  3. OR in the congestion mark of the chosen link's queue;
//  4. write the packet to the link.
//
// Receiving (Receive, from the reader of an N-1 Data Transfer flow):
//  1. a packet shorter than a PCI is malformed: dropped and counted;
//  2. for our address: strip the PCI and hand the payload to the component
//     of the EID (below 64) or to the flow handler (64 and up);
//  3. otherwise: a TTL of 0 or 1 cannot take another hop: dropped and
//     counted; else decrement it, look up the next hop (the incoming link's
//     cube), OR in the congestion mark of the outgoing link and write.
//
// Neither path allocates, blocks on a lock held by a writer for long, or
// hands the packet to another goroutine: the packet is rewritten in place
// and written out by the goroutine that read it.

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// Link is an N-1 Data Transfer flow to a neighbour, as the data transfer
// writes to it.
type Link interface {
	// Write sends one DT packet (PCI and payload). It must not keep pkt
	// after it returns: the caller reuses the buffer. An error means the
	// packet was not sent.
	Write(pkt []byte) error
	// Queued returns the number of packets waiting to leave on the link,
	// which the congestion avoidance turns into ECN marks.
	Queued() int
}

// Handler takes a packet for a local EID: the EID, the congestion mark it
// arrived with and the payload after the PCI. The payload aliases the
// packet buffer and is only valid during the call. A handler runs in the
// goroutine of the link reader, so it must not block for long.
type Handler func(eid uint64, ecn uint8, payload []byte)

// Cubes is the number of QoS cubes, one forwarding table each.
const Cubes = 3

// Config is a data transfer's configuration, from the layer's.
type Config struct {
	Addr uint64 // our address (non-zero, at most wire.DTAddrMax)
	TTL  uint8  // TTL of the packets we originate; 0 means wire.DTDefaultTTL
	// CA is the congestion avoidance policy, which decides the marks.
	CA ca.Policy
	// PFF is the forwarding table of each QoS cube; a nil entry uses
	// PFF[0], which must be set.
	PFF [Cubes]*pff.Table
	// LinkFailed, if set, is called (in the writing goroutine) when a
	// write to a link fails, so that the owner can declare it down.
	LinkFailed func(id int, err error)
}

// Errors of Send and of the registration calls.
var (
	ErrNoRoute  = errors.New("dt: no next hop for the destination")
	ErrHeadroom = errors.New("dt: packet without headroom for the PCI")
	ErrEID      = errors.New("dt: component EID out of range")
	ErrLink     = errors.New("dt: bad link")
)

// DT is the data transfer of one layer member. Its methods are safe for
// concurrent use.
type DT struct {
	cfg  Config
	self uint64
	ttl  uint8

	mu    sync.RWMutex
	links map[int]*link
	comps [wire.DTEIDFirstFlow]Handler
	flows Handler

	stats counters
}

type link struct {
	l    Link
	cube qos.Cube
}

// New returns a data transfer with no links and no handlers.
func New(cfg Config) (*DT, error) {
	if cfg.Addr == 0 || cfg.Addr > wire.DTAddrMax {
		return nil, fmt.Errorf("dt: address %#x does not fit the PCI", cfg.Addr)
	}
	if cfg.PFF[0] == nil {
		return nil, errors.New("dt: no forwarding table")
	}
	for i := range cfg.PFF {
		if cfg.PFF[i] == nil {
			cfg.PFF[i] = cfg.PFF[0]
		}
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = wire.DTDefaultTTL
	}
	return &DT{cfg: cfg, self: cfg.Addr, ttl: ttl, links: make(map[int]*link)}, nil
}

// Addr returns our address.
func (d *DT) Addr() uint64 { return d.self }

// AddLink makes l the link with id (the number forwarding tables name it
// by), carrying QoS cube c.
func (d *DT) AddLink(id int, l Link, c qos.Cube) error {
	if l == nil || c < 0 || c >= Cubes {
		return ErrLink
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.links[id]; ok {
		return fmt.Errorf("%w: id %d in use", ErrLink, id)
	}
	d.links[id] = &link{l: l, cube: c}
	return nil
}

// RemoveLink forgets link id. Packets routed to it afterwards are dropped
// (counted as failed writes) until routing moves them.
func (d *DT) RemoveLink(id int) {
	d.mu.Lock()
	delete(d.links, id)
	d.mu.Unlock()
}

// Register makes h the handler of component EID eid (below
// wire.DTEIDFirstFlow); a nil h unregisters.
func (d *DT) Register(eid uint64, h Handler) error {
	if eid >= wire.DTEIDFirstFlow {
		return fmt.Errorf("%w: %d", ErrEID, eid)
	}
	d.mu.Lock()
	d.comps[eid] = h
	d.mu.Unlock()
	return nil
}

// SetFlowHandler makes h the handler of every EID from
// wire.DTEIDFirstFlow up: the flow allocator's N+1 flows.
func (d *DT) SetFlowHandler(h Handler) {
	d.mu.Lock()
	d.flows = h
	d.mu.Unlock()
}

// Send sends a packet we originate to EID eid at address dst, in QoS cube
// qc. pkt is the whole buffer: its first wire.DTPCILen bytes are headroom
// for the PCI, the rest is the payload. Send rewrites the headroom and
// does not keep pkt.
//
// A packet for our own address is handed to the handler of its EID before
// Send returns (the handler runs in the caller's goroutine, so a handler
// must not send to us while holding a lock that it takes itself); it
// counts as sent and delivered, and an EID without a handler drops it
// (counted, no error).
func (d *DT) Send(dst uint64, qc qos.Cube, eid uint64, pkt []byte) error {
	if len(pkt) < wire.DTPCILen {
		return ErrHeadroom
	}
	if qc < 0 || qc >= Cubes {
		qc = qos.CubeBE
	}
	if dst == d.self {
		h := wire.DT(pkt)
		wire.DTFields{Dst: dst, QoS: uint8(qc), TTL: d.ttl, EID: eid}.Put(h)
		d.stats.sent.Add(1)
		d.deliver(h)
		return nil
	}
	fd, ok := d.cfg.PFF[qc].NextHop(dst)
	if !ok {
		d.stats.sendNoRoute.Add(1)
		return ErrNoRoute
	}
	h := wire.DT(pkt)
	wire.DTFields{Dst: dst, QoS: uint8(qc), TTL: d.ttl, EID: eid}.Put(h)
	if err := d.write(fd, h); err != nil {
		return err
	}
	d.stats.sent.Add(1)
	return nil
}

// write marks and writes h to link fd.
func (d *DT) write(fd int, h wire.DT) error {
	d.mu.RLock()
	l := d.links[fd]
	d.mu.RUnlock()
	if l == nil {
		d.stats.dropWrite.Add(1)
		return ErrLink
	}
	if m := d.cfg.CA.ECN(l.l.Queued()); m != 0 {
		h.SetECN(h.ECN() | m)
	}
	if err := l.l.Write(h); err != nil {
		d.stats.dropWrite.Add(1)
		if d.cfg.LinkFailed != nil {
			d.cfg.LinkFailed(fd, err)
		}
		return err
	}
	return nil
}

// Receive processes a packet read from link from: it delivers it locally
// or forwards it. pkt is rewritten in place and not kept after Receive
// returns. Any content is safe: what is not valid is dropped and counted.
func (d *DT) Receive(from int, pkt []byte) {
	d.stats.received.Add(1)
	if len(pkt) < wire.DTPCILen {
		d.stats.dropMalformed.Add(1)
		return
	}
	h := wire.DT(pkt)
	if h.Dst() == d.self {
		d.deliver(h)
		return
	}
	ttl := h.TTL()
	if ttl <= 1 {
		d.stats.dropTTL.Add(1)
		return
	}
	h.SetTTL(ttl - 1)
	d.mu.RLock()
	in := d.links[from]
	d.mu.RUnlock()
	cube := qos.CubeBE
	if in != nil {
		cube = in.cube
	}
	fd, ok := d.cfg.PFF[cube].NextHop(h.Dst())
	if !ok {
		d.stats.dropNoRoute.Add(1)
		return
	}
	if d.write(fd, h) == nil {
		d.stats.forwarded.Add(1)
	}
}

func (d *DT) deliver(h wire.DT) {
	eid := h.EID()
	d.mu.RLock()
	var fn Handler
	if eid >= wire.DTEIDFirstFlow {
		fn = d.flows
	} else {
		fn = d.comps[eid]
	}
	d.mu.RUnlock()
	if fn == nil {
		d.stats.dropNoEID.Add(1)
		return
	}
	d.stats.delivered.Add(1)
	fn(eid, h.ECN(), h.Payload())
}
