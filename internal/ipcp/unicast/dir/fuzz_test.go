package dir

import (
	"encoding/binary"
	"testing"
	"time"
)

// fuzzNode is a member with contacts, a name of its own, a bootstrap in
// progress and a lookup waiting for answers; everything is drawn from a
// fixed seed, so the seed corpus can hold valid answers to its requests.
func fuzzNode(t testing.TB) (*Node, []Out) {
	cfg := testConfig()
	cfg.Peer = 0x42
	n, rnd := newTestNode(t, cfg, 99)
	n.Start(t0)
	fill(n, rnd, 20, t0)
	n.Register(t0, nameKey(1))
	n.Lookup(t0, nameKey(2))
	return n, n.Outbox()
}

// frames joins messages with a 2-byte big-endian length before each.
func frames(ms ...[]byte) []byte {
	var b []byte
	for _, m := range ms {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// FuzzReceive feeds a member a sequence of arbitrary messages, 100 ms
// apart, with its timers run as they fall due: it never panics, and its
// state stays within its bounds whatever peers send.
func FuzzReceive(f *testing.F) {
	_, reqs := fuzzNode(f)
	var answers [][]byte
	for i, o := range reqs {
		m, err := ParseMsg(o.Msg, 32)
		if err != nil || m.Code == Store {
			continue
		}
		rsp := Msg{Code: m.Code + 1, Src: Contact{ID: nameKey(100 + i), Addr: o.To}, Key: m.Key, Cookie: m.Cookie,
			Contacts: []Contact{{ID: nameKey(200 + i), Addr: uint64(300 + i)}}}
		if m.Code == FindValueReq && i%2 == 0 {
			rsp.Values = [][]byte{EncodeValue(0x77)}
		}
		answers = append(answers, enc(f, rsp))
	}
	f.Add(frames(answers...))
	f.Add(frames(unhex(f, capFindNode), unhex(f, capStore), unhex(f, capNodeRsp)))
	f.Add(frames(enc(f, Msg{Code: FindValueReq, Src: Contact{ID: nameKey(5), Addr: 9}, Key: nameKey(1), Cookie: 3})))
	f.Fuzz(func(t *testing.T, in []byte) {
		n, _ := fuzzNode(t)
		now := t0
		for len(in) >= 2 {
			l := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if l > len(in) {
				l = len(in)
			}
			msg := in[:l]
			in = in[l:]
			now = now.Add(100 * time.Millisecond)
			if d := n.NextDeadline(); !d.IsZero() && !now.Before(d) {
				n.Tick(now)
			}
			n.Receive(now, msg)
			// At most: the end of the bootstrap's lookup starts one per
			// bucket, plus STOREs of our name.
			if o := n.Outbox(); len(o) > nBuckets*n.cfg.Alpha+2*n.cfg.K {
				t.Fatalf("one message made %d to send", len(o))
			}
			n.Results()
			checkBounds(t, n)
		}
		n.Tick(now.Add(time.Hour))
		checkBounds(t, n)
	})
}

func checkBounds(t *testing.T, n *Node) {
	t.Helper()
	if c := n.tab.len(); c > nBuckets*n.cfg.K {
		t.Fatalf("%d contacts", c)
	}
	if c := len(n.tab.byAddr); c > 2*nBuckets*n.cfg.K {
		t.Fatalf("%d contacts and replacements", c)
	}
	if len(n.lookups) > MaxLookups || len(n.st.m) > maxKeys+1 || len(n.cache) > maxCache || len(n.tab.dead) > maxDead {
		t.Fatalf("%d lookups, %d keys, %d cached, %d dead", len(n.lookups), len(n.st.m), len(n.cache), len(n.tab.dead))
	}
	for _, l := range n.lookups {
		if len(l.cands) > maxCandidates+n.cfg.Alpha+1 {
			t.Fatalf("lookup with %d candidates", len(l.cands))
		}
	}
	for _, e := range n.st.m {
		if len(e.remote) > maxValsPerKey {
			t.Fatalf("%d values under a key", len(e.remote))
		}
	}
}
