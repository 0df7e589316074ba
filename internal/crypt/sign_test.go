package crypt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
)

// signers returns one key of every supported type.
func signers(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{
		"p256": mustKey(t, "p256"), "p384": mustKey(t, "p384"), "p521": p521,
		"ed25519": mustKey(t, "ed25519"), "rsa2048": r,
	}
}

// allMD is md 0 and every digest.
var allMD = []Digest{0, BLAKE2s256, SHA256, SHA3_256, SHA384, SHA3_384, BLAKE2b512, SHA512, SHA3_512}

// Round trip for each key type and digest; the unsupported combinations are
// those the reference cannot sign either: Ed25519 with a digest, RSA with
// BLAKE2.
func TestSignVerify(t *testing.T) {
	msg := bytes.Repeat([]byte("OAP signed region "), 10)
	for name, key := range signers(t) {
		for _, md := range allMD {
			_, isEd := key.(ed25519.PrivateKey)
			_, isRSA := key.(*rsa.PrivateKey)
			unsupported := isEd && md != 0 || isRSA && (md == BLAKE2s256 || md == BLAKE2b512)
			sig, err := Sign(key, md, msg)
			if unsupported {
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("%s md %s: signed (%v), want ErrUnsupported", name, md, err)
				}
				if err := VerifyKey(key.Public(), md, msg, make([]byte, 64)); !errors.Is(err, ErrSignature) {
					t.Errorf("%s md %s: verify: %v", name, md, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s md %s: %v", name, md, err)
			}
			if err := VerifyKey(key.Public(), md, msg, sig); err != nil {
				t.Fatalf("%s md %s: own signature: %v", name, md, err)
			}
			bad := bytes.Clone(msg)
			bad[len(bad)/2] ^= 1
			if err := VerifyKey(key.Public(), md, bad, sig); !errors.Is(err, ErrSignature) {
				t.Errorf("%s md %s: altered message: %v", name, md, err)
			}
			for _, i := range []int{0, len(sig) / 2, len(sig) - 1} {
				tampered := bytes.Clone(sig)
				tampered[i] ^= 0x40
				if err := VerifyKey(key.Public(), md, msg, tampered); !errors.Is(err, ErrSignature) {
					t.Errorf("%s md %s: signature with byte %d flipped: %v", name, md, i, err)
				}
			}
			if err := VerifyKey(key.Public(), md, msg, append(bytes.Clone(sig), 0)); !errors.Is(err, ErrSignature) {
				t.Errorf("%s md %s: trailing byte accepted: %v", name, md, err)
			}
			if md != 0 && !isEd {
				other := SHA512
				if md == SHA512 {
					other = SHA256
				}
				if err := VerifyKey(key.Public(), other, msg, sig); !errors.Is(err, ErrSignature) {
					t.Errorf("%s: signed with %s verified with %s: %v", name, md, other, err)
				}
			}
			if err := VerifyKey(signers(t)[name].Public(), md, msg, sig); !errors.Is(err, ErrSignature) {
				t.Errorf("%s md %s: verified with another key: %v", name, md, err)
			}
		}
	}
}

// The bytes on the wire: ECDSA is a DER SEQUENCE { r, s } over the digest
// (SHA-256 for md 0), Ed25519 is the RFC 8032 signature of the message itself.
func TestSignatureEncoding(t *testing.T) {
	msg := []byte("signed region")
	ec := mustKey(t, "p256").(*ecdsa.PrivateKey)
	sig, err := Sign(ec, 0, msg)
	if err != nil {
		t.Fatal(err)
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) > 0 || len(sig) < 8 || len(sig) > 72 {
		t.Fatalf("ECDSA signature %x is not DER ECDSA-Sig-Value (%v)", sig, err)
	}
	d := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(&ec.PublicKey, d[:], sig) {
		t.Fatal("md 0 is not ECDSA over SHA-256(msg)")
	}
	ed := mustKey(t, "ed25519").(ed25519.PrivateKey)
	sig, err = Sign(ed, 0, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig, ed25519.Sign(ed, msg)) {
		t.Fatal("Ed25519 signature is not pure Ed25519 of the message")
	}
}

func TestVerifyRefusesSizes(t *testing.T) {
	key := mustKey(t, "p256")
	for _, sig := range [][]byte{nil, {}, make([]byte, MaxSignatureLen+1)} {
		if err := VerifyKey(key.Public(), 0, []byte("m"), sig); !errors.Is(err, ErrSignature) {
			t.Errorf("signature of %d bytes: %v", len(sig), err)
		}
	}
	if _, err := Sign(key, Digest(9999), []byte("m")); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("md 9999: %v", err)
	}
	if err := VerifyKey(key.Public(), Digest(AES256GCM), []byte("m"), []byte{1}); !errors.Is(err, ErrSignature) {
		t.Errorf("cipher NID as md: %v", err)
	}
}
