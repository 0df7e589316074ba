package addr

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestFlat(t *testing.T) {
	// Zero draws are skipped; the address is the next draw, big-endian.
	r := bytes.NewReader([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xf4, 0x39, 0xb0, 0x61})
	a, err := New(FlatRandom, 4, r)
	if err != nil || a != 0xf439b061 {
		t.Fatalf("New = %#x, %v", a, err)
	}
	for range 1000 {
		a, err := New(FlatRandom, 4, nil)
		if err != nil || a == Invalid || a > 0xffffffff {
			t.Fatalf("New = %#x, %v", a, err)
		}
	}
}

func TestFlatErrors(t *testing.T) {
	for _, size := range []int{0, 1, 2, 8} {
		if _, err := New(FlatRandom, size, nil); !errors.Is(err, ErrAddrSize) {
			t.Errorf("address size %d: %v", size, err)
		}
	}
	if _, err := New(1, 4, nil); !errors.Is(err, ErrPolicy) {
		t.Errorf("policy 1: %v", err)
	}
	if _, err := New(FlatRandom, 4, bytes.NewReader(make([]byte, 1000))); !errors.Is(err, ErrRandom) {
		t.Errorf("all-zero source: %v", err)
	}
	if _, err := New(FlatRandom, 4, iotest.ErrReader(io.ErrClosedPipe)); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("failing source: %v", err)
	}
	if _, err := New(FlatRandom, 4, bytes.NewReader([]byte{1, 2})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: %v", err)
	}
}

func TestFormat(t *testing.T) {
	for a, want := range map[uint64]string{
		0x0a0b0c0d:          "0d.0c.0b.0a",
		0xf439b061:          "61.b0.39.f4",
		0:                   "00.00.00.00",
		0xffffffff_01020304: "04.03.02.01",
	} {
		if got := Format(a); got != want {
			t.Errorf("Format(%#x) = %q, want %q", a, got, want)
		}
	}
}
