package crypt

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// The security directory (irmd.md §4.4, library.md §6.5), the reference's
// layout:
//
//	<root>/cacert/*                 trusted CA certificates (PEM), read at start-up
//	<root>/untrusted/*              intermediate certificates (PEM), read at start-up
//	<root>/server/<name>/crt.pem    the name's certificate, when serving it
//	<root>/server/<name>/key.pem    its private key (unencrypted PEM, mode 0600)
//	<root>/server/<name>/enc.conf   key-exchange policy of the server side
//	<root>/server/<name>/kex.key.pem|.raw      static KEM key (KEM client encapsulation)
//	<root>/client/<name>/crt.pem    certificate for allocating to the name (optional)
//	<root>/client/<name>/key.pem
//	<root>/client/<name>/enc.conf
//	<root>/client/<name>/kex.srv.pub.pem|.raw  the server's static KEM public key
//
// The IRMd can override the crt, key and enc.conf paths per name; these are
// the defaults it fills in.

// DefaultSecurityDir is the reference's security directory.
const DefaultSecurityDir = "/etc/ouroboros/security"

// File names inside a name's directory.
const (
	CrtFile          = "crt.pem"
	KeyFile          = "key.pem"
	EncConfFile      = "enc.conf"
	KexKeyFile       = "kex.key"     // + ".pem" or ".raw"
	KexServerPubFile = "kex.srv.pub" // + ".pem" or ".raw"
)

// Side says which end of a flow a name's files are for.
type Side int

// Sides.
const (
	Server Side = iota // the name's host accepts flows to it
	Client             // a host allocates flows to the name
)

func (s Side) String() string {
	if s == Server {
		return "server"
	}
	return "client"
}

// SecurityDir is the root of a security directory; "" means
// DefaultSecurityDir. Private IRMd instances use their own.
type SecurityDir string

// Root returns the directory, DefaultSecurityDir for "".
func (d SecurityDir) Root() string {
	if d == "" {
		return DefaultSecurityDir
	}
	return string(d)
}

// CADir returns the directory of trusted CA certificates.
func (d SecurityDir) CADir() string { return filepath.Join(d.Root(), "cacert") }

// IntermediateDir returns the directory of intermediate certificates.
func (d SecurityDir) IntermediateDir() string { return filepath.Join(d.Root(), "untrusted") }

// NameDir returns <root>/<side>/<name>. The name must be usable as one path
// element (CheckName); for other names the result is not meaningful.
func (d SecurityDir) NameDir(side Side, name string) string {
	return filepath.Join(d.Root(), side.String(), name)
}

// CrtPath returns the default certificate file of name on side.
func (d SecurityDir) CrtPath(side Side, name string) string {
	return filepath.Join(d.NameDir(side, name), CrtFile)
}

// KeyPath returns the default private-key file of name on side.
func (d SecurityDir) KeyPath(side Side, name string) string {
	return filepath.Join(d.NameDir(side, name), KeyFile)
}

// EncConfPath returns the default enc.conf of name on side.
func (d SecurityDir) EncConfPath(side Side, name string) string {
	return filepath.Join(d.NameDir(side, name), EncConfFile)
}

// KexKeyPath returns the server's static KEM private key of name:
// kex.key.raw for a hybrid (the request's F bit), else kex.key.pem.
func (d SecurityDir) KexKeyPath(name string, raw bool) string {
	return filepath.Join(d.NameDir(Server, name), KexKeyFile+ext(raw))
}

// KexServerPubPath returns the client's copy of the server's static KEM
// public key for name: kex.srv.pub.raw for a hybrid, else kex.srv.pub.pem.
func (d SecurityDir) KexServerPubPath(name string, raw bool) string {
	return filepath.Join(d.NameDir(Client, name), KexServerPubFile+ext(raw))
}

func ext(raw bool) string {
	if raw {
		return ".raw"
	}
	return ".pem"
}

// CheckName refuses names that cannot be a directory of their own: empty,
// "." or "..", or containing '/' or NUL (the reference joins the name into
// the path as it is, so such a name would reach outside its directory).
func CheckName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%q cannot name a directory in the security directory", name)
	}
	return nil
}

// LoadCredentials loads the name's certificate and key for side from their
// default paths (see the package-level LoadCredentials for the errors). A
// name that is not usable as a directory (CheckName) has no credentials.
func (d SecurityDir) LoadCredentials(side Side, name string) (*Credentials, error) {
	if err := CheckName(name); err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrNoCredentials, fs.ErrNotExist, err)
	}
	return LoadCredentials(d.CrtPath(side, name), d.KeyPath(side, name))
}

// LoadTrustStore loads the CA directory, then the intermediate directory.
func (d SecurityDir) LoadTrustStore() (*TrustStore, error) {
	return LoadTrustStore(d.CADir(), d.IntermediateDir())
}
