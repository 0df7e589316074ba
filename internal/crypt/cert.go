package crypt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Certificates and private keys (irmd.md §4.4, §4.6; library.md §6.5).
//
// A name's credentials are an X.509 certificate (crt.pem, only the first
// CERTIFICATE block is read) and its unencrypted private key (key.pem:
// PKCS#8 "PRIVATE KEY", SEC 1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY";
// other PEM blocks before it, such as the "EC PARAMETERS" that
// `openssl ecparam -genkey` writes, are skipped, as OpenSSL does). In OAP
// the certificate travels as DER in the crt field.
//
// Key types: ECDSA on P-256, P-384 and P-521, Ed25519, RSA and ML-DSA-44,
// -65 and -87 (mldsa.go; crypto/x509 parses a certificate with an ML-DSA key
// but leaves its PublicKey nil and cannot check ML-DSA signatures, so
// ParseCertificate fills in the key and the trust store checks such chains
// itself, see pqchain.go). SLH-DSA (the reference's other post-quantum
// signature) is recognised and refused with ErrUnsupported for our own keys,
// ErrCertificate for a peer's certificate.

// Size limits, in bytes. OAP headers travel in one IPCP message of at most
// 10240 bytes, so a certificate or signature larger than MaxCertLen or
// MaxSignatureLen cannot be part of a working exchange; refusing them first
// bounds the work done on untrusted input. The largest the reference can
// send are ML-DSA-87 certificates (about 7.5 KB) and SLH-DSA-SHA2-128s
// signatures (7856 B). MaxPEMFileLen bounds the files read from the
// security directory.
const (
	MaxCertLen      = 8192
	MaxSignatureLen = 8192
	MaxPEMFileLen   = 64 << 10
)

// Public-key algorithm identifiers of the post-quantum signature schemes
// (NIST CSOR, 2.16.840.1.101.3.4.3.x), to name them in errors; ML-DSA
// (.17 to .19) is supported.
var pqSignatureOIDs = map[string]string{
	"2.16.840.1.101.3.4.3.17": "ML-DSA-44",
	"2.16.840.1.101.3.4.3.18": "ML-DSA-65",
	"2.16.840.1.101.3.4.3.19": "ML-DSA-87",
	"2.16.840.1.101.3.4.3.20": "SLH-DSA-SHA2-128s",
	"2.16.840.1.101.3.4.3.21": "SLH-DSA-SHA2-128f",
	"2.16.840.1.101.3.4.3.22": "SLH-DSA-SHA2-192s",
	"2.16.840.1.101.3.4.3.23": "SLH-DSA-SHA2-192f",
	"2.16.840.1.101.3.4.3.24": "SLH-DSA-SHA2-256s",
	"2.16.840.1.101.3.4.3.25": "SLH-DSA-SHA2-256f",
	"2.16.840.1.101.3.4.3.26": "SLH-DSA-SHAKE-128s",
	"2.16.840.1.101.3.4.3.27": "SLH-DSA-SHAKE-128f",
	"2.16.840.1.101.3.4.3.28": "SLH-DSA-SHAKE-192s",
	"2.16.840.1.101.3.4.3.29": "SLH-DSA-SHAKE-192f",
	"2.16.840.1.101.3.4.3.30": "SLH-DSA-SHAKE-256s",
	"2.16.840.1.101.3.4.3.31": "SLH-DSA-SHAKE-256f",
}

// spkiAlgorithm returns the algorithm OID of a DER SubjectPublicKeyInfo or
// PKCS#8 key ("" if it cannot be read): both start SEQUENCE { [INTEGER,]
// AlgorithmIdentifier ... }.
func spkiAlgorithm(der []byte, pkcs8 bool) string {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		return ""
	}
	rest := seq.Bytes
	if pkcs8 {
		var v int
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			return ""
		}
	}
	var alg struct {
		Algorithm asn1.ObjectIdentifier
		Params    asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(rest, &alg); err != nil {
		return ""
	}
	return alg.Algorithm.String()
}

// checkPublicKey accepts the key types Sign and Verify support.
func checkPublicKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("ECDSA on curve %s is not supported", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is too short (at least 2048)", k.N.BitLen())
		}
		return nil
	}
	if mldsaOf(pub) != nil {
		return nil
	}
	return fmt.Errorf("%s keys are not supported", KeyType(pub))
}

// KeyType names a public key's type as the errors and ocert show it:
// "ECDSA P-256", "Ed25519", "RSA-3072", "ML-DSA-65".
func KeyType(pub crypto.PublicKey) string {
	if p := mldsaOf(pub); p != nil {
		return p.name
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}

// ParseCertificate parses one DER certificate as carried in an OAP header.
// It refuses, with ErrCertificate, empty and oversized input, trailing
// bytes, malformed DER and certificates whose key this build cannot use
// (SLH-DSA is named as such). For an ML-DSA key it sets PublicKey (left
// nil by crypto/x509); PublicKeyAlgorithm stays UnknownPublicKeyAlgorithm.
// It does not check trust: see TrustStore.VerifyPeer.
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	switch {
	case len(der) == 0:
		return nil, fmt.Errorf("%w: empty certificate", ErrCertificate)
	case len(der) > MaxCertLen:
		return nil, fmt.Errorf("%w: certificate of %d bytes (max %d)", ErrCertificate, len(der), MaxCertLen)
	}
	c, err := x509.ParseCertificate(der) // also refuses trailing data
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if err := fillMLDSAKey(c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if c.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm && c.PublicKey == nil {
		if name, ok := pqSignatureOIDs[spkiAlgorithm(c.RawSubjectPublicKeyInfo, false)]; ok {
			return nil, fmt.Errorf("%w: %s certificates are not supported by this build", ErrCertificate, name)
		}
		return nil, fmt.Errorf("%w: unknown public key algorithm", ErrCertificate)
	}
	if err := checkPublicKey(c.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	return c, nil
}

// ParseCertificatePEM parses the first CERTIFICATE block of a PEM file
// (other block types before it are skipped; anything after it is ignored,
// as by the reference).
func ParseCertificatePEM(b []byte) (*x509.Certificate, error) {
	blk := firstPEM(b, func(t string) bool { return t == "CERTIFICATE" })
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM CERTIFICATE block", ErrCertificate)
	}
	return ParseCertificate(blk.Bytes)
}

// firstPEM returns the first PEM block of b whose type is accepted.
func firstPEM(b []byte, accept func(string) bool) *pem.Block {
	for {
		blk, rest := pem.Decode(b)
		if blk == nil {
			return nil
		}
		if accept(blk.Type) {
			return blk
		}
		b = rest
	}
}

// ParsePrivateKeyPEM parses the first private-key block of a PEM file as a
// signing key: ECDSA (P-256/384/521), Ed25519, RSA (at least 2048 bits) or
// ML-DSA-44/65/87 (PKCS#8 in any of the three forms of RFC 9881, see
// mldsa.go). Encrypted keys are refused with ErrInvalidKey, SLH-DSA keys
// with ErrUnsupported.
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	blk := firstPEM(b, func(t string) bool {
		return t == "PRIVATE KEY" || t == "EC PRIVATE KEY" || t == "RSA PRIVATE KEY" || t == "ENCRYPTED PRIVATE KEY"
	})
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM private key block", ErrInvalidKey)
	}
	var key any
	var err error
	switch blk.Type {
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: the private key is encrypted; keys must be stored unencrypted", ErrInvalidKey)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		var p pkcs8
		if rest, err := asn1.Unmarshal(blk.Bytes, &p); err == nil && len(rest) == 0 {
			if ps := mldsaByOID(p.Algorithm.Algorithm); ps != nil {
				if len(p.Algorithm.Parameters.FullBytes) != 0 {
					return nil, fmt.Errorf("%w: %s private key with algorithm parameters", ErrInvalidKey, ps.name)
				}
				k, err := parseMLDSAPrivateKey(ps, p.PrivateKey)
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
				}
				return k, nil
			}
		}
		if name, ok := pqSignatureOIDs[spkiAlgorithm(blk.Bytes, true)]; ok {
			return nil, fmt.Errorf("%w: %s signing keys", ErrUnsupported, name)
		}
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: a %T is no signing key", ErrInvalidKey, key)
	}
	if err := checkPublicKey(s.Public()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return s, nil
}

// Credentials are a name's certificate and private key, on one side (server
// or client). Cert.Raw is the DER that goes into the OAP crt field.
type Credentials struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// DER returns the certificate as carried in OAP.
func (c *Credentials) DER() []byte { return c.Cert.Raw }

// Name returns the certificate's common name, the name it authenticates.
func (c *Credentials) Name() string { return c.Cert.Subject.CommonName }

// LoadCredentials reads a certificate and its private key from PEM files
// (crt.pem and key.pem of irmd.md §4.4). If either file does not exist the
// error wraps ErrNoCredentials and fs.ErrNotExist and names the missing
// file: that side is then unauthenticated, as with the reference (both files
// must exist). A file that exists but cannot be used fails with
// ErrCertificate or ErrInvalidKey (ErrUnsupported for SLH-DSA keys); so does
// a key that does not belong to the certificate. The files are read again
// for every flow allocation, so replacing them takes effect at once.
func LoadCredentials(crtPath, keyPath string) (*Credentials, error) {
	crt, errCrt := readSmallFile(crtPath)
	key, errKey := readSmallFile(keyPath)
	for _, e := range []error{errCrt, errKey} {
		if errors.Is(e, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNoCredentials, e)
		}
	}
	if errCrt != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, errCrt)
	}
	if errKey != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, errKey)
	}
	c, err := ParseCertificatePEM(crt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", crtPath, err)
	}
	k, err := ParsePrivateKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !publicKeysEqual(c.PublicKey, k.Public()) {
		return nil, fmt.Errorf("%w: %s is not the key of the certificate %s", ErrInvalidKey, keyPath, crtPath)
	}
	return &Credentials{Cert: c, Key: k}, nil
}

// publicKeysEqual compares two public keys of the supported types.
func publicKeysEqual(a, b any) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// readSmallFile reads a regular file of at most MaxPEMFileLen bytes. Errors
// name the file and keep fs.ErrNotExist visible.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPEMFileLen+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxPEMFileLen {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxPEMFileLen)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	return b, nil
}
