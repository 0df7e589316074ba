package crypt

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseConfig: no panic; a file that parses passes Check and parses the
// same way again; an error is a *ConfigError.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"", "none", "kex=X25519\ncipher=chacha20-poly1305\n", "# c\n kex = X448 \n", "kem_mode=client\nkex=ML-KEM-768",
		"kex=foo", "kdf=blake2s256\r\ndigest=sha3-512\r\n", "=\n==\nkex==\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || c != (Config{}) {
				t.Fatalf("error %v (%T) with config %+v", err, err, c)
			}
			return
		}
		if err := c.Check(); err != nil {
			t.Fatalf("parsed config fails Check: %v", err)
		}
		if again, _ := ParseConfig(b); again != c {
			t.Fatalf("parsed twice: %+v then %+v", c, again)
		}
	})
}

// FuzzParsePublicKey: no panic; a key that parses is of a supported
// algorithm, keeps its bytes, and can be used: DHE keys derive with a fresh
// key of their group, KEM keys encapsulate.
func FuzzParsePublicKey(f *testing.F) {
	for _, k := range append(append([]Kex{}, dheAll...), kemAll...) {
		kp, _ := GenerateKeyPair(k)
		f.Add(kp.PublicKey().Bytes(), kp.PublicKey().Raw())
	}
	f.Add(marshalRawSPKI(oidX448, make([]byte, 56)), false)
	f.Add(make([]byte, 1624), true)
	f.Fuzz(func(t *testing.T, b []byte, raw bool) {
		p, err := ParsePublicKey(b, raw)
		if err != nil {
			return
		}
		if !p.Kex().Supported() || !bytes.Equal(p.Bytes(), b) || p.Raw() != raw {
			t.Fatalf("parsed %s (raw %v) from %d bytes (raw %v)", p.Kex(), p.Raw(), len(b), raw)
		}
		if p.Kex().IsKEM() {
			if _, ct, err := Encapsulate(p, SHA256); err != nil || len(ct) != CiphertextSize(p.Kex()) {
				t.Fatalf("%s: encapsulate: %v", p.Kex(), err)
			}
			return
		}
		own, _ := GenerateKeyPair(p.Kex())
		if key, err := own.DeriveDHE(p, SHA256); err == nil && len(key) != KeySize {
			t.Fatalf("%s: %d-byte key", p.Kex(), len(key))
		}
	})
}

// FuzzDecapsulate: any bytes as a ciphertext: no panic; exactly the right
// length decapsulates.
func FuzzDecapsulate(f *testing.F) {
	var kps []*KeyPair
	for _, k := range kemAll {
		kp, _ := GenerateKeyPair(k)
		kps = append(kps, kp)
		_, ct, _ := Encapsulate(kp.PublicKey(), SHA256)
		f.Add(ct, uint8(len(kps)-1))
	}
	f.Fuzz(func(t *testing.T, ct []byte, which uint8) {
		kp := kps[int(which)%len(kps)]
		key, err := kp.Decapsulate(ct, SHA256)
		n := CiphertextSize(kp.Kex())
		switch {
		case len(ct) != n && err == nil:
			t.Fatalf("%s: %d-byte ciphertext decapsulates", kp.Kex(), len(ct))
		case len(ct) == n && err == nil && len(key) != KeySize:
			t.Fatalf("%s: %d-byte key", kp.Kex(), len(key))
		case len(ct) == n && err != nil && kp.Kex() != X25519MLKEM768:
			// Only the hybrid's X25519 share can be rejected (low order).
			t.Fatalf("%s: %v", kp.Kex(), err)
		}
	})
}

// FuzzOpen: any bytes as a packet for every cipher: no panic; a failure
// leaves dst as it was; short packets fail as such. Sealing the opened
// plaintext again gives a packet of the input's length.
func FuzzOpen(f *testing.F) {
	for i, c := range allCiphers {
		pc, _ := NewPacketCipher(c, seq(32), nil)
		p, _ := pc.Seal(nil, []byte("seed packet"))
		f.Add(p, uint8(i))
	}
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, pkt []byte, which uint8) {
		c := allCiphers[int(which)%len(allCiphers)]
		pc, _ := NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: 2})
		for range 3 { // across a few rotations
			out, err := pc.Open([]byte("dst"), pkt)
			switch {
			case err != nil && string(out) != "dst":
				t.Fatalf("%s: failed Open changed dst to %q", c, out)
			case len(pkt) < pc.Overhead():
				if !errors.Is(err, ErrShortPacket) {
					t.Fatalf("%s: %d-byte packet: %v", c, len(pkt), err)
				}
			case err == nil:
				again, _ := pc.Seal(nil, out[3:])
				if len(again) != len(pkt) {
					t.Fatalf("%s: %d-byte packet opened to %d bytes", c, len(pkt), len(out)-3)
				}
			case !c.IsAEAD():
				t.Fatalf("%s: CTR Open failed: %v", c, err)
			}
		}
	})
}

// FuzzNegotiateServer: arbitrary offers against a few server policies: no
// panic, and an accepted encrypted offer is never weaker than the server's
// policy.
func FuzzNegotiateServer(f *testing.F) {
	x, _ := GenerateKeyPair(X25519)
	m, _ := GenerateKeyPair(MLKEM768)
	f.Add(uint16(AES256GCM), uint16(SHA256), x.PublicKey().Bytes(), false, false, uint8(0))
	f.Add(uint16(AES128CTR), uint16(SHA512), m.PublicKey().Bytes(), false, true, uint8(1))
	f.Add(uint16(0), uint16(0), []byte{}, true, true, uint8(2))
	policies := []Config{{}, cfg(X25519, AES128GCM, SHA256), clientEncap(cfg(MLKEM768, AES256GCM, SHA384))}
	f.Fuzz(func(t *testing.T, cipher, kdf uint16, kex []byte, raw, encap bool, which uint8) {
		srv := policies[int(which)%len(policies)]
		a, err := NegotiateServer(Offer{Cipher(cipher), Digest(kdf), kex, raw, encap}, srv)
		if err != nil || !a.Encrypted() {
			return
		}
		if a.Cipher.Rank() < srv.Cipher.Rank() || a.Kex.Rank() < srv.Kex.Rank() || a.Kex.Rank() <= 0 ||
			(!encap && a.KDF.Rank() < srv.KDF.Rank()) || a.Cipher.Rank() <= 0 {
			t.Fatalf("agreement %+v weaker than policy %+v", a, srv)
		}
	})
}

// FuzzParseKeyPairPEM: no panic; a key that parses has a public key that
// parses back as the same algorithm.
func FuzzParseKeyPairPEM(f *testing.F) {
	for _, s := range []string{x25519PEM, p256PEM, mlkem1024PEM, "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"} {
		f.Add([]byte(s))
	}
	kp, _ := NewKeyPair(MLKEM768, seq(64))
	for _, form := range []KeyForm{FormExpanded, FormBoth} {
		b, _ := MarshalKEMPrivateKeyPEM(kp, form)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kp, err := ParseKeyPairPEM(b)
		if err != nil {
			return
		}
		p, err := ParsePublicKey(kp.PublicKey().Bytes(), kp.PublicKey().Raw())
		if err != nil || p.Kex() != kp.Kex() {
			t.Fatalf("%s key pair: its public key parses as %v, %v", kp.Kex(), p, err)
		}
	})
}
