package oap

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestDigests(t *testing.T) {
	// FIPS 180/202 test vectors for "abc".
	want := map[uint16]string{
		MDSHA256:   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		MDSHA384:   "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
		MDSHA512:   "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		MDSHA3_256: "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
		MDSHA3_384: "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25",
		MDSHA3_512: "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
	}
	for nid, w := range want {
		got, err := Sum(nid, []byte("abc"))
		if err != nil || hex.EncodeToString(got) != w {
			t.Errorf("%s: %x, %v", NIDName(nid), got, err)
		}
		if n, err := DigestSize(nid); err != nil || n != len(w)/2 {
			t.Errorf("DigestSize(%s) = %d, %v", NIDName(nid), n, err)
		}
	}
	for _, nid := range []uint16{MDBLAKE2s256, MDBLAKE2b512} {
		if _, err := Sum(nid, nil); !errors.Is(err, ErrDigestUnavailable) {
			t.Errorf("Sum(%s): %v, want ErrDigestUnavailable", NIDName(nid), err)
		}
	}
	if n, _ := DigestSize(MDBLAKE2s256); n != 32 {
		t.Errorf("blake2s256 size %d", n)
	}
	if n, _ := DigestSize(MDBLAKE2b512); n != 64 {
		t.Errorf("blake2b512 size %d", n)
	}
	for _, nid := range []uint16{0, 9999, CipherAES256GCM, KexX25519} {
		if _, err := Sum(nid, nil); !errors.Is(err, ErrUnknownNID) {
			t.Errorf("Sum(%d): %v, want ErrUnknownNID", nid, err)
		}
		if _, err := DigestSize(nid); !errors.Is(err, ErrUnknownNID) {
			t.Errorf("DigestSize(%d): %v, want ErrUnknownNID", nid, err)
		}
	}
}

func TestNIDTable(t *testing.T) {
	if ReqMD(0) != 673 || ReqMD(MDSHA256) != 672 {
		t.Error("ReqMD")
	}
	counts := map[Kind]int{}
	for nid := range algos {
		counts[KindOf(nid)]++
	}
	if counts[KindCipher] != 7 || counts[KindKex] != 13 || counts[KindDigest] != 8 {
		t.Errorf("table sizes %v, want 7 ciphers, 13 kex, 8 digests", counts)
	}
	if NIDName(0) != "none" || NIDName(906) != "aes-256-ctr" || NIDName(2054) != "X448MLKEM1024" ||
		NIDName(9999) != "nid(9999)" || KindOf(0) != KindUnknown {
		t.Error("NIDName/KindOf")
	}
}
