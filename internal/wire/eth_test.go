package wire

import (
	"bytes"
	"crypto/sha3"
	"crypto/sha512"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The hashes in dix-enc.pcapng are SHA3-256 of these names.
const (
	hashOpingDix = "75ff1adbaa63f40a72536a9a7cb62326f38f63534b37dabc665f27bc9a69867e"
	hashOpencUDP = "66edcdbeb0a70bab85576a134282d87677c72d67e13c5a835dfdb4050afb3237"
	zeroMAC      = "000000000000"
	dixDefault   = "a000"
	// A DIX management header with only seid, deid, code set:
	// seid(2) deid(2), then 32 zero bytes, then in_order(1) code(1) avail(1).
	dixZeroQoS = "00000000 0000000000000000 00000000 00000000 00000000 00000000 00000000"
)

type ethDIXVector struct {
	name string
	hex  string // the whole frame, from the destination MAC (spaces ignored)
	hdr  EthDIXHeader
	mgmt *EthMgmt // the decoded payload of a management frame; Data unset
	data string   // hex of the management data after the hash, or of a data payload
	dst  string   // the name whose SHA3-256 is the hash
}

// Frames 1-9 of a capture between reference IPCPs of an eth-dix layer on lo
// (hence the zero MACs); the capture file itself is not in testdata.
var ethDIXVectors = []ethDIXVector{
	{"eth-dix capture frame 1 NAME_QUERY_REQ",
		"ffffffffffff" + zeroMAC + dixDefault + "0000 0047" + "0000 0000" + dixZeroQoS + "000200" + hashOpingDix,
		EthDIXHeader{Dst: EthBroadcast, Ethertype: 0xa000, Length: 71},
		&EthMgmt{Code: EthNameQueryReq}, "", "oping.dix"},
	{"eth-dix capture frame 2 NAME_QUERY_REPLY",
		zeroMAC + zeroMAC + dixDefault + "0000 0047" + "0000 0000" + dixZeroQoS + "000300" + hashOpingDix,
		EthDIXHeader{Ethertype: 0xa000, Length: 71},
		&EthMgmt{Code: EthNameQueryReply}, "", "oping.dix"},
	{"eth-dix capture frame 3 FLOW_REQ",
		zeroMAC + zeroMAC + dixDefault + "0000 006b" +
			"0040 0000 00000001 0000000000000000 00000001 ffffffff ffffffff 0001d4c0 00000000 000000" + hashOpingDix +
			"96efc31871fe988e957c7e714bdda534 18eb8b663b939045 000000000000000000000000",
		EthDIXHeader{Ethertype: 0xa000, Length: 107},
		&EthMgmt{SEID: 64, Loss: 1, BER: 1, MaxGap: 0xffffffff, Delay: 0xffffffff, Timeout: 120000, Code: EthFlowReq},
		"96efc31871fe988e957c7e714bdda534 18eb8b663b939045 000000000000000000000000", "oping.dix"},
	{"eth-dix capture frame 4 FLOW_REPLY",
		zeroMAC + zeroMAC + dixDefault + "0000 007b" + "0041 0040" + dixZeroQoS + "000100" +
			"96efc31871fe988e957c7e714bdda534 18eb8b663ba56b64 000000000000000000000000" +
			"45b5ba9166765e8fa235029265213bf107b3909003e5c7d1a6bd8e85f4f0a169c2ca945f2cc3043e3b6b255d99cd632e",
		EthDIXHeader{Ethertype: 0xa000, Length: 123},
		&EthMgmt{SEID: 65, DEID: 64, Code: EthFlowReply},
		"96efc31871fe988e957c7e714bdda534 18eb8b663ba56b64 000000000000000000000000" +
			"45b5ba9166765e8fa235029265213bf107b3909003e5c7d1a6bd8e85f4f0a169c2ca945f2cc3043e3b6b255d99cd632e", ""},
	{"eth-dix capture frame 5 data", zeroMAC + zeroMAC + dixDefault + "0041 0040" + pingSDU("00000000 00000000", "9cd48024"),
		EthDIXHeader{Ethertype: 0xa000, EID: 65, Length: 64}, nil, pingSDU("00000000 00000000", "9cd48024"), ""},
	{"eth-dix capture frame 6 data", zeroMAC + zeroMAC + dixDefault + "0040 0040" + pingSDU("00000001 00000000", "9cd48024"),
		EthDIXHeader{Ethertype: 0xa000, EID: 64, Length: 64}, nil, pingSDU("00000001 00000000", "9cd48024"), ""},
	{"eth-dix capture frame 7 data", zeroMAC + zeroMAC + dixDefault + "0041 0040" + pingSDU("00000000 00000001", "a1157030"),
		EthDIXHeader{Ethertype: 0xa000, EID: 65, Length: 64}, nil, pingSDU("00000000 00000001", "a1157030"), ""},
	{"eth-dix capture frame 8 data", zeroMAC + zeroMAC + dixDefault + "0040 0040" + pingSDU("00000001 00000001", "a1157030"),
		EthDIXHeader{Ethertype: 0xa000, EID: 64, Length: 64}, nil, pingSDU("00000001 00000001", "a1157030"), ""},
	{"eth-dix capture frame 9 NAME_QUERY_REQ",
		"ffffffffffff" + zeroMAC + dixDefault + "0000 0047" + "0000 0000" + dixZeroQoS + "000200" + hashOpencUDP,
		EthDIXHeader{Dst: EthBroadcast, Ethertype: 0xa000, Length: 71},
		&EthMgmt{Code: EthNameQueryReq}, "", "openc.udp"},
}

// pingSDU is oping's 64-byte message as captured: type and id, tv_sec
// 0x16aa and tv_nsec as 8-byte host-order (little-endian) integers, 40
// bytes of zero padding.
func pingSDU(typeID, nsec string) string {
	return typeID + "aa160000 00000000" + nsec + "00000000" + strings.Repeat("00", 40)
}

func ethMgmtEqual(a, b EthMgmt) bool {
	h1, h2, d1, d2 := a.Hash, b.Hash, a.Data, b.Data
	a.Hash, b.Hash, a.Data, b.Data = nil, nil, nil, nil
	return reflect.DeepEqual(a, b) && bytes.Equal(h1, h2) && bytes.Equal(d1, d2)
}

func TestEthDIXCaptures(t *testing.T) {
	var oapReq []byte
	for _, v := range ethDIXVectors {
		t.Run(v.name, func(t *testing.T) {
			frame := mustHex(t, v.hex)
			h, p, err := ParseEthDIX(frame)
			if err != nil {
				t.Fatalf("ParseEthDIX: %v", err)
			}
			if h != v.hdr || len(p) != int(h.Length) || len(frame) != EthDIXHeaderLen+len(p) {
				t.Fatalf("ParseEthDIX = %+v, %d bytes; want %+v", h, len(p), v.hdr)
			}
			if got := append(v.hdr.Append(nil), p...); !bytes.Equal(got, frame) {
				t.Errorf("re-encoded frame =\n%x, want\n%x", got, frame)
			}
			put := bytes.Repeat([]byte{0x5a}, EthDIXHeaderLen)
			v.hdr.Put(put)
			if !bytes.Equal(put, frame[:EthDIXHeaderLen]) {
				t.Errorf("Put = %x", put)
			}
			if v.mgmt == nil {
				if h.EID == EthDIXMgmtEID || !bytes.Equal(p, mustHex(t, v.data)) {
					t.Errorf("data frame: EID %d, payload %x", h.EID, p)
				}
				return
			}
			if h.EID != EthDIXMgmtEID {
				t.Fatalf("EID = %d", h.EID)
			}
			want := *v.mgmt
			want.Data = mustHex(t, v.data)
			if v.dst != "" {
				sum := sha3.Sum256([]byte(v.dst))
				want.Hash = sum[:]
			}
			m, err := ParseEthMgmt(p, EthDIX, 32)
			if err != nil {
				t.Fatalf("ParseEthMgmt: %v", err)
			}
			if !ethMgmtEqual(m, want) {
				t.Errorf("ParseEthMgmt =\n%+v, want\n%+v", m, want)
			}
			if got := want.Append(nil, EthDIX); !bytes.Equal(got, p) || want.Len(EthDIX) != len(p) {
				t.Errorf("Append =\n%x, want\n%x", got, p)
			}
			// The data is the OAP header; the reply's req_hash (after its
			// 36-byte header) is SHA-384 of the request's, so the split
			// between hash and data is where the reference put it.
			switch m.Code {
			case EthFlowReq:
				oapReq = m.Data
			case EthFlowReply:
				if sum := sha512.Sum384(oapReq); len(m.Data) != 36+48 || !bytes.Equal(m.Data[36:], sum[:]) {
					t.Errorf("req_hash does not match the request's OAP header")
				}
			}
		})
	}
}

// Constructed from the management message layouts, every field distinct.
func TestEthMgmtLayouts(t *testing.T) {
	m := EthMgmt{SEID: 0x02, DEID: 0x41, Code: EthFlowReq, Availability: 7, InOrder: 1,
		Loss: 0x05060708, Bandwidth: 0x1112131415161718, BER: 0x21222324, MaxGap: 0x31323334,
		Delay: 0x41424344, Timeout: 0x51525354, Response: -2,
		Hash: mustHex(t, "000102030405060708090a0b0c0d0e0f"), Data: []byte{0xda, 0xda}}
	const qos = "05060708 1112131415161718 21222324 31323334 41424344 51525354 fffffffe"
	for _, tc := range []struct {
		f   EthFormat
		hex string
	}{
		{EthDIX, "0002 0041" + qos + "01 00 07" + "000102030405060708090a0b0c0d0e0f dada"},
		{EthLLC, "02 41 00 07" + qos + "01" + "000102030405060708090a0b0c0d0e0f dada"},
	} {
		want := mustHex(t, tc.hex)
		if got := m.Append(nil, tc.f); !bytes.Equal(got, want) {
			t.Errorf("format %d: Append =\n%x, want\n%x", tc.f, got, want)
		}
		if len(want) != tc.f.MgmtLen()+16+2 || m.Len(tc.f) != len(want) {
			t.Errorf("format %d: length %d, Len %d, MgmtLen %d", tc.f, len(want), m.Len(tc.f), tc.f.MgmtLen())
		}
		got, err := ParseEthMgmt(want, tc.f, 16)
		if err != nil || !ethMgmtEqual(got, m) {
			t.Errorf("format %d: ParseEthMgmt = %+v, %v", tc.f, got, err)
		}
		// With a 32-byte layer hash the same bytes are 16 bytes short.
		if _, err := ParseEthMgmt(want, tc.f, 32); !errors.Is(err, ErrTruncated) {
			t.Errorf("format %d, hashLen 32: %v, want ErrTruncated", tc.f, err)
		}
	}

	// FLOW_REPLY carries no hash; NAME_QUERY_* do, with no data.
	reply := EthMgmt{SEID: 3, DEID: 2, Code: EthFlowReply, Response: -1, Hash: []byte{1, 2}, Data: []byte("oap")}
	b := reply.Append(nil, EthLLC)
	if want := mustHex(t, "03 02 01 00"+"00000000 0000000000000000 00000000 00000000 00000000 00000000 ffffffff 00"+"6f6170"); !bytes.Equal(b, want) {
		t.Errorf("LLC FLOW_REPLY = %x, want %x", b, want)
	}
	if got, err := ParseEthMgmt(b, EthLLC, 32); err != nil || got.Hash != nil || string(got.Data) != "oap" || got.Response != -1 {
		t.Errorf("ParseEthMgmt(LLC FLOW_REPLY) = %+v, %v", got, err)
	}
	q := EthMgmt{Code: EthNameQueryReply, Hash: mustHex(t, hashOpingDix)}
	if got, err := ParseEthMgmt(q.Append(nil, EthLLC), EthLLC, 32); err != nil || !ethMgmtEqual(got, EthMgmt{Code: EthNameQueryReply, Hash: q.Hash, Data: []byte{}}) {
		t.Errorf("LLC NAME_QUERY_REPLY = %+v, %v", got, err)
	}
}

func TestEthLLCFrames(t *testing.T) {
	query := EthMgmt{Code: EthNameQueryReq, Hash: mustHex(t, hashOpingDix)}.Append(nil, EthLLC)
	src := EthAddr{0x02, 0, 0, 0, 0, 0x01}
	for _, tc := range []struct {
		name    string
		hex     string
		hdr     EthLLCHeader
		payload []byte
		padding int
	}{
		{"management, broadcast", "ffffffffffff 020000000001 0048 80 80 03",
			EthLLCHeader{Dst: EthBroadcast, Src: src, Length: 3 + 69, DSAP: EthLLCMgmtSAP, SSAP: EthLLCMgmtSAP}, query, 0},
		{"data, SAP 2 to SAP 65, padded to 60 bytes", "020000000001 0a0b0c0d0e0f 0007 40 82 03",
			EthLLCHeader{Dst: src, Src: EthAddr{10, 11, 12, 13, 14, 15}, Length: 7, DSAP: 2, SSAP: 65}, []byte{1, 2, 3, 4}, 39},
		{"empty payload", "020000000001 020000000001 0003 82 40 03",
			EthLLCHeader{Dst: src, Src: src, Length: 3, DSAP: 65, SSAP: 2}, []byte{}, 0},
	} {
		hdr := mustHex(t, tc.hex)
		if got := tc.hdr.Append(nil); !bytes.Equal(got, hdr) {
			t.Errorf("%s: Append = %x, want %x", tc.name, got, hdr)
		}
		put := make([]byte, EthLLCHeaderLen)
		tc.hdr.Put(put)
		if !bytes.Equal(put, hdr) {
			t.Errorf("%s: Put = %x", tc.name, put)
		}
		frame := append(append(hdr, tc.payload...), make([]byte, tc.padding)...)
		h, p, err := ParseEthLLC(frame)
		if err != nil || h != tc.hdr || !bytes.Equal(p, tc.payload) || cap(p) != len(p) {
			t.Errorf("%s: ParseEthLLC = %+v, %x, %v", tc.name, h, p, err)
		}
		if h.IsMgmt() != (tc.hdr.DSAP == EthLLCMgmtSAP) {
			t.Errorf("%s: IsMgmt = %v", tc.name, h.IsMgmt())
		}
	}
}

func TestEthSAPWire(t *testing.T) {
	for _, tc := range [][2]uint8{{0x01, 0x80}, {2, 0x40}, {3, 0xc0}, {65, 0x82}, {0x0f, 0xf0}, {0, 0}, {0xff, 0xff}} {
		if got := EthSAPWire(tc[0]); got != tc[1] {
			t.Errorf("EthSAPWire(%#x) = %#x, want %#x", tc[0], got, tc[1])
		}
		if got := EthSAPWire(tc[1]); got != tc[0] {
			t.Errorf("EthSAPWire(%#x) = %#x, want %#x", tc[1], got, tc[0])
		}
	}
	for x := 0; x < 256; x++ {
		w := EthSAPWire(uint8(x))
		for i := 0; i < 8; i++ { // bit i of the logical SAP is bit 7-i on the wire
			if (x>>i)&1 != int(w>>(7-i))&1 {
				t.Fatalf("EthSAPWire(%#x) = %#x", x, w)
			}
		}
	}
}

func TestEthErrors(t *testing.T) {
	frame := mustHex(t, ethDIXVectors[2].hex) // FLOW_REQ, 107-byte payload
	for n := 0; n < len(frame); n++ {
		if _, p, err := ParseEthDIX(frame[:n]); !errors.Is(err, ErrTruncated) || p != nil {
			t.Fatalf("ParseEthDIX(%d bytes) = %v", n, err)
		}
	}
	payload := frame[EthDIXHeaderLen:]
	for n := 0; n < EthDIXMgmtLen+32; n++ {
		if _, err := ParseEthMgmt(payload[:n], EthDIX, 32); !errors.Is(err, ErrTruncated) {
			t.Fatalf("ParseEthMgmt(%d bytes) = %v", n, err)
		}
	}
	if _, err := ParseEthMgmt(payload[:EthLLCMgmtLen-1], EthLLC, 0); !errors.Is(err, ErrTruncated) {
		t.Errorf("LLC runt: %v", err)
	}
	bad := bytes.Clone(payload)
	bad[37] = 4
	if _, err := ParseEthMgmt(bad, EthDIX, 32); !errors.Is(err, ErrEthCode) {
		t.Errorf("code 4: %v", err)
	}
	if _, err := ParseEthMgmt(make([]byte, EthMgmtFrameSize+1), EthDIX, 32); !errors.Is(err, ErrEthMgmtTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	if _, err := ParseEthMgmt(make([]byte, EthMgmtFrameSize), EthDIX, 32); err != nil {
		t.Errorf("largest accepted: %v", err)
	}
	for _, tc := range []struct {
		f  EthFormat
		hl int
	}{{0, 32}, {3, 32}, {EthDIX, -1}} {
		if _, err := ParseEthMgmt(payload, tc.f, tc.hl); !errors.Is(err, ErrEthParam) {
			t.Errorf("format %d, hashLen %d: %v", tc.f, tc.hl, err)
		}
	}

	llc := EthLLCHeader{Length: 7, DSAP: 2, SSAP: 3}.Append(nil)
	llc = append(llc, 1, 2, 3, 4)
	for n := 0; n < len(llc); n++ {
		if _, _, err := ParseEthLLC(llc[:n]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("ParseEthLLC(%d bytes) = %v", n, err)
		}
	}
	for _, tc := range []struct {
		length uint16
		ctrl   byte
		want   error
	}{
		{0x0600, 3, ErrEthNotLLC}, {0xa000, 3, ErrEthNotLLC}, {0, 3, ErrEthLLCLength}, {2, 3, ErrEthLLCLength},
		{7, 0xf3, ErrEthLLCControl}, {0x05ff, 3, ErrTruncated}, {0x05ff, 0, ErrEthLLCControl},
	} {
		b := bytes.Clone(llc)
		b[12], b[13], b[16] = byte(tc.length>>8), byte(tc.length), tc.ctrl
		if _, _, err := ParseEthLLC(b); !errors.Is(err, tc.want) {
			t.Errorf("length %#x ctrl %#x: %v, want %v", tc.length, tc.ctrl, err, tc.want)
		}
	}
}

func TestEthMgmtAppendPanics(t *testing.T) {
	for _, tc := range []struct {
		m EthMgmt
		f EthFormat
	}{{EthMgmt{SEID: 256}, EthLLC}, {EthMgmt{DEID: 0x1000}, EthLLC}, {EthMgmt{}, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Append(%+v, %d) did not panic", tc.m, tc.f)
				}
			}()
			tc.m.Append(nil, tc.f)
		}()
	}
	if n := len(EthMgmt{SEID: 0xffff, DEID: 0xffff}.Append(nil, EthDIX)); n != EthDIXMgmtLen {
		t.Errorf("DIX FLOW_REQ with empty hash: %d bytes", n)
	}
}

func TestEthMisc(t *testing.T) {
	if s := (EthAddr{0, 0x1a, 0x2b, 0x3c, 0x4d, 0xff}).String(); s != "00:1a:2b:3c:4d:ff" {
		t.Errorf("String = %q", s)
	}
	for _, tc := range []struct {
		t  uint16
		ok bool
	}{{0x05ff, false}, {0x0600, true}, {EthDefaultEthertype, true}, {0xfffe, true}, {0xffff, false}} {
		if ValidEthertype(tc.t) != tc.ok {
			t.Errorf("ValidEthertype(%#x) = %v", tc.t, !tc.ok)
		}
	}
	if EthDIXHeaderLen != 2*EthAddrLen+2+EthDIXOverhead || EthLLCHeaderLen != 2*EthAddrLen+2+EthLLCOverhead {
		t.Error("header lengths disagree with the overheads")
	}
	if len(EthDIXHeader{}.Append(nil)) != EthDIXHeaderLen || len(EthLLCHeader{}.Append(nil)) != EthLLCHeaderLen {
		t.Error("Append lengths")
	}
}
