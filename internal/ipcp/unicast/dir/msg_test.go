package dir

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DHT messages of the reference's unicast layer capture: uni2 (0xf439b061)
// seeds its table through uni1 (0xe4c46f9c), then publishes "oping.uni".
const (
	uni2ID   = "5d1cda6fc0355e473c706b55004890a70488ac80068a9d16387d1663e311c7f2"
	uni1ID   = "ca90a122167e2a0ab5bbd9bc80c5645b8f3af81511a2c4b24622fb6735a207b2"
	opingUni = "90a73f1fe395569d3a82407988f4ac721790514fda8681e1478bc93bd3235982"

	capFindNode = "0801 1228 0a20" + uni2ID + "10e1e0e6a10f 222d 08a9939be5b9e287e7fd01 1220" + uni2ID
	capNodeRsp  = "0802 1228 0a20" + uni1ID + "109cdf91a60e 2a57 08a9939be5b9e287e7fd01 1220" + uni2ID +
		"1a28 0a20" + uni2ID + "10e1e0e6a10f"
	capStore = "0800 1228 0a20" + uni2ID + "10e1e0e6a10f 1a32 0a20" + opingUni + "1208 00000000f439b061 18a4eca4d806"
)

func TestCapturedMessages(t *testing.T) {
	find, err := ParseMsg(unhex(t, capFindNode), 32)
	if err != nil {
		t.Fatal(err)
	}
	if find.Code != FindNodeReq || find.Src.Addr != 0xf439b061 || !bytes.Equal(find.Key, find.Src.ID) || find.Cookie == 0 {
		t.Errorf("FIND_NODE_REQ %+v", find)
	}
	rsp, err := ParseMsg(unhex(t, capNodeRsp), 32)
	if err != nil {
		t.Fatal(err)
	}
	if rsp.Code != FindNodeRsp || rsp.Src.Addr != 0xe4c46f9c || rsp.Cookie != find.Cookie ||
		len(rsp.Contacts) != 1 || rsp.Contacts[0].Addr != 0xf439b061 || rsp.Values != nil {
		t.Errorf("FIND_NODE_RSP %+v", rsp)
	}
	store, err := ParseMsg(unhex(t, capStore), 32)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := DecodeValue(store.Value); store.Code != Store || err != nil || a != 0xf439b061 ||
		!bytes.Equal(store.Key, unhex(t, opingUni)) || store.Exp < 1700000000 {
		t.Errorf("STORE %+v", store)
	}
	for _, c := range []struct {
		m   Msg
		hex string
	}{{find, capFindNode}, {rsp, capNodeRsp}, {store, capStore}} {
		if b, err := c.m.Marshal(); err != nil || !bytes.Equal(b, unhex(t, c.hex)) {
			t.Errorf("%v re-encodes as %x, %v", c.m.Code, b, err)
		}
	}
}

// A FIND_VALUE_RSP always carries its values part, even empty: the
// reference drops one without.
func TestFindValueRsp(t *testing.T) {
	src := Contact{ID: bytes.Repeat([]byte{1}, 28), Addr: 7}
	key := bytes.Repeat([]byte{2}, 28)
	m := Msg{Code: FindValueRsp, Src: src, Key: key, Cookie: 9}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte{0x32, 0x00}) {
		t.Errorf("no empty values part: %x", b)
	}
	got, err := ParseMsg(b, 28)
	if err != nil || got.Code != FindValueRsp || len(got.Values) != 0 {
		t.Errorf("parse %+v, %v", got, err)
	}
	m.Values = [][]byte{EncodeValue(5), EncodeValue(6)}
	m.Contacts = []Contact{{ID: key, Addr: 3}, {ID: []byte{1}, Addr: 4}, {ID: key, Addr: 0}}
	b, _ = m.Marshal()
	got, err = ParseMsg(b, 28)
	if err != nil || len(got.Values) != 2 || len(got.Contacts) != 1 || got.Contacts[0].Addr != 3 {
		t.Errorf("parse %+v, %v (contacts with a short ID or address 0 are left out)", got, err)
	}
}

func TestMalformed(t *testing.T) {
	id := bytes.Repeat([]byte{1}, 32)
	good := func(c Code) Msg {
		return Msg{Code: c, Src: Contact{ID: id, Addr: 1}, Key: id, Value: []byte{1}}
	}
	bad := map[string]Msg{}
	m := good(FindNodeReq)
	m.Src.Addr = 0
	bad["sender address 0"] = m
	m = good(FindNodeReq)
	m.Src.ID = id[:31]
	bad["short sender ID"] = m
	m = good(FindValueReq)
	m.Key = id[:8]
	bad["short key"] = m
	m = good(Store)
	m.Value = nil
	bad["STORE without value"] = m
	m = good(FindNodeRsp)
	m.Key = nil
	bad["response without key"] = m
	for name, m := range bad {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseMsg(b, 32); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, c := range []Code{Store, FindNodeReq, FindNodeRsp, FindValueReq, FindValueRsp} {
		b, _ := good(c).Marshal()
		if _, err := ParseMsg(b, 32); err != nil {
			t.Errorf("%v: %v", c, err)
		}
		if _, err := ParseMsg(b, 28); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v with 28-byte IDs: %v", c, err)
		}
	}
	for name, h := range map[string]string{
		"unknown code":                "0805 1204 0a00 1001",
		"FIND_VALUE_RSP without vals": "0804 1222 0a20" + uni2ID + "1001 2a24 0801 1220" + uni2ID,
		"request without find":        "0801 1222 0a20" + uni2ID + "1001",
		"no sender":                   "0801",
		"garbage":                     "ffff",
	} {
		if _, err := ParseMsg(unhex(t, h), 32); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := (Msg{Code: 9}).Marshal(); !errors.Is(err, ErrMalformed) {
		t.Errorf("marshal code 9: %v", err)
	}
	if _, err := ParseMsg(nil, 4); !errors.Is(err, ErrMalformed) {
		t.Errorf("4-byte IDs: %v", err)
	}
	if Store.String() != "STORE" || FindValueRsp.String() != "FIND_VALUE_RSP" || Code(7).String() != "DHT code 7" {
		t.Error("Code.String")
	}
}

func TestValuesAndDistance(t *testing.T) {
	if v := EncodeValue(0xc4e2d9ed); !bytes.Equal(v, unhex(t, "00000000c4e2d9ed")) {
		t.Errorf("EncodeValue = %x", v)
	}
	if _, err := DecodeValue([]byte{1, 2, 3}); !errors.Is(err, ErrMalformed) {
		t.Errorf("3-byte value: %v", err)
	}
	a := unhex(t, uni2ID)
	b := unhex(t, uni1ID)
	if d := Distance(a, b); d != 0x5d1cda6fc0355e47^0xca90a122167e2a0a || Distance(a, a) != 0 || Distance(b, a) != d {
		t.Errorf("Distance = %#x", d)
	}
}

func FuzzParseMsg(f *testing.F) {
	for _, h := range []string{capFindNode, capNodeRsp, capStore} {
		f.Add(unhex(f, h), 32)
	}
	f.Fuzz(func(t *testing.T, b []byte, idLen int) {
		m, err := ParseMsg(b, idLen)
		if err != nil {
			return
		}
		enc, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed %x as %+v, which does not marshal: %v", b, m, err)
		}
		m2, err := ParseMsg(enc, idLen)
		if err != nil {
			t.Fatalf("re-encoded %+v does not parse: %v", m, err)
		}
		if enc2, _ := m2.Marshal(); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changes %x to %x", enc, enc2)
		}
	})
}
