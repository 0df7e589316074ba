package wire

import (
	"bytes"
	"errors"
	"testing"
)

// DT PCI vectors: the hand-derived examples of the unicast layer's
// description (requester A 0x11223344, responder B 0x0a0b0c0d, flow EID
// 0x9abcdef0_00000041) and PCIs from the capture.
var dtVectors = []struct {
	name   string
	hex    string
	fields DTFields
}{
	{"FLOW_REQ to B's flow allocator", "0d0c0b0a 00 3c 00 0000000000000000",
		DTFields{Dst: 0x0a0b0c0d, TTL: 60}},
	{"data to A, ECN marked", "44332211 00 3c 02 41000000f0debc9a",
		DTFields{Dst: 0x11223344, TTL: 60, ECN: 2, EID: 0x9abcdef000000041}},
	{"captured frame 26, DHT", "9c6fc4e4 00 3c 00 0100000000000000",
		DTFields{Dst: 0xe4c46f9c, TTL: 60, EID: DTEIDDHT}},
	{"captured frame 33, raw flow", "61b039f4 00 3c 00 42000000b55c996f",
		DTFields{Dst: 0xf439b061, TTL: 60, EID: 0x6f995cb500000042}},
	{"all ones", "ffffffff ff ff ff ffffffffffffffff",
		DTFields{Dst: DTAddrMax, QoS: 0xff, TTL: 0xff, ECN: 0xff, EID: ^uint64(0)}},
	{"voice cube, TTL 1", "01000000 02 01 00 4000000000000000",
		DTFields{Dst: 1, QoS: DTQoSVoice, TTL: 1, EID: DTEIDFirstFlow}},
}

func TestDTVectors(t *testing.T) {
	for _, v := range dtVectors {
		t.Run(v.name, func(t *testing.T) {
			want := mustHex(t, v.hex)
			if len(want) != DTPCILen {
				t.Fatalf("vector is %d bytes", len(want))
			}
			if got := v.fields.Append([]byte{0xaa}); !bytes.Equal(got[1:], want) || got[0] != 0xaa {
				t.Errorf("Append = %x, want aa%x", got, want)
			}
			put := bytes.Repeat([]byte{0x5a}, DTPCILen+3)
			v.fields.Put(put)
			if !bytes.Equal(put[:DTPCILen], want) || !bytes.Equal(put[DTPCILen:], []byte{0x5a, 0x5a, 0x5a}) {
				t.Errorf("Put = %x", put)
			}
			pkt := append(bytes.Clone(want), "sdu"...)
			f, p, err := ParseDT(pkt)
			if err != nil || f != v.fields || string(p) != "sdu" {
				t.Errorf("ParseDT = %+v, %q, %v; want %+v", f, p, err, v.fields)
			}
			h := DT(pkt)
			if !h.Valid() || h.Dst() != v.fields.Dst || h.QoS() != v.fields.QoS || h.TTL() != v.fields.TTL ||
				h.ECN() != v.fields.ECN || h.EID() != v.fields.EID || string(h.Payload()) != "sdu" {
				t.Errorf("view reads %+v", h.Fields())
			}
		})
	}
}

// TestDTSetters changes each field in place and checks that only its bytes
// change: what a forwarding hop does (TTL down, ECN up).
func TestDTSetters(t *testing.T) {
	h := DT(DTFields{Dst: 0x11223344, TTL: 60, EID: 0x9abcdef000000041}.Append(nil))
	h.SetTTL(h.TTL() - 1)
	h.SetECN(h.ECN() | 3)
	h.SetQoS(DTQoSVideo)
	want := mustHex(t, "44332211 01 3b 03 41000000f0debc9a")
	if !bytes.Equal(h, want) {
		t.Fatalf("after setters %x, want %x", []byte(h), want)
	}
	h.SetDst(0x1_0a0b0c0d) // only the low 32 bits fit
	h.SetEID(7)
	if h.Dst() != 0x0a0b0c0d || h.EID() != 7 {
		t.Errorf("Dst %#x EID %d", h.Dst(), h.EID())
	}
}

func TestDTTruncated(t *testing.T) {
	b := DTFields{Dst: 5, TTL: 60, EID: 64}.Append(nil)
	for n := range DTPCILen {
		if DT(b[:n]).Valid() {
			t.Errorf("Valid with %d bytes", n)
		}
		if f, p, err := ParseDT(b[:n]); !errors.Is(err, ErrTruncated) || f != (DTFields{}) || p != nil {
			t.Errorf("ParseDT(%d bytes) = %+v, %x, %v", n, f, p, err)
		}
	}
	if _, p, err := ParseDT(b); err != nil || len(p) != 0 {
		t.Errorf("ParseDT(bare PCI) = %x, %v", p, err)
	}
	if (DTFields{}).Len() != 15 {
		t.Error("Len != 15")
	}
}

func FuzzParseDT(f *testing.F) {
	for _, v := range dtVectors {
		f.Add(append(mustHex(f, v.hex), 1, 2, 3))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		pci, p, err := ParseDT(b)
		if err != nil {
			if len(b) >= DTPCILen || !errors.Is(err, ErrTruncated) {
				t.Fatalf("ParseDT(%x): %v", b, err)
			}
			return
		}
		if pci.Dst > DTAddrMax || len(p) != len(b)-DTPCILen {
			t.Fatalf("ParseDT(%x) = %+v, %d-byte payload", b, pci, len(p))
		}
		if enc := append(pci.Append(nil), p...); !bytes.Equal(enc, b) {
			t.Fatalf("re-encode %x = %x", b, enc)
		}
		if DT(b).Fields() != pci {
			t.Fatal("view and ParseDT disagree")
		}
	})
}

// BenchmarkDTParse reads a PCI the way a forwarding hop does: check, read
// the destination, decrement the TTL, OR in the ECN, read the EID.
func BenchmarkDTParse(b *testing.B) {
	pkt := append(DTFields{Dst: 0x11223344, TTL: 60, EID: 0x9abcdef000000041}.Append(nil), make([]byte, 64)...)
	b.ReportAllocs()
	var sum uint64
	for b.Loop() {
		h := DT(pkt)
		if !h.Valid() {
			b.Fatal("invalid")
		}
		sum += h.Dst()
		h.SetTTL(h.TTL() - 1)
		h.SetECN(h.ECN() | 1)
		sum += h.EID()
		h.SetTTL(60)
	}
	_ = sum
}

// BenchmarkDTPut writes a PCI into a packet's headroom, the sender's path.
func BenchmarkDTPut(b *testing.B) {
	pkt := make([]byte, DTPCILen+64)
	f := DTFields{Dst: 0x11223344, TTL: 60, EID: 0x9abcdef000000041}
	b.ReportAllocs()
	for b.Loop() {
		f.Put(pkt)
	}
}
