package crypt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// Signatures of OAP headers (irmd.md §4.6, library.md §6.5).
//
// The signed message is the header's signed region: every byte of the
// encoded header before the signature (fixed part, certificate, kex data,
// piggyback data and, in a response, the request hash). md is the header's
// md_nid. The bytes produced are OpenSSL's one-shot DigestSign ones:
//
//	ECDSA    DER ECDSA-Sig-Value { r, s } over H(msg), H = md, SHA-256 for 0
//	         (any of the eight digests; a digest longer than the curve order
//	         is truncated as ECDSA specifies)
//	RSA      PKCS#1 v1.5 over H(msg), H = md, SHA-256 for 0 (SHA-2 and SHA-3
//	         only: OpenSSL has no DigestInfo for BLAKE2)
//	Ed25519  pure Ed25519 over msg itself (RFC 8032, 64 bytes); md must be 0,
//	         as the reference cannot sign Ed25519 with a digest either
//
//	ML-DSA   pure ML-DSA over msg itself (FIPS 204, empty context; 2420,
//	         3309 or 4627 bytes), whatever md is: the reference passes no
//	         digest for these keys ("provider-only" keys), so md may be 0 or
//	         any digest and only serves the request hash
//
// SLH-DSA keys (pure too, in the reference) are not supported by this
// build.

// signHash returns the digest Sign and Verify apply for a key of type pub,
// 0 for Ed25519 (no pre-hash), and the crypto.Hash that names it.
func signHash(pub crypto.PublicKey, md Digest) (Digest, crypto.Hash, error) {
	if md != 0 && !md.Known() {
		return 0, 0, fmt.Errorf("%w: digest %s", ErrUnknownAlgorithm, md)
	}
	if mldsaOf(pub) != nil {
		return 0, 0, nil // pure, md ignored
	}
	switch pub.(type) {
	case ed25519.PublicKey:
		if md != 0 {
			return 0, 0, fmt.Errorf("%w: Ed25519 signs without a digest; md %s must be 0", ErrUnsupported, md)
		}
		return 0, 0, nil
	case *ecdsa.PublicKey, *rsa.PublicKey:
		if md == 0 {
			md = SHA256 // OpenSSL's default digest for ECDSA and RSA keys
		}
		h := cryptoHash[md]
		if _, isRSA := pub.(*rsa.PublicKey); isRSA && (md == BLAKE2s256 || md == BLAKE2b512) {
			return 0, 0, fmt.Errorf("%w: RSA signatures with %s", ErrUnsupported, md)
		}
		return md, h, nil
	}
	return 0, 0, fmt.Errorf("%w: %s keys", ErrUnsupported, KeyType(pub))
}

// cryptoHash names the digests for crypto.SignerOpts.
var cryptoHash = map[Digest]crypto.Hash{
	BLAKE2s256: crypto.BLAKE2s_256,
	SHA256:     crypto.SHA256,
	SHA3_256:   crypto.SHA3_256,
	SHA384:     crypto.SHA384,
	SHA3_384:   crypto.SHA3_384,
	BLAKE2b512: crypto.BLAKE2b_512,
	SHA512:     crypto.SHA512,
	SHA3_512:   crypto.SHA3_512,
}

// Sign signs msg (an OAP header's signed region) with key, using digest md
// (the header's md_nid) as described above. It fails with ErrUnsupported
// for an Ed25519 key with md ≠ 0 and for key types or digests the reference
// cannot combine, with ErrUnknownAlgorithm for a non-digest md.
func Sign(key crypto.Signer, md Digest, msg []byte) ([]byte, error) {
	md, h, err := signHash(key.Public(), md)
	if err != nil {
		return nil, err
	}
	var sig []byte
	if p := mldsaOf(key.Public()); p != nil {
		sig, err = p.sign(key, msg)
	} else if md == 0 {
		sig, err = key.Sign(rand.Reader, msg, crypto.Hash(0))
	} else {
		d, _ := md.Sum(msg)
		sig, err = key.Sign(rand.Reader, d, h)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: signing: %w", ErrInvalidKey, err)
	}
	return sig, nil
}

// Verify checks that sig is a signature of msg under the public key of
// cert with digest md, the way Sign makes it. Any failure (empty or
// oversized signature, malformed DER, wrong key, altered message, a digest
// the key type cannot use) wraps ErrSignature; the key of a certificate
// from ParseCertificate is always of a supported type.
func Verify(cert *x509.Certificate, md Digest, msg, sig []byte) error {
	return VerifyKey(cert.PublicKey, md, msg, sig)
}

// VerifyKey is Verify with a bare public key.
func VerifyKey(pub crypto.PublicKey, md Digest, msg, sig []byte) error {
	switch {
	case len(sig) == 0:
		return fmt.Errorf("%w: empty signature", ErrSignature)
	case len(sig) > MaxSignatureLen:
		return fmt.Errorf("%w: signature of %d bytes (max %d)", ErrSignature, len(sig), MaxSignatureLen)
	}
	md, h, err := signHash(pub, md)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	var ok bool
	if p := mldsaOf(pub); p != nil {
		ok = len(sig) == p.sigSize && p.verify(pub, msg, sig)
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		d, _ := md.Sum(msg)
		ok = ecdsa.VerifyASN1(k, d, sig) // strict DER, no trailing bytes
	case *rsa.PublicKey:
		d, _ := md.Sum(msg)
		ok = rsa.VerifyPKCS1v15(k, h, d, sig) == nil
	}
	if !ok {
		return fmt.Errorf("%w: does not verify (%s key, digest %s)", ErrSignature, KeyType(pub), mdName(md))
	}
	return nil
}

func mdName(md Digest) string {
	if md == 0 {
		return "none"
	}
	return md.String()
}
