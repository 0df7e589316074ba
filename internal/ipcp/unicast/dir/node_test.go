package dir

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// The reference's DHT tests use 32-byte keys, address 0x1234567890abcdef
// and alpha 3, k 8, t_expire 86400, t_refresh 900, t_replicate 900.
const testAddr = 0x1234567890abcdef

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{IDLen: 32, Alpha: 3, K: 8, TExpire: 86400 * time.Second,
		TRefresh: 900 * time.Second, TReplicate: 900 * time.Second}
}

func newTestNode(t testing.TB, cfg Config, seed uint64) (*Node, *rand.Rand) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 1))
	n, err := New(cfg, testAddr, rnd)
	if err != nil {
		t.Fatal(err)
	}
	return n, rnd
}

func randBytes(rnd *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	return b
}

// fill adds n contacts with random IDs and addresses, as if heard from.
func fill(n *Node, rnd *rand.Rand, count int, now time.Time) {
	for range count {
		n.tab.seen(Contact{ID: randBytes(rnd, n.cfg.IDLen), Addr: rnd.Uint64() | 1}, now)
	}
}

// sent parses the outbox.
func sent(t testing.TB, n *Node) []Msg {
	t.Helper()
	var ms []Msg
	for _, o := range n.Outbox() {
		m, err := ParseMsg(o.Msg, n.cfg.IDLen)
		if err != nil {
			t.Fatalf("sent a message that does not validate: %v", err)
		}
		ms = append(ms, m)
	}
	return ms
}

func count(ms []Msg, c Code) int {
	k := 0
	for _, m := range ms {
		if m.Code == c {
			k++
		}
	}
	return k
}

func enc(t testing.TB, m Msg) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// test_dht_init_fini, test_dht_start_stop: the first member sends nothing;
// a member with a bootstrap peer asks the peer for its own ID with the
// magic cookie.
func TestStart(t *testing.T) {
	n, _ := newTestNode(t, testConfig(), 1)
	n.Start(t0)
	if o := n.Outbox(); len(o) != 0 {
		t.Errorf("first member sent %d messages", len(o))
	}
	if d := n.NextDeadline(); !d.Equal(t0.Add(90 * time.Second)) {
		t.Errorf("next deadline %v, want the maintenance interval 90 s", d.Sub(t0))
	}
	cfg := testConfig()
	cfg.Peer = 42
	n, _ = newTestNode(t, cfg, 1)
	n.Start(t0)
	o := n.Outbox()
	if len(o) != 1 || o[0].To != 42 {
		t.Fatalf("bootstrap sent %+v", o)
	}
	m, err := ParseMsg(o[0].Msg, 32)
	if err != nil || m.Code != FindNodeReq || !bytes.Equal(m.Key, n.self.ID) || m.Cookie != n.magic ||
		m.Src.Addr != testAddr || !bytes.Equal(m.Src.ID, n.self.ID) {
		t.Errorf("bootstrap request %+v, %v", m, err)
	}
}

// test_val_entry_create_destroy, test_dht_entry_update_get_val: a stored
// value is found, another is not, a later expiry extends it and an
// earlier one does not shorten it.
func TestRemoteValue(t *testing.T) {
	s := newStore()
	key := bytes.Repeat([]byte{7}, 32)
	if s.get(key, t0) != nil {
		t.Error("empty entry has a value")
	}
	val := []byte("test_value")
	if !s.putRemote(key, val, t0.Add(10*time.Second), t0) {
		t.Fatal("not stored")
	}
	e := s.m[string(key)]
	if find(e.remote, []byte("other_value")) != nil {
		t.Error("a different value is found")
	}
	if v := find(e.remote, val); v == nil || !bytes.Equal(v.val, val) {
		t.Fatal("stored value not found")
	}
	s.putRemote(key, val, t0.Add(15*time.Second), t0)
	if v := find(e.remote, val); !v.exp.Equal(t0.Add(15 * time.Second)) {
		t.Errorf("expiry %v not extended", v.exp)
	}
	if s.putRemote(key, val, t0.Add(5*time.Second), t0) {
		t.Error("an earlier expiry changed the value")
	}
	if v := find(e.remote, val); !v.exp.Equal(t0.Add(15 * time.Second)) {
		t.Errorf("expiry shortened to %v", v.exp)
	}
	if s.m[string(key)] != e || len(e.remote) != 1 {
		t.Error("entry replaced or value duplicated")
	}
	if s.putRemote(key, []byte("x"), t0.Add(-time.Second), t0) {
		t.Error("expired STORE accepted")
	}
	s.expire(t0.Add(16 * time.Second))
	if len(s.m) != 0 {
		t.Error("expired value and empty key kept")
	}
}

// test_dht_entry_update_get_lval: local values are kept once, and a remote
// STORE of one of our own values is ignored.
func TestLocalValue(t *testing.T) {
	s := newStore()
	key := bytes.Repeat([]byte{7}, 32)
	val := []byte("test_value")
	v := s.putLocal(key, val, t0.Add(10*time.Second))
	if s.putLocal(key, val, t0.Add(20*time.Second)) != v || len(s.m[string(key)].local) != 1 {
		t.Error("second add made a second entry")
	}
	if find(s.m[string(key)].local, []byte("other")) != nil {
		t.Error("a different value is found")
	}
	if s.putRemote(key, val, t0.Add(time.Hour), t0) {
		t.Error("our own value stored as remote")
	}
	s.expire(t0.Add(time.Hour))
	if got := s.get(key, t0.Add(time.Hour)); len(got) != 1 {
		t.Errorf("local value expired locally: %q", got)
	}
	s.delLocal(key, val)
	if len(s.m) != 0 {
		t.Error("key left after unregister")
	}
}

// test_dht_kv_contact_list, test_dht_kv_update_bucket.
func TestContactList(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 2)
	fill(n, rnd, 5, t0)
	if got := n.tab.closest(n.self.ID, n.cfg.K); len(got) != 5 {
		t.Errorf("list of 5 contacts has %d", len(got))
	}
	fill(n, rnd, 100, t0)
	if got := n.tab.closest(n.self.ID, n.cfg.K); len(got) != n.cfg.K {
		t.Errorf("list has %d contacts, want k", len(got))
	}
	fill(n, rnd, 1000, t0)
	if c := n.tab.len(); c > nBuckets*n.cfg.K || c < 3*n.cfg.K {
		t.Errorf("%d contacts after 1105 insertions", c)
	}
	key := randBytes(rnd, 32)
	got := n.tab.closest(key, n.cfg.K)
	var all []Contact
	for i := range n.tab.b {
		for _, c := range n.tab.b[i].contacts {
			all = append(all, c.Contact)
		}
	}
	for _, c := range all {
		if cmpDistance(key, c.ID, got[len(got)-1].ID) < 0 && !containsAddr(got, c.Addr) {
			t.Fatalf("contact %x nearer than the list's last is left out", c.ID[:8])
		}
	}
	for i := 1; i < len(got); i++ {
		if Distance(key, got[i-1].ID) > Distance(key, got[i].ID) {
			t.Fatal("list not sorted by distance to the key")
		}
	}
}

func containsAddr(cs []Contact, a uint64) bool {
	for _, c := range cs {
		if c.Addr == a {
			return true
		}
	}
	return false
}

// Contacts are known by address; one heard from with another ID replaces
// its old entry, one learned from a third party does not.
func TestContactUpdate(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 3)
	id1, id2 := randBytes(rnd, 32), randBytes(rnd, 32)
	n.tab.seen(Contact{ID: id1, Addr: 5}, t0)
	n.tab.learned(Contact{ID: id2, Addr: 5}, t0)
	if c := n.tab.byAddr[5]; !bytes.Equal(c.ID, id1) || n.tab.len() != 1 {
		t.Error("a third party changed a contact's ID")
	}
	n.tab.seen(Contact{ID: id2, Addr: 5}, t0)
	if c := n.tab.byAddr[5]; !bytes.Equal(c.ID, id2) || n.tab.len() != 1 {
		t.Error("a restarted member kept its old ID")
	}
	n.tab.seen(n.self, t0)
	n.tab.seen(Contact{ID: id1, Addr: testAddr}, t0)
	if n.tab.len() != 1 {
		t.Error("ourselves in the table")
	}
}

// A full bucket keeps newcomers as replacements; a contact that leaves two
// requests unanswered is dropped and the newest replacement takes its
// place.
func TestEvictionAndReplacement(t *testing.T) {
	cfg := testConfig()
	cfg.K = 2
	n, _ := newTestNode(t, cfg, 4)
	far := func(b byte, a uint64) Contact { // all in bucket 0: first bit differs from ours
		id := bytes.Clone(n.self.ID)
		id[0] ^= 0x80
		id[1] ^= b
		return Contact{ID: id, Addr: a}
	}
	for i := range 4 {
		n.tab.seen(far(byte(i+1), uint64(i+1)), t0)
	}
	b := &n.tab.b[0]
	if len(b.contacts) != 2 || len(b.repl) != 2 {
		t.Fatalf("bucket %d contacts, %d replacements", len(b.contacts), len(b.repl))
	}
	n.tab.failed(1, t0)
	if n.tab.byAddr[1] == nil {
		t.Fatal("dropped after one failure")
	}
	n.tab.seen(far(1, 1), t0) // an answer clears the failures
	n.tab.failed(1, t0)
	if n.tab.byAddr[1] == nil {
		t.Fatal("failures not cleared by a message")
	}
	n.tab.failed(1, t0)
	if n.tab.byAddr[1] != nil || len(b.contacts) != 2 || b.contacts[1].Addr != 4 || len(b.repl) != 1 {
		t.Errorf("after two failures: contacts %v", b.contacts)
	}
}

// test_dht_kv_get_values: 3 values come back as 3; 23 are capped at 8.
func TestGetValues(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 5)
	key := randBytes(rnd, 32)
	for range 3 {
		n.st.putRemote(key, randBytes(rnd, 8), t0.Add(10*time.Second), t0)
	}
	if got := n.st.get(key, t0); len(got) != 3 {
		t.Errorf("%d values, want 3", len(got))
	}
	for range 20 {
		n.st.putRemote(key, randBytes(rnd, 8), t0.Add(10*time.Second), t0)
	}
	if got := n.st.get(key, t0); len(got) != MaxValues {
		t.Errorf("%d values, want %d", len(got), MaxValues)
	}
}

// test_dht_kv_find_node_req_msg ... test_dht_kv_store_msg: every message
// the node builds packs and unpacks with its code, contacts and values.
func TestBuildMessages(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 6)
	fill(n, rnd, 100, t0)
	key := randBytes(rnd, 32)
	contacts := n.tab.closest(key, n.cfg.K)
	if len(contacts) < n.cfg.K {
		t.Fatalf("%d contacts for 100 in the table", len(contacts))
	}
	vals := make([][]byte, MaxValues)
	for i := range vals {
		vals[i] = randBytes(rnd, 1+rnd.IntN(64))
	}
	for _, c := range []struct {
		name     string
		m        Msg
		contacts int
		values   int
	}{
		{"find_node_req", Msg{Code: FindNodeReq, Key: key, Cookie: 1}, 0, 0},
		{"find_node_rsp", Msg{Code: FindNodeRsp, Key: key, Cookie: 1}, 0, 0},
		{"find_node_rsp_contacts", Msg{Code: FindNodeRsp, Key: key, Cookie: 1, Contacts: contacts}, n.cfg.K, 0},
		{"find_value_req", Msg{Code: FindValueReq, Key: key, Cookie: 1}, 0, 0},
		{"find_value_rsp", Msg{Code: FindValueRsp, Key: key, Cookie: 1}, 0, 0},
		{"find_value_rsp_contacts", Msg{Code: FindValueRsp, Key: key, Cookie: 1, Contacts: contacts}, n.cfg.K, 0},
		{"find_value_rsp_values", Msg{Code: FindValueRsp, Key: key, Cookie: rnd.Uint64(), Values: vals}, 0, MaxValues},
		{"store", Msg{Code: Store, Key: key, Value: EncodeValue(testAddr), Exp: expSecs(t0.Add(10 * time.Second))}, 0, 0},
	} {
		n.send(1, c.m)
		ms := sent(t, n)
		if len(ms) != 1 || ms[0].Code != c.m.Code || len(ms[0].Contacts) != c.contacts || len(ms[0].Values) != c.values {
			t.Errorf("%s: %+v", c.name, ms)
		}
	}
}

// test_dht_kv_query_contacts_req_rsp: with one contact a lookup sends a
// FIND_NODE_REQ; a response with its cookie and two contacts is accepted,
// and (unlike the reference) the lookup goes on to ask them.
func TestQueryContactsReqRsp(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 7)
	n.Start(t0)
	fill(n, rnd, 1, t0)
	key := randBytes(rnd, 32)
	n.storeLookup(t0, key)
	o := n.Outbox()
	if len(o) != 1 {
		t.Fatalf("%d requests", len(o))
	}
	req, err := ParseMsg(o[0].Msg, 32)
	if err != nil || req.Code != FindNodeReq || !bytes.Equal(req.Key, key) {
		t.Fatalf("request %+v, %v", req, err)
	}
	c1 := Contact{ID: randBytes(rnd, 32), Addr: 11}
	c2 := Contact{ID: randBytes(rnd, 32), Addr: 12}
	rsp := Msg{Code: FindNodeRsp, Src: Contact{ID: randBytes(rnd, 32), Addr: o[0].To}, Key: key,
		Cookie: req.Cookie, Contacts: []Contact{c1, c2, n.self}}
	if err := n.Receive(t0, enc(t, rsp)); err != nil {
		t.Fatal(err)
	}
	ms := n.Outbox()
	if len(ms) != 2 || !(ms[0].To == 11 && ms[1].To == 12 || ms[0].To == 12 && ms[1].To == 11) {
		t.Errorf("follow-up requests %+v, want to 11 and 12", ms)
	}
	if n.tab.len() != 3 {
		t.Errorf("%d contacts, want the responder and both it named", n.tab.len())
	}
	// The same response again matches no request.
	if err := n.Receive(t0, enc(t, rsp)); !errors.Is(err, ErrNoRequest) {
		t.Errorf("duplicate response: %v", err)
	}
	rsp.Cookie++
	if err := n.Receive(t0, enc(t, rsp)); !errors.Is(err, ErrNoRequest) {
		t.Errorf("wrong cookie: %v", err)
	}
	if n.Stats().NoRequest != 2 {
		t.Errorf("stats %+v", n.Stats())
	}
}

// test_dht_reg_unreg: without contacts registering sends nothing.
func TestRegUnreg(t *testing.T) {
	n, _ := newTestNode(t, testConfig(), 8)
	if err := n.Register(t0, n.self.ID); err != nil {
		t.Fatal(err)
	}
	if o := n.Outbox(); len(o) != 0 {
		t.Errorf("sent %d", len(o))
	}
	if err := n.Unregister(t0, n.self.ID); err != nil {
		t.Fatal(err)
	}
	if err := n.Register(t0, []byte{1}); !errors.Is(err, ErrKeyLen) {
		t.Errorf("short key: %v", err)
	}
}

// test_dht_reg_unreg_contacts: with 4 contacts registering sends exactly
// alpha STOREs, first of all; the lookup of the key's nearest members
// follows.
func TestRegUnregContacts(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 9)
	fill(n, rnd, 4, t0)
	if err := n.Register(t0, n.self.ID); err != nil {
		t.Fatal(err)
	}
	ms := sent(t, n)
	if count(ms, Store) != 3 || ms[0].Code != Store || count(ms, FindNodeReq) != 3 {
		t.Errorf("sent %d STORE, %d FIND_NODE_REQ", count(ms, Store), count(ms, FindNodeReq))
	}
	if a, _ := DecodeValue(ms[0].Value); a != testAddr || ms[0].Exp != expSecs(t0.Add(86400*time.Second)) {
		t.Errorf("STORE %+v", ms[0])
	}
	if err := n.Unregister(t0, n.self.ID); err != nil {
		t.Fatal(err)
	}
}

// test_dht_reg_query_local: our own address is never an answer; a value
// stored by another member is.
func TestRegQueryLocal(t *testing.T) {
	n, _ := newTestNode(t, testConfig(), 10)
	n.Register(t0, n.self.ID)
	if a, id, err := n.Lookup(t0, n.self.ID); a != 0 || id != 0 || err != nil {
		t.Errorf("own registration found: %#x, %d, %v", a, id, err)
	}
	n.st.putRemote(n.self.ID, EncodeValue(1234321), t0.Add(5*time.Second), t0)
	if a, id, err := n.Lookup(t0, n.self.ID); a != 1234321 || id != 0 || err != nil {
		t.Errorf("lookup = %d, %d, %v", a, id, err)
	}
}

// test_dht_query: a peer but no contacts: not found, nothing sent.
func TestQueryNoContacts(t *testing.T) {
	cfg := testConfig()
	cfg.Peer = 42
	n, rnd := newTestNode(t, cfg, 11)
	if a, id, err := n.Lookup(t0, randBytes(rnd, 32)); a != 0 || id != 0 || err != nil {
		t.Errorf("lookup = %d, %d, %v", a, id, err)
	}
	if o := n.Outbox(); len(o) != 0 {
		t.Errorf("sent %d", len(o))
	}
}

// test_dht_query_contacts: with 10 silent contacts the lookup sends
// FIND_VALUE_REQs to the k nearest (alpha at a time) and ends not found
// once every request timed out (each peer is asked twice, then dropped
// from the table).
func TestQueryContacts(t *testing.T) {
	cfg := testConfig()
	cfg.Peer = 42
	n, rnd := newTestNode(t, cfg, 12)
	fill(n, rnd, 10, t0)
	key := randBytes(rnd, 32)
	a, id, err := n.Lookup(t0, key)
	if a != 0 || id == 0 || err != nil {
		t.Fatalf("lookup = %d, %d, %v", a, id, err)
	}
	ms := sent(t, n)
	if len(ms) != 3 || ms[0].Code != FindValueReq || !bytes.Equal(ms[0].Key, key) {
		t.Fatalf("sent %+v", ms)
	}
	if a2, id2, _ := n.Lookup(t0, key); a2 != 0 || id2 != id {
		t.Errorf("second lookup of the key: %d, %d, want to join %d", a2, id2, id)
	}
	now := t0
	var res []Result
	for i := 0; len(res) == 0 && i < 100; i++ {
		now = n.NextDeadline()
		n.Tick(now)
		res = n.Results()
	}
	if len(res) != 1 || res[0].ID != id || res[0].Addr != 0 {
		t.Fatalf("results %+v", res)
	}
	if got := n.Stats().Sent[FindValueReq]; got != 2*uint64(cfg.K) {
		t.Errorf("%d requests, want 2 to each of the k contacts nearest the key", got)
	}
	if n.tab.len() != 10-cfg.K {
		t.Errorf("%d contacts kept, want the %d not asked", n.tab.len(), 10-cfg.K)
	}
	if now.Sub(t0) > 5*TResp*2 {
		t.Errorf("lookup took %v", now.Sub(t0))
	}
}

// A captured request from the reference gets a response byte for byte the
// same as the reference's: the member that answered in the capture, with
// an empty table, lists the requester itself (just learned) as contact.
func TestAnswerCapturedRequest(t *testing.T) {
	n, _ := newTestNode(t, testConfig(), 13)
	n.self = Contact{ID: unhex(t, uni1ID), Addr: 0xe4c46f9c}
	n.tab = newTable(n.self, n.cfg.K, n.cfg.TRefresh)
	if err := n.Receive(t0, unhex(t, capFindNode)); err != nil {
		t.Fatal(err)
	}
	o := n.Outbox()
	if len(o) != 1 || o[0].To != 0xf439b061 || !bytes.Equal(o[0].Msg, unhex(t, capNodeRsp)) {
		t.Fatalf("answer %+v\nwant %s", o, capNodeRsp)
	}
	// The captured STORE is kept and served to a FIND_VALUE_REQ.
	store, _ := ParseMsg(unhex(t, capStore), 32)
	now := expTime(store.Exp).Add(-time.Hour)
	if err := n.Receive(now, unhex(t, capStore)); err != nil {
		t.Fatal(err)
	}
	req := Msg{Code: FindValueReq, Src: Contact{ID: unhex(t, uni2ID), Addr: 0xf439b061}, Key: store.Key, Cookie: 77}
	if err := n.Receive(now, enc(t, req)); err != nil {
		t.Fatal(err)
	}
	ms := sent(t, n)
	if len(ms) != 1 || ms[0].Code != FindValueRsp || ms[0].Cookie != 77 || !bytes.Equal(ms[0].Key, store.Key) ||
		len(ms[0].Values) != 1 || !bytes.Equal(ms[0].Values[0], store.Value) || len(ms[0].Contacts) != 1 {
		t.Errorf("FIND_VALUE_RSP %+v", ms)
	}
	// An empty answer still carries its values part, which the reference requires.
	req.Key = bytes.Repeat([]byte{1}, 32)
	n.Receive(now, enc(t, req))
	if o := n.Outbox(); len(o) != 1 || !bytes.HasSuffix(o[0].Msg, []byte{0x32, 0x00}) {
		t.Errorf("empty FIND_VALUE_RSP %x", o)
	}
	// The captured STORE after its expiry is refused.
	n.Receive(expTime(store.Exp).Add(2*time.Second), unhex(t, capStore))
	if n.Stats().Refused != 1 {
		t.Errorf("stats %+v", n.Stats())
	}
}

// The bootstrap request is repeated with a growing back-off until the
// peer answers, always with the magic cookie; the answer teaches the
// peer's ID and the contacts it lists are asked in turn.
func TestBootstrapRetry(t *testing.T) {
	cfg := testConfig()
	cfg.Peer = 42
	n, rnd := newTestNode(t, cfg, 14)
	n.Start(t0)
	now := t0
	var gaps []time.Duration
	for range 14 {
		o := sent(t, n)
		if len(o) != 1 || o[0].Cookie != n.magic {
			t.Fatalf("retry %+v", o)
		}
		next := n.NextDeadline()
		gaps = append(gaps, next.Sub(now))
		now = next
		n.Tick(now)
	}
	if gaps[0] != time.Millisecond || gaps[1] != 2*time.Millisecond || gaps[13] != time.Second {
		t.Errorf("back-off %v", gaps)
	}
	n.Outbox()
	c := Contact{ID: randBytes(rnd, 32), Addr: 43}
	peer := Contact{ID: randBytes(rnd, 32), Addr: 42}
	rsp := Msg{Code: FindNodeRsp, Src: peer, Key: n.self.ID, Cookie: n.magic, Contacts: []Contact{c}}
	if err := n.Receive(now, enc(t, rsp)); err != nil {
		t.Fatal(err)
	}
	o := n.Outbox()
	if len(o) != 1 || o[0].To != 43 || n.tab.len() != 2 {
		t.Errorf("after the answer: sent %+v, %d contacts", o, n.tab.len())
	}
}

// Maintenance: expired values go, values of others are copied to the
// nearest contacts with their own expiry, local values are republished
// near their expiry, and a stale bucket is refreshed by a lookup of its
// least recently seen contact.
func TestMaintenance(t *testing.T) {
	cfg := testConfig()
	n, rnd := newTestNode(t, cfg, 15)
	n.Start(t0)
	fill(n, rnd, 20, t0)
	kOld, kNew := randBytes(rnd, 32), randBytes(rnd, 32)
	n.st.putRemote(kOld, EncodeValue(5), t0.Add(100*time.Second), t0)
	n.st.putRemote(kNew, EncodeValue(6), t0.Add(50000*time.Second), t0)
	kLocal := randBytes(rnd, 32)
	n.Register(t0, kLocal)
	n.Outbox()
	for _, l := range n.lookups { // nobody answers the store lookup
		l.done = true
	}
	clear(n.lookups)

	now := t0.Add(cfg.TReplicate + 2*time.Minute) // past TReplicate, within the refresh time
	n.maintAt = now
	n.Tick(now)
	ms := sent(t, n)
	if _, ok := n.st.m[string(kOld)]; ok {
		t.Error("expired value kept")
	}
	stores := 0
	for _, m := range ms {
		if m.Code == Store && bytes.Equal(m.Key, kNew) && m.Exp == expSecs(t0.Add(50000*time.Second)) {
			stores++
		}
	}
	// Besides: the refresh of the bucket the store lookup used.
	if stores != cfg.K || count(ms, Store) != cfg.K || count(ms, FindNodeReq) != len(ms)-cfg.K {
		t.Errorf("replication sent %d messages, %d STOREs of the value with its expiry, want k", len(ms), stores)
	}

	// Near its expiry the local value is republished with a new expiry.
	now = t0.Add(cfg.TExpire - 4*cfg.TReplicate)
	n.maintAt = now
	n.Tick(now)
	ms = sent(t, n)
	if count(ms, FindNodeReq) == 0 {
		t.Fatalf("no republish lookup: %+v", ms)
	}
	if v := n.st.m[string(kLocal)].local[0]; !v.exp.Equal(now.Add(cfg.TExpire)) {
		t.Errorf("local expiry %v", v.exp)
	}
	// The lookups end (every peer silent).
	for len(n.lookups) > 0 {
		now = n.NextDeadline()
		n.Tick(now)
	}
}

func TestRefresh(t *testing.T) {
	cfg := testConfig()
	n, rnd := newTestNode(t, cfg, 16)
	n.Start(t0)
	fill(n, rnd, 3, t0)
	now := t0.Add(cfg.Interval())
	n.Tick(now) // sets the buckets' first refresh time
	if o := n.Outbox(); len(o) != 0 {
		t.Fatalf("sent %d before any refresh is due", len(o))
	}
	now = now.Add(cfg.TRefresh)
	n.maintAt = now
	n.Tick(now)
	ms := sent(t, n)
	if len(ms) == 0 {
		t.Fatal("no refresh")
	}
	for _, m := range ms {
		if m.Code != FindNodeReq || !containsID(n.tab, m.Key) {
			t.Errorf("refresh sent %v for %x, not a contact's ID", m.Code, m.Key[:8])
		}
	}
}

func containsID(t *table, id []byte) bool {
	for _, c := range t.byAddr {
		if bytes.Equal(c.ID, id) {
			return true
		}
	}
	return false
}

func TestInterval(t *testing.T) {
	for _, c := range []struct {
		e, r, f int
		want    time.Duration
	}{
		{86400, 900, 900, 90 * time.Second},
		{60, 10, 10, time.Second},
		{3600, 60, 30, 3 * time.Second},
	} {
		cfg := Config{TExpire: time.Duration(c.e) * time.Second, TReplicate: time.Duration(c.r) * time.Second,
			TRefresh: time.Duration(c.f) * time.Second}
		if got := cfg.Interval(); got != c.want {
			t.Errorf("%+v: %v, want %v", c, got, c.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	if _, err := New(Config{IDLen: 4}, 1, rnd); err == nil {
		t.Error("4-byte IDs accepted")
	}
	if _, err := New(Config{}, 0, rnd); err == nil {
		t.Error("address 0 accepted")
	}
}

// A contact dropped for silence is not learned again from a third party's
// response (whose table may still list it), only from a message of its
// own or after TRefresh.
func TestDeadNotRelearned(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 17)
	dead := Contact{ID: randBytes(rnd, 32), Addr: 5}
	n.tab.seen(dead, t0)
	n.tab.failed(5, t0)
	n.tab.failed(5, t0)
	if n.tab.len() != 0 {
		t.Fatal("not dropped")
	}
	n.tab.learned(dead, t0.Add(time.Second))
	if n.tab.len() != 0 {
		t.Error("relearned from a third party")
	}
	n.tab.learned(dead, t0.Add(n.cfg.TRefresh))
	if n.tab.len() != 1 {
		t.Error("not learned again after TRefresh")
	}
	n.tab.failed(5, t0)
	n.tab.failed(5, t0)
	n.tab.seen(dead, t0.Add(time.Second))
	if n.tab.len() != 1 {
		t.Error("a message of its own did not bring it back")
	}
}

// A STORE of a value already held counts as its replication: only one of
// the k holders copies a value per interval.
func TestReplicateOnce(t *testing.T) {
	n, rnd := newTestNode(t, testConfig(), 18)
	n.Start(t0)
	fill(n, rnd, 10, t0)
	key := randBytes(rnd, 32)
	src := Contact{ID: randBytes(rnd, 32), Addr: 7}
	st := enc(t, Msg{Code: Store, Src: src, Key: key, Value: EncodeValue(7), Exp: expSecs(t0.Add(48 * time.Hour))})
	n.Receive(t0, st)
	now := t0.Add(n.cfg.TReplicate - time.Minute)
	n.Receive(now, st) // another holder copied it to us
	now = t0.Add(n.cfg.TReplicate + time.Minute)
	n.maintAt = now
	n.Tick(now)
	if c := count(sent(t, n), Store); c != 0 {
		t.Errorf("%d STOREs a minute after another holder's copy", c)
	}
	now = now.Add(n.cfg.TReplicate)
	n.maintAt = now
	n.Tick(now)
	if c := count(sent(t, n), Store); c != n.cfg.K {
		t.Errorf("%d STOREs once due, want k", c)
	}
}

// When the bootstrap ends, every bucket farther than our nearest contact
// gets a lookup of a random ID in its range.
func TestJoinRefreshesFartherBuckets(t *testing.T) {
	cfg := testConfig()
	cfg.Peer = 42
	n, _ := newTestNode(t, cfg, 19)
	n.Start(t0)
	n.Outbox()
	near := bytes.Clone(n.self.ID)
	near[1] ^= 0x01 // distance with 15 leading zero bits
	rsp := Msg{Code: FindNodeRsp, Src: Contact{ID: near, Addr: 42}, Key: n.self.ID, Cookie: n.magic}
	if err := n.Receive(t0, enc(t, rsp)); err != nil {
		t.Fatal(err)
	}
	ms := sent(t, n)
	buckets := map[int]bool{}
	for _, m := range ms {
		if m.Code == FindNodeReq {
			buckets[n.tab.bucketIndex(m.Key)] = true
		}
	}
	if len(buckets) != 15 || buckets[15] {
		t.Errorf("refreshed buckets %v, want 0 to 14", buckets)
	}
}
