package crypt

import (
	"bytes"
	"errors"
	"testing"
)

// cfg builds a Config: kex, cipher, kdf (digest sha256, kem_mode server).
func cfg(k Kex, c Cipher, kdf Digest) Config {
	return Config{Kex: k, Cipher: c, KDF: kdf, Digest: SHA256}
}

func clientEncap(c Config) Config { c.KEMMode = KEMClient; return c }

// offer returns what a client with policy c puts in its request: a fresh
// public key, or a ciphertext to srvKey in client-encapsulation mode.
func offer(t *testing.T, c Config, srvKey *KeyPair) Offer {
	t.Helper()
	o := Offer{Cipher: c.Cipher, KDF: c.KDF}
	switch {
	case !c.Encrypted():
	case c.Kex.IsKEM() && c.KEMMode == KEMClient:
		_, ct, err := Encapsulate(srvKey.PublicKey(), c.KDF)
		if err != nil {
			t.Fatal(err)
		}
		o.Kex, o.Raw, o.ClientEncap = ct, c.Kex.IsHybrid(), true
	default:
		kp, err := GenerateKeyPair(c.Kex)
		if err != nil {
			t.Fatal(err)
		}
		o.Kex, o.Raw = kp.PublicKey().Bytes(), kp.PublicKey().Raw()
	}
	return o
}

// TestNegotiateServer is the server's policy matrix (irmd.md §4.8, and the
// reference's OAP tests it mirrors).
func TestNegotiateServer(t *testing.T) {
	none := Config{}
	x := cfg(X25519, AES256GCM, SHA256) // the reference tests' default
	srvKEM768, _ := GenerateKeyPair(MLKEM768)
	srvHybrid, _ := GenerateKeyPair(X25519MLKEM768)
	for _, c := range []struct {
		name     string
		cli, srv Config
		srvKey   *KeyPair
		want     Agreement // Peer not compared
		err      error
	}{
		{"none/none: plaintext", none, none, nil, Agreement{}, nil},
		{"client enc, server none: client's settings", x, none, nil, Agreement{Cipher: AES256GCM, KDF: SHA256, Kex: X25519}, nil},
		{"server enc, client none: refused", none, x, nil, Agreement{}, ErrRefused},
		{"cipher mismatch: stronger cipher and kdf", cfg(X25519, AES256GCM, SHA512), cfg(X25519, AES128GCM, SHA256), nil,
			Agreement{Cipher: AES256GCM, KDF: SHA512, Kex: X25519}, nil},
		{"server cipher stronger", cfg(X25519, AES128CTR, SHA256), cfg(Prime256v1, ChaCha20Poly1305, SHA3_512), nil,
			Agreement{Cipher: ChaCha20Poly1305, KDF: SHA3_512, Kex: X25519}, nil},
		{"equal cipher: server's", cfg(X25519, AES192GCM, BLAKE2s256), cfg(X25519, AES192GCM, BLAKE2s256), nil,
			Agreement{Cipher: AES192GCM, KDF: BLAKE2s256, Kex: X25519}, nil},
		{"no cipher on either side", cfg(X25519, 0, SHA256), none, nil, Agreement{}, ErrRefused},
		{"client kdf 0, server none: SHA-256 default", cfg(Secp384r1, AES256GCM, 0), none, nil,
			Agreement{Cipher: AES256GCM, Kex: Secp384r1}, nil},
		{"weak kex refused", cfg(Prime256v1, AES256GCM, SHA256), cfg(Secp521r1, AES256GCM, SHA256), nil, Agreement{}, ErrRefused},
		{"stronger client kex accepted", cfg(Secp521r1, AES256GCM, SHA256), cfg(Prime256v1, AES256GCM, SHA256), nil,
			Agreement{Cipher: AES256GCM, KDF: SHA256, Kex: Secp521r1}, nil},
		{"ML-KEM server refuses classical", cfg(Secp521r1, AES256GCM, SHA256), cfg(MLKEM768, AES256GCM, SHA256), nil, Agreement{}, ErrRefused},
		{"KEM server-encap, server unconfigured", cfg(MLKEM1024, AES256GCM, SHA384), none, nil,
			Agreement{Cipher: AES256GCM, KDF: SHA384, Kex: MLKEM1024}, nil},
		{"hybrid client over ML-KEM server", cfg(X25519MLKEM768, AES256GCM, SHA256), cfg(MLKEM1024, AES128GCM, SHA256), nil,
			Agreement{Cipher: AES256GCM, KDF: SHA256, Kex: X25519MLKEM768}, nil},
		{"client encap", clientEncap(cfg(MLKEM768, AES256GCM, SHA384)), cfg(MLKEM768, AES128GCM, SHA256), srvKEM768,
			Agreement{Cipher: AES256GCM, KDF: SHA384, Kex: MLKEM768, ClientEncap: true}, nil},
		{"client encap, hybrid", clientEncap(cfg(X25519MLKEM768, AES256GCM, SHA256)), cfg(X25519MLKEM768, AES256GCM, SHA256), srvHybrid,
			Agreement{Cipher: AES256GCM, KDF: SHA256, Kex: X25519MLKEM768, ClientEncap: true}, nil},
		{"client encap: server kdf stronger", clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), cfg(MLKEM768, AES256GCM, SHA512), srvKEM768,
			Agreement{}, ErrRefused},
		{"client encap: server kdf weaker, client's kept", clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), cfg(MLKEM768, AES256GCM, BLAKE2s256), srvKEM768,
			Agreement{Cipher: AES256GCM, KDF: SHA256, Kex: MLKEM768, ClientEncap: true}, nil},
		{"client encap: server has no KEM", clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), cfg(X25519, AES256GCM, SHA256), srvKEM768,
			Agreement{}, ErrRefused},
		{"client encap: server unconfigured", clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), none, srvKEM768, Agreement{}, ErrRefused},
		{"client encap: format differs", clientEncap(cfg(MLKEM768, AES256GCM, SHA256)), cfg(X25519MLKEM768, AES256GCM, SHA256), srvKEM768,
			Agreement{}, ErrRefused},
	} {
		o := offer(t, c.cli, c.srvKey)
		got, err := NegotiateServer(o, c.srv)
		if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			continue
		}
		peer := got.Peer
		got.Peer = nil
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
		if err == nil && got.Encrypted() && !got.ClientEncap && (peer == nil || !bytes.Equal(peer.Bytes(), o.Kex)) {
			t.Errorf("%s: the client's key is not in the agreement", c.name)
		}
		if errors.Is(err, ErrRefused) && Errno(err) != 1008 {
			t.Errorf("%s: refusal maps to %v", c.name, Errno(err))
		}
	}
}

func TestNegotiateServerBadOffers(t *testing.T) {
	x, _ := GenerateKeyPair(X25519)
	pub := x.PublicKey().Bytes()
	srv := cfg(X25519, AES256GCM, SHA256)
	for _, c := range []struct {
		name string
		o    Offer
		want error
	}{
		{"cipher NID not supported", Offer{Cipher: 9999, Kex: pub}, ErrUnsupported},
		{"kdf NID not supported", Offer{Cipher: AES256GCM, KDF: 9999, Kex: pub}, ErrUnsupported},
		{"garbage key", Offer{Cipher: AES256GCM, Kex: []byte{1, 2, 3}}, ErrInvalidKey},
		{"X448 key", Offer{Cipher: AES256GCM, Kex: marshalRawSPKI(oidX448, make([]byte, 56))}, ErrUnsupported},
		{"X448MLKEM1024 key", Offer{Cipher: AES256GCM, Kex: make([]byte, 1624), Raw: true}, ErrUnsupported},
		{"client encap ciphertext of the wrong size", Offer{Cipher: AES256GCM, KDF: SHA256, Kex: make([]byte, 100), ClientEncap: true}, ErrInvalidKey},
		{"cipher set, no kex, server requires it", Offer{Cipher: AES256GCM}, ErrRefused},
	} {
		s := srv
		if c.o.ClientEncap {
			s = cfg(MLKEM768, AES256GCM, SHA256)
		}
		if _, err := NegotiateServer(c.o, s); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if Errno(fmtUnsupported()) != 95 {
		t.Error("unsupported offers map to ENOTSUP")
	}
}

func fmtUnsupported() error {
	_, err := NegotiateServer(Offer{Cipher: 9999, Kex: []byte{1}}, Config{})
	return err
}

func TestNegotiateClient(t *testing.T) {
	x := cfg(X25519, AES256GCM, SHA256)
	kem := clientEncap(cfg(MLKEM768, AES256GCM, SHA384))
	kexData := []byte{1}
	for _, c := range []struct {
		name string
		cli  Config
		ans  Answer
		want Agreement
		err  error
	}{
		{"client none: plaintext, kex data ignored", Config{}, Answer{Cipher: AES256GCM, Kex: kexData}, Agreement{}, nil},
		{"same settings", x, Answer{Cipher: AES256GCM, KDF: SHA256, Kex: kexData}, Agreement{Cipher: AES256GCM, KDF: SHA256, Kex: X25519}, nil},
		{"stronger cipher and kdf adopted", x, Answer{Cipher: ChaCha20Poly1305, KDF: SHA512, Kex: kexData},
			Agreement{Cipher: ChaCha20Poly1305, KDF: SHA512, Kex: X25519}, nil},
		{"kdf 0 keeps the client's", x, Answer{Cipher: AES256GCM, Kex: kexData}, Agreement{Cipher: AES256GCM, KDF: SHA256, Kex: X25519}, nil},
		{"cipher downgrade", x, Answer{Cipher: AES128CTR, KDF: SHA256, Kex: kexData}, Agreement{}, ErrRefused},
		{"no cipher", x, Answer{KDF: SHA256, Kex: kexData}, Agreement{}, ErrRefused},
		{"unknown cipher", x, Answer{Cipher: 9999, Kex: kexData}, Agreement{}, ErrRefused},
		{"kdf downgrade", x, Answer{Cipher: AES256GCM, KDF: BLAKE2s256, Kex: kexData}, Agreement{}, ErrRefused},
		{"no server key", x, Answer{Cipher: AES256GCM, KDF: SHA256}, Agreement{}, ErrRefused},
		{"client encap: no kex data needed, own kdf", kem, Answer{Cipher: AES256GCM, KDF: SHA512},
			Agreement{Cipher: AES256GCM, KDF: SHA384, Kex: MLKEM768, ClientEncap: true}, nil},
		{"client encap: downgrade still refused", kem, Answer{Cipher: AES128GCM}, Agreement{}, ErrRefused},
		{"kem_mode client ignored for DHE", clientEncap(x), Answer{Cipher: AES256GCM}, Agreement{}, ErrRefused},
	} {
		got, err := NegotiateClient(c.ans, c.cli)
		if !errors.Is(err, c.err) || (c.err == nil && err != nil) || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v, %v", c.name, got, err, c.want, c.err)
		}
	}
}
