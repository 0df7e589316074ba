package hash

import (
	"encoding/hex"
	"testing"
)

func TestVectors(t *testing.T) {
	cases := []struct {
		a    Algo
		in   string
		want string
	}{
		// FIPS-202 SHA3-256("abc"), the reference's hash_test vector.
		{SHA3_256, "abc", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
		{MD5, "abc", "900150983cd24fb0d6963f7d28e17f72"},
		{CRC32, "abc", "352441c2"},
	}
	for _, c := range cases {
		got, err := Sum(c.a, c.in)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != c.want {
			t.Errorf("%v(%q) = %x, want %s", c.a, c.in, got, c.want)
		}
		if len(got) != c.a.Len() {
			t.Errorf("%v len %d, want %d", c.a, len(got), c.a.Len())
		}
	}
	// The reference's log: SHA3-256 of my.oping.server starts with d0b5d7eb.
	h, _ := Sum(SHA3_256, "my.oping.server")
	if Short(h) != "d0b5d7eb" {
		t.Errorf("short hash = %s", Short(h))
	}
	for _, a := range []Algo{SHA3_224, SHA3_384, SHA3_512} {
		h, _ := Sum(a, "x")
		if len(h) != a.Len() {
			t.Errorf("%v len %d", a, len(h))
		}
	}
	if _, err := Sum(Algo(9), "x"); err == nil {
		t.Error("unknown algorithm accepted")
	}
}
