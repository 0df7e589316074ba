package crypt

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// seq returns n bytes 00 01 02 ….
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestDeriveKeyRFC5869(t *testing.T) {
	// RFC 5869 A.1; with L = 32 the output is the first 32 bytes of the
	// 42-byte OKM.
	ikm := unhex(t, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")
	salt := unhex(t, "000102030405060708090a0b0c")
	info := string(unhex(t, "f0f1f2f3f4f5f6f7f8f9"))
	got, err := DeriveKey(SHA256, ikm, salt, info)
	want := "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	if err != nil || hex.EncodeToString(got) != want {
		t.Fatalf("HKDF-SHA256 = %x, %v; want %s", got, err, want)
	}
}

func TestDeriveKeyDigests(t *testing.T) {
	// HKDF(d, IKM = 00…1f, salt = SHA-256("salt"), info = "o7s-ossl-dhe", L = 32)
	// computed with an independent implementation (OpenSSL via Python).
	want := map[Digest]string{
		BLAKE2s256: "c1c500dfe4c1bbd4facd508ba603eadbc2d4225224a472b4fe24dcbeb832b849",
		SHA256:     "4a359f29ef1c46ae11b3b2ee6820d3cf0445c51c861deb3031835513d71408eb",
		SHA3_256:   "ef74de0776b57539d18b8adf284493309999a8f431c04bcabaf32376e9e96853",
		SHA384:     "90709e8afd550510195936b2a22a734046840b7dd8ac68d5f475fa58ebcceb4b",
		SHA3_384:   "a23dea45daea9d0e84a507f9661c77108114b8223d497b342b7cfc1f33c5a277",
		BLAKE2b512: "e9b4539063e5f1ddef6294a430670347bd61bb43caf32eb84d4023a8cc41b81a",
		SHA512:     "b924a0de89cbb512f31437e28ceb6d23fc0a0c074c7073aecc1dd67897966f47",
		SHA3_512:   "32c60c853fa8a41c804e8d10f948b47e68af992981630f5f1e6e15856e2a457c",
		0:          "4a359f29ef1c46ae11b3b2ee6820d3cf0445c51c861deb3031835513d71408eb", // SHA-256
		9999:       "4a359f29ef1c46ae11b3b2ee6820d3cf0445c51c861deb3031835513d71408eb", // unknown → SHA-256
	}
	salt := sha256.Sum256([]byte("salt"))
	for d, w := range want {
		got, err := DeriveKey(d, seq(32), salt[:], InfoDHE)
		if err != nil || hex.EncodeToString(got) != w {
			t.Errorf("kdf %s: %x, %v; want %s", d, got, err, w)
		}
	}
}

func TestDHESaltOrder(t *testing.T) {
	cat := func(a, b string) [32]byte { return sha256.Sum256([]byte(a + b)) }
	for _, c := range []struct{ a, b, first, second string }{
		{"abc", "abd", "abc", "abd"},
		{"abd", "abc", "abc", "abd"},
		{"ab", "abc", "ab", "abc"}, // a prefix: the shorter first
		{"abc", "ab", "ab", "abc"},
		{"b", "ab", "ab", "b"}, // compared over the common length first
		{"x", "x", "x", "x"},
	} {
		if DHESalt([]byte(c.a), []byte(c.b)) != cat(c.first, c.second) {
			t.Errorf("DHESalt(%q, %q) is not SHA-256(%q ‖ %q)", c.a, c.b, c.first, c.second)
		}
	}
}

func TestRotateKeyVector(t *testing.T) {
	// library.md §6.3, K0 = 00 01 … 1f.
	salt := sha256.Sum256(seq(32))
	if hex.EncodeToString(salt[:]) != "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd" {
		t.Fatalf("salt %x", salt)
	}
	k1 := RotateKey(seq(32), salt)
	k2 := RotateKey(k1, salt)
	if hex.EncodeToString(k1) != "cf95b6c68e77b8713cdfd62033f2bea52f621b894e197be6934c6ff99735d1a5" {
		t.Errorf("K1 = %x", k1)
	}
	if hex.EncodeToString(k2) != "4c3544057ff00629fb982b8c17201efcbee072bc377c0496131bc840903559b9" {
		t.Errorf("K2 = %x", k2)
	}
}
