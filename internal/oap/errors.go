package oap

import (
	"errors"
	"fmt"
)

// Decoding errors.
var (
	// ErrTruncated: the message is shorter than 36 bytes or than its length
	// fields (plus the request digest, for a response) say.
	ErrTruncated = errors.New("oap: header truncated")
	// ErrUnknownNID: a cipher, KDF or digest NID that is not 0 and not in the
	// reference's NID table (or of the wrong kind).
	ErrUnknownNID = errors.New("oap: unknown algorithm NID")
	// ErrTrailing: bytes after the last field of a message without a
	// certificate (only a signed message has a trailing signature).
	ErrTrailing = errors.New("oap: trailing bytes after header")
)

// ErrInvalid is returned by Encode for a Header that cannot be put on the wire
// (a field too long for its length field, an unknown NID, a signature without
// certificate).
var ErrInvalid = errors.New("oap: invalid header")

// ErrDigestUnavailable: the digest NID is known but this build cannot compute
// it (BLAKE2).
var ErrDigestUnavailable = errors.New("oap: digest not available")

// ErrUnsupported: the peer asked for something this package does not do yet.
// ErrAuthUnsupported and ErrKexUnsupported wrap it.
var ErrUnsupported = errors.New("oap: authentication/encryption not implemented")

var (
	// ErrAuthUnsupported: the message carries a certificate and was given
	// to Process, the unsecured exchange (Serve authenticates it).
	ErrAuthUnsupported = fmt.Errorf("%w: certificates and signatures", ErrUnsupported)
	// ErrKexUnsupported: the request carries key-exchange data.
	ErrKexUnsupported = fmt.Errorf("%w: key exchange", ErrUnsupported)
)

// ErrAuth: peer authentication failed (irmd.md §4.6): the peer's
// certificate is malformed, untrusted, expired or, for the client, not
// issued to the destination name; its signature does not verify; or this
// side could not sign its own message. The wrapped crypt error (ErrCertificate,
// ErrSignature, ...) says why. The reference answers -EAUTH on the server
// and -ECRYPT on the client.
var ErrAuth = errors.New("oap: authentication failed")

// Server-side freshness and replay errors.
var (
	ErrFuture          = errors.New("oap: request timestamp is in the future")
	ErrOutdated        = errors.New("oap: request timestamp is too old")
	ErrReplay          = errors.New("oap: replayed request")
	ErrReplayCacheFull = errors.New("oap: replay cache full")
)

// Client-side errors.
var (
	ErrIDMismatch   = errors.New("oap: response id does not match the request")
	ErrHashMismatch = errors.New("oap: response req_hash does not match the request")
)
