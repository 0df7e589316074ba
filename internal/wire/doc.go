// Package wire holds the hand-written binary formats of Ouroboros: the
// fixed-layout headers and packed messages that are not protobuf.
//
// Each format lives in its own file (frct.go for the FRCT header, and so on)
// with its test next to it. Fixed-layout headers are typed byte-slice views
// (type FRCT []byte) with accessors and setters that work on a packet buffer
// in place, plus a plain Fields struct with Append and a Parse function for
// code that wants values. Every format is tested with a hex table taken from
// the reference's formats and from real captures, a loop over every truncated
// prefix, and a round-trip fuzz target.
//
// udp.go and eth.go hold the shim IPCPs' formats as field structs with
// Append and Parse: the UDP EID and management datagram, and the eth-dix and
// eth-llc frame headers and management messages.
//
// Short input is always reported as ErrTruncated.
package wire

import "errors"

// ErrTruncated is returned by every parser in this package when its input is
// shorter than the format requires.
var ErrTruncated = errors.New("wire: truncated")
