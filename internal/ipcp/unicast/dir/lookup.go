package dir

import (
	"bytes"
	"slices"
	"time"
)

// A lookup walks the key space towards a key. It keeps the peers it knows
// near the key (candidates), nearest first, and keeps up to alpha requests
// in flight to the nearest ones not yet asked; every response brings
// contacts nearer the key, which join the candidates. A FIND_VALUE lookup
// ends at the first response with a value; every lookup ends when the k
// nearest candidates that did not fail have all answered. A request left
// unanswered for TResp is sent once more with a new cookie, then the peer
// counts as failed (and the routing table learns of it).
//
// This is the iterative lookup Kademlia describes. The reference sends only
// the first round, because it merges the new contacts into its request
// twice and the second merge discards them; it answers any well-formed
// request and accepts any response whose key and cookie it issued, so the
// walk is compatible with it.
//
// The one request with the magic cookie (the bootstrap to the enrollment
// peer, whose ID we do not know yet) is repeated with a growing back-off
// until the peer answers: it never fails, and a late answer still matches.
//
// Lookups are keyed by request code and key, so concurrent lookups of one
// key share their walk; at most MaxLookups run at once.

type candState uint8

const (
	unasked candState = iota
	inFlight
	answered
	failed
)

type cand struct {
	Contact
	depth  int // requests from us to it: 1 for our own contacts
	state  candState
	cookie uint64
	due    time.Time // timeout of the request in flight
	tries  int
	magic  bool
}

type lookup struct {
	code  Code // FindNodeReq or FindValueReq
	key   []byte
	id    uint64
	cands []*cand // nearest the key first
	sent  int
	done  bool
	join  bool // the bootstrap's lookup of our own ID
}

func lookupKey(code Code, key []byte) string { return string(append([]byte{byte(code)}, key...)) }

func (l *lookup) find(addr uint64) *cand {
	for _, c := range l.cands {
		if c.Addr == addr {
			return c
		}
	}
	return nil
}

// add inserts c in distance order unless a candidate has its address, and
// keeps the list bounded: the farthest candidates not in flight go first.
func (l *lookup) add(c *cand) {
	if l.find(c.Addr) != nil {
		return
	}
	i, _ := slices.BinarySearchFunc(l.cands, c, func(a, b *cand) int { return cmpDistance(l.key, a.ID, b.ID) })
	l.cands = slices.Insert(l.cands, i, c)
	for i := len(l.cands) - 1; i >= 0 && len(l.cands) > maxCandidates; i-- {
		if l.cands[i].state != inFlight && !l.cands[i].magic {
			l.cands = slices.Delete(l.cands, i, i+1)
		}
	}
}

// startLookup returns the lookup of key with code, starting it from the
// routing table's contacts nearest the key if none runs; nil if too many
// run. It pushes back the refresh of the key's bucket.
func (n *Node) startLookup(now time.Time, code Code, key []byte) *lookup {
	lk := lookupKey(code, key)
	if l := n.lookups[lk]; l != nil {
		return l
	}
	if len(n.lookups) >= MaxLookups {
		return nil
	}
	n.lastID++
	l := &lookup{code: code, key: bytes.Clone(key), id: n.lastID}
	for _, c := range n.tab.closest(key, n.cfg.K) {
		l.add(&cand{Contact: c, depth: 1})
	}
	n.lookups[lk] = l
	n.tab.b[n.tab.bucketIndex(key)].refresh = now.Add(n.cfg.TRefresh)
	return l
}

// storeLookup starts a FIND_NODE lookup of key whose end stores our values
// for key at the members nearest it.
func (n *Node) storeLookup(now time.Time, key []byte) {
	if n.tab.len() == 0 {
		return
	}
	if l := n.startLookup(now, FindNodeReq, key); l != nil {
		n.step(now, l)
	}
}

// match returns the lookup and candidate a response answers: same key,
// a candidate with the response's cookie.
func (n *Node) match(m Msg) (*lookup, *cand) {
	l := n.lookups[lookupKey(m.Code-1, m.Key)]
	if l == nil || m.Cookie == 0 {
		return nil, nil
	}
	for _, c := range l.cands {
		if c.cookie == m.Cookie && (c.state == inFlight || c.magic && c.state != answered) {
			return l, c
		}
	}
	return nil, nil
}

// response handles a FIND_*_RSP that answers candidate c of lookup l.
func (n *Node) response(now time.Time, l *lookup, c *cand, m Msg) {
	c.state = answered
	if c.magic {
		// Now we know the bootstrap peer's ID: move it to its place.
		l.cands = slices.DeleteFunc(l.cands, func(x *cand) bool { return x == c })
		c.ID, c.magic = bytes.Clone(m.Src.ID), false
		l.add(c)
	}
	for _, ct := range m.Contacts {
		if n.isSelf(ct) {
			continue
		}
		n.tab.learned(ct, now)
		l.add(&cand{Contact: Contact{ID: bytes.Clone(ct.ID), Addr: ct.Addr}, depth: c.depth + 1})
	}
	if l.code == FindValueReq {
		if a := n.pick(m.Values); a != 0 {
			n.finish(now, l, a, c.depth)
			return
		}
	}
	n.step(now, l)
}

// timeouts handles the requests of l unanswered at now.
func (n *Node) timeouts(now time.Time, l *lookup) {
	changed := false
	for _, c := range l.cands {
		if c.state != inFlight || now.Before(c.due) {
			continue
		}
		changed = true
		if c.magic {
			n.request(now, l, c)
			continue
		}
		n.tab.failed(c.Addr, now)
		if c.tries < maxTries {
			n.request(now, l, c)
		} else {
			c.state = failed
		}
	}
	if changed {
		n.step(now, l)
	}
}

// request sends l's request to c with a fresh cookie (the magic one for
// the bootstrap peer).
func (n *Node) request(now time.Time, l *lookup, c *cand) {
	c.tries++
	if c.magic {
		c.cookie = n.magic
		c.due = now.Add(min(bootstrapFirst<<min(c.tries-1, 20), bootstrapMax))
	} else {
		c.cookie = n.cookie()
		c.due = now.Add(TResp)
	}
	c.state = inFlight
	l.sent++
	n.send(c.Addr, Msg{Code: l.code, Key: l.key, Cookie: c.cookie})
}

// step sends requests to the nearest unasked candidates, up to alpha in
// flight, and ends the lookup when the k nearest candidates that did not
// fail have all answered.
func (n *Node) step(now time.Time, l *lookup) {
	if l.done {
		return
	}
	inflight := 0
	for _, c := range l.cands {
		if c.state == inFlight {
			inflight++
		}
	}
	pending, good := false, 0
	for _, c := range l.cands {
		if good >= n.cfg.K {
			break
		}
		switch c.state {
		case failed:
			continue
		case answered:
		case inFlight:
			pending = true
		case unasked:
			pending = true
			if inflight < n.cfg.Alpha {
				n.request(now, l, c)
				inflight++
			}
		}
		good++
	}
	if !pending {
		n.finish(now, l, 0, 0)
	}
}

// finish ends l: a FIND_VALUE lookup reports its answer (addr, 0 if none);
// a FIND_NODE lookup stores our values for its key at the k nearest
// members that answered.
func (n *Node) finish(now time.Time, l *lookup, addr uint64, hops int) {
	l.done = true
	delete(n.lookups, lookupKey(l.code, l.key))
	if l.code == FindValueReq {
		n.results = append(n.results, Result{ID: l.id, Key: l.key, Addr: addr, Hops: hops, Msgs: l.sent})
		if addr != 0 && len(n.cache) < maxCache {
			n.cache[string(l.key)] = cached{addr: addr, exp: now.Add(TCache)}
		}
		return
	}
	if l.join {
		n.joined(now)
	}
	e := n.st.m[string(l.key)]
	if e == nil || len(e.local) == 0 {
		return
	}
	var to []uint64
	for _, c := range l.cands {
		if len(to) == n.cfg.K {
			break
		}
		if c.state == answered {
			to = append(to, c.Addr)
		}
	}
	for _, v := range e.local {
		for _, a := range to {
			n.send(a, Msg{Code: Store, Key: l.key, Value: v.val, Exp: expSecs(v.exp)})
		}
		if len(to) > 0 {
			v.lastRepl = now
		}
	}
}
