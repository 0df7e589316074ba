package main

import (
	"errors"
	"fmt"
)

// onc's wire format: every message on the flow starts with one type byte.
//
//	0x00 data   the rest of the message is the sender's next bytes (at least one)
//	0x01 end    the sender's stream ends; nothing follows, and no data after it
//	0x02 hello  the allocator's first message; nothing follows
//
// The acceptor of a reliable flow sends nothing before the allocator's
// first message arrived: across a shim layer its first packets could reach
// the allocator's host before the flow exists there and be lost.
//
// Empty messages are the library's keepalives and never reach onc. On a
// reliable flow (the default) messages arrive complete and in order, so the
// end comes after the last data; on other QoS cubes data may be lost, and
// so may the end, in which case the flow going down ends the stream.
const (
	typeData  byte = 0x00
	typeEnd   byte = 0x01
	typeHello byte = 0x02
)

// chunk is the largest message onc sends, type byte included: it fits every
// shim layer, as flow.StreamChunk does (an application does not learn the
// layer's packet size).
const chunk = 1400

// errBadMessage is the error of a message that is not onc's.
var errBadMessage = errors.New("not an onc message")

// decode splits a received message into its type and payload. A data
// message must carry at least one byte and an end message none.
func decode(msg []byte) (typ byte, payload []byte, err error) {
	if len(msg) == 0 {
		return 0, nil, fmt.Errorf("empty message: %w", errBadMessage)
	}
	switch msg[0] {
	case typeData:
		if len(msg) == 1 {
			return 0, nil, fmt.Errorf("data message without data: %w", errBadMessage)
		}
		return typeData, msg[1:], nil
	case typeEnd, typeHello:
		if len(msg) != 1 {
			return 0, nil, fmt.Errorf("end or hello message of %d bytes, want 1: %w", len(msg), errBadMessage)
		}
		return msg[0], nil, nil
	}
	return 0, nil, fmt.Errorf("unknown type byte 0x%02x: %w", msg[0], errBadMessage)
}

// endMessage is the message that ends a stream.
var endMessage = []byte{typeEnd}
