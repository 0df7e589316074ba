package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// Directory and file modes. Private keys are readable by their owner only;
// the directory of the CA keys is closed to others.
const (
	dirMode        = 0o755
	privateDirMode = 0o700
	certMode       = 0o644
	keyMode        = 0o600
)

// backdate starts every certificate a little in the past, so that a peer
// whose clock is slightly behind accepts it at once.
const backdate = 5 * time.Minute

// caCertPath and caKeyPath locate a CA's files by common name.
func caCertPath(o options, cn string, intermediate bool) string {
	dir := o.dir.CADir()
	if intermediate {
		dir = o.dir.IntermediateDir()
	}
	return filepath.Join(dir, cn+".crt.pem")
}

func caKeyPath(o options, cn string) string { return filepath.Join(o.private, cn+".key.pem") }

// loadIssuer loads a CA's certificate (from cacert/ or untrusted/) and key.
func loadIssuer(o options, cn string) (*crypt.Credentials, error) {
	if err := crypt.CheckName(cn); err != nil {
		return nil, err
	}
	crt, key := caCertPath(o, cn, false), caKeyPath(o, cn)
	if _, err := os.Stat(crt); err != nil {
		if im := caCertPath(o, cn, true); fileExists(im) {
			crt = im
		}
	}
	c, err := crypt.LoadCredentials(crt, key)
	if errors.Is(err, crypt.ErrNoCredentials) {
		return nil, fmt.Errorf("no CA %q to sign with: it needs %s (or %s) and %s; create it with ocert ca or ocert im, or name another with --issuer",
			cn, crt, caCertPath(o, cn, true), key)
	}
	if err != nil {
		return nil, fmt.Errorf("CA %q: %w", cn, err)
	}
	if !c.Cert.IsCA {
		return nil, fmt.Errorf("%q (%s) is not a CA certificate", cn, crt)
	}
	return c, nil
}

// makeFiles runs ca, im and name.
func makeFiles(o options, stdout io.Writer) error {
	var (
		role           crypt.Role
		cn             string
		issuerCN       string
		crtPath        string
		keyPath        string
		days           int
		privateKeyFile bool // the key goes into the private directory
	)
	switch o.cmd {
	case "ca":
		role, cn, days, privateKeyFile = crypt.RoleCA, or(o.cn, defaultCA), 3650, true
		if o.issuer != "" {
			return errors.New("a root CA signs itself; --issuer is for im and name")
		}
		crtPath = caCertPath(o, cn, false)
	case "im":
		role, cn, days, privateKeyFile = crypt.RoleIntermediate, or(o.cn, defaultIM), 1825, true
		issuerCN = or(o.issuer, defaultCA)
		crtPath = caCertPath(o, cn, true)
	case "name":
		role, cn, days = crypt.RoleServer, o.name, 365
		if o.side == crypt.Client {
			role = crypt.RoleClient
		}
		issuerCN = o.issuer
		if issuerCN == "" {
			issuerCN = defaultCA
			if _, err := os.Stat(caKeyPath(o, defaultIM)); err == nil {
				issuerCN = defaultIM
			}
		}
		crtPath, keyPath = o.dir.CrtPath(o.side, cn), o.dir.KeyPath(o.side, cn)
	}
	if err := crypt.CheckName(cn); err != nil {
		return err
	}
	if privateKeyFile {
		keyPath = caKeyPath(o, cn)
	}
	if o.days != 0 {
		days = o.days
	}
	if !o.force {
		for _, p := range []string{crtPath, keyPath} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s exists (use --force to replace it)", p)
			}
		}
	}

	var issuer *crypt.Credentials
	if issuerCN != "" {
		var err error
		if issuer, err = loadIssuer(o, issuerCN); err != nil {
			return err
		}
	}
	now := time.Now()
	notAfter := now.Add(time.Duration(days) * 24 * time.Hour)
	clamped := false
	if issuer != nil && notAfter.After(issuer.Cert.NotAfter) {
		notAfter, clamped = issuer.Cert.NotAfter, true
	}
	key, err := crypt.GenerateKey(o.key)
	if err != nil {
		return err
	}
	cert, err := crypt.Issue(role, cn, key, issuer, now.Add(-backdate), notAfter)
	if err != nil {
		return err
	}
	keyPEM, err := crypt.PrivateKeyPEM(key)
	if err != nil {
		return err
	}
	keyDir := fs.FileMode(dirMode)
	if privateKeyFile {
		keyDir = privateDirMode
	}
	if err := writeFile(keyPath, keyPEM, keyMode, keyDir); err != nil {
		return err
	}
	if err := writeFile(crtPath, crypt.CertificatePEM(cert), certMode, dirMode); err != nil {
		return err
	}

	what := map[string]string{"ca": "root CA", "im": "intermediate CA", "name": o.side.String() + " certificate for"}[o.cmd]
	fmt.Fprintf(stdout, "Created %s %s (%s", what, cn, crypt.KeyType(key.Public()))
	if issuer != nil {
		fmt.Fprintf(stdout, ", signed by %s", issuerCN)
	}
	fmt.Fprintf(stdout, ", valid until %s", notAfter.UTC().Format(time.DateOnly))
	if clamped {
		fmt.Fprint(stdout, ", the end of its issuer's validity")
	}
	fmt.Fprintf(stdout, ").\n  certificate %s\n  key         %s\n", crtPath, keyPath)
	return nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeFile writes b to path with the given mode, creating the parent
// directory (with dirMode) if needed. It writes a temporary file and
// renames it, so the file never exists with other permissions or half
// written, and an existing file is replaced whole.
func writeFile(path string, b []byte, mode, dirMode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".ocert-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
