package crypt

import (
	"bytes"
	"errors"
	"testing"
)

// TestExchange runs both ends of the exchange for every supported key
// exchange and mode, then sends packets both ways with the agreed cipher and
// key.
func TestExchange(t *testing.T) {
	type side struct{ cli, srv Config }
	var cases []side
	for i, k := range append(append([]Kex{}, dheAll...), kemAll...) {
		c := cfg(k, allCiphers[i%len(allCiphers)], wantDigests[i%len(wantDigests)].nid)
		s := cfg(k, allCiphers[(i+3)%len(allCiphers)], wantDigests[(i+5)%len(wantDigests)].nid)
		cases = append(cases, side{c, s}, side{c, Config{}})
		if k.IsKEM() {
			cc := clientEncap(c)
			s.KDF = BLAKE2s256 // weaker than every client KDF, as client encapsulation requires
			cases = append(cases, side{cc, s})
		}
	}
	cases = append(cases, side{Config{}, Config{}})
	for _, c := range cases {
		var static *KeyPair
		var srvPub *PublicKey
		if c.cli.KEMMode == KEMClient {
			static, _ = GenerateKeyPair(c.srv.Kex)
			// The client holds the server's public key as a file: parse it
			// from its bytes.
			var err error
			if srvPub, err = ParsePublicKey(static.PublicKey().Bytes(), static.PublicKey().Raw()); err != nil {
				t.Fatal(err)
			}
		}
		name := c.cli.Kex.String() + "/" + c.cli.KEMMode.String() + " vs " + c.srv.Kex.String()
		ck, err := PrepareClient(c.cli, srvPub)
		if err != nil {
			t.Fatalf("%s: prepare: %v", name, err)
		}
		a, srvKey, reply, err := ServerExchange(ck.Offer, c.srv, static)
		if err != nil {
			t.Fatalf("%s: server: %v", name, err)
		}
		cipher, cliKey, err := ck.Complete(Answer{Cipher: a.Cipher, KDF: a.KDF, Kex: reply})
		if err != nil {
			t.Fatalf("%s: complete: %v", name, err)
		}
		if cipher != a.Cipher || !bytes.Equal(cliKey, srvKey) || (cipher != 0) != c.cli.Encrypted() {
			t.Fatalf("%s: client %s %x, server %s %x", name, cipher, cliKey, a.Cipher, srvKey)
		}
		if cipher == 0 {
			continue
		}
		if len(cliKey) != KeySize || (a.ClientEncap && reply != nil) {
			t.Errorf("%s: key of %d bytes, reply of %d bytes", name, len(cliKey), len(reply))
		}
		cp, _ := NewPacketCipher(cipher, cliKey, nil)
		sp, _ := NewPacketCipher(cipher, srvKey, nil)
		p, _ := cp.Seal(nil, []byte("ping"))
		q, err1 := sp.Open(nil, p)
		r, _ := sp.Seal(nil, []byte("pong"))
		s, err2 := cp.Open(nil, r)
		if string(q) != "ping" || string(s) != "pong" || err1 != nil || err2 != nil {
			t.Errorf("%s (%s): %q %q %v %v", name, cipher, q, s, err1, err2)
		}
	}
}

func TestExchangeErrors(t *testing.T) {
	if _, err := PrepareClient(clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("client encapsulation without the server key: %v", err)
	}
	x, _ := GenerateKeyPair(X25519)
	if _, err := PrepareClient(clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), x.PublicKey()); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("client encapsulation to an X25519 key: %v", err)
	}
	if _, err := PrepareClient(cfg(X448, AES256GCM, SHA256), nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("X448: %v", err)
	}
	m, _ := GenerateKeyPair(MLKEM768)
	ck, _ := PrepareClient(clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), m.PublicKey())
	if _, _, _, err := ServerExchange(ck.Offer, cfg(MLKEM768, AES256GCM, SHA256), nil); !errors.Is(err, ErrRefused) {
		t.Errorf("server without its static key: %v", err)
	}
	// A response whose DHE key is of another group.
	ck, _ = PrepareClient(cfg(X25519, AES256GCM, SHA256), nil)
	p, _ := GenerateKeyPair(Prime256v1)
	if _, _, err := ck.Complete(Answer{Cipher: AES256GCM, KDF: SHA256, Kex: p.PublicKey().Bytes()}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("P-256 answer to X25519: %v", err)
	}
}
