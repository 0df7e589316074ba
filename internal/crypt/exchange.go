package crypt

import "fmt"

// The two ends of a key exchange, built from the pieces above in the order
// of irmd.md §4.10. They do not touch the OAP header: the caller copies
// Offer and Answer fields from and to it.

// ClientKex is a client's key-exchange state between the request (prepare)
// and the response (complete).
type ClientKex struct {
	cfg Config
	kp  *KeyPair // ephemeral key pair (DHE, KEM server-encap)
	key []byte   // derived at prepare (KEM client-encap)
	// Offer is what the request carries: cipher_nid, kdf_nid, the kex data
	// and the F and R flags.
	Offer Offer
}

// PrepareClient starts the client's side for policy cfg. Without a key
// exchange the offer is empty except for the cipher and KDF (the reference
// always sends its configured NIDs). For a KEM in kem_mode=client, srvKey
// is the server's static public key (client/<name>/kex.srv.pub.*) and the
// flow key is derived now, with the client's KDF; otherwise srvKey is
// unused.
func PrepareClient(cfg Config, srvKey *PublicKey) (*ClientKex, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	c := &ClientKex{cfg: cfg, Offer: Offer{Cipher: cfg.Cipher, KDF: cfg.KDF}}
	switch {
	case !cfg.Encrypted():
	case cfg.Kex.IsKEM() && cfg.KEMMode == KEMClient:
		if srvKey == nil || srvKey.Kex() != cfg.Kex {
			return nil, fmt.Errorf("%w: client encapsulation needs the server's %s public key", ErrInvalidKey, cfg.Kex)
		}
		key, ct, err := Encapsulate(srvKey, cfg.KDF)
		if err != nil {
			return nil, err
		}
		c.key = key
		c.Offer.Kex, c.Offer.Raw, c.Offer.ClientEncap = ct, cfg.Kex.IsHybrid(), true
	default:
		kp, err := GenerateKeyPair(cfg.Kex)
		if err != nil {
			return nil, err
		}
		c.kp = kp
		c.Offer.Kex, c.Offer.Raw = kp.PublicKey().Bytes(), kp.PublicKey().Raw()
	}
	return c, nil
}

// Complete finishes the client's side with the response's answer: it applies
// NegotiateClient and derives the flow key. cipher 0 (and a nil key) means
// the flow is not encrypted.
func (c *ClientKex) Complete(ans Answer) (cipher Cipher, key []byte, err error) {
	a, err := NegotiateClient(ans, c.cfg)
	if err != nil || !a.Encrypted() {
		return 0, nil, err
	}
	switch {
	case a.ClientEncap:
		key = c.key
	case a.Kex.IsKEM():
		key, err = c.kp.Decapsulate(ans.Kex, a.KDF)
	default:
		var peer *PublicKey
		if peer, err = ParsePublicKey(ans.Kex, false); err == nil {
			key, err = c.kp.DeriveDHE(peer, a.KDF)
		}
	}
	if err != nil {
		return 0, nil, err
	}
	return a.Cipher, key, nil
}

// ServerExchange runs the server's side for a request's offer and the
// server's policy srv: NegotiateServer, then the key exchange. static is the
// server's static KEM key pair (server/<name>/kex.key.*), needed only when
// the client encapsulated. It returns the agreement (whose Cipher and KDF go
// into the response), the flow key (nil if not encrypted) and the response's
// kex data: the server's public key (DHE), the ciphertext (KEM, raw, flag F
// for a hybrid), or nothing (client encapsulation, no encryption).
func ServerExchange(o Offer, srv Config, static *KeyPair) (a Agreement, key, reply []byte, err error) {
	if a, err = NegotiateServer(o, srv); err != nil || !a.Encrypted() {
		return a, nil, nil, err
	}
	switch {
	case a.ClientEncap:
		if static == nil || static.Kex() != a.Kex {
			return Agreement{}, nil, nil, fmt.Errorf("%w: no static %s key for client encapsulation", ErrRefused, a.Kex)
		}
		key, err = static.Decapsulate(o.Kex, a.KDF)
	case a.Kex.IsKEM():
		key, reply, err = Encapsulate(a.Peer, a.KDF)
	default:
		var kp *KeyPair
		if kp, err = GenerateKeyPair(a.Kex); err == nil {
			key, err = kp.DeriveDHE(a.Peer, a.KDF)
			reply = kp.PublicKey().Bytes()
		}
	}
	if err != nil {
		return Agreement{}, nil, nil, err
	}
	return a, key, reply, nil
}
