package main

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// The oping packet. This layout is what makes a Go oping
// interoperate with the reference's, so every offset and byte order is fixed:
//
//	offset size field   encoding
//	 0      4   type    uint32, big-endian: 0 = echo request, 1 = echo reply
//	 4      4   id      uint32, big-endian: sequence number, from 0
//	 8      8   tv_sec  uint64, little-endian: sender's CLOCK_MONOTONIC seconds
//	16      8   tv_nsec uint64, little-endian: sender's CLOCK_MONOTONIC nanoseconds
//	24    n-24  padding zeros, echoed verbatim
//
// The reference writes the timestamps in host byte order; little-endian is
// that order on x86 and arm64. Only the client that sent a timestamp reads it
// back, so any 16 bytes would do; these are the ones the C client writes.
//
// A server changes the type of a request to "reply" and sends the whole packet
// back, same length, every other byte untouched. It never looks at the id or
// the timestamps.
const (
	headerLen = 24   // bytes of the packed header
	minSize   = 64   // smallest packet the client sends, bytes
	maxSize   = 1500 // OPING_BUF_SIZE: largest packet, and the read buffer size, bytes

	typeRequest uint32 = 0 // ECHO_REQUEST
	typeReply   uint32 = 1 // ECHO_REPLY
)

// header is the decoded header of an oping packet.
type header struct {
	Type uint32
	ID   uint32
	Sec  uint64 // CLOCK_MONOTONIC seconds of the sender
	Nsec uint64 // CLOCK_MONOTONIC nanoseconds of the sender
}

// put writes h into the first headerLen bytes of b, which must be that long.
func (h header) put(b []byte) {
	_ = b[headerLen-1]
	binary.BigEndian.PutUint32(b[0:], h.Type)
	binary.BigEndian.PutUint32(b[4:], h.ID)
	binary.LittleEndian.PutUint64(b[8:], h.Sec)
	binary.LittleEndian.PutUint64(b[16:], h.Nsec)
}

// parseHeader decodes the header of a received packet. Packets shorter than
// the header are not oping packets (ok is false); anything longer is padding.
// Replies come from the network: this must accept any input without panicking.
func parseHeader(b []byte) (h header, ok bool) {
	if len(b) < headerLen {
		return header{}, false
	}
	return header{
		Type: binary.BigEndian.Uint32(b[0:]),
		ID:   binary.BigEndian.Uint32(b[4:]),
		Sec:  binary.LittleEndian.Uint64(b[8:]),
		Nsec: binary.LittleEndian.Uint64(b[16:]),
	}, true
}

// markReply turns the request in b into its reply in place: it sets the type to
// typeReply and leaves every other byte as it is. It reports false, changing
// nothing, if b is not a request (type not 0, or shorter than the type field).
func markReply(b []byte) bool {
	if len(b) < 4 || binary.BigEndian.Uint32(b) != typeRequest {
		return false
	}
	binary.BigEndian.PutUint32(b, typeReply)
	return true
}

// monoNow reads CLOCK_MONOTONIC, the clock the reference stamps requests with.
func monoNow() (sec, nsec uint64) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("oping: clock_gettime(CLOCK_MONOTONIC): " + err.Error())
	}
	return uint64(ts.Sec), uint64(ts.Nsec)
}

// rttMs is the round-trip time in milliseconds from a request's timestamp to
// now. As the reference, both instants are first truncated to whole
// microseconds (sec*1e6 + nsec/1000), so the result has 1 µs resolution. The
// timestamps come back from the network; garbage gives a meaningless but
// harmless value (the arithmetic wraps).
func rttMs(sentSec, sentNsec, nowSec, nowNsec uint64) float64 {
	sent := sentSec*1000000 + sentNsec/1000
	now := nowSec*1000000 + nowNsec/1000
	return float64(int64(now-sent)) / 1000.0
}
