package dir

import "time"

// maintain runs the periodic tasks, in the reference's order:
//
//  1. with no contacts and a bootstrap peer, bootstrap again;
//  2. drop the values of others past their expiry;
//  3. (request timeouts are handled by Tick as they fall due;)
//  4. replicate: a value of another member not copied for TReplicate goes
//     to the k contacts nearest its key, with its original expiry; a local
//     value is republished (new expiry now + TExpire, through a lookup of
//     the members nearest its key) when it was never stored anywhere
//     (registered before we had contacts) or when it was not sent for
//     TReplicate and its expiry is within NRepub × TReplicate;
//  5. refresh: a bucket not used by a lookup for TRefresh whose least
//     recently seen contact was not heard from for TRefresh gets a lookup
//     of that contact's ID, which asks the contact itself.
//
// All due values are replicated; the reference replicates one key per run.
func (n *Node) maintain(now time.Time) {
	if n.tab.len() == 0 {
		n.join(now)
	}
	n.st.expire(now)
	n.tab.expireDead(now)
	for k, c := range n.cache {
		if !now.Before(c.exp) {
			delete(n.cache, k)
		}
	}
	n.replicate(now)
	n.refresh(now)
}

func (n *Node) replicate(now time.Time) {
	if n.tab.len() == 0 {
		return
	}
	for k, e := range n.st.m {
		key := []byte(k)
		var to []Contact
		for _, v := range e.remote {
			if now.Sub(v.lastRepl) <= n.cfg.TReplicate || v.exp.Unix() < now.Unix() {
				continue
			}
			if to == nil {
				to = n.tab.closest(key, n.cfg.K)
			}
			for _, c := range to {
				n.send(c.Addr, Msg{Code: Store, Key: key, Value: v.val, Exp: expSecs(v.exp)})
			}
			v.lastRepl = now
		}
		republish := false
		for _, v := range e.local {
			if v.lastRepl.IsZero() ||
				now.Sub(v.lastRepl) > n.cfg.TReplicate && v.exp.Sub(now) < NRepub*n.cfg.TReplicate {
				v.exp = now.Add(n.cfg.TExpire)
				republish = true
			}
		}
		if republish {
			n.storeLookup(now, key)
		}
	}
}

func (n *Node) refresh(now time.Time) {
	for i := range n.tab.b {
		b := &n.tab.b[i]
		if len(b.contacts) == 0 {
			continue
		}
		if b.refresh.IsZero() {
			b.refresh = now.Add(n.cfg.TRefresh)
			continue
		}
		if now.Before(b.refresh) {
			continue
		}
		b.refresh = now.Add(n.cfg.TRefresh)
		if lru := b.contacts[0]; now.Sub(lru.seen) >= n.cfg.TRefresh {
			if l := n.startLookup(now, FindNodeReq, lru.ID); l != nil {
				n.step(now, l)
			}
		}
	}
}
