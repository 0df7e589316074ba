package main

import (
	"encoding/binary"

	"github.com/ouroboros-go/ouroboros/flow"
)

// The operf messages. A flow carries:
//
//  1. one configuration message, client to server, exactly 4 bytes:
//
//     offset size field     encoding
//     0      4    test_type uint32, little-endian: 0 = uni, 1 = bi
//
//  2. then data packets of the configured size (64 to 65536 bytes):
//
//     offset size field     encoding
//     0      4    id        uint32, little-endian: packets sent before this one
//     4      n-4  padding   zeros
//
// The reference writes both numbers in host byte order without conversion;
// little-endian is that order on x86 and arm64, so these are the bytes a C
// peer sends and expects there. In a bidirectional test the server echoes
// every data packet verbatim.
const (
	configLen        = 4           // bytes of the configuration message
	idLen            = 4           // bytes of the id at the start of a data packet
	minSize          = 64          // smallest data packet, bytes
	maxSize          = flow.MaxSDU // largest data packet and the read buffer size, bytes (65536)
	testUni   uint32 = 0           // TEST_TYPE_UNI: the server prints a line per packet
	testBi    uint32 = 1           // TEST_TYPE_BI: the server echoes every packet
)

// configMsg is the configuration message for a test type.
func configMsg(test uint32) []byte {
	b := make([]byte, configLen)
	binary.LittleEndian.PutUint32(b, test)
	return b
}

// parseConfig decodes a configuration message. It must be exactly configLen
// bytes (the reference's server checks this with a zero-length read after a
// 4-byte read); any value is accepted, values other than testUni and testBi
// make the server consume the packets silently, as the reference's does.
// Messages come from the network: any input must be handled without panicking.
func parseConfig(b []byte) (test uint32, ok bool) {
	if len(b) != configLen {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// testName is the name of a test type in the JSON summaries.
func testName(test uint32) string {
	switch test {
	case testUni:
		return "uni"
	case testBi:
		return "bi"
	}
	return "other"
}

// putID writes the packet id into the first idLen bytes of b.
func putID(b []byte, id uint32) {
	binary.LittleEndian.PutUint32(b, id)
}

// packetID returns the id of a received data packet as the signed number the
// reference prints. Missing bytes of a packet shorter than idLen count as
// zero (the reference would read stale bytes of its buffer there).
func packetID(b []byte) int32 {
	var id [idLen]byte
	copy(id[:], b)
	return int32(binary.LittleEndian.Uint32(id[:]))
}
