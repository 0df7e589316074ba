package crypt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Making certificates (for cmd/ocert and tests): a small PKI of a
// self-signed CA, intermediates and per-name leaf certificates, in the
// shape of the reference's test PKI (ECDSA P-256, CN = name).

// KeyAlgorithms lists the key types GenerateKey makes, default first.
var KeyAlgorithms = []string{"p256", "p384", "ed25519", "mldsa44", "mldsa65", "mldsa87"}

// GenerateKey makes a new signing key: "p256" (ECDSA P-256), "p384"
// (ECDSA P-384), "ed25519" or "mldsa44", "mldsa65", "mldsa87" (ML-DSA,
// made from a random seed, which PrivateKeyPEM writes).
func GenerateKey(alg string) (crypto.Signer, error) {
	for i, name := range []string{"mldsa44", "mldsa65", "mldsa87"} {
		if alg == name {
			seed := make([]byte, mldsaSeedSize)
			rand.Read(seed)
			return mldsaSets[i].fromSeed(seed), nil
		}
	}
	switch alg {
	case "p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("%w: key type %q (want p256, p384, ed25519, mldsa44, mldsa65 or mldsa87)", ErrUnknownAlgorithm, alg)
}

// Role is what an issued certificate is for.
type Role int

// Roles.
const (
	RoleCA           Role = iota // self-signed root, may sign intermediates and names
	RoleIntermediate             // CA that may sign names only (path length 0)
	RoleServer                   // a name's server certificate
	RoleClient                   // a name's client certificate
)

// Issue makes a certificate for key with subject CN=cn, valid from
// notBefore to notAfter, signed by issuer (nil for a self-signed RoleCA).
// CAs get basic constraints CA:TRUE and key usage keyCertSign|cRLSign;
// names get CA:FALSE, digitalSignature and the server or client extended
// key usage. The issuer's key decides the signature algorithm
// (ecdsa-with-SHA256 for P-256, ecdsa-with-SHA384 for P-384, Ed25519,
// ML-DSA). Certificates with an ML-DSA key or signature are built by
// issueMLDSA (pqissue.go), with the same fields and extensions.
func Issue(role Role, cn string, key crypto.Signer, issuer *Credentials, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if cn == "" {
		return nil, fmt.Errorf("%w: empty common name", ErrCertificate)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)), // positive, at most 16 bytes
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
	}
	switch role {
	case RoleCA:
		t.IsCA = true
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		t.MaxPathLen = 1
	case RoleIntermediate:
		t.IsCA = true
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		t.MaxPathLenZero = true
	case RoleServer, RoleClient:
		t.KeyUsage = x509.KeyUsageDigitalSignature
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		if role == RoleClient {
			t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
	default:
		return nil, fmt.Errorf("%w: unknown role %d", ErrCertificate, role)
	}
	parent, signer := t, key
	if issuer != nil {
		parent, signer = issuer.Cert, issuer.Key
	} else if role != RoleCA {
		return nil, fmt.Errorf("%w: only a CA certificate is self-signed", ErrCertificate)
	}
	if mldsaOf(key.Public()) != nil || mldsaOf(signer.Public()) != nil {
		return issueMLDSA(t, parent, key, signer)
	}
	der, err := x509.CreateCertificate(rand.Reader, t, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	return x509.ParseCertificate(der)
}

// CertificatePEM returns c as a PEM CERTIFICATE block.
func CertificatePEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// PrivateKeyPEM returns key as an unencrypted PKCS#8 PEM "PRIVATE KEY"
// block, the form OpenSSL writes and the reference reads (ML-DSA keys in
// the seed form of RFC 9881, or expanded if the seed is not known).
func PrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	marshal := x509.MarshalPKCS8PrivateKey
	if mldsaOf(key.Public()) != nil {
		marshal = func(any) ([]byte, error) { return marshalMLDSAPrivateKey(key) }
	}
	der, err := marshal(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
