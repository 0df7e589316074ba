package crypt

import "fmt"

// Negotiation (irmd.md §4.8) as pure functions: what the request or response
// header carries, and the local policy, in; the agreed algorithms or a refusal
// out. Resulting policy matrix:
//
//	server \ client   none             encryption
//	none              plaintext        client's settings
//	encryption        refused          strongest cipher and KDF, the
//	                                   client's kex unless weaker
//
// Refusals wrap ErrRefused (the reference answers -ECRYPT) or, for an
// algorithm this build does not know or run, ErrUnsupported (-ENOTSUP).

// Offer is the key-exchange part of an OAP request, as the server sees it.
type Offer struct {
	Cipher      Cipher // cipher_nid: the client's configured cipher
	KDF         Digest // kdf_nid: the client's configured KDF
	Kex         []byte // kex data: public key (R clear) or ciphertext (R set)
	Raw         bool   // flag F: Kex is raw (hybrid), not DER
	ClientEncap bool   // flag R: the client encapsulated (kem_mode=client)
}

// Agreement is the outcome of a negotiation. The zero value means no
// encryption.
type Agreement struct {
	Cipher Cipher // 0: the flow is not encrypted
	KDF    Digest // HKDF digest for DeriveDHE/Encapsulate/Decapsulate (0 = SHA-256)
	Kex    Kex
	// ClientEncap: the client encapsulated to the server's static key; the
	// server decapsulates Offer.Kex and its response carries no kex data.
	ClientEncap bool
	// Peer is the client's public key (server side, ClientEncap false): the
	// server runs DeriveDHE with a fresh key pair of Kex and sends its
	// public key, or Encapsulate and sends the ciphertext.
	Peer *PublicKey
}

// Encrypted reports whether the agreement encrypts the flow.
func (a Agreement) Encrypted() bool { return a.Cipher != 0 }

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// NegotiateServer applies the server's rules to a request's offer and the
// server's policy srv for the name:
//
//  1. No kex data: refused if the server has a kex configured; otherwise the
//     flow is not encrypted.
//  2. Cipher: the client's must be supported (if set). The stronger one of
//     client and server wins; the client's only if strictly stronger, the
//     server's only if set; neither set is refused.
//  3. KDF: the client's must be supported (if set). With client
//     encapsulation the client's is used, refused if weaker than the
//     server's. Otherwise the client's if strictly stronger, else the
//     server's.
//  4. Kex: the algorithm of the client's public key, refused if weaker than
//     the server's configured one. With client encapsulation, the server's
//     configured algorithm, which must be a KEM (the flags must match it).
func NegotiateServer(o Offer, srv Config) (Agreement, error) {
	if len(o.Kex) == 0 {
		if srv.Encrypted() {
			return Agreement{}, refuse("client sent no key exchange data but %s is required", srv.Kex)
		}
		return Agreement{}, nil
	}
	var a Agreement

	if o.Cipher != 0 && !o.Cipher.Supported() {
		return Agreement{}, unsupported("client cipher %s", o.Cipher)
	}
	switch {
	case o.Cipher.Rank() > srv.Cipher.Rank():
		a.Cipher = o.Cipher
	case srv.Cipher.Rank() > 0:
		a.Cipher = srv.Cipher
	default:
		return Agreement{}, refuse("no cipher proposed by either side")
	}

	if o.KDF != 0 && !o.KDF.Supported() {
		return Agreement{}, unsupported("client kdf %s", o.KDF)
	}
	switch {
	case o.ClientEncap && srv.KDF.Rank() > o.KDF.Rank():
		return Agreement{}, refuse("client kdf %s weaker than the server's %s", o.KDF, srv.KDF)
	case o.ClientEncap || o.KDF.Rank() > srv.KDF.Rank():
		a.KDF = o.KDF
	default:
		a.KDF = srv.KDF
	}

	if o.ClientEncap {
		if !srv.Kex.IsKEM() {
			return Agreement{}, refuse("client encapsulated but the server has no KEM configured (kex %s)", srv.Kex)
		}
		if o.Raw != srv.Kex.IsHybrid() {
			return Agreement{}, refuse("client ciphertext format (raw %v) does not fit the server's %s", o.Raw, srv.Kex)
		}
		if len(o.Kex) != CiphertextSize(srv.Kex) {
			return Agreement{}, fmt.Errorf("%w: %d-byte ciphertext for %s", ErrInvalidKey, len(o.Kex), srv.Kex)
		}
		a.Kex, a.ClientEncap = srv.Kex, true
		return a, nil
	}
	peer, err := ParsePublicKey(o.Kex, o.Raw)
	if err != nil {
		return Agreement{}, err
	}
	if peer.Kex().Rank() < srv.Kex.Rank() {
		return Agreement{}, refuse("client kex %s weaker than the server's %s", peer.Kex(), srv.Kex)
	}
	a.Kex, a.Peer = peer.Kex(), peer
	return a, nil
}

// Answer is the key-exchange part of an OAP response, as the client sees it.
type Answer struct {
	Cipher Cipher // cipher_nid: the negotiated cipher
	KDF    Digest // kdf_nid: the negotiated KDF
	Kex    []byte // kex data: server public key (DHE) or ciphertext (KEM)
}

// NegotiateClient checks a response against the client's own policy cli:
//
//   - Without a kex configured the flow is not encrypted, whatever the
//     response says.
//   - The response's cipher must be known and at least as strong as the
//     client's (downgrade protection).
//   - Unless the client encapsulated, a response KDF, if set, must be at least
//     as strong as the client's and is adopted; otherwise the client's stays.
//   - A DHE or server-encapsulated KEM response must carry kex data (the
//     server's public key or the ciphertext), which the caller passes to
//     DeriveDHE (after ParsePublicKey) or Decapsulate with the agreed KDF.
//
// The returned Agreement has no Peer; ClientEncap mirrors cli.
func NegotiateClient(ans Answer, cli Config) (Agreement, error) {
	if !cli.Encrypted() {
		return Agreement{}, nil
	}
	if ans.Cipher == 0 || !ans.Cipher.Known() {
		return Agreement{}, refuse("response names no known cipher (%s)", ans.Cipher)
	}
	if ans.Cipher.Rank() < cli.Cipher.Rank() {
		return Agreement{}, refuse("server downgraded the cipher from %s to %s", cli.Cipher, ans.Cipher)
	}
	a := Agreement{Cipher: ans.Cipher, KDF: cli.KDF, Kex: cli.Kex}
	a.ClientEncap = cli.Kex.IsKEM() && cli.KEMMode == KEMClient
	if !a.ClientEncap && ans.KDF != 0 {
		if ans.KDF.Rank() < cli.KDF.Rank() {
			return Agreement{}, refuse("server downgraded the kdf from %s to %s", cli.KDF, ans.KDF)
		}
		a.KDF = ans.KDF
	}
	if !a.ClientEncap && len(ans.Kex) == 0 {
		return Agreement{}, refuse("response carries no key exchange data for %s", cli.Kex)
	}
	return a, nil
}
