package main

import (
	"encoding/binary"
	"fmt"
)

// ipPacket checks that p, as read from the flow, is one IP packet and
// returns it cut to the length its header declares (a layer may pad). Only
// what the kernel needs to be handed a sane packet is checked: the version,
// the IPv4 header length (IHL, 32-bit words, at least 5) and total length,
// and the IPv6 payload length (bytes after the 40-byte fixed header). All
// header fields are in network byte order.
func ipPacket(p []byte) ([]byte, error) {
	if len(p) == 0 {
		return nil, fmt.Errorf("empty packet")
	}
	switch v := p[0] >> 4; v {
	case 4:
		if len(p) < 20 {
			return nil, fmt.Errorf("IPv4 packet of %d bytes, shorter than a header", len(p))
		}
		ihl := int(p[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(p[2:4]))
		if ihl < 20 || total < ihl || total > len(p) {
			return nil, fmt.Errorf("IPv4 packet of %d bytes with header length %d and total length %d", len(p), ihl, total)
		}
		return p[:total], nil
	case 6:
		if len(p) < 40 {
			return nil, fmt.Errorf("IPv6 packet of %d bytes, shorter than a header", len(p))
		}
		total := 40 + int(binary.BigEndian.Uint16(p[4:6]))
		if total > len(p) {
			return nil, fmt.Errorf("IPv6 packet of %d bytes with payload length %d", len(p), total-40)
		}
		return p[:total], nil
	default:
		return nil, fmt.Errorf("packet of %d bytes with IP version %d", len(p), v)
	}
}
