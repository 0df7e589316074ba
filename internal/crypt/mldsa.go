package crypt

import (
	"bytes"
	"crypto"
	"crypto/sha3"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
)

// ML-DSA (FIPS 204) keys, signatures and their X.509 encodings (RFC 9881),
// from github.com/cloudflare/circl: Go's standard library has ML-DSA only
// inside its FIPS module.
//
//	public key   SubjectPublicKeyInfo { id-ml-dsa-NN, no parameters,
//	             BIT STRING = the FIPS 204 public key ρ ‖ t1 (1312, 1952 or
//	             2592 bytes) }
//	signature    "pure" ML-DSA with an empty context: certificates sign
//	             their TBSCertificate, OAP its signed region; the signature
//	             algorithm identifier is the key's OID, no parameters
//	private key  PKCS#8 with the key's OID and, as privateKey, one of
//	             seed [0] IMPLICIT OCTET STRING (32 bytes, ξ of FIPS 204),
//	             expandedKey OCTET STRING (the FIPS 204 private key
//	             ρ ‖ K ‖ tr ‖ s1 ‖ s2 ‖ t0) or both SEQUENCE { seed,
//	             expandedKey }
//
// The OIDs are 2.16.840.1.101.3.4.3.17, .18 and .19 (ML-DSA-44, -65, -87).
// A key that comes with its seed is made from the seed; with both forms the
// expanded key must be the seed's. An expanded-only key is checked before
// use: it must be a canonical encoding, tr must be the hash of the public
// key it makes (from ρ, s1 and s2), and a signature it makes must verify
// under that public key. t0 is checked only by that test signature: a t0
// damaged so little that signatures still verify goes unnoticed, and is
// harmless. Signatures are hedged (FIPS 204 randomised signing).
//
// Public and private keys are circl's types (*mldsa65.PublicKey and so
// on): the private keys are crypto.Signers, the public keys have Equal.

var (
	oidMLDSA44 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}
	oidMLDSA65 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}
	oidMLDSA87 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}
)

// mldsaParams is one ML-DSA parameter set.
type mldsaParams struct {
	name     string
	oid      asn1.ObjectIdentifier
	pubSize  int // public key
	privSize int // expanded private key
	sigSize  int
	// fromSeed makes the key pair of a 32-byte seed; parsePub and
	// parsePriv read a public and an expanded private key of the right
	// size; sign signs hedged, verify checks (both with an empty context).
	fromSeed  func(seed []byte) crypto.Signer
	parsePub  func(b []byte) crypto.PublicKey
	parsePriv func(b []byte) crypto.Signer
	sign      func(key crypto.Signer, msg []byte) ([]byte, error)
	verify    func(pub crypto.PublicKey, msg, sig []byte) bool
}

const mldsaSeedSize = 32

var mldsaSets = []*mldsaParams{
	{
		name: "ML-DSA-44", oid: oidMLDSA44,
		pubSize: mldsa44.PublicKeySize, privSize: mldsa44.PrivateKeySize, sigSize: mldsa44.SignatureSize,
		fromSeed: func(s []byte) crypto.Signer {
			_, k := mldsa44.NewKeyFromSeed((*[mldsaSeedSize]byte)(s))
			return k
		},
		parsePub: func(b []byte) crypto.PublicKey {
			k := new(mldsa44.PublicKey)
			k.Unpack((*[mldsa44.PublicKeySize]byte)(b))
			return k
		},
		parsePriv: func(b []byte) crypto.Signer {
			k := new(mldsa44.PrivateKey)
			k.Unpack((*[mldsa44.PrivateKeySize]byte)(b))
			return k
		},
		sign: func(key crypto.Signer, msg []byte) ([]byte, error) {
			sig := make([]byte, mldsa44.SignatureSize)
			return sig, mldsa44.SignTo(key.(*mldsa44.PrivateKey), msg, nil, true, sig)
		},
		verify: func(pub crypto.PublicKey, msg, sig []byte) bool {
			return mldsa44.Verify(pub.(*mldsa44.PublicKey), msg, nil, sig)
		},
	},
	{
		name: "ML-DSA-65", oid: oidMLDSA65,
		pubSize: mldsa65.PublicKeySize, privSize: mldsa65.PrivateKeySize, sigSize: mldsa65.SignatureSize,
		fromSeed: func(s []byte) crypto.Signer {
			_, k := mldsa65.NewKeyFromSeed((*[mldsaSeedSize]byte)(s))
			return k
		},
		parsePub: func(b []byte) crypto.PublicKey {
			k := new(mldsa65.PublicKey)
			k.Unpack((*[mldsa65.PublicKeySize]byte)(b))
			return k
		},
		parsePriv: func(b []byte) crypto.Signer {
			k := new(mldsa65.PrivateKey)
			k.Unpack((*[mldsa65.PrivateKeySize]byte)(b))
			return k
		},
		sign: func(key crypto.Signer, msg []byte) ([]byte, error) {
			sig := make([]byte, mldsa65.SignatureSize)
			return sig, mldsa65.SignTo(key.(*mldsa65.PrivateKey), msg, nil, true, sig)
		},
		verify: func(pub crypto.PublicKey, msg, sig []byte) bool {
			return mldsa65.Verify(pub.(*mldsa65.PublicKey), msg, nil, sig)
		},
	},
	{
		name: "ML-DSA-87", oid: oidMLDSA87,
		pubSize: mldsa87.PublicKeySize, privSize: mldsa87.PrivateKeySize, sigSize: mldsa87.SignatureSize,
		fromSeed: func(s []byte) crypto.Signer {
			_, k := mldsa87.NewKeyFromSeed((*[mldsaSeedSize]byte)(s))
			return k
		},
		parsePub: func(b []byte) crypto.PublicKey {
			k := new(mldsa87.PublicKey)
			k.Unpack((*[mldsa87.PublicKeySize]byte)(b))
			return k
		},
		parsePriv: func(b []byte) crypto.Signer {
			k := new(mldsa87.PrivateKey)
			k.Unpack((*[mldsa87.PrivateKeySize]byte)(b))
			return k
		},
		sign: func(key crypto.Signer, msg []byte) ([]byte, error) {
			sig := make([]byte, mldsa87.SignatureSize)
			return sig, mldsa87.SignTo(key.(*mldsa87.PrivateKey), msg, nil, true, sig)
		},
		verify: func(pub crypto.PublicKey, msg, sig []byte) bool {
			return mldsa87.Verify(pub.(*mldsa87.PublicKey), msg, nil, sig)
		},
	},
}

// mldsaByOID returns the parameter set of an algorithm OID, nil if it is
// no ML-DSA.
func mldsaByOID(oid asn1.ObjectIdentifier) *mldsaParams {
	for _, p := range mldsaSets {
		if p.oid.Equal(oid) {
			return p
		}
	}
	return nil
}

// mldsaOf returns the parameter set of an ML-DSA public key, nil for
// other keys.
func mldsaOf(pub crypto.PublicKey) *mldsaParams {
	switch pub.(type) {
	case *mldsa44.PublicKey:
		return mldsaSets[0]
	case *mldsa65.PublicKey:
		return mldsaSets[1]
	case *mldsa87.PublicKey:
		return mldsaSets[2]
	}
	return nil
}

// mldsaPublicBytes returns the FIPS 204 encoding of an ML-DSA public key.
func mldsaPublicBytes(pub crypto.PublicKey) []byte {
	b, _ := pub.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	return b
}

// parseMLDSAPublicKey parses a DER SubjectPublicKeyInfo of an ML-DSA key.
// It returns nil, nil if the algorithm is no ML-DSA.
func parseMLDSAPublicKey(der []byte) (crypto.PublicKey, error) {
	var k spki
	if rest, err := asn1.Unmarshal(der, &k); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed SubjectPublicKeyInfo")
	}
	p := mldsaByOID(k.Algorithm.Algorithm)
	switch {
	case p == nil:
		return nil, nil
	case len(k.Algorithm.Parameters.FullBytes) != 0:
		return nil, fmt.Errorf("%s public key with algorithm parameters", p.name)
	case k.PublicKey.BitLength != 8*p.pubSize:
		return nil, fmt.Errorf("%s public key of %d bits, want %d bytes", p.name, k.PublicKey.BitLength, p.pubSize)
	}
	return p.parsePub(k.PublicKey.Bytes), nil
}

// marshalMLDSAPublicKey returns the DER SubjectPublicKeyInfo of an ML-DSA
// public key (RFC 9881).
func marshalMLDSAPublicKey(pub crypto.PublicKey) ([]byte, error) {
	p := mldsaOf(pub)
	if p == nil {
		return nil, fmt.Errorf("%w: %s is no ML-DSA key", ErrInvalidKey, KeyType(pub))
	}
	return marshalRawSPKI(p.oid, mldsaPublicBytes(pub)), nil
}

// parseMLDSAPrivateKey makes the signing key of a PKCS#8 privateKey field
// of parameter set p, with the checks described above.
func parseMLDSAPrivateKey(p *mldsaParams, der []byte) (crypto.Signer, error) {
	seed, expanded, err := parseKeyChoice(der)
	if err != nil {
		return nil, fmt.Errorf("%s private key: %w", p.name, err)
	}
	if seed != nil {
		if len(seed) != mldsaSeedSize {
			return nil, fmt.Errorf("%s seed of %d bytes, want %d", p.name, len(seed), mldsaSeedSize)
		}
		key := p.fromSeed(seed)
		if expanded != nil && !bytes.Equal(expanded, mldsaPrivateBytes(key)) {
			return nil, fmt.Errorf("%s private key: its expanded key does not match its seed", p.name)
		}
		return key, nil
	}
	if len(expanded) != p.privSize {
		return nil, fmt.Errorf("%s expanded private key of %d bytes, want %d", p.name, len(expanded), p.privSize)
	}
	key := p.parsePriv(expanded)
	if !bytes.Equal(mldsaPrivateBytes(key), expanded) {
		return nil, fmt.Errorf("%s expanded private key: coefficients out of range (not a canonical encoding)", p.name)
	}
	// tr (bytes 64 to 128) is SHAKE256 of the public key, 64 bytes.
	pub := mldsaPublicBytes(key.Public())
	var tr [64]byte
	h := sha3.NewSHAKE256()
	h.Write(pub)
	h.Read(tr[:])
	if !bytes.Equal(tr[:], expanded[64:128]) {
		return nil, fmt.Errorf("%s expanded private key: tr is not the hash of its public key (damaged key)", p.name)
	}
	msg := []byte("ML-DSA expanded private key consistency test")
	sig, err := p.sign(key, msg)
	if err != nil || !p.verify(key.Public(), msg, sig) {
		return nil, fmt.Errorf("%s expanded private key: its signatures do not verify under its public key (damaged key)", p.name)
	}
	return key, nil
}

// mldsaPrivateBytes returns the expanded form of an ML-DSA private key.
func mldsaPrivateBytes(key crypto.Signer) []byte {
	b, _ := key.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	return b
}

// mldsaSeed returns an ML-DSA private key's seed, nil if it was loaded
// without it.
func mldsaSeed(key crypto.Signer) []byte {
	if s, ok := key.(interface{ Seed() []byte }); ok {
		return s.Seed()
	}
	return nil
}

// marshalMLDSAPrivateKey returns the PKCS#8 DER of an ML-DSA key: the seed
// form if the key has its seed (as RFC 9881 recommends), else the
// expanded form.
func marshalMLDSAPrivateKey(key crypto.Signer) ([]byte, error) {
	p := mldsaOf(key.Public())
	if p == nil {
		return nil, fmt.Errorf("%w: no ML-DSA key", ErrInvalidKey)
	}
	form, seed := FormSeed, mldsaSeed(key)
	if seed == nil {
		form = FormExpanded
	}
	inner, err := marshalKeyChoice(form, seed, mldsaPrivateBytes(key))
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(pkcs8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: p.oid}, PrivateKey: inner})
}
