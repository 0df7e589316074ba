package connmgr

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

// The OCEP messages of the reference's unicast layer capture (uni2
// 0xf439b061 enrolling through and connecting to uni1 0xe4c46f9c), and the
// hand-encoded examples of the protocol's description.
var ocepVectors = []struct {
	name string
	hex  string
	info ConnInfo
}{
	{"captured enrollment request", "0a0a456e726f6c6c6d656e7412034f4550180128004000", EnrollInfo()},
	{"captured DT, uni2", "0a0d44617461205472616e7366657212036474701801280240e1e0e6a10f", DTInfo(0xf439b061)},
	{"captured DT, uni1", "0a0d44617461205472616e73666572120364747018012802409cdf91a60e", DTInfo(0xe4c46f9c)},
	{"captured Management, uni2", "0a0a4d616e6167656d656e7412034c53501801280040e1e0e6a10f", MgmtInfo(0xf439b061)},
	{"DT 0x0a0b0c0d", "0a0d44617461205472616e73666572 12 03 647470 18 01 28 02 40 8d98ac50", DTInfo(0x0a0b0c0d)},
	{"unknown component", "0a 00 12 00 18 00 28 00 40 00", ConnInfo{}},
}

func TestOCEPVectors(t *testing.T) {
	for _, v := range ocepVectors {
		want := unhex(t, v.hex)
		got, err := v.info.Marshal()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: Marshal = %x, %v; want %x", v.name, got, err, want)
		}
		c, err := ParseConnInfo(want)
		if err != nil || c != v.info {
			t.Errorf("%s: Parse = %+v, %v", v.name, c, err)
		}
	}
}

func TestOCEPLimits(t *testing.T) {
	long := ConnInfo{Comp: strings.Repeat("c", 100), Protocol: strings.Repeat("p", 30)}
	if _, err := long.Marshal(); !errors.Is(err, ErrOCEPTooLong) {
		t.Errorf("137-byte message: %v", err)
	}
	if _, err := (ConnInfo{Comp: strings.Repeat("c", 129)}).Marshal(); !errors.Is(err, ErrOCEPMalformed) {
		t.Errorf("129-byte name: %v", err)
	}
	if _, err := (ConnInfo{Syntax: -1}).Marshal(); !errors.Is(err, ErrOCEPMalformed) {
		t.Errorf("negative syntax: %v", err)
	}
	if _, err := ParseConnInfo(make([]byte, 129)); !errors.Is(err, ErrOCEPTooLong) {
		t.Errorf("129-byte input: %v", err)
	}
	for _, h := range []string{
		"0a 00 12 00 18 00 28 00",    // no address
		"0a 05 41",                   // truncated
		"0a 00 12 00 18 00 28 00 40", // truncated varint
	} {
		if _, err := ParseConnInfo(unhex(t, h)); !errors.Is(err, ErrOCEPMalformed) {
			t.Errorf("%s: %v", h, err)
		}
	}
}

func TestCompatible(t *testing.T) {
	me := DTInfo(1)
	if err := me.Compatible(DTInfo(2)); err != nil {
		t.Errorf("DT with DT: %v", err)
	}
	for _, peer := range []ConnInfo{{}, MgmtInfo(2), {Comp: CompDT, Protocol: "dtp", Version: 2, Syntax: SyntaxFixed}} {
		if err := me.Compatible(peer); !errors.Is(err, ErrIncompatible) {
			t.Errorf("DT with %+v: %v", peer, err)
		}
	}
	// The component name is not checked.
	if err := EnrollInfo().Compatible(ConnInfo{Comp: "x", Protocol: "OEP", Version: 1}); err != nil {
		t.Error(err)
	}
}

func FuzzParseConnInfo(f *testing.F) {
	for _, v := range ocepVectors {
		f.Add(unhex(f, v.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConnInfo(b)
		if err != nil {
			return
		}
		if c.Syntax < 0 {
			return // accepted from a peer, but we never send one
		}
		enc, err := c.Marshal()
		if err != nil {
			t.Fatalf("parsed %x as %+v, which does not marshal: %v", b, c, err)
		}
		if c2, err := ParseConnInfo(enc); err != nil || c2 != c {
			t.Fatalf("round trip %+v -> %+v, %v", c, c2, err)
		}
	})
}
