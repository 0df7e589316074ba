package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

type frctVector struct {
	name   string // where the vector comes from
	hex    string // FRCT header as on the wire (spaces ignored)
	fields FRCTFields
}

var frctVectors = []frctVector{
	// DATA|DRF|FC, edge 0x12345678 (only the low 24 bits go on the wire),
	// seqno 0xdeadbeef, no ACK.
	{"DATA|DRF|FC example", "0b 345678 deadbeef 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF | FRCTFC, RWE: 0x12345678, Seqno: 0xdeadbeef}},

	// Live traffic between two reference peers on a local flow.
	{"live client request", "03 000000 4a5c5639 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF, Seqno: 0x4a5c5639}},
	{"live server delayed ACK", "0c 5c573a 00000000 4a5c563a",
		FRCTFields{Flags: FRCTACK | FRCTFC, RWE: 0x5c573a, Ackno: 0x4a5c563a}},
	{"live server response", "0f 5c573a 24d4471d 4a5c563a",
		FRCTFields{Flags: FRCTData | FRCTDRF | FRCTACK | FRCTFC, RWE: 0x5c573a, Seqno: 0x24d4471d, Ackno: 0x4a5c563a}},

	// testdata/udp-uni.pcapng, frames 41-49: the FRCT header at UDP payload
	// offset 19 (after the UDP EID and the DT header).
	{"udp-uni frame 41", "03000000 ebac3780 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF, Seqno: 0xebac3780}},
	{"udp-uni frame 42", "0bac3881 0f0f333e 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF | FRCTFC, RWE: 0xac3881, Seqno: 0x0f0f333e}},
	{"udp-uni frame 43", "0b0f343f ebac3781 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF | FRCTFC, RWE: 0x0f343f, Seqno: 0xebac3781}},
	{"udp-uni frame 44", "0bac3882 0f0f333f 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF | FRCTFC, RWE: 0xac3882, Seqno: 0x0f0f333f}},
	{"udp-uni frame 45", "0b0f343f ebac3782 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF | FRCTFC, RWE: 0x0f343f, Seqno: 0xebac3782}},
	{"udp-uni frame 46", "0bac3883 0f0f3340 00000000",
		FRCTFields{Flags: FRCTData | FRCTDRF | FRCTFC, RWE: 0xac3883, Seqno: 0x0f0f3340}},
	{"udp-uni frame 47", "04000000 00000000 0f0f3341",
		FRCTFields{Flags: FRCTACK, Ackno: 0x0f0f3341}},
	{"udp-uni frame 48", "0cac3883 00000000 ebac3783",
		FRCTFields{Flags: FRCTACK | FRCTFC, RWE: 0xac3883, Ackno: 0xebac3783}},
	{"udp-uni frame 49", "0c0f3440 00000000 0f0f3341",
		FRCTFields{Flags: FRCTACK | FRCTFC, RWE: 0x0f3440, Ackno: 0x0f0f3341}},

	// Control packets as the reference builds them (constructed, not captured).
	{"constructed RDVS", "10000000 00000000 00000000",
		FRCTFields{Flags: FRCTRDVS}},
	{"constructed RDV answer", "08ffffff 00000000 00000000",
		FRCTFields{Flags: FRCTFC, RWE: 0xffffffff}},
	{"all flags, all ones", "ffffffff ffffffff ffffffff",
		FRCTFields{Flags: 0xff, RWE: FRCTWindowMask, Seqno: 0xffffffff, Ackno: 0xffffffff}},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// wireFields is f as it reads back from the wire: RWE cut to 24 bits.
func wireFields(f FRCTFields) FRCTFields {
	f.RWE &= FRCTWindowMask
	return f
}

func TestFRCTVectors(t *testing.T) {
	for _, v := range frctVectors {
		t.Run(v.name, func(t *testing.T) {
			want := mustHex(t, v.hex)
			if len(want) != FRCTLen {
				t.Fatalf("vector is %d bytes, want %d", len(want), FRCTLen)
			}

			// Encode: byte-identical to the reference.
			if got := v.fields.Append(nil); !bytes.Equal(got, want) {
				t.Errorf("Append = %x, want %x", got, want)
			}
			prefix := []byte{0xaa, 0xbb}
			if got := v.fields.Append(prefix); !bytes.Equal(got[:2], prefix) || !bytes.Equal(got[2:], want) {
				t.Errorf("Append(prefix) = %x", got)
			}
			put := make(FRCT, FRCTLen)
			for i := range put {
				put[i] = 0x5a // Put must overwrite everything
			}
			v.fields.Put(put)
			if !bytes.Equal(put, want) {
				t.Errorf("Put = %x, want %x", []byte(put), want)
			}

			// Decode, with and without a trailing SDU.
			f, err := ParseFRCT(want)
			if err != nil {
				t.Fatalf("ParseFRCT: %v", err)
			}
			if f != wireFields(v.fields) {
				t.Errorf("ParseFRCT = %+v, want %+v", f, wireFields(v.fields))
			}
			withSDU := append(bytes.Clone(want), "sdu"...)
			if f2, err := ParseFRCT(withSDU); err != nil || f2 != f {
				t.Errorf("ParseFRCT with SDU = %+v, %v", f2, err)
			}

			// The view.
			h := FRCT(withSDU)
			if !h.Valid() {
				t.Fatal("Valid = false")
			}
			if h.Flags() != v.fields.Flags || h.RWE() != v.fields.RWE&FRCTWindowMask ||
				h.Seqno() != v.fields.Seqno || h.Ackno() != v.fields.Ackno {
				t.Errorf("view = %+v, want %+v", h.Fields(), wireFields(v.fields))
			}
			if string(h.Payload()) != "sdu" {
				t.Errorf("Payload = %q", h.Payload())
			}
		})
	}
}

func TestFRCTSetters(t *testing.T) {
	h := make(FRCT, FRCTLen+1)
	h[FRCTLen] = 0xee
	h.SetFlags(FRCTData | FRCTDRF | FRCTFC)
	h.SetRWE(0x12345678)
	h.SetSeqno(0xdeadbeef)
	h.SetAckno(0)
	if want := mustHex(t, "0b345678deadbeef00000000ee"); !bytes.Equal(h, want) {
		t.Fatalf("got %x, want %x", []byte(h), want)
	}
	// Setters touch only their own bytes.
	h.SetRWE(0)
	if h.Flags() != FRCTData|FRCTDRF|FRCTFC {
		t.Errorf("SetRWE clobbered flags: %v", h.Flags())
	}
	h.SetFlags(0)
	if h.RWE() != 0 || h.Seqno() != 0xdeadbeef || h[FRCTLen] != 0xee {
		t.Errorf("SetFlags clobbered: %x", []byte(h))
	}
}

func TestFRCTTruncated(t *testing.T) {
	full := mustHex(t, frctVectors[0].hex)
	for n := 0; n < FRCTLen; n++ {
		if _, err := ParseFRCT(full[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("ParseFRCT(%d bytes) error = %v, want ErrTruncated", n, err)
		}
		if FRCT(full[:n]).Valid() {
			t.Errorf("Valid(%d bytes) = true", n)
		}
	}
	if _, err := ParseFRCT(nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("ParseFRCT(nil) error = %v", err)
	}
}

func TestFRCTLen(t *testing.T) {
	for _, v := range frctVectors {
		if n := len(v.fields.Append(nil)); n != FRCTLen || n != v.fields.Len() {
			t.Errorf("%s: len(Append(nil)) = %d, Len() = %d, want %d", v.name, n, v.fields.Len(), FRCTLen)
		}
	}
	if n := len(FRCTFields{}.Append(nil)); n != FRCTLen {
		t.Errorf("zero value: len(Append(nil)) = %d", n)
	}
}

func TestFRCTFlagsString(t *testing.T) {
	for _, tc := range []struct {
		f    FRCTFlags
		want string
	}{
		{0, "0"},
		{FRCTData | FRCTDRF | FRCTFC, "DATA|DRF|FC"},
		{FRCTACK | FRCTFC, "ACK|FC"},
		{FRCTRDVS | FRCTFFGM | FRCTMFGM, "RDVS|FFGM|MFGM"},
		{0x80 | FRCTData, "DATA|0x80"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%#x.String() = %q, want %q", uint8(tc.f), got, tc.want)
		}
	}
	if !(FRCTData | FRCTACK).Has(FRCTACK) || FRCTData.Has(FRCTData|FRCTACK) {
		t.Error("Has is wrong")
	}
}

func FuzzFRCT(f *testing.F) {
	for _, v := range frctVectors {
		f.Add(v.fields.Append(nil))
		f.Add(v.fields.Append(mustHex(f, v.hex))) // header followed by more bytes
	}
	f.Add([]byte{})
	f.Add([]byte{0x0b, 0x34})
	f.Fuzz(func(t *testing.T, b []byte) {
		f1, err := ParseFRCT(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) || len(b) >= FRCTLen {
				t.Fatalf("ParseFRCT(%x) = %v", b, err)
			}
			return
		}
		enc := f1.Append(nil)
		if len(enc) != FRCTLen {
			t.Fatalf("len(Append) = %d", len(enc))
		}
		// Every header bit is a field bit, so re-encoding is exact.
		if !bytes.Equal(enc, b[:FRCTLen]) {
			t.Fatalf("Append(Parse(%x)) = %x", b[:FRCTLen], enc)
		}
		f2, err := ParseFRCT(enc)
		if err != nil || f2 != f1 {
			t.Fatalf("parse → append → parse: %+v, %v; want %+v", f2, err, f1)
		}
		if FRCT(b).Fields() != f1 {
			t.Fatalf("view disagrees with ParseFRCT")
		}
	})
}
