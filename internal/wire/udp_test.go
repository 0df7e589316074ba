package wire

import (
	"bytes"
	"crypto/md5"
	"crypto/sha512"
	"errors"
	"reflect"
	"testing"
)

type udpMgmtVector struct {
	name string
	hex  string // the whole UDP payload, EID included (spaces ignored)
	msg  UDPMgmt
	// data is the hex of the bytes after the header (and hash).
	data string
	// name is the destination name whose MD5 is the hash, if known.
	dst string
}

// The OAP header of a FLOW_REQ with no certificate, key exchange or data:
// id(16) timestamp(8) and 12 zero bytes of nids and lengths.
const oapZeros = "000000000000000000000000"

var udpMgmtVectors = []udpMgmtVector{
	// The management datagram layout, every field distinct.
	{"FLOW_REQ layout",
		"00000000 01020304 05060708 fffffffe 1112131415161718 21222324 31323334 41424344 51525354 61626364 01 07 01" +
			"000102030405060708090a0b0c0d0e0f dada",
		UDPMgmt{SEID: 0x01020304, DEID: 0x05060708, Response: -2, Bandwidth: 0x1112131415161718,
			Delay: 0x21222324, Loss: 0x31323334, BER: 0x41424344, MaxGap: 0x51525354, Timeout: 0x61626364,
			Code: UDPFlowReq, Availability: 7, InOrder: 1,
			Hash: [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		"dada", ""},
	{"FLOW_REPLY, no data",
		"00000000 00000001 00000002 00000000 0000000000000000 00000000 00000000 00000000 00000000 00000000 02 00 00",
		UDPMgmt{SEID: 1, DEID: 2, Code: UDPFlowReply}, "", ""},

	// testdata/udp-uni.pcapng frames 1 and 2 (UDP payload), udp4 layer.
	{"udp-uni frame 1 FLOW_REQ",
		"00000000 00000040 00000000 00000000 0000000000000000 ffffffff 00000001 00000001 ffffffff 0001d4c0 010000" +
			"779191825caad6e112b374577b6a33d2" +
			"72705609b7e06cda02e8e8684691359e 18eb88e469cda749" + oapZeros,
		UDPMgmt{SEID: 64, Delay: 0xffffffff, Loss: 1, BER: 1, MaxGap: 0xffffffff, Timeout: 120000, Code: UDPFlowReq,
			Hash: [16]byte{0x77, 0x91, 0x91, 0x82, 0x5c, 0xaa, 0xd6, 0xe1, 0x12, 0xb3, 0x74, 0x57, 0x7b, 0x6a, 0x33, 0xd2}},
		"72705609b7e06cda02e8e8684691359e 18eb88e469cda749" + oapZeros, "oping.udp"},
	{"udp-uni frame 2 FLOW_REPLY",
		"00000000 00000040 00000041 00000000 0000000000000000 00000000 00000000 00000000 00000000 00000000 020000" +
			"72705609b7e06cda02e8e8684691359e 18eb88e469e5b0df" + oapZeros +
			"eb822f2e77c7091e470ac5a93a5a25e567b79bd96ae40cac2a86a4838e7f5ba35c97766b589a96db424c2478896314bd",
		UDPMgmt{SEID: 64, DEID: 65, Code: UDPFlowReply},
		"72705609b7e06cda02e8e8684691359e 18eb88e469e5b0df" + oapZeros +
			"eb822f2e77c7091e470ac5a93a5a25e567b79bd96ae40cac2a86a4838e7f5ba35c97766b589a96db424c2478896314bd", ""},

	// testdata/udp-uni.pcapng frames 9/10 (enrolment flow to "uni") and
	// 20/21 (mgmt adjacency to "uni1", s_eid 67 / d_eid 68).
	{"udp-uni frame 9 FLOW_REQ",
		"00000000 00000040 00000000 00000000 0000000000000000 ffffffff 00000001 00000001 ffffffff 0001d4c0 010000" +
			"e52805d8344b67b9b3554d45f1c8958f" +
			"af4fef505891121677a9d38dd09c0eff 18eb88e4cb655609" + oapZeros,
		UDPMgmt{SEID: 64, Delay: 0xffffffff, Loss: 1, BER: 1, MaxGap: 0xffffffff, Timeout: 120000, Code: UDPFlowReq,
			Hash: [16]byte{0xe5, 0x28, 0x05, 0xd8, 0x34, 0x4b, 0x67, 0xb9, 0xb3, 0x55, 0x4d, 0x45, 0xf1, 0xc8, 0x95, 0x8f}},
		"af4fef505891121677a9d38dd09c0eff 18eb88e4cb655609" + oapZeros, "uni"},
	{"udp-uni frame 10 FLOW_REPLY",
		"00000000 00000040 00000042 00000000 0000000000000000 00000000 00000000 00000000 00000000 00000000 020000" +
			"af4fef505891121677a9d38dd09c0eff 18eb88e4cb6d32aa" + oapZeros +
			"e893c291c0fce8847d56e61f80b70da484b84279201448c5fbb6661a7a680d58e848bc230c45f557fa8625df822ff60c",
		UDPMgmt{SEID: 64, DEID: 66, Code: UDPFlowReply},
		"af4fef505891121677a9d38dd09c0eff 18eb88e4cb6d32aa" + oapZeros +
			"e893c291c0fce8847d56e61f80b70da484b84279201448c5fbb6661a7a680d58e848bc230c45f557fa8625df822ff60c", ""},
	{"udp-uni frame 20 FLOW_REQ",
		"00000000 00000043 00000000 00000000 0000000000000000 ffffffff 00000001 00000001 ffffffff 0001d4c0 010000" +
			"a40841edea4d571f3cab914b53d73ecc" +
			"4d340237f1e080b35a8c19283aa5deac 18eb88e5085409ed" + oapZeros,
		UDPMgmt{SEID: 67, Delay: 0xffffffff, Loss: 1, BER: 1, MaxGap: 0xffffffff, Timeout: 120000, Code: UDPFlowReq,
			Hash: [16]byte{0xa4, 0x08, 0x41, 0xed, 0xea, 0x4d, 0x57, 0x1f, 0x3c, 0xab, 0x91, 0x4b, 0x53, 0xd7, 0x3e, 0xcc}},
		"4d340237f1e080b35a8c19283aa5deac 18eb88e5085409ed" + oapZeros, "uni1"},
	{"udp-uni frame 21 FLOW_REPLY",
		"00000000 00000043 00000044 00000000 0000000000000000 00000000 00000000 00000000 00000000 00000000 020000" +
			"4d340237f1e080b35a8c19283aa5deac 18eb88e5085a51f6" + oapZeros +
			"ccda143308f80585628dc462cb1f976bb7dace6245ca63372ec3707d97fdcff9a42a19163617debbf1d0718729e7b0d8",
		UDPMgmt{SEID: 67, DEID: 68, Code: UDPFlowReply},
		"4d340237f1e080b35a8c19283aa5deac 18eb88e5085a51f6" + oapZeros +
			"ccda143308f80585628dc462cb1f976bb7dace6245ca63372ec3707d97fdcff9a42a19163617debbf1d0718729e7b0d8", ""},

	// A rejected allocation between reference IPCPs of a udp4 layer (frames
	// 10 and 11 of a capture not in testdata): the reply is a bare 47-byte
	// header with -1008.
	{"rejected capture frame 10 FLOW_REQ",
		"00000000 00000040 00000000 00000000 0000000000000000 ffffffff 00000001 00000001 ffffffff 0001d4c0 010000" +
			"effbfa4fddd0844ba7746149d2b6daa1" +
			"d396c77bc8f0ad6547a52c9aaa789068 18eb8b669c3dae15" + oapZeros,
		UDPMgmt{SEID: 64, Delay: 0xffffffff, Loss: 1, BER: 1, MaxGap: 0xffffffff, Timeout: 120000, Code: UDPFlowReq,
			Hash: [16]byte{0xef, 0xfb, 0xfa, 0x4f, 0xdd, 0xd0, 0x84, 0x4b, 0xa7, 0x74, 0x61, 0x49, 0xd2, 0xb6, 0xda, 0xa1}},
		"d396c77bc8f0ad6547a52c9aaa789068 18eb8b669c3dae15" + oapZeros, "openc.udp"},
	{"rejected capture frame 11 FLOW_REPLY -1008",
		"00000000 00000040 00000041 fffffc10 0000000000000000 00000000 00000000 00000000 00000000 00000000 020000",
		UDPMgmt{SEID: 64, DEID: 65, Response: -1008, Code: UDPFlowReply}, "", ""},
}

func TestUDPMgmtVectors(t *testing.T) {
	var oapReq []byte
	for _, v := range udpMgmtVectors {
		t.Run(v.name, func(t *testing.T) {
			want := mustHex(t, v.hex)
			v.msg.Data = mustHex(t, v.data)
			if v.dst != "" && md5.Sum([]byte(v.dst)) != v.msg.Hash {
				t.Errorf("hash is not MD5(%q)", v.dst)
			}

			// Encode: byte-identical to the reference.
			if got := v.msg.Append(nil); !bytes.Equal(got, want) {
				t.Errorf("Append =\n%x, want\n%x", got, want)
			}
			if got := v.msg.Append([]byte{0xaa}); got[0] != 0xaa || !bytes.Equal(got[1:], want) {
				t.Errorf("Append(prefix) = %x", got)
			}
			if v.msg.Len() != len(want) {
				t.Errorf("Len = %d, want %d", v.msg.Len(), len(want))
			}

			// Decode.
			m, err := ParseUDPMgmt(want)
			if err != nil {
				t.Fatalf("ParseUDPMgmt: %v", err)
			}
			if !udpMgmtEqual(m, v.msg) {
				t.Errorf("ParseUDPMgmt =\n%+v, want\n%+v", m, v.msg)
			}
			// The reply's OAP req_hash (after its 36-byte header) is SHA-384
			// of the request's OAP header: Data starts where it should.
			switch {
			case m.Code == UDPFlowReq:
				oapReq = m.Data
			case len(m.Data) > 0:
				if sum := sha512.Sum384(oapReq); len(m.Data) != 36+48 || !bytes.Equal(m.Data[36:], sum[:]) {
					t.Errorf("req_hash does not match the request's OAP header")
				}
			}
			eid, body, err := ParseUDPEID(want)
			if err != nil || eid != 0 || len(body) != len(want)-UDPEIDLen {
				t.Errorf("ParseUDPEID = %d, %d bytes, %v", eid, len(body), err)
			}
		})
	}
}

func udpMgmtEqual(a, b UDPMgmt) bool {
	d1, d2 := a.Data, b.Data
	a.Data, b.Data = nil, nil
	return reflect.DeepEqual(a, b) && bytes.Equal(d1, d2)
}

// A FLOW_REPLY never carries the hash, even if the struct has one.
func TestUDPMgmtReplyIgnoresHash(t *testing.T) {
	m := UDPMgmt{SEID: 1, DEID: 2, Code: UDPFlowReply, Hash: [16]byte{1}, Data: []byte("x")}
	b := m.Append(nil)
	if len(b) != UDPMgmtLen+1 || m.Len() != len(b) {
		t.Fatalf("len = %d, Len = %d", len(b), m.Len())
	}
	if got, err := ParseUDPMgmt(b); err != nil || got.Hash != ([16]byte{}) || string(got.Data) != "x" {
		t.Fatalf("ParseUDPMgmt = %+v, %v", got, err)
	}
}

func TestUDPMgmtErrors(t *testing.T) {
	req := mustHex(t, udpMgmtVectors[2].hex)   // frame 1
	reply := mustHex(t, udpMgmtVectors[9].hex) // frame 11, bare header
	for n := 0; n < UDPMgmtLen; n++ {
		if _, err := ParseUDPMgmt(reply[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("runt of %d bytes: %v, want ErrTruncated", n, err)
		}
	}
	// A FLOW_REQ must hold the whole hash; data may be empty.
	for n := UDPMgmtLen; n < UDPMgmtLen+UDPHashLen; n++ {
		if _, err := ParseUDPMgmt(req[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("FLOW_REQ of %d bytes: %v, want ErrTruncated", n, err)
		}
	}
	if m, err := ParseUDPMgmt(req[:UDPMgmtLen+UDPHashLen]); err != nil || len(m.Data) != 0 {
		t.Errorf("FLOW_REQ without data: %+v, %v", m, err)
	}
	for _, code := range []byte{0, 3, 0xff} {
		b := bytes.Clone(reply)
		b[44] = code
		if _, err := ParseUDPMgmt(b); !errors.Is(err, ErrUDPCode) {
			t.Errorf("code %d: %v, want ErrUDPCode", code, err)
		}
	}
	for i := 0; i < UDPEIDLen; i++ {
		b := bytes.Clone(reply)
		b[i] = 1
		if _, err := ParseUDPMgmt(b); !errors.Is(err, ErrUDPNotMgmt) {
			t.Errorf("eid byte %d set: %v, want ErrUDPNotMgmt", i, err)
		}
	}
}

// Data datagrams: testdata/udp-uni.pcapng frames 3 and 4 (udp4 layer) and 31
// and 32 (unicast layer), UDP payload prefixes.
func TestUDPEID(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		eid  uint32
	}{
		{"udp-uni frame 3", "00000041 00000000 00000000 e60b0000 00000000 556a2c01", 65},
		{"udp-uni frame 4", "00000040 00000001 00000000 e60b0000 00000000 556a2c01", 64},
		{"udp-uni frame 31", "00000040 61b039f4 003c00", 64},
		{"udp-uni frame 32", "00000042 9c6fc4e4 003c00", 66},
		{"eid only", "ffffffff", 0xffffffff},
	} {
		b := mustHex(t, tc.hex)
		eid, p, err := ParseUDPEID(b)
		if err != nil || eid != tc.eid || !bytes.Equal(p, b[UDPEIDLen:]) {
			t.Errorf("%s: ParseUDPEID = %d, %x, %v", tc.name, eid, p, err)
		}
		if got := append(AppendUDPEID(nil, eid), p...); !bytes.Equal(got, b) {
			t.Errorf("%s: AppendUDPEID = %x, want %x", tc.name, got, b)
		}
		put := bytes.Clone(b)
		clear(put[:UDPEIDLen])
		PutUDPEID(put, eid)
		if !bytes.Equal(put, b) {
			t.Errorf("%s: PutUDPEID = %x", tc.name, put)
		}
	}
	for n := 0; n < UDPEIDLen; n++ {
		if _, _, err := ParseUDPEID(make([]byte, n)); !errors.Is(err, ErrTruncated) {
			t.Errorf("%d bytes: %v, want ErrTruncated", n, err)
		}
	}
}

func FuzzParseUDPMgmt(f *testing.F) {
	for _, v := range udpMgmtVectors {
		f.Add(mustHex(f, v.hex))
	}
	f.Add([]byte{})
	f.Add(make([]byte, UDPMgmtLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseUDPMgmt(b)
		if err != nil {
			if !reflect.DeepEqual(m, UDPMgmt{}) {
				t.Fatalf("error %v with non-zero message %+v", err, m)
			}
			return
		}
		if len(b) < UDPMgmtLen || (m.Code != UDPFlowReq && m.Code != UDPFlowReply) {
			t.Fatalf("accepted %x as %+v", b, m)
		}
		// Every byte is a field, the hash or data: re-encoding is exact.
		enc := m.Append(nil)
		if !bytes.Equal(enc, b) || m.Len() != len(b) {
			t.Fatalf("Append(Parse(%x)) = %x", b, enc)
		}
		m2, err := ParseUDPMgmt(enc)
		if err != nil || !udpMgmtEqual(m, m2) {
			t.Fatalf("parse → append → parse: %+v, %v; want %+v", m2, err, m)
		}
	})
}

func FuzzParseUDPEID(f *testing.F) {
	f.Add([]byte{})
	f.Add(mustHex(f, "00000041 00000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		eid, p, err := ParseUDPEID(b)
		if err != nil {
			if len(b) >= UDPEIDLen {
				t.Fatalf("ParseUDPEID(%x) = %v", b, err)
			}
			return
		}
		if got := append(AppendUDPEID(nil, eid), p...); !bytes.Equal(got, b) {
			t.Fatalf("re-encode %x = %x", b, got)
		}
	})
}
