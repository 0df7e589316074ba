package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

func TestParseArgs(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tt := range []struct {
		args []string
		want config
		msg  string // the first line printed; "" for a valid command line
		code int
	}{
		{args: []string{"-i", "10.0.0.1", "-m", "255.255.255.0"}, want: config{ip: ip("10.0.0.1"), mask: ip("255.255.255.0"), mtu: 1400}},
		{args: []string{"--ip=10.0.0.1", "--mask", "255.0.0.0", "--name", "vpn", "-M", "1280", "-t", "5"},
			want: config{ip: ip("10.0.0.1"), mask: ip("255.0.0.0"), name: "vpn", mtu: 1280, mtuSet: true, timeout: 5}},
		{args: []string{"-i", "10.0.0.1", "-m", "255.255.255.255"}, want: config{ip: ip("10.0.0.1"), mask: ip("255.255.255.255"), mtu: 1400}},
		{args: []string{"-i", "10.0.0.1", "-m", "0.0.0.0"}, want: config{ip: ip("10.0.0.1"), mask: ip("0.0.0.0"), mtu: 1400}},
		{args: []string{"-h"}, code: 0, msg: "Usage: ovpn [OPTION]..."},
		{args: []string{"-i", "10.0.0.300", "-m", "255.0.0.0"}, code: 1, msg: "Invalid IP address: 10.0.0.300."},
		{args: []string{"-i", "fd00::1", "-m", "255.0.0.0"}, code: 1, msg: "Invalid IP address: fd00::1."},
		{args: []string{"-i", "10.0.0.1", "-m", "255.0.255.0"}, code: 1, msg: "Invalid subnet mask: 255.0.255.0."},
		{args: []string{"-m", "255.0.0.0"}, code: 1, msg: "Please specify an IP address."},
		{args: []string{"-i", "0.0.0.0", "-m", "255.0.0.0"}, code: 1, msg: "Please specify an IP address."},
		{args: []string{"-i", "10.0.0.1"}, code: 1, msg: "Please specify a subnetmask."},
		{args: []string{"-i", "10.0.0.1", "-m", "255.0.0.0", "x", "y"}, code: 1, msg: "Unknown arguments specified: x y "},
		{args: []string{"-C"}, code: 1, msg: `ovpn: unknown option "-C".`},
		{args: []string{"-i"}, code: 1, msg: "ovpn: option -i needs a value."},
		{args: []string{"-i", "10.0.0.1", "-m", "255.0.0.0", "-M", "40"}, code: 1, msg: `ovpn: invalid value "40" for -M: want bytes from 68 to 65535.`},
		{args: []string{"-i", "10.0.0.1", "-m", "255.0.0.0", "-t", "0"}, code: 1, msg: `ovpn: invalid value "0" for -t: want seconds from 1 to 86400.`},
	} {
		cfg, err := parseArgs(tt.args)
		if tt.msg == "" {
			if err != nil || cfg != tt.want {
				t.Errorf("parseArgs(%q) = %+v, %v; want %+v", tt.args, cfg, err, tt.want)
			}
			continue
		}
		var out bytes.Buffer
		if code := run(tt.args, &out); code != tt.code {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
		}
		if first, _, _ := strings.Cut(out.String(), "\n"); first != tt.msg {
			t.Errorf("run(%q) printed %q, want first line %q", tt.args, out.String(), tt.msg)
		}
		if !strings.HasSuffix(out.String(), usageText) && tt.code != 0 && !strings.HasPrefix(tt.msg, "ovpn: invalid value") {
			t.Errorf("run(%q) printed no usage:\n%s", tt.args, out.String())
		}
	}
}

func TestContiguous(t *testing.T) {
	for s, want := range map[string]bool{
		"0.0.0.0": true, "128.0.0.0": true, "255.255.255.0": true, "255.255.255.254": true,
		"255.255.255.255": true, "0.0.0.1": false, "255.0.255.0": false, "254.255.255.255": false,
	} {
		if got := contiguous(netip.MustParseAddr(s)); got != want {
			t.Errorf("contiguous(%s) = %v", s, got)
		}
	}
}

// ipv4 is an IPv4 packet of n bytes (header of 20) whose total length says n.
func ipv4(n int) []byte {
	p := make([]byte, n)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(n))
	return p
}

func ipv6(payload int) []byte {
	p := make([]byte, 40+payload)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(payload))
	return p
}

func TestIPPacket(t *testing.T) {
	padded := append(ipv4(28), 0, 0, 0, 0)
	for _, tt := range []struct {
		name string
		p    []byte
		want int // length returned; -1 for an error
	}{
		{"ipv4", ipv4(84), 84},
		{"ipv4 padded", padded, 28},
		{"ipv6", ipv6(64), 104},
		{"ipv6 padded", append(ipv6(8), 1, 2), 48},
		{"empty", nil, -1},
		{"ipv4 short", ipv4(84)[:19], -1},
		{"ipv4 truncated", ipv4(84)[:60], -1},
		{"ipv4 ihl 4", func() []byte { p := ipv4(40); p[0] = 0x44; return p }(), -1},
		{"ipv4 total < ihl", func() []byte { p := ipv4(40); p[0] = 0x46; binary.BigEndian.PutUint16(p[2:], 20); return p }(), -1},
		{"ipv6 short", ipv6(0)[:39], -1},
		{"ipv6 truncated", ipv6(100)[:100], -1},
		{"version 5", []byte{0x50, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, -1},
	} {
		got, err := ipPacket(tt.p)
		if tt.want < 0 {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
			}
			continue
		}
		if err != nil || len(got) != tt.want {
			t.Errorf("%s: %d bytes, %v; want %d", tt.name, len(got), err, tt.want)
		}
	}
}

func FuzzIPPacket(f *testing.F) {
	f.Add(ipv4(20))
	f.Add(ipv6(8))
	f.Add([]byte{0x4f})
	f.Fuzz(func(t *testing.T, p []byte) {
		got, err := ipPacket(p)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > len(p) || !bytes.Equal(got, p[:len(got)]) {
			t.Fatalf("ipPacket(%x) = %x", p, got)
		}
		switch got[0] >> 4 {
		case 4:
			if len(got) < 20 || int(binary.BigEndian.Uint16(got[2:])) != len(got) {
				t.Fatalf("IPv4 %x", got)
			}
		case 6:
			if len(got) < 40 || int(binary.BigEndian.Uint16(got[4:]))+40 != len(got) {
				t.Fatalf("IPv6 %x", got)
			}
		default:
			t.Fatalf("version %d accepted", got[0]>>4)
		}
	})
}

// fakeIO is a packet source and sink: Read returns the queued packets, then
// blocks until Close (net.ErrClosed) or, with downAfter, fails with
// EFLOWDOWN once they are read; Write records.
type fakeIO struct {
	mu        sync.Mutex
	in        [][]byte
	written   [][]byte
	downAfter bool
	done      chan struct{}
	once      sync.Once
}

func newFake(down bool, pkts ...[]byte) *fakeIO {
	return &fakeIO{in: pkts, downAfter: down, done: make(chan struct{})}
}

func (f *fakeIO) Read(p []byte) (int, error) {
	f.mu.Lock()
	if len(f.in) > 0 {
		n := copy(p, f.in[0])
		f.in = f.in[1:]
		f.mu.Unlock()
		return n, nil
	}
	f.mu.Unlock()
	if f.downAfter {
		return 0, &net.OpError{Op: "read", Err: flow.EFLOWDOWN}
	}
	<-f.done
	return 0, net.ErrClosed
}

func (f *fakeIO) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written = append(f.written, bytes.Clone(p))
	return len(p), nil
}

func (f *fakeIO) Close() error { f.once.Do(func() { close(f.done) }); return nil }

func (f *fakeIO) got() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written
}

// TestTunnelDrops: a packet from the device longer than the MTU is dropped
// and logged, never sent; a malformed message from the flow never reaches
// the device; the flow going down ends the tunnel with status 1.
func TestTunnelDrops(t *testing.T) {
	dev := newFake(false, ipv4(100), ipv4(1401), ipv4(1400))
	fl := newFake(true, ipv4(60), []byte("junk"), ipv6(10))
	var log, out bytes.Buffer
	tn := &tunnel{flow: fl, dev: dev, name: "tun9", mtu: 1400, log: &log}
	if code := tn.run(context.Background(), &out); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "Flow ended: the peer left or died.\nShutting down...\n") {
		t.Errorf("output:\n%s", out.String())
	}
	for _, p := range fl.got() {
		if len(p) > 1400 {
			t.Errorf("sent a packet of %d bytes", len(p))
		}
	}
	got := dev.got()
	if len(got) != 2 || len(got[0]) != 60 || len(got[1]) != 50 {
		t.Errorf("device got %d packets: %v", len(got), got)
	}
	if tn.malformed.Load() != 1 || tn.received.Load() != 2 {
		t.Errorf("malformed %d, received %d", tn.malformed.Load(), tn.received.Load())
	}
	if !strings.Contains(log.String(), "ovpn: dropped a message from the flow: IPv6 packet of 4 bytes, shorter than a header (1 so far)\n") {
		t.Errorf("log:\n%s", log.String())
	}
}

// TestTunnelOversize: with the flow up, the device's packets longer than
// the MTU are dropped and logged; the others are sent; a signal (the
// context) ends the tunnel with status 0.
func TestTunnelOversize(t *testing.T) {
	dev := newFake(false, ipv4(100), ipv4(1401), ipv4(9000), ipv4(1400))
	fl := newFake(false)
	var log, out bytes.Buffer
	tn := &tunnel{flow: fl, dev: dev, name: "tun9", mtu: 1400, log: &log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- tn.run(ctx, &out) }()
	for deadline := time.Now().Add(20 * time.Second); tn.sent.Load()+tn.oversize.Load() < 4; {
		if time.Now().After(deadline) {
			t.Fatal("packets not handled")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	var lens []int
	for _, p := range fl.got() {
		lens = append(lens, len(p))
	}
	if len(lens) != 2 || lens[0] != 100 || lens[1] != 1400 {
		t.Errorf("sent %v, want [100 1400]", lens)
	}
	want := "ovpn: dropped a packet of 1401 bytes from tun9: longer than the MTU of 1400 bytes (1 so far)\n" +
		"ovpn: dropped a packet of 9000 bytes from tun9: longer than the MTU of 1400 bytes (2 so far)\n"
	if log.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", log.String(), want)
	}
}

// TestDeviceMTU: the default MTU is lowered to what the flow carries (an
// eth-dix layer's 1,496 bytes, less a unicast layer's DT header), never
// raised; an MTU given with -M is kept, with a warning when the flow
// carries less.
func TestDeviceMTU(t *testing.T) {
	for _, tt := range []struct {
		cfg     config
		flowMax int
		want    int
		note    string
	}{
		{config{mtu: 1400}, 65535, 1400, ""},
		{config{mtu: 1400}, 1400, 1400, ""},
		{config{mtu: 1400}, 1366, 1366, "The flow carries packets of at most 1366 bytes: MTU 1366."},
		{config{mtu: 1500, mtuSet: true}, 1481, 1500, "Warning: the flow carries packets of at most 1481 bytes; longer ones will be dropped (MTU 1500)."},
		{config{mtu: 1280, mtuSet: true}, 1481, 1280, ""},
		{config{mtu: 1400}, 40, 1400, "Warning: the flow carries packets of at most 40 bytes, under the smallest MTU (68); longer ones will be dropped (MTU 1400)."},
	} {
		mtu, note := deviceMTU(tt.cfg, tt.flowMax)
		if mtu != tt.want || note != tt.note {
			t.Errorf("deviceMTU(%+v, %d) = %d %q, want %d %q", tt.cfg, tt.flowMax, mtu, note, tt.want, tt.note)
		}
	}
}
