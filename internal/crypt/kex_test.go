package crypt

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"testing"
)

// Diffie-Hellman known answers, computed with an independent implementation
// (OpenSSL via Python): both DER public keys, and the flow key
// HKDF(kdf, Z, SHA-256(sorted keys), "o7s-ossl-dhe").
var dheVectors = []struct {
	kex        Kex
	kdf        Digest
	seedA      string // private key A (scalar, big-endian; X25519: RFC 7748 Alice)
	seedB      string
	pubA, pubB string
	key        string
}{
	{
		X25519, SHA256,
		"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
		"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
		"302a300506032b656e0321008520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
		"302a300506032b656e032100de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
		"027f4ac391ca6220db591ec4eee481d3e9c72ef82ff9d4697c2a97f0e5a6dedb",
	},
	{
		Prime256v1, SHA512,
		"0101010101010101010101010101010101010101010101010101010101010101",
		"0202020202020202020202020202020202020202020202020202020202020202",
		"3059301306072a8648ce3d020106082a8648ce3d030107034200046ff03b949241ce1dadd43519e6960e0a85b41a69a05c328103aa2bce1594ca163c4f753a55bf01dc53f6c0b0c7eee78b40c6ff7d25a96e2282b989cef71c144a",
		"3059301306072a8648ce3d020106082a8648ce3d03010703420004550f471003f3df97c3df506ac797f6721fb1a1fb7b8f6f83d224498a65c88e24136093d7012e509a73715cbd0b00a3cc0ff4b5c01b3ffa196ab1fb327036b8e6",
		"406d72f6bb036d4e6ef5ec7a72733c5b2d1d4ec8b0ee7bcd9d02087ceda3b1ce",
	},
	{
		Secp384r1, SHA384,
		"010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101",
		"020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202",
		"3076301006072a8648ce3d020106052b810400220362000443e3af2a0db9086750976877650f426d2157a45e10de646ff857198b226df0d4b2243408e03ba711d9c34c51cb344413dd12e3cea20d5112f06b0831d2ea139ba34061f8310e9744fd18d915ef34f6f2c670e34c63eeb80bcc613ecb91f2c196",
		"3076301006072a8648ce3d020106052b8104002203620004316140c268c8841cddd1dcbb51a11d516d285cdda6979f1db9230b9a9436f07ea3bacb8f4200e382634338484d19cdf494a1a457df42b3e7e22a255300495305b5d6f0208f2aada1741af1a9baaa73c39db971ef06d180d9524e1a2a4d33dfa0",
		"2ec70542faff02efbb4b40bd60d1cd9c41c6a16fccb53cc0afa1afcad28ac08b",
	},
	{
		Secp521r1, SHA3_512,
		"0001" + "0101010101010101010101010101010101010101010101010101010101010101" + "0101010101010101010101010101010101010101010101010101010101010101",
		"0002" + "0202020202020202020202020202020202020202020202020202020202020202" + "0202020202020202020202020202020202020202020202020202020202020202",
		"30819b301006072a8648ce3d020106052b810400230381860004011309320fa79871907feccf8da286b6f3f6032f3e35e09d20cf0a6d26c4a9b511b996df76ce3ee6feb0f99e8607ae1d4216a1ce30ded77b7e0822c0e11d687e92e200d835271cdfc6cd9091adb1370c19cce0236b59ef5646857dbed1dbd362c0a135be1d2ff27b214ea8be204f521caf3d0f2e97fa46e28d0dcef716c02305629ec8b7",
		"30819b301006072a8648ce3d020106052b81040023038186000400b1b761a308f6b7634dbb7e9ca55faf54b8dde7b7c9e9a08a4943ce9402388495a2a902a813b11df6517f61112c8d28d85a59a6c3c51fa405d6a09ecaec257b21cb00044ddeec02fd227dc5b6e65c444c3dd2654ad65cfa24642a2b0761fe7c9a86566a2b17141f204b8a400531a12d62c5b783c0d8005f176dbaa57608fe6521314d63",
		"8305d1ea447026420e3721d6c50357afbbeb4a62756675fc31649de80ac11edd",
	},
}

func TestDHEKnownAnswer(t *testing.T) {
	for _, v := range dheVectors {
		a, err := NewKeyPair(v.kex, unhex(t, v.seedA))
		if err != nil {
			t.Fatalf("%s: %v", v.kex, err)
		}
		b, err := NewKeyPair(v.kex, unhex(t, v.seedB))
		if err != nil {
			t.Fatalf("%s: %v", v.kex, err)
		}
		if hex.EncodeToString(a.PublicKey().Bytes()) != v.pubA || hex.EncodeToString(b.PublicKey().Bytes()) != v.pubB {
			t.Errorf("%s public keys\n got %x\n     %x", v.kex, a.PublicKey().Bytes(), b.PublicKey().Bytes())
		}
		// Each side parses the other's key from the wire and derives.
		pa, err := ParsePublicKey(unhex(t, v.pubA), false)
		if err != nil || pa.Kex() != v.kex || !bytes.Equal(pa.Bytes(), unhex(t, v.pubA)) || pa.Raw() {
			t.Fatalf("%s: parse A: %v, %v", v.kex, pa, err)
		}
		pb, err := ParsePublicKey(unhex(t, v.pubB), false)
		if err != nil || pb.Kex() != v.kex {
			t.Fatalf("%s: parse B: %v", v.kex, err)
		}
		ka, err := a.DeriveDHE(pb, v.kdf)
		if err != nil || hex.EncodeToString(ka) != v.key {
			t.Errorf("%s/%s: A derives %x, %v; want %s", v.kex, v.kdf, ka, err, v.key)
		}
		kb, err := b.DeriveDHE(pa, v.kdf)
		if err != nil || hex.EncodeToString(kb) != v.key {
			t.Errorf("%s/%s: B derives %x, %v; want %s", v.kex, v.kdf, kb, err, v.key)
		}
	}
}

var dheAll = []Kex{Prime256v1, X25519, Secp384r1, Secp521r1}

// spkiSizes are the DER SubjectPublicKeyInfo sizes of irmd.md §4.3.
var spkiSizes = map[Kex]int{Prime256v1: 91, X25519: 44, Secp384r1: 120, Secp521r1: 158, MLKEM768: 1206, MLKEM1024: 1590}

func TestDHEAll(t *testing.T) {
	for i, k := range dheAll {
		kdf := wantDigests[i%len(wantDigests)].nid
		a, err := GenerateKeyPair(k)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := GenerateKeyPair(k)
		if n := len(a.PublicKey().Bytes()); n != spkiSizes[k] {
			t.Errorf("%s public key of %d bytes, want %d", k, n, spkiSizes[k])
		}
		// The algorithm is recovered from the key as carried.
		pa, err := ParsePublicKey(a.PublicKey().Bytes(), false)
		if err != nil || pa.Kex() != k {
			t.Fatalf("%s: algorithm from key: %v, %v", k, pa, err)
		}
		pb, _ := ParsePublicKey(b.PublicKey().Bytes(), false)
		ka, err1 := a.DeriveDHE(pb, kdf)
		kb, err2 := b.DeriveDHE(pa, kdf)
		if err1 != nil || err2 != nil || len(ka) != KeySize || !bytes.Equal(ka, kb) {
			t.Errorf("%s/%s: keys %x / %x, errors %v / %v", k, kdf, ka, kb, err1, err2)
		}
	}
}

func TestDHEWrongAlgorithm(t *testing.T) {
	a, _ := GenerateKeyPair(X25519)
	b, _ := GenerateKeyPair(Prime256v1)
	if _, err := a.DeriveDHE(b.PublicKey(), SHA256); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("X25519 against P-256: %v", err)
	}
	m, _ := GenerateKeyPair(MLKEM768)
	if _, err := m.DeriveDHE(m.PublicKey(), SHA256); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("DHE with a KEM key: %v", err)
	}
	if _, err := a.DeriveDHE(m.PublicKey(), SHA256); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("DHE against a KEM key: %v", err)
	}
}

func TestDHECorruptedPublicKey(t *testing.T) {
	for _, k := range dheAll {
		a, _ := GenerateKeyPair(k)
		b, _ := GenerateKeyPair(k)
		good, _ := a.DeriveDHE(b.PublicKey(), SHA256)
		for _, i := range []int{0, len(b.PublicKey().Bytes()) - 1} {
			bad := bytes.Clone(b.PublicKey().Bytes())
			bad[i] ^= 0xff
			p, err := ParsePublicKey(bad, false)
			if err != nil {
				continue // rejected: fine
			}
			// Only an X25519 key accepts any 32 bytes; it must then give
			// another key.
			key, err := a.DeriveDHE(p, SHA256)
			if err == nil && bytes.Equal(key, good) {
				t.Errorf("%s: flipping byte %d of the peer key changes nothing", k, i)
			}
		}
	}
}

func TestParsePublicKeyErrors(t *testing.T) {
	x, _ := GenerateKeyPair(X25519)
	p256, _ := GenerateKeyPair(Prime256v1)
	m768, _ := GenerateKeyPair(MLKEM768)
	h, _ := GenerateKeyPair(X25519MLKEM768)
	spkiOf := func(oid asn1.ObjectIdentifier, params []byte, key []byte) []byte {
		s := spki{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oid}, PublicKey: asn1.BitString{Bytes: key, BitLength: 8 * len(key)}}
		if params != nil {
			s.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
		}
		b, err := asn1.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ed25519 := spkiOf(asn1.ObjectIdentifier{1, 3, 101, 112}, nil, make([]byte, 32))
	p224 := unhex(t, "304e301006072a8648ce3d020106052b81040021033a000431c49ae75bce7807cdff22055d94ee9021fedbb5ab51c57526f011aa27e8bff1745635ec5ba0c9f1c2ede15414c6507d29ffe37e790a079b")
	for _, c := range []struct {
		name string
		b    []byte
		raw  bool
		want error
	}{
		{"empty", nil, false, ErrInvalidKey},
		{"garbage", []byte("not a key"), false, ErrInvalidKey},
		{"truncated DER", x.PublicKey().Bytes()[:30], false, ErrInvalidKey},
		{"trailing byte", append(bytes.Clone(x.PublicKey().Bytes()), 0), false, ErrInvalidKey},
		{"too long", make([]byte, MaxKexLen+1), false, ErrInvalidKey},
		{"compressed P-256 point", compressed(t, p256.PublicKey().Bytes()), false, ErrInvalidKey},
		{"ML-KEM-768 key of the wrong size", spkiOf(oidMLKEM768, nil, make([]byte, 1183)), false, ErrInvalidKey},
		{"ML-KEM-768 with parameters", spkiOf(oidMLKEM768, []byte{5, 0}, m768.PublicKey().ek768.Bytes()), false, ErrInvalidKey},
		{"ML-KEM-512", spkiOf(oidMLKEM512, nil, make([]byte, 800)), false, ErrUnsupported},
		{"X448", spkiOf(oidX448, nil, make([]byte, 56)), false, ErrUnsupported},
		{"ffdhe", spkiOf(oidDHPKCS3, []byte{0x30, 0x06, 0x02, 0x01, 0x17, 0x02, 0x01, 0x02}, []byte{0x02, 0x01, 0x05}), false, ErrUnsupported},
		{"Ed25519", ed25519, false, ErrUnknownAlgorithm},
		{"P-224", p224, false, ErrUnknownAlgorithm},
		{"DER key flagged raw", x.PublicKey().Bytes(), true, ErrInvalidKey},
		{"raw hybrid not flagged", h.PublicKey().Bytes(), false, ErrInvalidKey},
		{"raw X448MLKEM1024", make([]byte, 1624), true, ErrUnsupported},
		{"raw of unknown size", make([]byte, 1215), true, ErrInvalidKey},
	} {
		p, err := ParsePublicKey(c.b, c.raw)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, %v; want %v", c.name, p, err, c.want)
		}
	}
}

// compressed re-encodes a P-256 SubjectPublicKeyInfo with a compressed point.
func compressed(t *testing.T, der []byte) []byte {
	var s spki
	if _, err := asn1.Unmarshal(der, &s); err != nil {
		t.Fatal(err)
	}
	pt := s.PublicKey.Bytes
	c := append([]byte{2 | pt[64]&1}, pt[1:33]...)
	s.PublicKey = asn1.BitString{Bytes: c, BitLength: 8 * len(c)}
	b, err := asn1.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewKeyPairErrors(t *testing.T) {
	for _, k := range []Kex{FFDHE2048, X448, MLKEM512, X448MLKEM1024} {
		if _, err := GenerateKeyPair(k); !errors.Is(err, ErrUnsupported) {
			t.Errorf("GenerateKeyPair(%s): %v", k, err)
		}
	}
	if _, err := GenerateKeyPair(Kex(9999)); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("GenerateKeyPair(9999): %v", err)
	}
	if _, err := NewKeyPair(X25519, make([]byte, 31)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("short seed: %v", err)
	}
	if _, err := NewKeyPair(Prime256v1, make([]byte, 32)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("zero P-256 scalar: %v", err)
	}
}
