package dir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Errors of the local operations.
var (
	ErrKeyLen    = errors.New("dir: key length is not the layer's hash length")
	ErrLookups   = errors.New("dir: too many lookups in progress")
	ErrNoRequest = errors.New("dir: response to no request of ours")
)

// Out is a message to send: a DT packet to address To, on the DHT's EID.
type Out struct {
	To  uint64
	Msg []byte
}

// Result reports the end of a remote lookup started by Lookup.
type Result struct {
	ID   uint64 // as Lookup returned it
	Key  []byte
	Addr uint64 // 0: not found
	Hops int    // requests on the path to the answering member (1: a contact of ours)
	Msgs int    // requests the lookup sent
}

// Stats counts messages by code.
type Stats struct {
	Sent      [5]uint64
	Received  [5]uint64
	Malformed uint64 // dropped by the validity checks
	NoRequest uint64 // responses matching no outstanding request
	Refused   uint64 // STOREs refused (expired, or over a bound)
}

// Node is the DHT state of one member. It reads no clock, starts no
// goroutine and does no I/O: every call takes the current time, messages to
// send accumulate in Outbox, lookup results in Results, and NextDeadline
// says when Tick must be called. It is not safe for concurrent use.
type Node struct {
	cfg   Config
	self  Contact
	rnd   *rand.Rand
	magic uint64 // cookie of the bootstrap request, never deduplicated

	tab     *table
	st      *store
	lookups map[string]*lookup // by code and key
	cache   map[string]cached  // answers of finished lookups

	out     []Out
	results []Result
	lastID  uint64
	maintAt time.Time
	stats   Stats

	usable func(addr uint64) bool // nil: every address; see SetUsable
}

type cached struct {
	addr uint64
	exp  time.Time
}

// New returns the DHT of a member whose layer address is addr, with a
// random node ID drawn from rnd (which also draws the cookies). Start
// begins the bootstrap.
func New(cfg Config, addr uint64, rnd *rand.Rand) (*Node, error) {
	cfg = cfg.withDefaults()
	if cfg.IDLen < MinIDLen {
		return nil, fmt.Errorf("dir: %d-byte IDs, at least %d needed", cfg.IDLen, MinIDLen)
	}
	if addr == 0 {
		return nil, errors.New("dir: address 0")
	}
	id := make([]byte, cfg.IDLen)
	for i := range id {
		id[i] = byte(rnd.Uint32())
	}
	n := &Node{
		cfg:     cfg,
		self:    Contact{ID: id, Addr: addr},
		rnd:     rnd,
		st:      newStore(),
		lookups: map[string]*lookup{},
		cache:   map[string]cached{},
	}
	n.magic = n.cookie()
	n.tab = newTable(n.self, cfg.K, cfg.TRefresh)
	return n, nil
}

// SetUsable makes lookups skip the values (addresses) for which f is
// false, as if they were absent, and forget a remembered answer that f
// refuses. A member gives the test "has a route to it": after a member
// restarts with a new address, the values and answers naming its old one
// live on (until t_expire and TCache), and without the test a lookup could
// keep answering with the address nobody has any more. A value skipped
// stays stored, and is served to others.
func (n *Node) SetUsable(f func(addr uint64) bool) { n.usable = f }

// Self returns our contact: node ID and address.
func (n *Node) Self() Contact { return n.self }

// Stats returns the message counters.
func (n *Node) Stats() Stats { return n.stats }

// Contacts returns the number of contacts in the routing table.
func (n *Node) Contacts() int { return n.tab.len() }

// cookie returns a fresh random cookie, never 0 (invalid) nor the magic one.
func (n *Node) cookie() uint64 {
	for {
		if c := n.rnd.Uint64(); c != 0 && c != n.magic {
			return c
		}
	}
}

// Start seeds the routing table through the bootstrap peer, if there is
// one: a lookup of our own ID whose first request goes to the peer with
// the magic cookie, repeated until the peer answers.
func (n *Node) Start(now time.Time) {
	n.maintAt = now.Add(n.cfg.Interval())
	n.join(now)
}

// Rejoin repeats the bootstrap request to the peer at once, with its
// back-off reset, while we know no-one: the owner calls it when routes
// change, since a request sent before there was a route to the peer went
// nowhere and the next try may be up to a back-off away.
func (n *Node) Rejoin(now time.Time) {
	if n.tab.len() > 0 {
		return
	}
	if l := n.lookups[lookupKey(FindNodeReq, n.self.ID)]; l != nil && l.join {
		for _, c := range l.cands {
			if c.magic && c.state == inFlight {
				c.state, c.tries = unasked, 0
			}
		}
	}
	n.join(now)
}

func (n *Node) join(now time.Time) {
	if n.cfg.Peer == 0 || n.cfg.Peer == n.self.Addr {
		return
	}
	l := n.startLookup(now, FindNodeReq, n.self.ID)
	if l == nil {
		return
	}
	l.join = true
	if l.find(n.cfg.Peer) == nil {
		// The peer's ID is unknown: ours stands in for it.
		l.add(&cand{Contact: Contact{ID: n.self.ID, Addr: n.cfg.Peer}, depth: 1, magic: true})
	}
	n.step(now, l)
}

// joined ends the bootstrap as Kademlia does: every bucket farther from
// us than our nearest contact is refreshed with a lookup of a random ID in
// its range. This makes us known across the key space, and teaches us a
// contact in every part of it; without it the members near a key need not
// know each other when names are published, and lookups can miss them.
func (n *Node) joined(now time.Time) {
	near := n.tab.closest(n.self.ID, 1)
	if len(near) == 0 {
		return
	}
	for i := n.tab.bucketIndex(near[0].ID) - 1; i >= 0; i-- {
		id := make([]byte, n.cfg.IDLen)
		for j := range id {
			id[j] = byte(n.rnd.Uint32())
		}
		// Distance from us with exactly i leading zero bits.
		d := (uint64(1)<<63)>>i | n.rnd.Uint64()&((uint64(1)<<63)>>i-1)
		binary.BigEndian.PutUint64(id, binary.BigEndian.Uint64(n.self.ID)^d)
		if l := n.startLookup(now, FindNodeReq, id); l != nil {
			n.step(now, l)
		}
	}
}

// Outbox returns the messages to send and forgets them.
func (n *Node) Outbox() []Out {
	o := n.out
	n.out = nil
	return o
}

// Results returns the lookups finished since the last call and forgets them.
func (n *Node) Results() []Result {
	r := n.results
	n.results = nil
	return r
}

func (n *Node) send(to uint64, m Msg) {
	m.Src = n.self
	b, err := m.Marshal()
	if err != nil {
		return // only an unknown code fails, and we send none
	}
	n.out = append(n.out, Out{To: to, Msg: b})
	n.stats.Sent[m.Code]++
}

// Receive handles a DHT message from a peer. Replies go to the address in
// the message's sender contact (the DT header carries no source). A
// malformed message, or a response to no request of ours, is dropped with
// an error saying why; nothing else changes then.
func (n *Node) Receive(now time.Time, b []byte) error {
	m, err := ParseMsg(b, n.cfg.IDLen)
	if err != nil {
		n.stats.Malformed++
		return err
	}
	var l *lookup
	var c *cand
	if m.Code == FindNodeRsp || m.Code == FindValueRsp {
		if l, c = n.match(m); c == nil {
			n.stats.NoRequest++
			return fmt.Errorf("%w: %v for key %x cookie %#x from %#x", ErrNoRequest, m.Code, m.Key[:8], m.Cookie, m.Src.Addr)
		}
	}
	n.stats.Received[m.Code]++
	n.tab.seen(m.Src, now)
	switch m.Code {
	case Store:
		exp := expTime(m.Exp)
		if !n.st.putRemote(m.Key, m.Value, exp, now) {
			n.stats.Refused++
		}
	case FindNodeReq:
		n.send(m.Src.Addr, Msg{Code: FindNodeRsp, Key: m.Key, Cookie: m.Cookie,
			Contacts: n.tab.closest(m.Key, n.cfg.K)})
	case FindValueReq:
		vals := n.st.get(m.Key, now)
		if vals == nil {
			vals = [][]byte{}
		}
		n.send(m.Src.Addr, Msg{Code: FindValueRsp, Key: m.Key, Cookie: m.Cookie,
			Contacts: n.tab.closest(m.Key, n.cfg.K), Values: vals})
	case FindNodeRsp, FindValueRsp:
		n.response(now, l, c, m)
	}
	return nil
}

// Register publishes our address under key: a local value served at once,
// a STORE to up to alpha contacts nearest the key, and a lookup of the
// members nearest the key which get a STORE when it ends. Without
// contacts nothing is sent; the value is published when contacts appear.
func (n *Node) Register(now time.Time, key []byte) error {
	if len(key) != n.cfg.IDLen {
		return ErrKeyLen
	}
	v := n.st.putLocal(key, EncodeValue(n.self.Addr), now.Add(n.cfg.TExpire))
	peers := n.tab.closest(key, min(n.cfg.Alpha, n.cfg.K))
	for _, p := range peers {
		n.send(p.Addr, Msg{Code: Store, Key: key, Value: v.val, Exp: expSecs(v.exp)})
	}
	if len(peers) > 0 {
		v.lastRepl = now
	}
	n.storeLookup(now, key)
	return nil
}

// Unregister withdraws our value under key. Nothing is sent: copies held
// by others die at their expiry.
func (n *Node) Unregister(now time.Time, key []byte) error {
	if len(key) != n.cfg.IDLen {
		return ErrKeyLen
	}
	n.st.delLocal(key, EncodeValue(n.self.Addr))
	return nil
}

// Lookup resolves key to the address of a member that registered it.
// When the answer is known locally (our store, or a lookup of the last
// TCache), addr is it and id is 0. Otherwise a remote lookup starts (or an
// ongoing one for the key is joined) and id identifies its Result. Both 0
// means not found: no contacts to ask. Our own address is never an
// answer: a name registered only here is not found.
func (n *Node) Lookup(now time.Time, key []byte) (addr, id uint64, err error) {
	if len(key) != n.cfg.IDLen {
		return 0, 0, ErrKeyLen
	}
	if a := n.pick(n.st.get(key, now)); a != 0 {
		return a, 0, nil
	}
	if c, ok := n.cache[string(key)]; ok {
		if now.Before(c.exp) && (n.usable == nil || n.usable(c.addr)) {
			return c.addr, 0, nil
		}
		delete(n.cache, string(key))
	}
	if l := n.lookups[lookupKey(FindValueReq, key)]; l != nil {
		return 0, l.id, nil
	}
	if n.tab.len() == 0 {
		return 0, 0, nil
	}
	if len(n.lookups) >= MaxLookups {
		return 0, 0, ErrLookups
	}
	l := n.startLookup(now, FindValueReq, key)
	n.step(now, l)
	if l.done {
		return 0, 0, nil
	}
	return 0, l.id, nil
}

// pick returns the first value that is another member's address (and
// usable), or 0.
func (n *Node) pick(vals [][]byte) uint64 {
	for _, v := range vals {
		if a, err := DecodeValue(v); err == nil && a != 0 && a != n.self.Addr && (n.usable == nil || n.usable(a)) {
			return a
		}
	}
	return 0
}

// NextDeadline returns when Tick must next be called: the earliest
// request timeout or maintenance run. Zero before Start.
func (n *Node) NextDeadline() time.Time {
	d := n.maintAt
	for _, l := range n.lookups {
		for _, c := range l.cands {
			if c.state == inFlight && (d.IsZero() || c.due.Before(d)) {
				d = c.due
			}
		}
	}
	return d
}

// Tick handles the request timeouts and maintenance due at now, and
// returns the next deadline.
func (n *Node) Tick(now time.Time) time.Time {
	for _, l := range n.lookups {
		n.timeouts(now, l)
	}
	if !n.maintAt.IsZero() && !now.Before(n.maintAt) {
		n.maintain(now)
		n.maintAt = now.Add(n.cfg.Interval())
	}
	return n.NextDeadline()
}

// isSelf reports whether c is us, by address or ID.
func (n *Node) isSelf(c Contact) bool {
	return c.Addr == n.self.Addr || bytes.Equal(c.ID, n.self.ID)
}
