package crypt

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// The trust store (irmd.md §2.1 step 7, §4.4, §4.6).
//
// The IRMd loads every file of the CA directory (cacert/) and then of the
// intermediate directory (untrusted/) once at start-up, each as one PEM
// certificate, into one store. As in the reference (an OpenSSL X509_STORE
// with default verification), a peer's chain must end at a self-signed
// certificate of the store; the store's other certificates serve as
// intermediates, since the peer sends only its leaf certificate. So a
// self-signed certificate is a trust anchor whichever directory it is in,
// and an intermediate must be installed on the verifying host.
//
// VerifyPeer checks what OpenSSL's default verification checks: the
// signatures along the chain, every certificate's validity period at the
// given time, that every issuer is a CA (basic constraints, path length)
// and, if it has a key usage extension, may sign certificates (keyCertSign;
// x509.Certificate.CheckSignatureFrom checks that for us); unknown
// critical extensions are refused. As in the reference, the leaf's key
// usage and extended key usage are not checked (no "purpose"), and there
// are no revocation checks. Then the name: the leaf's subject must have
// exactly one common name (CN), which is the peer's name; if the caller
// expects a name (the client, which allocated to it), the CN must equal it
// byte for byte.
//
// The reference compares the text after "CN=" in OpenSSL's one-line form of
// the subject ("/O=x/CN=name") and cuts the reported name at the next ','
// or '/'. For the certificates ocert and the documented openssl commands
// make (subject CN=<name> only) both rules agree; ours also accepts a CN
// that is not the subject's last attribute and refuses subjects with
// several CNs instead of picking one.

// TrustStore holds the trusted certificates. It is safe for concurrent use
// once loaded (VerifyPeer only reads).
type TrustStore struct {
	roots  *x509.CertPool // self-signed certificates: the trust anchors
	inter  *x509.CertPool // the rest: usable as intermediates
	nRoots int
	nInter int
	seen   map[string]bool // DER of each certificate added, to count duplicates once
	// For chains crypto/x509 cannot check (pqchain.go): every certificate
	// in the order added, the trust anchors by DER, and whether any has an
	// ML-DSA key or signature.
	all    []*x509.Certificate
	anchor map[string]bool
	pq     bool
}

// NewTrustStore returns a store holding certs.
func NewTrustStore(certs ...*x509.Certificate) *TrustStore {
	s := &TrustStore{roots: x509.NewCertPool(), inter: x509.NewCertPool(), seen: map[string]bool{}, anchor: map[string]bool{}}
	for _, c := range certs {
		s.Add(c)
	}
	return s
}

// Add puts c into the store: as a trust anchor if it is self-signed (its
// issuer is its subject and its own key verifies its signature), else as an
// intermediate.
func (s *TrustStore) Add(c *x509.Certificate) {
	id := string(c.Raw)
	if s.seen[id] {
		return
	}
	s.seen[id] = true
	fillMLDSAKey(c) // a malformed ML-DSA key stays nil: chains through c fail
	s.all = append(s.all, c)
	s.pq = s.pq || involvesMLDSA(c)
	if selfSigned(c) {
		s.roots.AddCert(c)
		s.anchor[id] = true
		s.nRoots++
	} else {
		s.inter.AddCert(c)
		s.nInter++
	}
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && checkSignatureFrom(c, c) == nil
}

// Len returns the number of trust anchors and of other certificates.
func (s *TrustStore) Len() (anchors, intermediates int) { return s.nRoots, s.nInter }

// LoadTrustStore reads the certificate directories in order (the CA
// directory, then the intermediate directory): every entry must be a
// regular file (a symbolic link to one is followed) holding a PEM
// certificate, whose first CERTIFICATE block is added. A directory that
// does not exist is skipped, as in the reference; any other problem (an
// entry that is not a regular file, an unreadable, oversized or unparsable
// file) fails with ErrCertificate and names the file, since the IRMd then
// refuses to start. Certificates of key types this build cannot verify
// (SLH-DSA) are accepted into the store; chains through them fail later.
func LoadTrustStore(dirs ...string) (*TrustStore, error) {
	s := NewTrustStore()
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			path := filepath.Join(dir, e.Name())
			st, err := os.Stat(path)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
			}
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("%w: %s is not a regular file", ErrCertificate, path)
			}
			b, err := readSmallFile(path)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
			}
			blk := firstPEM(b, func(t string) bool { return t == "CERTIFICATE" })
			if blk == nil {
				return nil, fmt.Errorf("%w: %s: no PEM CERTIFICATE block", ErrCertificate, path)
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err == nil {
				err = fillMLDSAKey(c)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrCertificate, path, err)
			}
			s.Add(c)
		}
	}
	return s, nil
}

// Peer is an authenticated peer: its certificate and the name it proves.
type Peer struct {
	Cert *x509.Certificate
	Name string // the certificate's common name
}

// VerifyPeer parses der (a certificate from an OAP header), checks it chains
// to a trust anchor of s at time now as described above, and returns the
// peer. If wantName is not empty the certificate's CN must equal it (the
// client's check of the server); the server passes "" and reads Peer.Name.
// Every refusal wraps ErrCertificate and says why. It does not check the
// header's signature: that is Verify with Peer.Cert.
func (s *TrustStore) VerifyPeer(der []byte, wantName string, now time.Time) (*Peer, error) {
	c, err := ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	name, err := CommonName(c)
	if err != nil {
		return nil, err
	}
	if s == nil || s.nRoots == 0 {
		return nil, fmt.Errorf("%w: %q: no trusted CA certificates are installed", ErrCertificate, name)
	}
	_, err = c.Verify(x509.VerifyOptions{
		Roots:         s.roots,
		Intermediates: s.inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, // no purpose check, as OpenSSL's default
	})
	if err != nil {
		why := explain(err, c, now)
		if s.pq || involvesMLDSA(c) {
			// crypto/x509 cannot check ML-DSA signatures: pqchain.go can.
			perr := s.verifyChain(c, now)
			if perr == nil {
				return s.named(c, name, wantName)
			}
			if u := (*errUntrusted)(nil); errors.As(perr, &u) && u.pq {
				why = perr.Error()
			}
		}
		return nil, fmt.Errorf("%w: %q is not trusted: %s", ErrCertificate, name, why)
	}
	return s.named(c, name, wantName)
}

// named finishes VerifyPeer once c's chain is trusted: the name check.
func (s *TrustStore) named(c *x509.Certificate, name, wantName string) (*Peer, error) {
	if wantName != "" && name != wantName {
		return nil, fmt.Errorf("%w: certificate is for %q, not %q", ErrCertificate, name, wantName)
	}
	return &Peer{Cert: c, Name: name}, nil
}

// explain says in words why x509 verification failed, keeping its text.
func explain(err error, leaf *x509.Certificate, now time.Time) string {
	var inv x509.CertificateInvalidError
	var unk x509.UnknownAuthorityError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		c, what := inv.Cert, "its"
		if c != leaf {
			what = fmt.Sprintf("the issuing CA %q's", c.Subject.CommonName)
		}
		if now.Before(c.NotBefore) {
			return fmt.Sprintf("%s certificate is not yet valid (from %s; now %s)", what, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("%s certificate expired (%s; now %s)", what, c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case errors.As(err, &unk):
		return fmt.Sprintf("no chain to a trusted CA from its issuer %q (%v)", leaf.Issuer.CommonName, err)
	}
	return err.Error()
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// CommonName returns the single common name of c's subject. A subject with
// no CN, several CNs or an empty one fails with ErrCertificate: it names no
// peer.
func CommonName(c *x509.Certificate) (string, error) {
	var cns []string
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oidCommonName) {
			v, ok := a.Value.(string)
			if !ok {
				return "", fmt.Errorf("%w: common name is not a string", ErrCertificate)
			}
			cns = append(cns, v)
		}
	}
	switch {
	case len(cns) == 0:
		return "", fmt.Errorf("%w: subject %q has no common name (CN)", ErrCertificate, c.Subject)
	case len(cns) > 1:
		return "", fmt.Errorf("%w: subject %q has %d common names", ErrCertificate, c.Subject, len(cns))
	case cns[0] == "":
		return "", fmt.Errorf("%w: empty common name", ErrCertificate)
	}
	return cns[0], nil
}
