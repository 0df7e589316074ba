package udp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

// TestRawSock: datagrams sent by the raw calls arrive whole at the
// address given, and the raw receive gives the sender's address and port;
// over IPv4 and, where the host has it, IPv6. An address the raw call does
// not build (an IPv6 zone on an IPv4 socket) is left to the caller, and a
// closed socket reads as closed.
func TestRawSock(t *testing.T) {
	for _, c := range []struct {
		name string
		addr string
	}{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(c.name, func(t *testing.T) {
			la, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(c.addr)))
			if err != nil {
				t.Skipf("no %s on loopback here: %v", c.name, err)
			}
			defer la.Close()
			lb, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(c.addr)))
			if err != nil {
				t.Fatal(err)
			}
			defer lb.Close()
			ra, rb := newRawSock(la), newRawSock(lb)
			if ra == nil || rb == nil {
				t.Fatal("no raw calls for a UDP socket")
			}
			if ra.v6 != (c.name == "udp6") {
				t.Fatalf("socket family v6=%v", ra.v6)
			}
			from := la.LocalAddr().(*net.UDPAddr).AddrPort()
			to := lb.LocalAddr().(*net.UDPAddr).AddrPort()
			for _, msg := range [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{0xa5}, 9000)} {
				ok, err := ra.sendTo(msg, to)
				if !ok || err != nil {
					t.Fatalf("sendTo: ok %v, %v", ok, err)
				}
				buf := make([]byte, 65536)
				n, src, err := rb.recvFrom(buf)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:n], msg) {
					t.Fatalf("got %d bytes, sent %d", n, len(msg))
				}
				if src.Addr().Unmap() != from.Addr().Unmap() || src.Port() != from.Port() {
					t.Fatalf("source %v, want %v", src, from)
				}
			}
			if !ra.v6 {
				if ok, _ := ra.sendTo([]byte("x"), netip.MustParseAddrPort("[fe80::1%lo]:9")); ok {
					t.Error("an IPv6 zone address sent from an IPv4 socket")
				}
			}
			lb.Close()
			if _, _, err := rb.recvFrom(make([]byte, 16)); !errClosed(err) {
				t.Errorf("read of a closed socket: %v", err)
			}
		})
	}
}
