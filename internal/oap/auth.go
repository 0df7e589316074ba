package oap

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// Peer authentication (irmd.md §4.6, §4.10), with package crypt.
//
// A side that has credentials for the name (its certificate and key) puts
// the DER certificate in crt and appends a signature over every byte
// before it (the signed region: fixed part, certificate, kex data, data
// and, in a response, the request hash). md_nid names the signature's
// digest: the side's enc.conf digest, or 0 without an enc.conf; with an
// Ed25519 key always 0, since Ed25519 signs without a digest (the
// reference fails to sign in that case; we send 0, which the reference
// verifies as pure Ed25519). An ML-DSA key signs pure whatever md_nid
// says, as in the reference, so md_nid keeps the policy's digest and only
// chooses the request hash. With ML-DSA-65 certificates on both sides and
// an ML-KEM-768 exchange a message is about 10 KB (certificate 5.5 KB,
// signature 3309 B), just inside one IPCP message.
//
// The receiver of a message with a certificate checks, in order, that the
// certificate chains to its trust store at the current time
// (crypt.TrustStore.VerifyPeer; the client also requires the CN to be the
// destination name), then the signature with the message's md_nid
// (crypt.Verify). A message without certificate is unauthenticated and
// accepted: neither side requires the other to authenticate, as in the
// reference. Every refusal wraps ErrAuth and the crypt error that says why.

// signingMD returns the md_nid a message signed with creds carries when
// the side's policy names digest md.
func signingMD(creds *crypt.Credentials, md crypt.Digest) crypt.Digest {
	if creds == nil {
		return md
	}
	if _, ok := creds.Key.Public().(ed25519.PublicKey); ok {
		return 0
	}
	return md
}

// seal encodes h, with creds' certificate and signature if creds is not
// nil. h.MDNID must already be signingMD's.
func seal(h *Header, creds *crypt.Credentials) ([]byte, error) {
	if creds != nil {
		h.Cert = creds.DER()
	}
	b, err := h.Encode()
	if err != nil || creds == nil {
		return b, err
	}
	sig, err := crypt.Sign(creds.Key, crypt.Digest(h.MDNID), b)
	if err != nil {
		return nil, fmt.Errorf("%w: signing with the certificate of %q: %w", ErrAuth, creds.Name(), err)
	}
	return append(b, sig...), nil
}

// authenticate checks the certificate and signature of the decoded message
// msg (h = its header) against trust at now, and returns the peer's name:
// "" for a message without certificate. want, if not empty, is the name the
// certificate must be issued to. what names the message in errors.
func authenticate(h *Header, msg []byte, trust *crypt.TrustStore, want string, now time.Time, what string) (string, error) {
	if len(h.Cert) == 0 {
		return "", nil
	}
	peer, err := trust.VerifyPeer(h.Cert, want, now)
	if err != nil {
		return "", fmt.Errorf("%w: %s certificate: %w", ErrAuth, what, err)
	}
	signed := msg[:len(msg)-len(h.Signature)]
	if err := crypt.Verify(peer.Cert, crypt.Digest(h.MDNID), signed, h.Signature); err != nil {
		return "", fmt.Errorf("%w: %s signature of %q: %w", ErrAuth, what, peer.Name, err)
	}
	return peer.Name, nil
}
