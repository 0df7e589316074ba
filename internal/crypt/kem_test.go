package crypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// Vectors computed with an independent implementation (OpenSSL via Python):
// ML-KEM keys from the seed 00…3f, the ciphertext of deterministic
// encapsulation with randomness 42…42 (FIPS 203 is deterministic given it),
// and the flow key from decapsulating it.
const (
	mlkem768SPKISHA  = "c23e23dd3d485a9256cda09358a4a286e00b373db10761eadf99f710649ca31c"
	mlkem1024SPKISHA = "d2b7480ae006a14b37c1e8a8e45ea39022e32a9b1a7b90d594c84d869c6ac420"
	mlkem768CTSHA    = "9c7b2f8d05c70575ec03ed8f93b7bb298e1506b97e54e5e885748965b1466f1c"
	mlkem1024CTSHA   = "a92b6445ec6e627beec79dac695e8cc172bdb8560d3508cf31e638456849b449"
	mlkem768Key      = "a1a6bc2357c5e8b09848af847f102990ea741aa19fe4ea17531b0aabd823f9ad" // kdf sha256
	mlkem1024Key     = "431336f25c042bae66e420f79258d34e7f38c5a13dc6888a6dd0d1c8c6ff8bd3" // kdf sha384
	// X25519MLKEM768: static key = ML-KEM seed 00…3f and X25519 key of RFC 7748
	// Bob; the encapsulator's ephemeral X25519 key is RFC 7748 Alice's.
	hybridPubSHA = "fcbc35c15fec75ee7a50ba9de46fb127c0585e3c10dd49f420428be4c8bb0eab"
	hybridCTSHA  = "7f2d61f895dbb2e49dfe229dc2bab1799e3dddb44dfe4a19eb7be8b1fa0580b7"
	hybridKey    = "cce1af0c7bd5cbc53fed5e4b865c219f9ebeaacdad56b6c685dfc2e630094436" // kdf sha3-256
)

// detEncaps encapsulates with the fixed randomness of the vectors.
func detEncaps(t *testing.T) mlkemEncaps {
	r := bytes.Repeat([]byte{0x42}, 32)
	return mlkemEncaps{
		e768: func(ek *mlkem.EncapsulationKey768) ([]byte, []byte) {
			ss, ct, err := mlkemtest.Encapsulate768(ek, r)
			if err != nil {
				t.Fatal(err)
			}
			return ss, ct
		},
		e1024: func(ek *mlkem.EncapsulationKey1024) ([]byte, []byte) {
			ss, ct, err := mlkemtest.Encapsulate1024(ek, r)
			if err != nil {
				t.Fatal(err)
			}
			return ss, ct
		},
	}
}

func TestKEMKnownAnswer(t *testing.T) {
	bob := unhex(t, dheVectors[0].seedB)
	alice, err := ecdh.X25519().NewPrivateKey(unhex(t, dheVectors[0].seedA))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		kex                Kex
		seed               []byte
		kdf                Digest
		size               int
		prefix             string // start of the public key
		pubSHA, ctSHA, key string
		eph                *ecdh.PrivateKey
	}{
		{MLKEM768, seq(64), SHA256, 1206, "308204b2300b0609608648016503040402038204a100", mlkem768SPKISHA, mlkem768CTSHA, mlkem768Key, nil},
		{MLKEM1024, seq(64), SHA384, 1590, "30820632300b06096086480165030404030382062100", mlkem1024SPKISHA, mlkem1024CTSHA, mlkem1024Key, nil},
		{X25519MLKEM768, append(seq(64), bob...), SHA3_256, 1216, "", hybridPubSHA, hybridCTSHA, hybridKey, alice},
	} {
		kp, err := NewKeyPair(v.kex, v.seed)
		if err != nil {
			t.Fatalf("%s: %v", v.kex, err)
		}
		pub := kp.PublicKey().Bytes()
		if len(pub) != v.size || !bytes.HasPrefix(pub, unhex(t, v.prefix)) || sha(pub) != v.pubSHA {
			t.Errorf("%s: public key of %d bytes, %x…, SHA-256 %s", v.kex, len(pub), pub[:24], sha(pub))
		}
		// The encapsulator parses the key as carried.
		p, err := ParsePublicKey(pub, v.kex.IsHybrid())
		if err != nil || p.Kex() != v.kex || !bytes.Equal(p.Bytes(), pub) || p.Raw() != v.kex.IsHybrid() {
			t.Fatalf("%s: parse: %v", v.kex, err)
		}
		key, ct, err := encapsulate(p, v.kdf, detEncaps(t), v.eph)
		if err != nil || sha(ct) != v.ctSHA || hex.EncodeToString(key) != v.key || len(ct) != CiphertextSize(v.kex) {
			t.Errorf("%s: encapsulation: ct %d bytes SHA-256 %s, key %x, %v", v.kex, len(ct), sha(ct), key, err)
		}
		got, err := kp.Decapsulate(ct, v.kdf)
		if err != nil || hex.EncodeToString(got) != v.key {
			t.Errorf("%s: decapsulation: %x, %v; want %s", v.kex, got, err, v.key)
		}
	}
}

var kemAll = []Kex{MLKEM768, MLKEM1024, X25519MLKEM768}

func TestKEMRoundTrip(t *testing.T) {
	for i, k := range kemAll {
		kdf := wantDigests[(i+3)%len(wantDigests)].nid
		kp, err := GenerateKeyPair(k)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := spkiSizes[k]; ok && len(kp.PublicKey().Bytes()) != n {
			t.Errorf("%s: public key of %d bytes, want %d", k, len(kp.PublicKey().Bytes()), n)
		}
		p, err := ParsePublicKey(kp.PublicKey().Bytes(), kp.PublicKey().Raw())
		if err != nil || p.Kex() != k {
			t.Fatalf("%s: %v", k, err)
		}
		key, ct, err := Encapsulate(p, kdf)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		got, err := kp.Decapsulate(ct, kdf)
		if err != nil || len(key) != KeySize || !bytes.Equal(got, key) {
			t.Errorf("%s/%s: %x vs %x, %v", k, kdf, key, got, err)
		}

		// A corrupted ciphertext still decapsulates (implicit rejection)
		// but to another key.
		bad := bytes.Clone(ct)
		bad[len(bad)/3] ^= 1
		if other, err := kp.Decapsulate(bad, kdf); err != nil || bytes.Equal(other, key) {
			t.Errorf("%s: corrupted ciphertext: %v, same key %v", k, err, bytes.Equal(other, key))
		}
		// Another key pair gets another key.
		kp2, _ := GenerateKeyPair(k)
		if other, err := kp2.Decapsulate(ct, kdf); err == nil && bytes.Equal(other, key) {
			t.Errorf("%s: wrong key pair decapsulates to the same key", k)
		}
		// A truncated ciphertext fails.
		if _, err := kp.Decapsulate(ct[:len(ct)/2], kdf); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: truncated ciphertext: %v", k, err)
		}
	}
}

func TestKEMMisuse(t *testing.T) {
	x, _ := GenerateKeyPair(X25519)
	if _, _, err := Encapsulate(x.PublicKey(), SHA256); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("encapsulating to X25519: %v", err)
	}
	if _, err := x.Decapsulate(make([]byte, 32), SHA256); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("decapsulating with X25519: %v", err)
	}
	// A hybrid ciphertext whose X25519 part is the all-zero point.
	h, _ := GenerateKeyPair(X25519MLKEM768)
	_, ct, _ := Encapsulate(h.PublicKey(), SHA256)
	clear(ct[mlkem768CTSize:])
	if _, err := h.Decapsulate(ct, SHA256); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("low-order X25519 share: %v", err)
	}
}
