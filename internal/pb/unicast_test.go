package pb_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Exact bytes of the unicast layer's protobuf messages (OCEP, OEP, DHT), as
// the reference's protobuf-c writes them: every required field present, in
// field-number order. The captured ones are re-encoded in internal/wire's
// capture test; these cover what the capture does not show.
func TestUnicastWireBytes(t *testing.T) {
	t.Parallel()
	id := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	key := bytes.Repeat([]byte{0x5d}, 32)
	src := &pb.DhtContactMsg{Id: bytes.Repeat([]byte{0xca}, 32), Addr: proto.Uint64(0xe4c46f9c)}
	cases := []struct {
		name string
		msg  proto.Message
		hex  string
	}{
		{
			"cep_msg Data Transfer",
			&pb.CepMsg{CompName: proto.String("Data Transfer"), Protocol: proto.String("dtp"),
				PrefVersion: proto.Int32(1), PrefSyntax: proto.Int32(2), Address: proto.Uint64(0x0a0b0c0d)},
			`0a 0d 44617461205472616e73666572  12 03 647470  18 01  28 02  40 8d98ac50`,
		},
		{
			"cep_msg unknown component (all zero)",
			&pb.CepMsg{CompName: proto.String(""), Protocol: proto.String(""),
				PrefVersion: proto.Int32(0), PrefSyntax: proto.Int32(0), Address: proto.Uint64(0)},
			`0a 00 12 00 18 00 28 00 40 00`,
		},
		{
			"cep_msg with the unused fields",
			&pb.CepMsg{CompName: proto.String("x"), Protocol: proto.String("y"), PrefVersion: proto.Int32(-1),
				SuppVersion: []int32{1, 2}, PrefSyntax: proto.Int32(0), SuppSyntax: []int32{2},
				SyntaxSpec: &pb.FixedConcSyntaxMsg{Fids: []uint32{1}, Lens: []uint32{300}}, Address: proto.Uint64(1)},
			`0a 01 78  12 01 79  18 ffffffffffffffffff01  20 01 20 02  28 00  30 02
			 3a 05 08 01 10 ac02  40 01`,
		},
		{
			"enroll_req_msg",
			&pb.EnrollReqMsg{Id: id},
			`0a 08 0102030405060708`,
		},
		{
			"enroll_ack_msg result -1",
			&pb.EnrollAckMsg{Id: id, Result: proto.Int32(-1)},
			`0a 08 0102030405060708 10 ffffffffffffffffff01`,
		},
		{
			"enroll_resp_msg of a broadcast layer",
			&pb.EnrollRespMsg{Id: id, TSec: proto.Int64(1700000000), TNsec: proto.Int32(5), Response: proto.Int32(0),
				Conf: &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: proto.String("bc"), DirHashAlgo: proto.Uint32(1)},
					IpcpType: proto.Uint32(2)}},
			`0a 08 0102030405060708  10 80e2cfaa06  18 05  20 00
			 2a 0a  0a 06 0a 02 6263 10 01  10 02`,
		},
		{
			"dht_msg FIND_NODE_REQ",
			&pb.DhtMsg{Code: proto.Uint32(1), Src: src, Find: &pb.DhtFindReqMsg{Cookie: proto.Uint64(1), Key: key}},
			`08 01  12 28 0a 20 ` + hex32("ca") + ` 10 9cdf91a60e  22 24 08 01 12 20 ` + hex32("5d"),
		},
		{
			"dht_msg STORE",
			&pb.DhtMsg{Code: proto.Uint32(0), Src: src,
				Store: &pb.DhtStoreMsg{Key: key, Val: []byte{0, 0, 0, 0, 0xe4, 0xc4, 0x6f, 0x9c}, Exp: proto.Uint32(1)}},
			`08 00  12 28 0a 20 ` + hex32("ca") + ` 10 9cdf91a60e  1a 2e 0a 20 ` + hex32("5d") + ` 12 08 00000000e4c46f9c 18 01`,
		},
		{
			"dht_msg FIND_VALUE_RSP",
			&pb.DhtMsg{Code: proto.Uint32(4), Src: src,
				Node: &pb.DhtFindNodeRspMsg{Cookie: proto.Uint64(2), Key: key,
					Contacts: []*pb.DhtContactMsg{{Id: key, Addr: proto.Uint64(3)}}},
				Val: &pb.DhtFindValueRspMsg{Values: [][]byte{{0, 0, 0, 0, 0, 0, 0, 9}, {}}}},
			`08 04  12 28 0a 20 ` + hex32("ca") + ` 10 9cdf91a60e
			 2a 4a 08 02 12 20 ` + hex32("5d") + ` 1a 24 0a 20 ` + hex32("5d") + ` 10 03
			 32 0c 0a 08 0000000000000009 0a 00`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := unhex(t, c.hex)
			got, err := proto.MarshalOptions{Deterministic: true}.Marshal(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("marshal =\n%x\nwant\n%x", got, want)
			}
			back := c.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(want, back); err != nil || !proto.Equal(back, c.msg) {
				t.Fatalf("unmarshal = %v, %v", back, err)
			}
		})
	}
}

func hex32(b string) string { return string(bytes.Repeat([]byte(b), 32)) }

// A message without one of its required fields is refused, as protobuf-c
// refuses it: a peer must send them all.
func TestUnicastRequiredFields(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		hex string
		msg proto.Message
	}{
		{`0a 00 12 00 18 00 28 00`, &pb.CepMsg{}},                   // no address
		{`10 00`, &pb.EnrollAckMsg{}},                               // no id
		{`0a 08 0102030405060708 10 00 18 00`, &pb.EnrollRespMsg{}}, // no response
		{`08 01`, &pb.DhtMsg{}},                                     // no src
		{`08 01 12 02 0a 00 22 02 08 01`, &pb.DhtMsg{}},             // src without addr, find without key
	} {
		if err := proto.Unmarshal(unhex(t, c.hex), c.msg); err == nil {
			t.Errorf("%T accepted %s", c.msg, c.hex)
		}
	}
}

// fuzzProto checks that unmarshalling any bytes into a fresh m never panics,
// and that what it accepts marshals to bytes that unmarshal to the same
// message.
func fuzzProto(f *testing.F, m proto.Message, seeds ...string) {
	for _, s := range seeds {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			f.Fatalf("bad seed %q: %v", s, err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a := m.ProtoReflect().New().Interface()
		if proto.Unmarshal(b, a) != nil {
			return
		}
		enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(a)
		if err != nil {
			t.Fatalf("accepted %x but cannot marshal it: %v", b, err)
		}
		c := m.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(enc, c); err != nil || !proto.Equal(a, c) {
			t.Fatalf("round trip of %x: %v, %v != %v", b, err, c, a)
		}
	})
}

func FuzzCepMsg(f *testing.F) {
	fuzzProto(f, &pb.CepMsg{},
		`0a 0d 44617461205472616e73666572 12 03 647470 18 01 28 02 40 8d98ac50`,
		`0a 00 12 00 18 00 28 00 40 00`)
}

func FuzzEnrollReqMsg(f *testing.F) { fuzzProto(f, &pb.EnrollReqMsg{}, `0a 08 0102030405060708`) }

func FuzzEnrollAckMsg(f *testing.F) {
	fuzzProto(f, &pb.EnrollAckMsg{}, `0a 08 0102030405060708 10 ffffffffffffffffff01`)
}

func FuzzEnrollRespMsg(f *testing.F) {
	fuzzProto(f, &pb.EnrollRespMsg{},
		`0a 08 0102030405060708 10 80e2cfaa06 18 05 20 00 2a 0a 0a 06 0a 02 6263 10 01 10 02`,
		// The capture's unicast enrollment response.
		`0a080306c5618072bb7310a0c99fd8061893b4c5c60220002a410a070a03756e69100110011a340a1408041008183c220c0800120808001004180f203c121808001214080310081880a305208407288407309cdf91a60e18002001`)
}

func FuzzDhtMsg(f *testing.F) {
	fuzzProto(f, &pb.DhtMsg{},
		`08 01 12 04 0a 00 10 01 22 04 08 01 12 00`,
		`08 04 12 04 0a 00 10 01 2a 06 08 02 12 00 1a 00 32 04 0a 00 0a 00`)
}
