package main

import (
	"bytes"
	"testing"
	"time"
)

func TestConfigMsg(t *testing.T) {
	// Little-endian, as a C peer on x86 or arm64 sends and expects them.
	if got := configMsg(testUni); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Errorf("uni config = % x", got)
	}
	if got := configMsg(testBi); !bytes.Equal(got, []byte{1, 0, 0, 0}) {
		t.Errorf("bi config = % x", got)
	}
	if got := configMsg(0x01020304); !bytes.Equal(got, []byte{4, 3, 2, 1}) {
		t.Errorf("config 0x01020304 = % x", got)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		in   []byte
		test uint32
		ok   bool
	}{
		{[]byte{0, 0, 0, 0}, testUni, true},
		{[]byte{1, 0, 0, 0}, testBi, true},
		{[]byte{2, 0, 0, 0}, 2, true},
		{[]byte{0, 0, 0, 1}, 1 << 24, true},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 0xffffffff, true},
		{nil, 0, false},
		{[]byte{1, 0, 0}, 0, false},
		{[]byte{1, 0, 0, 0, 0}, 0, false},
		{make([]byte, 1500), 0, false}, // a data packet is not a configuration
	}
	for _, tt := range tests {
		test, ok := parseConfig(tt.in)
		if test != tt.test || ok != tt.ok {
			t.Errorf("parseConfig(% x) = %d, %v; want %d, %v", tt.in, test, ok, tt.test, tt.ok)
		}
	}
}

func TestPacketID(t *testing.T) {
	pkt := make([]byte, 64)
	putID(pkt, 258)
	if !bytes.Equal(pkt[:4], []byte{2, 1, 0, 0}) || !bytes.Equal(pkt[4:], make([]byte, 60)) {
		t.Errorf("packet with id 258 = % x", pkt[:8])
	}
	tests := []struct {
		in []byte
		id int32
	}{
		{pkt, 258},
		{[]byte{0xff, 0xff, 0xff, 0xff, 9}, -1}, // printed signed, as the reference
		{[]byte{0, 0, 0, 0x80}, -2147483648},
		{[]byte{7}, 7}, // short: the missing bytes are zero
		{nil, 0},
	}
	for _, tt := range tests {
		if id := packetID(tt.in); id != tt.id {
			t.Errorf("packetID(% x) = %d, want %d", tt.in, id, tt.id)
		}
	}
}

// FuzzParseConfig feeds arbitrary messages to the code that reads what comes
// from the network: the configuration parser, the id of a data packet, and a
// server session given the message first as its configuration and then as a
// data packet. Nothing may panic; a configuration is exactly 4 bytes and
// round-trips; an echo is the message itself.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{})
	f.Add(make([]byte, 1500))
	f.Fuzz(func(t *testing.T, b []byte) {
		test, ok := parseConfig(b)
		if ok != (len(b) == configLen) {
			t.Fatalf("parseConfig(%d bytes) ok = %v", len(b), ok)
		}
		if ok && !bytes.Equal(configMsg(test), b) {
			t.Fatalf("round trip: % x -> %d -> % x", b, test, configMsg(test))
		}
		_ = packetID(b)
		_ = testName(test)

		for _, conf := range [][]byte{configMsg(testUni), configMsg(testBi), b} {
			w := &msgRW{}
			var out bytes.Buffer
			s := &session{f: w, fd: 64}
			now := time.Unix(1700000000, 0)
			if end := s.handle(conf, now, newPrinter(&out)); end != "" {
				if end != endInvalid || len(conf) == configLen {
					t.Fatalf("config % x: end %q", conf, end)
				}
				continue
			}
			if end := s.handle(b, now, newPrinter(&out)); end != "" {
				t.Fatalf("data after config % x: end %q", conf, end)
			}
			if s.packets != 1 || s.bytes != uint64(len(b)) {
				t.Fatalf("counted %d packets, %d bytes", s.packets, s.bytes)
			}
			if s.test == testBi && (len(w.written) != 1 || !bytes.Equal(w.written[0], b)) {
				t.Fatalf("echo of % x: % x", b, w.written)
			}
			if s.test != testBi && len(w.written) != 0 {
				t.Fatalf("test %d wrote % x", s.test, w.written)
			}
		}
	})
}
