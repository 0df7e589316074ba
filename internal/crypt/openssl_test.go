package crypt

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Interoperability with OpenSSL, which the reference uses for everything
// here: files made with the openssl commands of the README load, chains it
// issues verify, its signatures verify with Verify and ours with it, and
// the certificates Issue makes pass `openssl verify`. Skipped without an
// openssl binary.

// opensslConf is the configuration the README's openssl commands use.
const opensslConf = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[im]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
`

func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl binary: skipping the OpenSSL interoperability test")
	}
}

// openssl runs one command in dir and returns its standard output.
func openssl(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// opensslPKI makes the README's PKI with openssl in dir: CA (P-256 key from
// ecparam, with its EC PARAMETERS block), intermediate, and a server
// certificate for srvName whose key type is leafAlgo ("EC" or "ED25519").
func opensslPKI(t *testing.T, dir, leafAlgo string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "o7s.cnf"), []byte(opensslConf), 0o644); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "ecparam", "-name", "prime256v1", "-genkey", "-out", "ca.key.pem")
	openssl(t, dir, "req", "-new", "-x509", "-config", "o7s.cnf", "-extensions", "ca", "-key", "ca.key.pem",
		"-subj", "/CN="+caName, "-days", "3650", "-out", "ca.crt.pem")
	openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "im.key.pem")
	openssl(t, dir, "req", "-new", "-config", "o7s.cnf", "-key", "im.key.pem", "-subj", "/CN="+imName, "-out", "im.csr")
	openssl(t, dir, "x509", "-req", "-in", "im.csr", "-CA", "ca.crt.pem", "-CAkey", "ca.key.pem", "-CAcreateserial",
		"-extfile", "o7s.cnf", "-extensions", "im", "-days", "1825", "-out", "im.crt.pem")
	if leafAlgo == "EC" {
		openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem")
	} else {
		openssl(t, dir, "genpkey", "-algorithm", leafAlgo, "-out", "key.pem")
	}
	openssl(t, dir, "req", "-new", "-config", "o7s.cnf", "-key", "key.pem", "-subj", "/CN="+srvName, "-out", "name.csr")
	openssl(t, dir, "x509", "-req", "-in", "name.csr", "-CA", "im.crt.pem", "-CAkey", "im.key.pem", "-CAcreateserial",
		"-extfile", "o7s.cnf", "-extensions", "name", "-days", "365", "-out", "crt.pem")
	openssl(t, dir, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
}

func TestOpenSSLFiles(t *testing.T) {
	needOpenSSL(t)
	for _, leafAlgo := range []string{"EC", "ED25519"} {
		t.Run(leafAlgo, func(t *testing.T) {
			dir := t.TempDir()
			opensslPKI(t, dir, leafAlgo)
			creds, err := LoadCredentials(filepath.Join(dir, "crt.pem"), filepath.Join(dir, "key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			sec := SecurityDir(t.TempDir())
			for src, dst := range map[string]string{
				"ca.crt.pem": filepath.Join(sec.CADir(), "ca.crt.pem"),
				"im.crt.pem": filepath.Join(sec.IntermediateDir(), "im.crt.pem"),
			} {
				b, _ := os.ReadFile(filepath.Join(dir, src))
				writeFile(t, dst, b)
			}
			store, err := sec.LoadTrustStore()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.VerifyPeer(creds.DER(), srvName, time.Now()); err != nil {
				t.Fatalf("openssl-made chain refused: %v", err)
			}
			if _, err := store.VerifyPeer(creds.DER(), "other", time.Now()); err == nil {
				t.Fatal("wrong name accepted")
			}

			msg := []byte("the signed region of an OAP header")
			msgFile := filepath.Join(dir, "msg")
			os.WriteFile(msgFile, msg, 0o644)
			mds := []Digest{0, SHA256, SHA384, SHA512, SHA3_256, SHA3_384, SHA3_512, BLAKE2s256, BLAKE2b512}
			if leafAlgo != "EC" {
				mds = []Digest{0}
			}
			for _, md := range mds {
				// Ours, verified by openssl.
				sig, err := Sign(creds.Key, md, msg)
				if err != nil {
					t.Fatalf("md %s: %v", md, err)
				}
				os.WriteFile(filepath.Join(dir, "sig"), sig, 0o644)
				var out string
				if md == 0 && leafAlgo != "EC" {
					out = openssl(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg", "-sigfile", "sig")
				} else {
					out = openssl(t, dir, "dgst", "-"+mdName(orDefault(md)), "-verify", "pub.pem", "-signature", "sig", "msg")
				}
				if !strings.Contains(out, "Verified") && !strings.Contains(out, "Success") {
					t.Fatalf("md %s: openssl says %q", md, out)
				}
				// Openssl's, verified by us.
				if md == 0 && leafAlgo != "EC" {
					openssl(t, dir, "pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg", "-out", "osig")
				} else {
					openssl(t, dir, "dgst", "-"+mdName(orDefault(md)), "-sign", "key.pem", "-out", "osig", "msg")
				}
				osig, _ := os.ReadFile(filepath.Join(dir, "osig"))
				if err := Verify(creds.Cert, md, msg, osig); err != nil {
					t.Fatalf("md %s: openssl's signature: %v", md, err)
				}
				if err := Verify(creds.Cert, md, append([]byte("x"), msg...), osig); err == nil {
					t.Fatalf("md %s: openssl's signature verified over other bytes", md)
				}
			}
		})
	}
}

func orDefault(md Digest) Digest {
	if md == 0 {
		return SHA256
	}
	return md
}

// The certificates Issue makes (what ocert writes) pass openssl's own
// chain verification, the one the reference runs.
func TestIssuedPassOpenSSLVerify(t *testing.T) {
	needOpenSSL(t)
	for _, alg := range KeyAlgorithms {
		if strings.HasPrefix(alg, "mldsa") && !opensslHasMLDSA(t) {
			t.Logf("%s: this openssl has no ML-DSA (OpenSSL 3.5 has); not checked", alg)
			continue
		}
		dir := t.TempDir()
		now := time.Now()
		ca := mustIssue(t, RoleCA, caName, alg, nil, now.Add(-time.Hour), now.Add(time.Hour))
		im := mustIssue(t, RoleIntermediate, imName, alg, ca, now.Add(-time.Hour), now.Add(time.Hour))
		leaf := mustIssue(t, RoleServer, srvName, alg, im, now.Add(-time.Hour), now.Add(time.Hour))
		for name, c := range map[string]*x509.Certificate{"ca.pem": ca.Cert, "im.pem": im.Cert, "leaf.pem": leaf.Cert} {
			writeFile(t, filepath.Join(dir, name), CertificatePEM(c))
		}
		out := openssl(t, dir, "verify", "-CAfile", "ca.pem", "-untrusted", "im.pem", "leaf.pem")
		if !strings.Contains(out, "leaf.pem: OK") {
			t.Fatalf("%s: openssl verify says %q", alg, out)
		}
		keyPEM, err := PrivateKeyPEM(leaf.Key)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
		openssl(t, dir, "pkey", "-in", "key.pem", "-noout") // openssl reads our key file
	}
}

// opensslHasMLDSA reports whether the openssl command knows ML-DSA.
func opensslHasMLDSA(t *testing.T) bool {
	out, err := exec.Command("openssl", "list", "-signature-algorithms").CombinedOutput()
	return err == nil && strings.Contains(string(out), "ML-DSA")
}
