package crypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/sha3"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestExpandedKeyParts: the expanded key made from a seed has the FIPS 203
// layout dk_PKE ‖ ek ‖ H(ek) ‖ z, with ek as crypto/mlkem makes it from the
// same seed, H = SHA3-256 and z the second half of the seed.
func TestExpandedKeyParts(t *testing.T) {
	seed := seq(64)
	for _, k := range []Kex{MLKEM768, MLKEM1024} {
		kp, err := NewKeyPair(k, seed)
		if err != nil {
			t.Fatal(err)
		}
		var ek []byte
		if k == MLKEM768 {
			ek = kp.pub.ek768.Bytes()
		} else {
			ek = kp.pub.ek1024.Bytes()
		}
		dk := expandSeed(k, seed)
		pke := len(ek) - 32
		h := sha3.Sum256(ek)
		if len(dk) != expandedSize(k) || len(dk) != pke+len(ek)+64 ||
			!bytes.Equal(dk[pke:pke+len(ek)], ek) || !bytes.Equal(dk[pke+len(ek):len(dk)-32], h[:]) ||
			!bytes.Equal(dk[len(dk)-32:], seed[32:]) {
			t.Errorf("%s: expanded key of %d bytes does not have the FIPS 203 layout", k, len(dk))
		}
	}
}

// TestExpandedKeyKnownAnswer: a key loaded from its expanded form alone (a
// PKCS#8 expanded-only PEM, and for the hybrid kex.key.raw) has the public
// key of the vectors of kem_test.go and decapsulates their ciphertext to
// their flow key.
func TestExpandedKeyKnownAnswer(t *testing.T) {
	bob := unhex(t, dheVectors[0].seedB)
	alice, err := ecdh.X25519().NewPrivateKey(unhex(t, dheVectors[0].seedA))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		kex                Kex
		kdf                Digest
		pubSHA, ctSHA, key string
	}{
		{MLKEM768, SHA256, mlkem768SPKISHA, mlkem768CTSHA, mlkem768Key},
		{MLKEM1024, SHA384, mlkem1024SPKISHA, mlkem1024CTSHA, mlkem1024Key},
		{X25519MLKEM768, SHA3_256, hybridPubSHA, hybridCTSHA, hybridKey},
	} {
		var kp *KeyPair
		var err error
		if v.kex == X25519MLKEM768 {
			raw := append(expandSeed(MLKEM768, seq(64)), bob...)
			kp, err = ParseRawKeyPair(raw)
			if err == nil {
				if again, _ := kp.MarshalRaw(); !bytes.Equal(again, raw) {
					t.Errorf("%s: MarshalRaw does not give back the file", v.kex)
				}
			}
		} else {
			var exp []byte
			exp, err = asn1.Marshal(expandSeed(v.kex, seq(64)))
			if err != nil {
				t.Fatal(err)
			}
			oid := oidMLKEM768
			if v.kex == MLKEM1024 {
				oid = oidMLKEM1024
			}
			var p []byte
			if p, err = marshalPKCS8PEM(oid, exp); err != nil {
				t.Fatal(err)
			}
			kp, err = ParseKeyPairPEM(p)
		}
		if err != nil {
			t.Fatalf("%s: %v", v.kex, err)
		}
		if kp.Kex() != v.kex || kp.dk768 != nil || kp.dk1024 != nil {
			t.Fatalf("%s: loaded as %s (seed-based: %v)", v.kex, kp.Kex(), kp.dk768 != nil || kp.dk1024 != nil)
		}
		pub := kp.PublicKey().Bytes()
		if sha(pub) != v.pubSHA {
			t.Errorf("%s: public key SHA-256 %s", v.kex, sha(pub))
		}
		p, err := ParsePublicKey(pub, v.kex.IsHybrid())
		if err != nil {
			t.Fatal(err)
		}
		var eph *ecdh.PrivateKey
		if v.kex.IsHybrid() {
			eph = alice
		}
		_, ct, err := encapsulate(p, v.kdf, detEncaps(t), eph)
		if err != nil || sha(ct) != v.ctSHA {
			t.Fatalf("%s: encapsulation: %v", v.kex, err)
		}
		got, err := kp.Decapsulate(ct, v.kdf)
		if err != nil || hex.EncodeToString(got) != v.key {
			t.Errorf("%s: decapsulation: %x, %v; want %s", v.kex, got, err, v.key)
		}
	}
}

// TestExpandedKeyRoundTrip: random keys written in each form load back and
// decapsulate what crypto/mlkem encapsulates to the public key.
func TestExpandedKeyRoundTrip(t *testing.T) {
	for _, k := range []Kex{MLKEM768, MLKEM1024} {
		kp, err := GenerateKeyPair(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range []KeyForm{FormSeed, FormExpanded, FormBoth} {
			b, err := MarshalKEMPrivateKeyPEM(kp, form)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseKeyPairPEM(b)
			if err != nil || !bytes.Equal(got.PublicKey().Bytes(), kp.PublicKey().Bytes()) {
				t.Fatalf("%s form %d: %v", k, form, err)
			}
			// Encapsulate with crypto/mlkem from the public key bytes.
			var ss, ct []byte
			if k == MLKEM768 {
				ek, err := mlkem.NewEncapsulationKey768(kp.expanded()[1152 : 1152+1184])
				if err != nil {
					t.Fatal(err)
				}
				ss, ct = ek.Encapsulate()
			} else {
				ek, err := mlkem.NewEncapsulationKey1024(kp.expanded()[1536 : 1536+1568])
				if err != nil {
					t.Fatal(err)
				}
				ss, ct = ek.Encapsulate()
			}
			salt := KEMSalt(kp.PublicKey().Bytes())
			want, _ := DeriveKey(SHA512, ss, salt[:], InfoEncap)
			key, err := got.Decapsulate(ct, SHA512)
			if err != nil || !bytes.Equal(key, want) {
				t.Errorf("%s form %d: decapsulation %x, %v; want %x", k, form, key, err, want)
			}
		}
	}
	// The hybrid's raw form.
	kp, _ := GenerateKeyPair(X25519MLKEM768)
	raw, err := kp.MarshalRaw()
	if err != nil || len(raw) != HybridRawKeySize {
		t.Fatalf("MarshalRaw: %d bytes, %v", len(raw), err)
	}
	got, err := ParseRawKeyPair(raw)
	if err != nil || !bytes.Equal(got.PublicKey().Bytes(), kp.PublicKey().Bytes()) {
		t.Fatalf("ParseRawKeyPair: %v", err)
	}
	key, ct, err := Encapsulate(kp.PublicKey(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if k2, err := got.Decapsulate(ct, 0); err != nil || !bytes.Equal(k2, key) {
		t.Errorf("hybrid raw key: decapsulation %x, %v; want %x", k2, err, key)
	}
}

// TestExpandedKeyRefused: damaged and malformed keys are refused with
// ErrInvalidKey (ErrUnsupported for X448MLKEM1024) and a message that says
// what is wrong.
func TestExpandedKeyRefused(t *testing.T) {
	good := append(expandSeed(MLKEM768, seq(64)), unhex(t, dheVectors[0].seedB)...)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, c := range []struct {
		name string
		raw  []byte
		want error
		text string
	}{
		{"empty", nil, ErrInvalidKey, "raw private key of 0 bytes"},
		{"short", good[:len(good)-1], ErrInvalidKey, "raw private key of 2431 bytes is no hybrid KEM key (want 2432"},
		{"long", append(bytes.Clone(good), 0), ErrInvalidKey, "raw private key of 2433 bytes"},
		{"seed form", append(seq(64), good[2400:]...), ErrInvalidKey, "96 bytes"},
		{"X448MLKEM1024", make([]byte, 3224), ErrUnsupported, "X448MLKEM1024"},
		{"H(ek) changed", mod(func(b []byte) []byte { b[1152+1184] ^= 1; return b }), ErrInvalidKey, "hash of its encapsulation key does not match"},
		{"ek changed", mod(func(b []byte) []byte { b[1152+5] ^= 1; return b }), ErrInvalidKey, "hash of its encapsulation key does not match"},
		{"dk_PKE not canonical", mod(func(b []byte) []byte { b[0], b[1] = 0xff, b[1]|0x0f; return b }), ErrInvalidKey, "not a canonical encoding"},
		{"all zero", make([]byte, HybridRawKeySize), ErrInvalidKey, "hash of its encapsulation key does not match"},
	} {
		_, err := ParseRawKeyPair(c.raw)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v; want %v with %q", c.name, err, c.want, c.text)
		}
	}

	// PKCS#8: expanded keys of the wrong size, and "both" forms whose
	// parts disagree.
	seed := seq(64)
	dk := expandSeed(MLKEM768, seed)
	other := expandSeed(MLKEM768, append(seq(32), make([]byte, 32)...))
	zOnly := bytes.Clone(dk)
	zOnly[len(zOnly)-1] ^= 1
	pkeOnly := bytes.Clone(dk)
	pkeOnly[7] ^= 0x01
	pem := func(form KeyForm, s, e []byte) []byte {
		inner, err := marshalKeyChoice(form, s, e)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := marshalPKCS8PEM(oidMLKEM768, inner)
		return p
	}
	for _, c := range []struct {
		name string
		pem  []byte
		text string
	}{
		{"expanded short", pem(FormExpanded, nil, dk[:2399]), "expanded private key of 2399 bytes, want 2400"},
		{"expanded of 1024 size", pem(FormExpanded, nil, append(bytes.Clone(dk), make([]byte, 768)...)), "3168 bytes, want 2400"},
		{"both: another key", pem(FormBoth, seed, other), "its expanded key does not match its seed"},
		{"both: z differs", pem(FormBoth, seed, zOnly), "its expanded key does not match its seed"},
		{"both: dk_PKE differs", pem(FormBoth, seed, pkeOnly), "its expanded key does not match its seed"},
		{"both: short seed", pem(FormBoth, seed[:32], dk), "seed of 32 bytes, want 64"},
		{"empty seed", pem(FormSeed, []byte{}, nil), "empty seed"},
		{"empty expanded", pem(FormExpanded, nil, []byte{}), "empty expanded key"},
	} {
		_, err := ParseKeyPairPEM(c.pem)
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v; want ErrInvalidKey with %q", c.name, err, c.text)
		}
	}
	if _, err := MarshalKEMPrivateKeyPEM(mustExpanded(t), FormSeed); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("seed form of a key without seed: %v", err)
	}
}

func mustExpanded(t *testing.T) *KeyPair {
	kp, err := newExpandedKeyPair(MLKEM768, expandSeed(MLKEM768, seq(64)))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// FuzzParseRawKeyPair: no panic; a key that parses has a public key that
// parses back as X25519MLKEM768 and decapsulates what is encapsulated to it.
func FuzzParseRawKeyPair(f *testing.F) {
	good := append(expandSeed(MLKEM768, seq(64)), seq(32)...)
	f.Add(good)
	f.Add(good[:100])
	f.Add(make([]byte, HybridRawKeySize))
	f.Fuzz(func(t *testing.T, b []byte) {
		kp, err := ParseRawKeyPair(b)
		if err != nil {
			return
		}
		p, err := ParsePublicKey(kp.PublicKey().Bytes(), true)
		if err != nil || p.Kex() != X25519MLKEM768 {
			t.Fatalf("its public key parses as %v, %v", p, err)
		}
		key, ct, err := Encapsulate(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := kp.Decapsulate(ct, 0); err != nil || !bytes.Equal(got, key) {
			t.Fatalf("decapsulation %x, %v; want %x", got, err, key)
		}
	})
}
