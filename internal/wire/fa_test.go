package wire

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// The hand-derived FLOW_REQ of the unicast layer's description: A
// (0x11223344) asks for a raw flow from its EID 0x9abcdef0_00000041.
const faReqHeaderHex = "0000000011223344 0000000000000000 9abcdef000000041 0000000000000000" +
	"00000000 ffffffff 00000001 00000001 ffffffff 0001d4c0 0000 00 00 00"

var faReqExample = FAMsg{
	SAddr: 0x11223344, SEID: 0x9abcdef000000041,
	Delay: math.MaxUint32, Loss: 1, BER: 1, MaxGap: math.MaxUint32, Timeout: 120000,
	Code: FAFlowReq,
}

func TestFAVectors(t *testing.T) {
	hash := bytes.Repeat([]byte{0xab}, 32)
	oap := []byte("oap-request")
	req := faReqExample
	req.Hash, req.Data = hash, oap

	update := FAMsg{REID: 0x9abcdef000000041, ECE: 0x0123, Code: FAFlowUpdate}
	updateHex := "0000000000000000 9abcdef000000041" + zeros(56-16) + "0123 02 00 00"

	reply := FAMsg{REID: 0x9abcdef000000041, SEID: 0x55, Response: -1008, Code: FAFlowReply, Data: []byte("rsp")}
	replyHex := "0000000000000000 9abcdef000000041 0000000000000055 0000000000000000 fffffc10" +
		zeros(56-36) + "0000 01 00 00" + "727370"

	cases := []struct {
		name string
		msg  FAMsg
		hex  string
	}{
		{"FLOW_REQ", req, faReqHeaderHex + bytesHex(hash) + bytesHex(oap)},
		{"FLOW_REQ without piggyback", FAMsg{Code: FAFlowReq, Hash: hash}, zeros(61) + bytesHex(hash)},
		{"FLOW_UPDATE", update, updateHex},
		{"FLOW_REPLY refused", reply, replyHex},
		{"FLOW_REPLY bare", FAMsg{Code: FAFlowReply}, zeros(58) + "010000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := mustHex(t, c.hex)
			if got := c.msg.Append(nil); !bytes.Equal(got, want) {
				t.Errorf("Append =\n%x\nwant\n%x", got, want)
			}
			if c.msg.Len() != len(want) {
				t.Errorf("Len = %d, want %d", c.msg.Len(), len(want))
			}
			m, err := ParseFA(want, 32)
			if err != nil {
				t.Fatalf("ParseFA: %v", err)
			}
			if !faEqual(m, c.msg) {
				t.Errorf("ParseFA = %+v, want %+v", m, c.msg)
			}
		})
	}
}

// TestFAUpdateIgnoresHash: Hash goes on the wire only in a FLOW_REQ.
func TestFAUpdateIgnoresHash(t *testing.T) {
	m := FAMsg{Code: FAFlowUpdate, ECE: 1, Hash: []byte{1, 2, 3}}
	if b := m.Append(nil); len(b) != FAHeaderLen || m.Len() != FAHeaderLen {
		t.Fatalf("FLOW_UPDATE with a hash is %d bytes", len(b))
	}
}

func TestFAErrors(t *testing.T) {
	req := faReqExample
	req.Hash = bytes.Repeat([]byte{1}, 28)
	b := req.Append(nil)
	for n := range FAHeaderLen + 28 {
		if _, err := ParseFA(b[:n], 28); !errors.Is(err, ErrTruncated) {
			t.Errorf("ParseFA(%d bytes) = %v, want ErrTruncated", n, err)
		}
	}
	if _, err := ParseFA(b, 32); !errors.Is(err, ErrTruncated) {
		t.Errorf("FLOW_REQ shorter than a SHA3-256 hash: %v", err)
	}
	for _, hl := range []int{-1, 0, 65} {
		if _, err := ParseFA(b, hl); !errors.Is(err, ErrFAHashLen) {
			t.Errorf("hash length %d: %v", hl, err)
		}
	}
	long := FAMsg{Code: FAFlowReply, Data: make([]byte, FAMaxLen-FAHeaderLen)}.Append(nil)
	if _, err := ParseFA(long, 32); err != nil {
		t.Errorf("a %d-byte message: %v", len(long), err)
	}
	if _, err := ParseFA(append(long, 0), 32); !errors.Is(err, ErrFATooLong) {
		t.Errorf("a %d-byte message: %v", len(long)+1, err)
	}
	bad := FAMsg{Code: 3}.Append(nil)
	if _, err := ParseFA(bad, 32); !errors.Is(err, ErrFACode) {
		t.Errorf("code 3: %v", err)
	}
	if FAFlowUpdate.String() != "FLOW_UPDATE" || FACode(9).String() != "FA code 9" {
		t.Error("FACode.String")
	}
}

func faEqual(a, b FAMsg) bool {
	return bytes.Equal(a.Append(nil), b.Append(nil)) && bytes.Equal(a.Hash, b.Hash) && bytes.Equal(a.Data, b.Data)
}

func zeros(n int) string { return string(bytes.Repeat([]byte("00"), n)) }

func bytesHex(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

func FuzzParseFA(f *testing.F) {
	req := faReqExample
	req.Hash, req.Data = make([]byte, 32), []byte("oap")
	f.Add(req.Append(nil), uint8(1))
	f.Add(FAMsg{Code: FAFlowUpdate, ECE: 7}.Append(nil), uint8(0))
	f.Add(FAMsg{Code: FAFlowReply, Response: -1}.Append(nil), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, algo uint8) {
		// The hash lengths of the layer's algorithms (SHA3-224 to -512).
		hashLen := [4]int{28, 32, 48, 64}[algo%4]
		m, err := ParseFA(b, hashLen)
		if err != nil {
			return
		}
		if len(b) < FAHeaderLen || len(b) > FAMaxLen || m.Code > FAFlowUpdate ||
			(m.Code == FAFlowReq) != (m.Hash != nil) || (m.Hash != nil && len(m.Hash) != hashLen) {
			t.Fatalf("ParseFA(%x, %d) accepted %+v", b, hashLen, m)
		}
		if enc := m.Append(nil); !bytes.Equal(enc, b) || m.Len() != len(b) {
			t.Fatalf("re-encode %x = %x", b, enc)
		}
	})
}

// LSU: the hand-derived "A has a link to B, seqno 1", and the capture's
// first LSU.
func TestLSUVectors(t *testing.T) {
	cases := []struct {
		hex string
		lsu LSU
	}{
		{"000000000a0b0c0d 0000000011223344 0000000000000001", LSU{Dst: 0x0a0b0c0d, Src: 0x11223344, Seqno: 1}},
		{"00000000e4c46f9c 00000000f439b061 0000000000000000", LSU{Dst: 0xe4c46f9c, Src: 0xf439b061}},
		{"ffffffffffffffff 0102030405060708 8000000000000000", LSU{Dst: ^uint64(0), Src: 0x0102030405060708, Seqno: 1 << 63}},
	}
	for _, c := range cases {
		want := mustHex(t, c.hex)
		if got := c.lsu.Append(nil); !bytes.Equal(got, want) || c.lsu.Len() != LSULen {
			t.Errorf("Append = %x, want %x", got, want)
		}
		if u, err := ParseLSU(want); err != nil || u != c.lsu {
			t.Errorf("ParseLSU = %+v, %v", u, err)
		}
	}
	b := LSU{Dst: 1, Src: 2, Seqno: 3}.Append(nil)
	for n := range LSULen {
		if _, err := ParseLSU(b[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("ParseLSU(%d bytes) = %v", n, err)
		}
	}
	if _, err := ParseLSU(append(b, 0)); !errors.Is(err, ErrLSULen) {
		t.Errorf("25-byte LSU: %v", err)
	}
}

func FuzzParseLSU(f *testing.F) {
	f.Add(LSU{Dst: 0x0a0b0c0d, Src: 0x11223344, Seqno: 1}.Append(nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseLSU(b)
		if (err == nil) != (len(b) == LSULen) {
			t.Fatalf("ParseLSU(%d bytes): %v", len(b), err)
		}
		if err == nil && !bytes.Equal(u.Append(nil), b) {
			t.Fatalf("re-encode %x", b)
		}
	})
}
