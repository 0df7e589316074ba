package frct

import "testing"

func TestSeqOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b   Seq
		before bool
	}{
		{0, 1, true},
		{1, 0, false},
		{5, 5, false},
		{0xffffffff, 0, true}, // wrap
		{0, 0xffffffff, false},
		{0xfffffff0, 0x10, true},
		{0x7fffffff, 0, false},
		{0, 0x7fffffff, true},
		{0x80000000, 0, true}, // distance exactly 2^31: int32 is negative
		{0, 0x80000000, true}, // ... in both directions
	} {
		if got := tc.a.Before(tc.b); got != tc.before {
			t.Errorf("%#x.Before(%#x) = %v, want %v", tc.a, tc.b, got, tc.before)
		}
		if got := tc.b.After(tc.a); got != tc.before {
			t.Errorf("%#x.After(%#x) = %v, want %v", tc.b, tc.a, got, tc.before)
		}
	}
}

func TestSeqAdd(t *testing.T) {
	for _, tc := range []struct {
		s    Seq
		n    uint32
		want Seq
	}{
		{0, 64, 64},
		{0xffffffc0, 64, 0},
		{0xebac3780, 257, 0xebac3881},
		{0xffffffff, 0xffffffff, 0xfffffffe},
	} {
		if got := tc.s.Add(tc.n); got != tc.want {
			t.Errorf("%#x.Add(%d) = %#x, want %#x", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestSeqInWindow(t *testing.T) {
	for _, tc := range []struct {
		s, lwe, rwe Seq
		want        bool
	}{
		{10, 10, 20, true}, // left edge inclusive
		{19, 10, 20, true},
		{20, 10, 20, false}, // right edge exclusive
		{9, 10, 20, false},
		{10, 10, 10, false},                  // empty window
		{0xffffffff, 0xfffffff0, 0x10, true}, // window straddling 2^32
		{0, 0xfffffff0, 0x10, true},
		{0xf, 0xfffffff0, 0x10, true},
		{0x10, 0xfffffff0, 0x10, false},
		{0xffffffef, 0xfffffff0, 0x10, false},
	} {
		if got := tc.s.InWindow(tc.lwe, tc.rwe); got != tc.want {
			t.Errorf("%#x.InWindow(%#x, %#x) = %v, want %v", tc.s, tc.lwe, tc.rwe, got, tc.want)
		}
	}
}

func TestSeqReconstruct24(t *testing.T) {
	for _, tc := range []struct {
		name string
		cur  Seq    // current send right edge
		low  uint32 // 24 bits from the header
		want Seq
	}{
		{"same value", 0x12345678, 0x345678, 0x12345678},
		{"small step forward", 0x12345678, 0x345680, 0x12345680},
		{"small step backward is kept (F7)", 0x12345678, 0x345600, 0x12345600},
		{"upper bits of low ignored", 0x12345678, 0xff345680, 0x12345680},
		{"24-bit wrap forward", 0x12fffff0, 0x000010, 0x13000010},
		{"before by exactly 0x7fffff: no carry", 0x12800000, 0x000001, 0x12000001},
		{"before by 0x800000: carry", 0x12800000, 0x000000, 0x13000000},
		{"32-bit wrap", 0xfffffff0, 0x000010, 0x00000010},
		{"32-bit wrap to zero", 0xffffffc0, 0x000000, 0x00000000},
		// A result after the reference is never moved down, even when it is
		// almost 2^24 ahead: the rule only corrects forward wrap.
		{"far ahead is not corrected", 0x12000010, 0xfffff0, 0x12fffff0},
		{"zero reference", 0, 0xffffff, 0x00ffffff},
		// Live reference traffic: server edge ISN+64 = 0x24d4475d, client
		// sends FC window 000000; the edge moves to 0x25000000.
		{"reference rollover", 0x24d4471d + 64, 0x000000, 0x25000000},
		// internal/wire/testdata/udp-uni.pcapng frame 42: client edge
		// ISN+64 with ISN 0xebac3780, server advertises 0xac3881 (client
		// seqno + 257).
		{"captures frame 42", 0xebac3780 + 64, 0xac3881, 0xebac3881},
		// frame 43: server edge 0x0f0f333e+64, client advertises 0x0f343f.
		{"captures frame 43", 0x0f0f333e + 64, 0x0f343f, 0x0f0f343f},
		// frame 48: client edge already 0xebac3881, server advertises 0xac3883.
		{"captures frame 48", 0xebac3881, 0xac3883, 0xebac3883},
	} {
		if got := tc.cur.Reconstruct24(tc.low); got != tc.want {
			t.Errorf("%s: %#x.Reconstruct24(%#x) = %#x, want %#x", tc.name, tc.cur, tc.low, got, tc.want)
		}
	}
}

// The reconstructed edge always carries the received 24 bits and lies within
// (s - 2^23, s + 2^24) of the reference.
func FuzzSeqReconstruct24(f *testing.F) {
	f.Add(uint32(0x24d4475d), uint32(0))
	f.Add(uint32(0xfffffff0), uint32(0x10))
	f.Fuzz(func(t *testing.T, cur, low uint32) {
		s := Seq(cur)
		r := s.Reconstruct24(low)
		if uint32(r)&0xffffff != low&0xffffff {
			t.Fatalf("low bits lost: %#x -> %#x", low, r)
		}
		if d := int64(int32(r - s)); d <= -(1<<23) || d >= 1<<24 {
			t.Fatalf("%#x.Reconstruct24(%#x) = %#x, distance %d", s, low, r, d)
		}
	})
}
