package crypt

import (
	"errors"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// Errors. Every error returned by this package wraps one of these, so callers
// use errors.Is; Errno maps them to the reference's error codes.
var (
	// ErrUnknownAlgorithm: a NID or name that is not in the reference's
	// tables (or of the wrong kind), or a key that names no algorithm we know.
	ErrUnknownAlgorithm = errors.New("crypt: unknown algorithm")
	// ErrUnsupported: an algorithm the reference knows but this build cannot
	// run (FFDHE, X448, ML-KEM-512, X448MLKEM1024).
	ErrUnsupported = errors.New("crypt: algorithm not supported by this build")
	// ErrInvalidKey: a public key, ciphertext or secret that is malformed,
	// of the wrong size, or of another algorithm than expected.
	ErrInvalidKey = errors.New("crypt: invalid key material")
	// ErrRefused: the negotiation rules (irmd.md §4.8) refuse the exchange.
	// The error text gives the reason.
	ErrRefused = errors.New("crypt: key exchange refused")
	// ErrConfig: an enc.conf that the reference would reject. *ConfigError
	// wraps it with the line number.
	ErrConfig = errors.New("crypt: invalid enc.conf")
	// ErrNoCipher: a configuration with a key exchange but no cipher.
	ErrNoCipher = errors.New("crypt: key exchange configured without a cipher")
	// ErrShortPacket: an encrypted packet shorter than its IV and tag.
	ErrShortPacket = errors.New("crypt: encrypted packet too short")
	// ErrAuthentication: an AEAD packet whose tag verifies under none of the
	// keys tried (tampered, corrupted or from another key). The flow drops
	// the packet and counts it.
	ErrAuthentication = errors.New("crypt: packet authentication failed")
	// ErrClosed: Seal or Open on a packet context after Close (its keys
	// are wiped).
	ErrClosed = errors.New("crypt: packet context closed")
	// ErrCertificate: a certificate that is malformed, too large, of a key
	// type this build cannot use, not trusted (chain, validity dates, CA
	// rights) or not issued to the expected name. The text says which.
	ErrCertificate = errors.New("crypt: certificate refused")
	// ErrSignature: a signature that is empty, too large, malformed or that
	// does not verify over the signed bytes.
	ErrSignature = errors.New("crypt: signature refused")
	// ErrNoCredentials: a name has no certificate or no private key on disk
	// (the error also wraps fs.ErrNotExist). Not a failure in OAP: that side
	// then sends no certificate and no signature.
	ErrNoCredentials = errors.New("crypt: no credentials")
)

// Errno maps an error of this package to the code the reference reports for
// it: -ENOTSUP for an unsupported algorithm, -EINVAL for an invalid enc.conf
// (the flow allocation fails), -ECRYPT for refusals and anything else that
// fails a key exchange. nil maps to 0.
func Errno(err error) oerr.Errno {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUnsupported):
		return oerr.ENOTSUP
	case errors.Is(err, ErrConfig):
		return oerr.EINVAL
	}
	return oerr.ECRYPT
}
