package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

func ocert(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func mustOcert(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := ocert(t, args...)
	if code != 0 {
		t.Fatalf("ocert %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"name", "x", "--help"}} {
		code, out, errs := ocert(t, args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: ocert COMMAND") || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

func TestBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		says string
	}{
		{nil, "missing command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"ca", "--bogus"}, `unknown option "--bogus"`},
		{[]string{"ca", "--dir"}, "option --dir needs a value"},
		{[]string{"ca", "extra"}, `unexpected argument "extra"`},
		{[]string{"ca", "--server"}, "--server and --client are for names"},
		{[]string{"ca", "-k", "rsa"}, `invalid value "rsa" for -k`},
		{[]string{"ca", "--days", "x"}, `invalid value "x" for --days`},
		{[]string{"name", "--server"}, "give exactly one NAME"},
		{[]string{"name", "a", "b", "--server"}, "give exactly one NAME"},
		{[]string{"name", "a"}, "give --server or --client"},
		{[]string{"name", "a", "--server", "--client"}, "give one of --server and --client"},
		{[]string{"name", "../etc", "--server"}, "cannot name a directory"},
		{[]string{"name", "a", "--server", "--cn", "b"}, "--cn is for ca and im"},
		{[]string{"ca", "--cn", "a/b", "-d", dir}, "cannot name a directory"},
		{[]string{"ca", "--issuer", "x", "-d", dir}, "signs itself"},
		{[]string{"name", "a", "--server", "-d", dir}, `no CA "ca.o7s" to sign with`},
		{[]string{"im", "-d", dir}, `no CA "ca.o7s" to sign with`},
		{[]string{"check", "a", "--client", "-d", dir}, "no credentials"},
	} {
		code, out, errs := ocert(t, tc.args...)
		if code != 1 || out != "" || !strings.Contains(errs, tc.says) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 saying %q", tc.args, code, out, errs, tc.says)
		}
	}
}

// The files ocert writes are what the IRMd loads: the trust store from
// cacert/ and untrusted/, the name's credentials, and the name's
// certificate verifies as a peer's for that name. Keys are 0600, the CA
// key directory 0700.
func TestEndToEnd(t *testing.T) {
	for _, key := range crypt.KeyAlgorithms {
		t.Run(key, func(t *testing.T) {
			root := t.TempDir()
			sec := crypt.SecurityDir(filepath.Join(root, "security"))
			d := []string{"-d", sec.Root(), "-k", key}
			mustOcert(t, append([]string{"ca"}, d...)...)
			mustOcert(t, append([]string{"im"}, d...)...)
			out := mustOcert(t, append([]string{"name", "oping.secure", "--server"}, d...)...)
			if !strings.Contains(out, "signed by im.o7s") {
				t.Errorf("name not signed by the intermediate: %s", out)
			}
			mustOcert(t, append([]string{"name", "oping.secure", "--client"}, d...)...)

			for path, want := range map[string]os.FileMode{
				filepath.Join(sec.CADir(), "ca.o7s.crt.pem"):           0o644,
				filepath.Join(sec.IntermediateDir(), "im.o7s.crt.pem"): 0o644,
				filepath.Join(sec.Root(), "private"):                   0o700,
				filepath.Join(sec.Root(), "private", "ca.o7s.key.pem"): 0o600,
				filepath.Join(sec.Root(), "private", "im.o7s.key.pem"): 0o600,
				sec.CrtPath(crypt.Server, "oping.secure"):              0o644,
				sec.KeyPath(crypt.Server, "oping.secure"):              0o600,
				sec.KeyPath(crypt.Client, "oping.secure"):              0o600,
			} {
				if got := mode(t, path); got != want {
					t.Errorf("%s: mode %o, want %o", path, got, want)
				}
			}

			store, err := sec.LoadTrustStore()
			if err != nil {
				t.Fatal(err)
			}
			if a, i := store.Len(); a != 1 || i != 1 {
				t.Fatalf("trust store: %d anchors, %d intermediates", a, i)
			}
			for _, side := range []crypt.Side{crypt.Server, crypt.Client} {
				creds, err := sec.LoadCredentials(side, "oping.secure")
				if err != nil {
					t.Fatal(err)
				}
				peer, err := store.VerifyPeer(creds.DER(), "oping.secure", time.Now())
				if err != nil {
					t.Fatalf("%s: %v", side, err)
				}
				msg := []byte("signed region")
				sig, err := crypt.Sign(creds.Key, 0, msg)
				if err != nil {
					t.Fatal(err)
				}
				if err := crypt.Verify(peer.Cert, 0, msg, sig); err != nil {
					t.Fatal(err)
				}
				if out := mustOcert(t, "check", "oping.secure", "--"+side.String(), "-d", sec.Root()); !strings.Contains(out, "certificate OK") {
					t.Errorf("check: %s", out)
				}
			}
			if _, err := store.VerifyPeer(mustCert(t, sec.CrtPath(crypt.Server, "oping.secure")), "oping.other", time.Now()); err == nil {
				t.Fatal("certificate accepted for another name")
			}

			if _, err := exec.LookPath("openssl"); err == nil && (!strings.HasPrefix(key, "mldsa") || opensslHasMLDSA()) {
				cmd := exec.Command("openssl", "verify", "-CAfile", filepath.Join(sec.CADir(), "ca.o7s.crt.pem"),
					"-untrusted", filepath.Join(sec.IntermediateDir(), "im.o7s.crt.pem"), sec.CrtPath(crypt.Server, "oping.secure"))
				if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte(": OK")) {
					t.Errorf("openssl verify: %v\n%s", err, out)
				}
			}
		})
	}
}

func mustCert(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := crypt.ParseCertificatePEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return c.Raw
}

// Existing files are kept unless --force; with it they are replaced whole
// and keep their modes. Without an intermediate, names are signed by the
// CA; a name's validity ends with its issuer's.
func TestReplaceAndIssuer(t *testing.T) {
	sec := crypt.SecurityDir(t.TempDir())
	d := []string{"-d", sec.Root()}
	mustOcert(t, append([]string{"ca", "--days", "30"}, d...)...)
	out := mustOcert(t, append([]string{"name", "n", "--server", "--days", "365"}, d...)...)
	if !strings.Contains(out, "signed by ca.o7s") || !strings.Contains(out, "the end of its issuer's validity") {
		t.Errorf("without an intermediate: %s", out)
	}
	before, _ := os.ReadFile(sec.KeyPath(crypt.Server, "n"))
	code, _, errs := ocert(t, append([]string{"name", "n", "--server"}, d...)...)
	if code != 1 || !strings.Contains(errs, "exists (use --force") {
		t.Fatalf("overwrite without --force: exit %d, %s", code, errs)
	}
	mustOcert(t, append([]string{"name", "n", "--server", "--force", "-k", "ed25519"}, d...)...)
	after, _ := os.ReadFile(sec.KeyPath(crypt.Server, "n"))
	if bytes.Equal(before, after) || mode(t, sec.KeyPath(crypt.Server, "n")) != 0o600 {
		t.Fatal("key not replaced, or mode changed")
	}
	if _, err := sec.LoadCredentials(crypt.Server, "n"); err != nil {
		t.Fatal(err)
	}
	code, _, errs = ocert(t, append([]string{"name", "m", "--client", "--issuer", "nobody"}, d...)...)
	if code != 1 || !strings.Contains(errs, `no CA "nobody"`) {
		t.Fatalf("unknown issuer: exit %d, %s", code, errs)
	}
	code, _, errs = ocert(t, append([]string{"im", "--issuer", "n"}, d...)...)
	if code != 1 || !strings.Contains(errs, `no CA "n"`) {
		t.Fatalf("leaf as issuer: exit %d, %s", code, errs)
	}
	// A separate directory for the CA keys.
	priv := filepath.Join(t.TempDir(), "keys")
	sec2 := crypt.SecurityDir(t.TempDir())
	mustOcert(t, "ca", "-d", sec2.Root(), "-p", priv, "--cn", "my.ca")
	mustOcert(t, "name", "x", "--client", "-d", sec2.Root(), "-p", priv, "--issuer", "my.ca")
	if mode(t, filepath.Join(priv, "my.ca.key.pem")) != 0o600 {
		t.Fatal("CA key mode")
	}
	if out := mustOcert(t, "check", "x", "--client", "-d", sec2.Root()); !strings.Contains(out, "issued by my.ca") {
		t.Fatalf("check: %s", out)
	}
}

// opensslHasMLDSA reports whether the openssl command knows ML-DSA
// (OpenSSL 3.5 does, the 3.0 of this project's test machines does not).
func opensslHasMLDSA() bool {
	out, err := exec.Command("openssl", "list", "-signature-algorithms").CombinedOutput()
	return err == nil && bytes.Contains(out, []byte("ML-DSA"))
}

// TestMixedKeyTypes: each certificate may have its own key type: an
// ML-DSA-65 CA, a P-256 intermediate and an ML-DSA-44 name, and the
// other way round; check verifies the chains and the names' keys.
func TestMixedKeyTypes(t *testing.T) {
	for _, keys := range [][3]string{{"mldsa65", "p256", "mldsa44"}, {"p384", "mldsa87", "mldsa65"}} {
		sec := crypt.SecurityDir(filepath.Join(t.TempDir(), "security"))
		d := []string{"-d", sec.Root()}
		mustOcert(t, append([]string{"ca", "-k", keys[0]}, d...)...)
		mustOcert(t, append([]string{"im", "-k", keys[1]}, d...)...)
		mustOcert(t, append([]string{"name", "mixed.o7s", "--server", "-k", keys[2]}, d...)...)
		out := mustOcert(t, append([]string{"check", "mixed.o7s", "--server"}, d...)...)
		want := map[string]string{"mldsa44": "ML-DSA-44", "mldsa65": "ML-DSA-65"}[keys[2]]
		if !strings.Contains(out, "mixed.o7s: server certificate OK ("+want+", issued by im.o7s") {
			t.Errorf("%v: check says %s", keys, out)
		}
	}
}
