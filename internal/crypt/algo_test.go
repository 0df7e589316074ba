package crypt

import (
	"encoding/hex"
	"testing"
)

// The tables of irmd.md §4.3: name, NID, rank, and whether this build runs it.
var wantCiphers = []struct {
	name string
	nid  Cipher
	rank int
}{
	{"aes-128-ctr", 904, 1}, {"aes-192-ctr", 905, 2}, {"aes-256-ctr", 906, 3},
	{"aes-128-gcm", 895, 4}, {"aes-192-gcm", 898, 5}, {"aes-256-gcm", 901, 6},
	{"chacha20-poly1305", 1018, 7},
}

var wantKexes = []struct {
	name      string
	nid       Kex
	rank      int
	supported bool
	kem       bool
}{
	{"ffdhe2048", 1126, 1, false, false}, {"prime256v1", 415, 2, true, false},
	{"X25519", 1034, 3, true, false}, {"ffdhe3072", 1127, 4, false, false},
	{"secp384r1", 715, 5, true, false}, {"ffdhe4096", 1128, 6, false, false},
	{"X448", 1035, 7, false, false}, {"secp521r1", 716, 8, true, false},
	{"ML-KEM-512", 1454, 9, false, true}, {"ML-KEM-768", 1455, 10, true, true},
	{"ML-KEM-1024", 1456, 11, true, true}, {"X25519MLKEM768", 2053, 12, true, true},
	{"X448MLKEM1024", 2054, 13, false, true},
}

var wantDigests = []struct {
	name string
	nid  Digest
	rank int
	size int
	abc  string // digest of "abc" (FIPS 180-4, FIPS 202, RFC 7693)
}{
	{"blake2s256", 1057, 1, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"},
	{"sha256", 672, 2, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"sha3-256", 1097, 3, 32, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
	{"sha384", 673, 4, 48, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
	{"sha3-384", 1098, 5, 48, "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25"},
	{"blake2b512", 1056, 6, 64, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"},
	{"sha512", 674, 7, 64, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
	{"sha3-512", 1099, 8, 64, "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"},
}

func TestCipherTable(t *testing.T) {
	if len(ciphers) != len(wantCiphers) {
		t.Fatalf("%d ciphers, want %d", len(ciphers), len(wantCiphers))
	}
	for _, w := range wantCiphers {
		c, ok := CipherByName(w.name)
		if !ok || c != w.nid || c.String() != w.name || c.Rank() != w.rank || !c.Known() || !c.Supported() {
			t.Errorf("%s: nid %d ok %v name %q rank %d known %v supported %v", w.name, c, ok, c.String(), c.Rank(), c.Known(), c.Supported())
		}
	}
}

func TestKexTable(t *testing.T) {
	if len(kexes) != len(wantKexes) {
		t.Fatalf("%d kex algorithms, want %d", len(kexes), len(wantKexes))
	}
	for _, w := range wantKexes {
		k, ok := KexByName(w.name)
		rank := w.rank
		if !w.supported {
			rank = -1 // outside this build's supported set
		}
		if !ok || k != w.nid || k.String() != w.name || k.Rank() != rank || !k.Known() ||
			k.Supported() != w.supported || k.IsKEM() != w.kem {
			t.Errorf("%s: nid %d ok %v name %q rank %d (want %d) supported %v kem %v",
				w.name, k, ok, k.String(), k.Rank(), rank, k.Supported(), k.IsKEM())
		}
		if k.IsHybrid() != (w.nid == X25519MLKEM768 || w.nid == X448MLKEM1024) {
			t.Errorf("%s: IsHybrid %v", w.name, k.IsHybrid())
		}
		if w.supported != (seedSizeOK(k)) {
			t.Errorf("%s: SeedSize disagrees with Supported", w.name)
		}
	}
}

func seedSizeOK(k Kex) bool { _, err := SeedSize(k); return err == nil }

func TestDigestTable(t *testing.T) {
	if len(digests) != len(wantDigests) {
		t.Fatalf("%d digests, want %d", len(digests), len(wantDigests))
	}
	for _, w := range wantDigests {
		d, ok := DigestByName(w.name)
		if !ok || d != w.nid || d.String() != w.name || d.Rank() != w.rank || !d.Supported() || d.Size() != w.size {
			t.Errorf("%s: nid %d ok %v name %q rank %d size %d", w.name, d, ok, d.String(), d.Rank(), d.Size())
		}
		sum, err := d.Sum([]byte("abc"))
		if err != nil || hex.EncodeToString(sum) != w.abc {
			t.Errorf("%s(abc) = %x, %v", w.name, sum, err)
		}
	}
}

func TestUnknownNIDs(t *testing.T) {
	if Cipher(0).Rank() != 0 || Kex(0).Rank() != 0 || Digest(0).Rank() != 0 {
		t.Error("NID 0 must rank 0")
	}
	if Cipher(0).String() != "none" || Kex(0).String() != "none" || Digest(0).String() != "none" {
		t.Error("NID 0 must be called none")
	}
	// Unknown NIDs, and NIDs of another kind, rank -1.
	for _, n := range []uint16{9999, 672, 415} {
		if Cipher(n).Rank() != -1 || Cipher(n).Known() || Cipher(n).IVSize() != 0 {
			t.Errorf("Cipher(%d) ranks %d", n, Cipher(n).Rank())
		}
	}
	for _, n := range []uint16{9999, 901, 672} {
		if Kex(n).Rank() != -1 || Kex(n).Known() || Kex(n).IsKEM() {
			t.Errorf("Kex(%d) ranks %d", n, Kex(n).Rank())
		}
	}
	for _, n := range []uint16{9999, 901, 415} {
		if Digest(n).Rank() != -1 || Digest(n).Known() || Digest(n).Size() != 0 {
			t.Errorf("Digest(%d) ranks %d", n, Digest(n).Rank())
		}
		if _, err := Digest(n).Sum(nil); err == nil {
			t.Errorf("Digest(%d).Sum succeeded", n)
		}
	}
	if Cipher(9999).String() != "nid(9999)" {
		t.Errorf("String of an unknown NID: %q", Cipher(9999).String())
	}
	// Names are matched exactly.
	for _, n := range []string{"", "x25519", "AES-256-GCM", "SHA256", "invalid_algo", "rsa2048", " X25519"} {
		_, c := CipherByName(n)
		_, k := KexByName(n)
		_, d := DigestByName(n)
		if c || k || d {
			t.Errorf("name %q was found", n)
		}
	}
}
