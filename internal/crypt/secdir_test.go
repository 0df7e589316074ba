package crypt

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSecurityDirPaths(t *testing.T) {
	d := SecurityDir("")
	for _, tc := range [][2]string{
		{d.Root(), "/etc/ouroboros/security"},
		{d.CADir(), "/etc/ouroboros/security/cacert"},
		{d.IntermediateDir(), "/etc/ouroboros/security/untrusted"},
		{d.CrtPath(Server, "oping.secure"), "/etc/ouroboros/security/server/oping.secure/crt.pem"},
		{d.KeyPath(Server, "oping.secure"), "/etc/ouroboros/security/server/oping.secure/key.pem"},
		{d.EncConfPath(Client, "oping.secure"), "/etc/ouroboros/security/client/oping.secure/enc.conf"},
		{d.CrtPath(Client, "n"), "/etc/ouroboros/security/client/n/crt.pem"},
		{d.KexKeyPath("n", false), "/etc/ouroboros/security/server/n/kex.key.pem"},
		{d.KexKeyPath("n", true), "/etc/ouroboros/security/server/n/kex.key.raw"},
		{d.KexServerPubPath("n", true), "/etc/ouroboros/security/client/n/kex.srv.pub.raw"},
		{SecurityDir("/tmp/x").KeyPath(Client, "n"), "/tmp/x/client/n/key.pem"},
	} {
		if tc[0] != tc[1] {
			t.Errorf("got %s, want %s", tc[0], tc[1])
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "a\x00b"} {
		_, err := SecurityDir(t.TempDir()).LoadCredentials(Server, bad)
		if CheckName(bad) == nil || !errors.Is(err, ErrNoCredentials) {
			t.Errorf("name %q: CheckName %v, LoadCredentials %v", bad, CheckName(bad), err)
		}
	}
}

// Missing files are ErrNoCredentials (and fs.ErrNotExist); files that exist
// but are wrong are other errors, each saying what is wrong.
func TestLoadCredentials(t *testing.T) {
	p := newPKI(t, "p256")
	d := SecurityDir(t.TempDir())
	keyPEM, err := PrivateKeyPEM(p.leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := d.CrtPath(Server, srvName), d.KeyPath(Server, srvName)

	_, err = d.LoadCredentials(Server, srvName)
	if !errors.Is(err, ErrNoCredentials) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("nothing installed: %v", err)
	}
	writeFile(t, crt, CertificatePEM(p.leaf.Cert))
	_, err = d.LoadCredentials(Server, srvName)
	if !errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "key.pem") {
		t.Fatalf("key missing: %v", err)
	}
	writeFile(t, key, keyPEM)
	c, err := d.LoadCredentials(Server, srvName)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != srvName || !c.Cert.Equal(p.leaf.Cert) {
		t.Fatalf("loaded %q", c.Name())
	}

	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	sec1, err := x509.MarshalECPrivateKey(p.leaf.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}

	otherKey, _ := PrivateKeyPEM(mustKey(t, "p256"))
	for _, tc := range []struct {
		name     string
		crt, key []byte
		is       error
		says     string
	}{
		{"garbage certificate", []byte("not a certificate\n"), keyPEM, ErrCertificate, "no PEM CERTIFICATE"},
		{"certificate DER mangled", pemBlock("CERTIFICATE", p.leaf.Cert.Raw[:100]), keyPEM, ErrCertificate, "crt.pem"},
		{"garbage key", CertificatePEM(p.leaf.Cert), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), ErrInvalidKey, "key.pem"},
		{"no key block", CertificatePEM(p.leaf.Cert), CertificatePEM(p.leaf.Cert), ErrInvalidKey, "no PEM private key"},
		{"encrypted key", CertificatePEM(p.leaf.Cert), pemBlock("ENCRYPTED PRIVATE KEY", []byte{1}), ErrInvalidKey, "encrypted"},
		{"key of another certificate", CertificatePEM(p.leaf.Cert), otherKey, ErrInvalidKey, "is not the key of the certificate"},
		{"empty certificate file", nil, keyPEM, ErrCertificate, "empty file"},
		{"oversized key file", CertificatePEM(p.leaf.Cert), make([]byte, MaxPEMFileLen+1), ErrInvalidKey, "larger than"},
		{"EC PARAMETERS then key is fine", CertificatePEM(p.leaf.Cert), append(ecParams, keyPEM...), nil, ""},
		{"SEC 1 EC PRIVATE KEY is fine", CertificatePEM(p.leaf.Cert), pemBlock("EC PRIVATE KEY", sec1), nil, ""},
	} {
		writeFile(t, crt, tc.crt)
		writeFile(t, key, tc.key)
		_, err := LoadCredentials(crt, key)
		if tc.is == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, tc.is) || errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v (want %v saying %q)", tc.name, err, tc.is, tc.says)
		}
	}
}

func TestLoadTrustStore(t *testing.T) {
	p := newPKI(t, "p256")
	d := SecurityDir(t.TempDir())
	s, err := d.LoadTrustStore()
	if err != nil {
		t.Fatalf("no directories: %v", err)
	}
	if a, i := s.Len(); a+i != 0 {
		t.Fatalf("empty store holds %d+%d", a, i)
	}
	writeFile(t, filepath.Join(d.CADir(), "ca.pem"), CertificatePEM(p.ca.Cert))
	writeFile(t, filepath.Join(d.IntermediateDir(), "im.pem"), CertificatePEM(p.im.Cert))
	// A symbolic link to a regular file counts as one (c_rehash style).
	if err := os.Symlink("ca.pem", filepath.Join(d.CADir(), "0a1b2c3d.0")); err != nil {
		t.Fatal(err)
	}
	s, err = d.LoadTrustStore()
	if err != nil {
		t.Fatal(err)
	}
	if a, i := s.Len(); a != 1 || i != 1 {
		t.Fatalf("store holds %d anchors, %d intermediates; want 1, 1", a, i)
	}
	if _, err := s.VerifyPeer(p.leaf.DER(), srvName, t0); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		make func(dir string)
		says string
	}{
		{"subdirectory", func(dir string) { os.Mkdir(filepath.Join(dir, "sub"), 0o755) }, "not a regular file"},
		{"junk file", func(dir string) { writeFile(t, filepath.Join(dir, "junk"), []byte("junk\n")) }, "no PEM CERTIFICATE"},
		{"bad DER", func(dir string) { writeFile(t, filepath.Join(dir, "bad"), pemBlock("CERTIFICATE", []byte{0x30, 0})) }, "bad"},
		{"dangling link", func(dir string) { os.Symlink("nowhere", filepath.Join(dir, "dangling")) }, "dangling"},
	} {
		d := SecurityDir(t.TempDir())
		os.MkdirAll(d.IntermediateDir(), 0o755)
		tc.make(d.IntermediateDir())
		_, err := d.LoadTrustStore()
		if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v (want ErrCertificate saying %q)", tc.name, err, tc.says)
		}
	}
}
