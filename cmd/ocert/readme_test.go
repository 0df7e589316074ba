package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// The README's Certificates section marks its two shell blocks with these
// comments, each on the line before the block.
const (
	ocertMark   = "<!-- certificates: cmd/ocert/readme_test.go runs this block -->"
	opensslMark = "<!-- certificates with openssl: cmd/ocert/readme_test.go runs this block -->"
)

// readmeBlock returns the fenced block that follows mark in the README.
func readmeBlock(t *testing.T, mark string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, mark)
	if i < 0 {
		t.Fatalf("README.md has no %q", mark)
	}
	rest := readme[i+len(mark):]
	rest = rest[strings.Index(rest, "```"):]
	body := rest[strings.Index(rest, "\n")+1:]
	end := strings.Index(body, "\n```")
	if end < 0 {
		t.Fatalf("unterminated block after %q", mark)
	}
	return body[:end+1]
}

// verifyName checks a security directory the way the IRMds will use it.
func verifyName(t *testing.T, sec crypt.SecurityDir, side crypt.Side, name string) {
	t.Helper()
	store, err := sec.LoadTrustStore()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := sec.LoadCredentials(side, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.VerifyPeer(creds.DER(), name, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestREADMEOcert runs every ocert line of the README's block in-process,
// into a temporary security directory (-d added), and checks the output
// the README shows for ocert check.
func TestREADMEOcert(t *testing.T) {
	sec := crypt.SecurityDir(t.TempDir())
	n := 0
	for _, line := range strings.Split(readmeBlock(t, ocertMark), "\n") {
		cmd, comment, _ := strings.Cut(line, "#")
		args := strings.Fields(cmd)
		if len(args) == 0 || args[0] != "ocert" {
			continue
		}
		n++
		out := mustOcert(t, append(args[1:], "-d", sec.Root())...)
		if args[1] == "check" {
			want := strings.TrimSuffix(strings.TrimSpace(comment), "...)")
			if !strings.HasPrefix(out, want) {
				t.Errorf("%s: printed %q, the README shows %q", cmd, out, want)
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d ocert lines in the README's block", n)
	}
	verifyName(t, sec, crypt.Server, "oping.secure")
	verifyName(t, sec, crypt.Client, "oping.secure")
}

// TestREADMEOpenSSL runs the README's openssl block with bash, in a
// temporary directory and with SEC pointing into it instead of
// /etc/ouroboros/security; the files it installs must load and verify.
func TestREADMEOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl binary: skipping the README's openssl commands")
	}
	dir := t.TempDir()
	script := readmeBlock(t, opensslMark)
	const secLine = "SEC=/etc/ouroboros/security\n"
	if !strings.Contains(script, secLine) {
		t.Fatalf("the block does not set %q", secLine)
	}
	script = strings.Replace(script, secLine, "SEC="+filepath.Join(dir, "security")+"\n", 1)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's openssl commands: %v\n%s", err, out)
	}
	sec := crypt.SecurityDir(filepath.Join(dir, "security"))
	verifyName(t, sec, crypt.Server, "oping.secure")
	if m := mode(t, sec.KeyPath(crypt.Server, "oping.secure")); m != 0o600 {
		t.Errorf("key.pem mode %o", m)
	}
}
