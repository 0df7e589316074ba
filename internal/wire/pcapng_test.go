package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
)

// readPcapngUDP returns the UDP payload of every packet in a little-endian
// pcapng file of Ethernet (link type 1) frames carrying IPv4/UDP, indexed by
// frame number from 1 (index 0 is nil). Packets that are not IPv4/UDP give a
// nil entry. It reads only what the captures of this package need: section
// header, interface description and enhanced packet blocks.
func readPcapngUDP(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	frames := [][]byte{nil}
	for len(b) > 0 {
		if len(b) < 12 {
			return nil, errors.New("pcapng: short block")
		}
		typ, n := le.Uint32(b), int(le.Uint32(b[4:]))
		if n < 12 || n > len(b) || n%4 != 0 {
			return nil, fmt.Errorf("pcapng: bad block length %d", n)
		}
		body := b[8 : n-4]
		switch typ {
		case 0x0a0d0d0a: // section header
			if le.Uint32(body) != 0x1a2b3c4d {
				return nil, errors.New("pcapng: not little-endian")
			}
		case 1: // interface description
			if lt := le.Uint16(body); lt != 1 {
				return nil, fmt.Errorf("pcapng: link type %d, want Ethernet", lt)
			}
		case 6: // enhanced packet
			capLen := int(le.Uint32(body[12:]))
			if 20+capLen > len(body) {
				return nil, errors.New("pcapng: packet beyond its block")
			}
			frames = append(frames, udpPayload(body[20:20+capLen]))
		}
		b = b[n:]
	}
	return frames, nil
}

// udpPayload returns the UDP payload of an Ethernet/IPv4/UDP frame, or nil.
func udpPayload(f []byte) []byte {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return nil
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != 17 || len(ip) < ihl+8 {
		return nil
	}
	udp := ip[ihl:]
	n := int(binary.BigEndian.Uint16(udp[4:]))
	if n < 8 || n > len(udp) {
		return nil
	}
	return udp[8:n]
}

// uniFrames returns the UDP payloads of the unicast-layer capture.
func uniFrames(t testing.TB) [][]byte {
	t.Helper()
	frames, err := readPcapngUDP("testdata/udp-uni.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < 50 {
		t.Fatalf("capture has %d frames, want at least 49", len(frames)-1)
	}
	return frames
}
