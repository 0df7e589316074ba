package crypt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Issuing certificates with an ML-DSA key or signature (RFC 9881).
//
// x509.CreateCertificate can neither embed an ML-DSA public key nor sign
// with an ML-DSA key. issueMLDSA lets it build the TBSCertificate with a
// throw-away P-256 key standing in for whichever side is ML-DSA, so every
// field and extension is the one Issue sets for other key types (serial,
// names, validity, basic constraints, key usage, extended key usage, key
// identifiers), then replaces in the DER:
//
//	subjectPublicKeyInfo   the ML-DSA key, if the subject's key is ML-DSA
//	signature (in TBS)     id-ml-dsa-NN with no parameters, if the issuer's is
//
// and signs the result again with the real issuer key: ML-DSA pure with an
// empty context, or for a classical issuer the algorithm crypto/x509 chose
// for it (ecdsa-with-SHA256/384/512, Ed25519, sha256WithRSAEncryption).
// The subject key identifier of a CA certificate is the SHA-1 of the
// public key's BIT STRING contents (RFC 5280 §4.2.1.2 method 1), as
// crypto/x509 computes it for other keys; the authority key identifier is
// the issuer's subject key identifier.

// issueMLDSA is Issue's path for certificates with ML-DSA in them: t is
// the filled template, parent the issuer's certificate (t itself when
// self-signed).
func issueMLDSA(t, parent *x509.Certificate, key, signer crypto.Signer) (*x509.Certificate, error) {
	stand, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	subjML, signML := mldsaOf(key.Public()), mldsaOf(signer.Public())
	pub, x509Signer := key.Public(), signer
	var spkiDER []byte
	if subjML != nil {
		pub = stand.Public()
		if spkiDER, err = marshalMLDSAPublicKey(key.Public()); err != nil {
			return nil, err
		}
		if t.IsCA && len(t.SubjectKeyId) == 0 {
			id := sha1.Sum(mldsaPublicBytes(key.Public()))
			t.SubjectKeyId = id[:]
		}
	}
	if signML != nil {
		x509Signer = stand
	}
	if parent != t {
		// CreateCertificate checks that the signer's key is the parent's.
		p := *parent
		p.PublicKey = nil
		parent = &p
	}
	der, err := x509.CreateCertificate(rand.Reader, t, parent, pub, x509Signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	made, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	var sigAlg []byte
	if signML != nil {
		sigAlg, _ = asn1.Marshal(struct{ Algorithm asn1.ObjectIdentifier }{signML.oid})
	}
	tbs, outerAlg, err := replaceTBS(made.RawTBSCertificate, sigAlg, spkiDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	var sig []byte
	if signML != nil {
		sig, err = signML.sign(signer, tbs)
	} else {
		sig, err = signTBS(signer, made.SignatureAlgorithm, tbs)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: signing: %w", ErrCertificate, err)
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(outerAlg)
		b.AddASN1BitString(sig)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	return ParseCertificate(out)
}

// replaceTBS returns tbs with its signature algorithm replaced by sigAlg
// and its subjectPublicKeyInfo by spki (each unchanged if nil), and the
// signature algorithm the certificate's outer field must repeat.
func replaceTBS(tbs, sigAlg, spki []byte) (out, alg []byte, err error) {
	in := cryptobyte.String(tbs)
	var body cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, nil, errors.New("malformed TBSCertificate")
	}
	var version, serial, oldAlg, issuer, validity, subject, oldSPKI cryptobyte.String
	v0 := cbasn1.Tag(0).Constructed().ContextSpecific()
	if body.PeekASN1Tag(v0) && !body.ReadASN1Element(&version, v0) {
		return nil, nil, errors.New("malformed TBSCertificate")
	}
	if !body.ReadASN1Element(&serial, cbasn1.INTEGER) ||
		!body.ReadASN1Element(&oldAlg, cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&validity, cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&subject, cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&oldSPKI, cbasn1.SEQUENCE) {
		return nil, nil, errors.New("malformed TBSCertificate")
	}
	if sigAlg == nil {
		sigAlg = oldAlg
	}
	if spki == nil {
		spki = oldSPKI
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, part := range [][]byte{version, serial, sigAlg, issuer, validity, subject, spki, body} {
			b.AddBytes(part) // body: what follows, the extensions
		}
	})
	out, err = b.Bytes()
	return out, sigAlg, err
}

// signTBS signs a TBSCertificate with a classical key and the algorithm
// crypto/x509 picked for it.
func signTBS(key crypto.Signer, alg x509.SignatureAlgorithm, tbs []byte) ([]byte, error) {
	var h crypto.Hash
	switch alg {
	case x509.PureEd25519:
		return key.Sign(rand.Reader, tbs, crypto.Hash(0))
	case x509.ECDSAWithSHA256, x509.SHA256WithRSA:
		h = crypto.SHA256
	case x509.ECDSAWithSHA384, x509.SHA384WithRSA:
		h = crypto.SHA384
	case x509.ECDSAWithSHA512, x509.SHA512WithRSA:
		h = crypto.SHA512
	default:
		return nil, fmt.Errorf("signature algorithm %s", alg)
	}
	d := h.New()
	d.Write(tbs)
	return key.Sign(rand.Reader, d.Sum(nil), h)
}
