package main

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestHeaderPut(t *testing.T) {
	b := make([]byte, 64)
	header{Type: typeReply, ID: 0x01020304, Sec: 0x1122334455667788, Nsec: 999999999}.put(b)
	want := "00000001" + "01020304" + // type, id: big-endian
		"8877665544332211" + // tv_sec: little-endian
		"ffc99a3b00000000" // tv_nsec 999999999 = 0x3b9ac9ff: little-endian
	if got := hex.EncodeToString(b[:headerLen]); got != want {
		t.Errorf("header bytes = %s, want %s", got, want)
	}
	if !bytes.Equal(b[headerLen:], make([]byte, 64-headerLen)) {
		t.Error("put wrote past the header")
	}
}

func TestParseHeader(t *testing.T) {
	raw, _ := hex.DecodeString("00000001" + "0000002a" + "0500000000000000" + "40e2010000000000" + "00000000")
	h, ok := parseHeader(raw)
	want := header{Type: 1, ID: 42, Sec: 5, Nsec: 123456}
	if !ok || h != want {
		t.Errorf("parseHeader = %+v, %v; want %+v, true", h, ok, want)
	}
	for _, n := range []int{0, 1, 4, 23} {
		if _, ok := parseHeader(raw[:n]); ok {
			t.Errorf("parseHeader of %d bytes succeeded", n)
		}
	}
	if _, ok := parseHeader(raw[:24]); !ok {
		t.Error("parseHeader of exactly 24 bytes failed")
	}
}

func TestMarkReply(t *testing.T) {
	tests := []struct {
		in, out string // hex
		ok      bool
	}{
		{"00000000" + "00000007" + "aabbccdd", "00000001" + "00000007" + "aabbccdd", true},
		{"00000000", "00000001", true}, // the server reads only the type
		{"00000001" + "00000007", "00000001" + "00000007", false},
		{"01000000" + "00000007", "01000000" + "00000007", false}, // type is big-endian: this is 1<<24
		{"000000", "000000", false},
		{"", "", false},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.in)
		ok := markReply(b)
		if ok != tt.ok || hex.EncodeToString(b) != tt.out {
			t.Errorf("markReply(%s) = %v, %x; want %v, %s", tt.in, ok, b, tt.ok, tt.out)
		}
	}
}

func TestRTTMs(t *testing.T) {
	tests := []struct {
		sentSec, sentNsec, nowSec, nowNsec uint64
		want                               float64
	}{
		{0, 0, 0, 475000, 0.475},
		{10, 0, 13, 1011000, 3001.011},
		{1, 999999999, 2, 0, 0.001},  // 1999999 µs to 2000000 µs
		{7, 1999, 7, 2999, 0.001},    // each instant is truncated to µs first
		{7, 1001, 7, 1999, 0},        // same microsecond
		{7, 999, 7, 1000, 0.001},     // 0 µs to 1 µs
		{5, 0, 4, 999000000, -1},     // a garbage timestamp from the future
		{0, 0, 100000, 0, 100000000}, // 100000 s
	}
	for _, tt := range tests {
		got := rttMs(tt.sentSec, tt.sentNsec, tt.nowSec, tt.nowNsec)
		if d := got - tt.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("rttMs(%d.%09d -> %d.%09d) = %v, want %v", tt.sentSec, tt.sentNsec, tt.nowSec, tt.nowNsec, got, tt.want)
		}
	}
}

func TestMonoNow(t *testing.T) {
	s1, n1 := monoNow()
	s2, n2 := monoNow()
	if n1 >= 1e9 || n2 >= 1e9 {
		t.Fatalf("nanoseconds out of range: %d, %d", n1, n2)
	}
	if s2 < s1 || (s2 == s1 && n2 < n1) {
		t.Errorf("CLOCK_MONOTONIC went back: %d.%09d then %d.%09d", s1, n1, s2, n2)
	}
}

// FuzzParseHeader feeds arbitrary replies to the code that handles what comes
// back from the network: parsing must not panic, must round-trip, and the
// server's rewrite must touch only the type.
func FuzzParseHeader(f *testing.F) {
	req := make([]byte, 64)
	header{Type: typeRequest, ID: 3, Sec: 12, Nsec: 345}.put(req)
	f.Add(req)
	f.Add(req[:headerLen])
	f.Add(req[:23])
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, maxSize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parseHeader(b)
		if ok != (len(b) >= headerLen) {
			t.Fatalf("parseHeader(%d bytes) ok = %v", len(b), ok)
		}
		if ok {
			again := make([]byte, headerLen)
			h.put(again)
			if !bytes.Equal(again, b[:headerLen]) {
				t.Fatalf("round trip: %x -> %+v -> %x", b[:headerLen], h, again)
			}
			_ = rttMs(h.Sec, h.Nsec, 1, 2)
		}
		c := bytes.Clone(b)
		if markReply(c) {
			if h2, ok := parseHeader(c); ok && (h2.Type != typeReply || h2.ID != h.ID || h2.Sec != h.Sec || h2.Nsec != h.Nsec) {
				t.Fatalf("markReply changed more than the type: %+v -> %+v", h, h2)
			}
			if !bytes.Equal(c[4:], b[4:]) || len(c) != len(b) {
				t.Fatal("markReply changed bytes after the type")
			}
		} else if !bytes.Equal(c, b) {
			t.Fatal("markReply changed a non-request")
		}
	})
}
