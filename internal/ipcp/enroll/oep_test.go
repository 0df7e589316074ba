package enroll

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The enrollment in the reference's unicast layer capture: uni2 enrolls
// through uni1 (0xe4c46f9c) into layer "uni".
const (
	capReq  = "0a080306c5618072bb73"
	capResp = "0a080306c5618072bb73 10a0c99fd806 1893b4c5c602 2000 2a41" +
		"0a070a03756e691001 1001 1a34 0a1408041008183c220c0800120808001004180f203c" +
		"121808001214080310081880a305208407288407309cdf91a60e 1800 2001"
	capAck = "0a080306c5618072bb73 1000"
)

var capID = ID{0x03, 0x06, 0xc5, 0x61, 0x80, 0x72, 0xbb, 0x73}

func TestCapturedEnrollment(t *testing.T) {
	id, err := ParseRequest(unhex(t, capReq))
	if err != nil || id != capID {
		t.Fatalf("request: %x, %v", id, err)
	}
	if got := MarshalRequest(id); !bytes.Equal(got, unhex(t, capReq)) {
		t.Errorf("request re-encodes as %x", got)
	}

	r, err := ParseResponse(unhex(t, capResp))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != capID || r.Response != 0 || r.Conf.GetLayerInfo().GetName() != "uni" ||
		r.Conf.GetUnicast().GetDir().GetDht().GetPeer() != 0xe4c46f9c || r.Time.Year() < 2020 {
		t.Errorf("response: %+v", r)
	}
	if got, err := r.Marshal(); err != nil || !bytes.Equal(got, unhex(t, capResp)) {
		t.Errorf("response re-encodes as %x, %v", got, err)
	}

	a, err := ParseAck(unhex(t, capAck))
	if err != nil || a != (Ack{ID: capID}) {
		t.Fatalf("ack: %+v, %v", a, err)
	}
	if got := a.Marshal(); !bytes.Equal(got, unhex(t, capAck)) {
		t.Errorf("ack re-encodes as %x", got)
	}
}

// The broadcast enrollment response of the protocol's description, and a
// refusal, which carries no configuration.
func TestResponses(t *testing.T) {
	id := ID{1, 2, 3, 4, 5, 6, 7, 8}
	bc := Response{ID: id, Time: time.Unix(1700000000, 5), Conf: &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String("bc"), DirHashAlgo: proto.Uint32(1)}, IpcpType: proto.Uint32(2)}}
	want := unhex(t, "0a08 0102030405060708 10 80e2cfaa06 18 05 20 00 2a 0a 0a 06 0a 02 6263 10 01 10 02")
	if got, err := bc.Marshal(); err != nil || !bytes.Equal(got, want) {
		t.Errorf("broadcast response %x, %v", got, err)
	}
	no := Response{ID: id, Time: time.Unix(1, 0), Response: -1, Conf: bc.Conf}
	b, err := no.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseResponse(b)
	if err != nil || r.Response != -1 || r.Conf != nil {
		t.Errorf("refusal: %+v, %v", r, err)
	}
	if _, err := (Response{ID: id}).Marshal(); !errors.Is(err, ErrMalformed) {
		t.Errorf("accepting without configuration: %v", err)
	}
	ack := Ack{ID: id, Result: -1}
	if got := ack.Marshal(); !bytes.Equal(got, unhex(t, "0a08 0102030405060708 10 ffffffffffffffffff01")) {
		t.Errorf("ack -1 = %x", got)
	}
}

func TestMalformed(t *testing.T) {
	for name, h := range map[string]string{
		"7-byte id":              "0a07 01020304050607",
		"9-byte id":              "0a09 010203040506070809",
		"no id":                  "",
		"truncated":              "0a08 0102",
		"accept without conf":    "0a08 0102030405060708 10 00 18 00 20 00",
		"nanoseconds over 1e9":   "0a08 0102030405060708 10 00 18 80a8d6b907 20 ffffffffffffffffff01",
		"nanoseconds below zero": "0a08 0102030405060708 10 00 18 ffffffffffffffffff01 20 ffffffffffffffffff01",
	} {
		b := unhex(t, h)
		_, err1 := ParseResponse(b)
		if !errors.Is(err1, ErrMalformed) {
			t.Errorf("%s: response %v", name, err1)
		}
		if strings.Contains(name, "id") || name == "truncated" {
			if _, err := ParseRequest(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: request %v", name, err)
			}
		}
	}
	if _, err := ParseAck(unhex(t, "0a07 01020304050607 1000")); !errors.Is(err, ErrMalformed) {
		t.Errorf("ack with 7-byte id: %v", err)
	}
	big := make([]byte, MaxMsgLen+1)
	for _, f := range []func([]byte) error{
		func(b []byte) error { _, err := ParseRequest(b); return err },
		func(b []byte) error { _, err := ParseResponse(b); return err },
		func(b []byte) error { _, err := ParseAck(b); return err },
	} {
		if err := f(big); !errors.Is(err, ErrTooLong) {
			t.Errorf("1025 bytes: %v", err)
		}
	}
	huge := Response{Conf: &pb.IpcpConfigMsg{LayerInfo: &pb.LayerInfoMsg{Name: proto.String(strings.Repeat("n", 1100)),
		DirHashAlgo: proto.Uint32(0)}, IpcpType: proto.Uint32(1)}}
	if _, err := huge.Marshal(); !errors.Is(err, ErrTooLong) {
		t.Errorf("1100-byte layer name: %v", err)
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add(unhex(f, capResp))
	f.Add(unhex(f, "0a08 0102030405060708 10 80e2cfaa06 18 05 20 00 2a 0a 0a 06 0a 02 6263 10 01 10 02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			return
		}
		enc, err := r.Marshal()
		if err != nil {
			t.Fatalf("parsed %x as %+v, which does not marshal: %v", b, r, err)
		}
		r2, err := ParseResponse(enc)
		if err != nil || r2.ID != r.ID || !r2.Time.Equal(r.Time) || r2.Response != r.Response || !proto.Equal(r2.Conf, r.Conf) {
			t.Fatalf("round trip %+v -> %+v, %v", r, r2, err)
		}
	})
}

func FuzzParseAck(f *testing.F) {
	f.Add(unhex(f, capAck))
	f.Add(unhex(f, capReq))
	f.Fuzz(func(t *testing.T, b []byte) {
		if id, err := ParseRequest(b); err == nil {
			if id2, err := ParseRequest(MarshalRequest(id)); err != nil || id2 != id {
				t.Fatalf("request round trip %x: %v", id, err)
			}
		}
		if a, err := ParseAck(b); err == nil {
			if a2, err := ParseAck(a.Marshal()); err != nil || a2 != a {
				t.Fatalf("ack round trip %+v: %v", a, err)
			}
		}
	})
}
