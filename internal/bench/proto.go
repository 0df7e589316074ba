package bench

import "encoding/binary"

// The harness and its peers exchange packets that start with a 16-byte header
// (little endian); the rest of the packet, up to the measured size, is zeros:
//
//	+------+-----+------------+----------------+
//	| kind | pad | test (u32) | seq (u64)      |
//	+------+-----+------------+----------------+
//	0      1     4            8                16
//
// The test number tells the packets of one measurement from stale ones of an
// earlier measurement (on a lossy path, late echoes of a flood may still be on
// their way); seq identifies a ping, or carries the count in a count reply.
const hdrLen = 16

// MinSize is the smallest packet the harness sends, in bytes.
const MinSize = hdrLen

// Packet kinds.
const (
	kindEcho     byte = 1 // the server sends the packet back unchanged
	kindEchoLast byte = 2 // the same, for the last packet of an echo flood
	kindSink     byte = 3 // the server counts the packet for its test
	kindEnd      byte = 4 // the server replies kindCount with the count of the test
	kindCount    byte = 5 // seq is the number of kindSink packets of the test
)

type header struct {
	kind byte
	test uint32
	seq  uint64
}

// put writes h into the first hdrLen bytes of p (len(p) >= hdrLen).
func (h header) put(p []byte) {
	p[0] = h.kind
	p[1], p[2], p[3] = 0, 0, 0
	binary.LittleEndian.PutUint32(p[4:8], h.test)
	binary.LittleEndian.PutUint64(p[8:16], h.seq)
}

// parseHeader reads the header of p; ok is false for a packet too short to
// have one.
func parseHeader(p []byte) (h header, ok bool) {
	if len(p) < hdrLen {
		return header{}, false
	}
	return header{
		kind: p[0],
		test: binary.LittleEndian.Uint32(p[4:8]),
		seq:  binary.LittleEndian.Uint64(p[8:16]),
	}, true
}
