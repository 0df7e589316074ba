package crypt

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// Certificate chains with ML-DSA in them (irmd.md §4.6).
//
// crypto/x509 parses a certificate with an ML-DSA key (PublicKey nil,
// PublicKeyAlgorithm unknown) or an ML-DSA signature (SignatureAlgorithm
// unknown), but cannot check such a signature, so x509.Certificate.Verify
// fails on any chain with an ML-DSA-signed certificate in it. The trust
// store therefore first lets crypto/x509 verify a peer's chain; when that
// fails and ML-DSA is involved (the leaf's key or signature, or any
// certificate of the store), it builds the chain itself with the rules of
// truststore.go, the ones crypto/x509 applies:
//
//   - every certificate's signature verifies under its issuer's key
//     (checkSignatureFrom: ML-DSA pure over RawTBSCertificate with an empty
//     context, anything else by crypto/x509), issuer found by subject;
//   - every certificate is valid at the given time;
//   - every issuer is a CA (basic constraints CA:TRUE), may sign
//     certificates if it has a key usage extension (keyCertSign), and its
//     path length constraint counts the CA certificates below it;
//   - no certificate has a critical extension crypto/x509 does not handle;
//   - the chain ends at a self-signed certificate of the store (a trust
//     anchor), at most maxChainLen certificates long, no certificate twice.
//
// Mixed chains work both ways: an ECDSA CA may sign an ML-DSA certificate
// and an ML-DSA CA an ECDSA one. A chain found this way must have ML-DSA
// in it (a purely classical chain is crypto/x509's to judge, and its
// reason for a refusal is the one reported). Name constraints are not
// implemented here: an issuer with any is refused on these chains (the
// certificates this project makes and the reference's test PKI have
// none).

const maxChainLen = 8

// fillMLDSAKey sets c.PublicKey for a certificate with an ML-DSA key.
func fillMLDSAKey(c *x509.Certificate) error {
	if c.PublicKeyAlgorithm != x509.UnknownPublicKeyAlgorithm || c.PublicKey != nil {
		return nil
	}
	k, err := parseMLDSAPublicKey(c.RawSubjectPublicKeyInfo)
	if err != nil {
		return err
	}
	if k != nil {
		c.PublicKey = k
	}
	return nil
}

// certificate is the outer structure of an X.509 certificate.
type certificate struct {
	TBS       asn1.RawValue
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
}

// mldsaSignature returns the parameter set of c's signature algorithm if it
// is ML-DSA (nil otherwise), refusing an identifier with parameters.
func mldsaSignature(c *x509.Certificate) (*mldsaParams, error) {
	if c.SignatureAlgorithm != x509.UnknownSignatureAlgorithm {
		return nil, nil
	}
	var outer certificate
	if _, err := asn1.Unmarshal(c.Raw, &outer); err != nil {
		return nil, fmt.Errorf("malformed certificate: %w", err)
	}
	p := mldsaByOID(outer.Algorithm.Algorithm)
	if p != nil && len(outer.Algorithm.Parameters.FullBytes) != 0 {
		return nil, fmt.Errorf("%s signature algorithm with parameters", p.name)
	}
	return p, nil
}

// involvesMLDSA reports whether c has an ML-DSA key or signature.
func involvesMLDSA(c *x509.Certificate) bool {
	p, _ := mldsaSignature(c)
	return p != nil || mldsaOf(c.PublicKey) != nil
}

// checkSignatureFrom checks that parent's key signed c (only the
// signature: CA rights are checked by the caller).
func checkSignatureFrom(c, parent *x509.Certificate) error {
	p, err := mldsaSignature(c)
	if err != nil {
		return err
	}
	if p == nil {
		if q := mldsaOf(parent.PublicKey); q != nil {
			return fmt.Errorf("the issuer's key is %s but the certificate is signed with %s", q.name, c.SignatureAlgorithm)
		}
		return parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
	}
	if q := mldsaOf(parent.PublicKey); q != p {
		return fmt.Errorf("the certificate is signed with %s but the issuer's key is %s", p.name, KeyType(parent.PublicKey))
	}
	if len(c.Signature) != p.sigSize || !p.verify(parent.PublicKey, c.RawTBSCertificate, c.Signature) {
		return fmt.Errorf("%s signature does not verify", p.name)
	}
	return nil
}

// errUntrusted is a chain failure with the words to say why; pq marks a
// failure at a step with ML-DSA in it, whose reason crypto/x509 cannot
// give (VerifyPeer reports crypto/x509's reason for the others).
type errUntrusted struct {
	why string
	pq  bool
}

func (e *errUntrusted) Error() string { return e.why }

// tagPQ sets the pq mark of a chain failure.
func tagPQ(err error, pq bool) error {
	var u *errUntrusted
	if errors.As(err, &u) {
		u.pq = u.pq || pq
	}
	return err
}

// validity says whether c is valid at now, in the words of explain.
func validity(c, leaf *x509.Certificate, now time.Time) error {
	if !now.Before(c.NotBefore) && !now.After(c.NotAfter) {
		return nil
	}
	what := "its"
	if c != leaf {
		what = fmt.Sprintf("the issuing CA %q's", c.Subject.CommonName)
	}
	if now.Before(c.NotBefore) {
		return &errUntrusted{why: fmt.Sprintf("%s certificate is not yet valid (from %s; now %s)", what, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
	}
	return &errUntrusted{why: fmt.Sprintf("%s certificate expired (%s; now %s)", what, c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
}

// verifyChain builds and checks a chain from leaf to a trust anchor of s
// as described above. The error says why none was found: the reason the
// most promising candidate failed.
func (s *TrustStore) verifyChain(leaf *x509.Certificate, now time.Time) error {
	if err := validity(leaf, leaf, now); err != nil {
		return tagPQ(err, involvesMLDSA(leaf))
	}
	if len(leaf.UnhandledCriticalExtensions) > 0 {
		return &errUntrusted{fmt.Sprintf("unhandled critical extension %v", leaf.UnhandledCriticalExtensions[0]), involvesMLDSA(leaf)}
	}
	if s.anchor[string(leaf.Raw)] {
		return nil // the leaf itself is trusted
	}
	return s.extend(leaf, []*x509.Certificate{leaf}, now)
}

// extend tries every certificate of the store that could have issued the
// last one of chain.
func (s *TrustStore) extend(c *x509.Certificate, chain []*x509.Certificate, now time.Time) error {
	var last error
	for _, p := range s.all {
		if !bytes.Equal(p.RawSubject, c.RawIssuer) || inChain(p, chain) {
			continue
		}
		if err := checkIssuer(p, c, chain, now); err != nil {
			last = tagPQ(err, involvesMLDSA(p) || involvesMLDSA(c))
			continue
		}
		if s.anchor[string(p.Raw)] {
			if !anyMLDSA(append(chain, p)) {
				// crypto/x509 refused this chain: its verdict stands.
				last = errClassicalChain
				continue
			}
			return nil
		}
		if len(chain)+1 >= maxChainLen {
			last = &errUntrusted{fmt.Sprintf("chain longer than %d certificates", maxChainLen), true}
			continue
		}
		if err := s.extend(p, append(chain, p), now); err != nil {
			last = err
			continue
		}
		return nil
	}
	if last == nil {
		last = &errUntrusted{fmt.Sprintf("no chain to a trusted CA from its issuer %q", chain[0].Issuer.CommonName), anyMLDSA(chain)}
	}
	return last
}

// errClassicalChain says that the only chains found have no ML-DSA in
// them: crypto/x509 checked those, and its reason is the one to give.
var errClassicalChain = errors.New("no chain with ML-DSA")

func anyMLDSA(chain []*x509.Certificate) bool {
	for _, c := range chain {
		if involvesMLDSA(c) {
			return true
		}
	}
	return false
}

func inChain(c *x509.Certificate, chain []*x509.Certificate) bool {
	for _, d := range chain {
		if bytes.Equal(c.Raw, d.Raw) {
			return true
		}
	}
	return false
}

// checkIssuer checks that p may have issued c, the last certificate of
// chain (chain[0] is the leaf).
func checkIssuer(p, c *x509.Certificate, chain []*x509.Certificate, now time.Time) error {
	name := p.Subject.CommonName
	if err := checkSignatureFrom(c, p); err != nil {
		return &errUntrusted{why: fmt.Sprintf("the signature of %q by %q does not verify: %v", c.Subject.CommonName, name, err)}
	}
	if err := validity(p, chain[0], now); err != nil {
		return err
	}
	if !p.BasicConstraintsValid || !p.IsCA {
		return &errUntrusted{why: fmt.Sprintf("the issuer %q is not a CA", name)}
	}
	if p.KeyUsage != 0 && p.KeyUsage&x509.KeyUsageCertSign == 0 {
		return &errUntrusted{why: fmt.Sprintf("the issuer %q may not sign certificates (no keyCertSign)", name)}
	}
	maxPath := p.MaxPathLen
	if maxPath == 0 && !p.MaxPathLenZero {
		maxPath = -1 // no constraint
	}
	if below := len(chain) - 1; maxPath >= 0 && below > maxPath {
		return &errUntrusted{why: fmt.Sprintf("the issuer %q allows %d intermediate CAs below it, the chain has %d", name, maxPath, below)}
	}
	if len(p.UnhandledCriticalExtensions) > 0 {
		return &errUntrusted{why: fmt.Sprintf("the issuer %q has an unhandled critical extension %v", name, p.UnhandledCriticalExtensions[0])}
	}
	if hasNameConstraints(p) {
		return &errUntrusted{why: fmt.Sprintf("the issuer %q has name constraints, which are not checked on chains with ML-DSA", name)}
	}
	return nil
}

func hasNameConstraints(c *x509.Certificate) bool {
	return c.PermittedDNSDomainsCritical || len(c.PermittedDNSDomains) > 0 || len(c.ExcludedDNSDomains) > 0 ||
		len(c.PermittedIPRanges) > 0 || len(c.ExcludedIPRanges) > 0 || len(c.PermittedEmailAddresses) > 0 ||
		len(c.ExcludedEmailAddresses) > 0 || len(c.PermittedURIDomains) > 0 || len(c.ExcludedURIDomains) > 0
}
