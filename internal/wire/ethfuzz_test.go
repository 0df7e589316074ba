package wire

import (
	"bytes"
	"errors"
	"testing"
)

// ethSeeds returns the captured DIX frames and constructed LLC frames.
func ethSeeds(f *testing.F) (dix, llc [][]byte) {
	for _, v := range ethDIXVectors {
		dix = append(dix, mustHex(f, v.hex))
	}
	padded := append(EthDIXHeader{EID: 65, Length: 2}.Append(nil), make([]byte, 42)...)
	dix = append(dix, padded, nil)
	for _, m := range []EthMgmt{
		{Code: EthNameQueryReq, Hash: mustHex(f, hashOpingDix)},
		{SEID: 2, DEID: 3, Code: EthFlowReply, Response: -1, Data: []byte("oap")},
	} {
		p := m.Append(nil, EthLLC)
		h := EthLLCHeader{Dst: EthBroadcast, Length: uint16(EthLLCOverhead + len(p)), DSAP: EthLLCMgmtSAP, SSAP: EthLLCMgmtSAP}
		llc = append(llc, append(h.Append(nil), p...))
	}
	data := append(EthLLCHeader{Length: 5, DSAP: 2, SSAP: 65}.Append(nil), 1, 2)
	llc = append(llc, data, append(data, make([]byte, 41)...), nil)
	return dix, llc
}

func FuzzParseEthDIX(f *testing.F) {
	dix, _ := ethSeeds(f)
	for _, b := range dix {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := ParseEthDIX(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) || h != (EthDIXHeader{}) || p != nil {
				t.Fatalf("ParseEthDIX(%x) = %+v, %x, %v", b, h, p, err)
			}
			return
		}
		n := EthDIXHeaderLen + int(h.Length)
		if len(p) != int(h.Length) || n > len(b) {
			t.Fatalf("payload %d bytes for length %d", len(p), h.Length)
		}
		// Padding after the payload is not part of the encoding.
		if enc := append(h.Append(nil), p...); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encode %x = %x", b[:n], enc)
		}
	})
}

func FuzzParseEthLLC(f *testing.F) {
	_, llc := ethSeeds(f)
	for _, b := range llc {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := ParseEthLLC(b)
		if err != nil {
			if h != (EthLLCHeader{}) || p != nil {
				t.Fatalf("ParseEthLLC(%x) = %+v, %x, %v", b, h, p, err)
			}
			return
		}
		if h.Length < EthLLCOverhead || h.Length > EthLLCMaxLength || b[16] != EthLLCControlUI {
			t.Fatalf("accepted %x as %+v", b, h)
		}
		n := EthLLCHeaderLen + len(p)
		if len(p) != int(h.Length)-EthLLCOverhead || n > len(b) {
			t.Fatalf("payload %d bytes for length %d", len(p), h.Length)
		}
		if enc := append(h.Append(nil), p...); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encode %x = %x", b[:n], enc)
		}
	})
}

func FuzzParseEthMgmt(f *testing.F) {
	dix, llc := ethSeeds(f)
	for _, b := range dix {
		if _, p, err := ParseEthDIX(b); err == nil {
			f.Add(p, false, uint8(32))
		}
	}
	for _, b := range llc {
		if _, p, err := ParseEthLLC(b); err == nil {
			f.Add(p, true, uint8(32))
		}
	}
	f.Add(make([]byte, EthLLCMgmtLen+16), true, uint8(16))
	f.Fuzz(func(t *testing.T, b []byte, isLLC bool, hashLen uint8) {
		fm, hl := EthDIX, int(hashLen%65)
		if isLLC {
			fm = EthLLC
		}
		m, err := ParseEthMgmt(b, fm, hl)
		if err != nil {
			if !ethMgmtEqual(m, EthMgmt{}) {
				t.Fatalf("error %v with non-zero message %+v", err, m)
			}
			return
		}
		if m.Code > EthNameQueryReply || len(b) > EthMgmtFrameSize ||
			(m.Code != EthFlowReply && len(m.Hash) != hl) || (m.Code == EthFlowReply && m.Hash != nil) {
			t.Fatalf("accepted %x as %+v", b, m)
		}
		// Every byte is a field, the hash or data: re-encoding is exact.
		enc := m.Append(nil, fm)
		if !bytes.Equal(enc, b) || m.Len(fm) != len(b) {
			t.Fatalf("Append(Parse(%x)) = %x", b, enc)
		}
		m2, err := ParseEthMgmt(enc, fm, hl)
		if err != nil || !ethMgmtEqual(m, m2) {
			t.Fatalf("parse → append → parse: %+v, %v; want %+v", m2, err, m)
		}
	})
}
