package dir

import (
	"bytes"
	"slices"
	"time"
)

// The store holds, per key, the values other members published through
// us (remote) and the values we publish ourselves (local, our address
// for each name registered here). Remote values carry the publisher's
// absolute expiry and are dropped when it passes; local values live until
// unregistered and are republished before their expiry reaches others.

type value struct {
	val      []byte
	exp      time.Time // absolute expiry (whole UNIX seconds)
	lastRepl time.Time // last STORE sent for it; zero if never
}

type entry struct {
	remote []*value
	local  []*value
}

type store struct {
	m map[string]*entry
}

func newStore() *store { return &store{m: map[string]*entry{}} }

// expTime converts a STORE's 32-bit UNIX seconds to a time.
func expTime(exp uint32) time.Time { return time.Unix(int64(exp), 0) }

// expSecs converts a time to a STORE's expiry, UNIX seconds truncated to
// 32 bits.
func expSecs(t time.Time) uint32 { return uint32(t.Unix()) }

// putRemote stores a value a peer published: refused if already expired or
// if it is one of our own, an existing value's expiry is only ever
// raised. It reports whether the store changed.
//
// A value received counts as just replicated, new or known: its sender
// stored it at the members nearest the key, so it needs no copy from us
// for another replication interval (Kademlia's optimisation: one holder
// replicates per interval, not all k).
func (s *store) putRemote(key, val []byte, exp, now time.Time) bool {
	if exp.Unix() < now.Unix() || len(val) > maxValueLen {
		return false
	}
	e := s.m[string(key)]
	if e == nil {
		if len(s.m) >= maxKeys {
			return false
		}
		e = &entry{}
		s.m[string(key)] = e
	}
	if find(e.local, val) != nil {
		return false
	}
	if v := find(e.remote, val); v != nil {
		// Another holder just copied it to the members nearest the key
		// (us among them): our copy need not go out this interval.
		v.lastRepl = now
		if exp.After(v.exp) {
			v.exp = exp
			return true
		}
		return false
	}
	if len(e.remote) >= maxValsPerKey {
		return false
	}
	e.remote = append(e.remote, &value{val: slices.Clone(val), exp: exp, lastRepl: now})
	return true
}

// putLocal adds our own value under key, expiring at exp, unless present.
func (s *store) putLocal(key, val []byte, exp time.Time) *value {
	e := s.m[string(key)]
	if e == nil {
		e = &entry{}
		s.m[string(key)] = e
	}
	if v := find(e.local, val); v != nil {
		return v
	}
	v := &value{val: slices.Clone(val), exp: exp}
	e.local = append(e.local, v)
	return v
}

// delLocal removes our own value under key.
func (s *store) delLocal(key, val []byte) {
	e := s.m[string(key)]
	if e == nil {
		return
	}
	e.local = slices.DeleteFunc(e.local, func(v *value) bool { return bytes.Equal(v.val, val) })
	if len(e.local)+len(e.remote) == 0 {
		delete(s.m, string(key))
	}
}

// get returns up to MaxValues values for key: remote ones not expired
// first, then local ones.
func (s *store) get(key []byte, now time.Time) [][]byte {
	e := s.m[string(key)]
	if e == nil {
		return nil
	}
	var out [][]byte
	for _, v := range e.remote {
		if len(out) < MaxValues && v.exp.Unix() >= now.Unix() {
			out = append(out, v.val)
		}
	}
	for _, v := range e.local {
		if len(out) < MaxValues {
			out = append(out, v.val)
		}
	}
	return out
}

// expire drops the remote values past their expiry and the keys left
// empty. Local values are never expired here.
func (s *store) expire(now time.Time) {
	for k, e := range s.m {
		e.remote = slices.DeleteFunc(e.remote, func(v *value) bool { return v.exp.Unix() < now.Unix() })
		if len(e.remote)+len(e.local) == 0 {
			delete(s.m, k)
		}
	}
}

func find(vs []*value, val []byte) *value {
	for _, v := range vs {
		if bytes.Equal(v.val, val) {
			return v
		}
	}
	return nil
}
