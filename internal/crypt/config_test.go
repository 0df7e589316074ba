package crypt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

func TestParseConfig(t *testing.T) {
	def := DefaultConfig()
	with := func(f func(*Config)) Config { c := def; f(&c); return c }
	for _, c := range []struct {
		name string
		in   string
		want Config
	}{
		{"empty file", "", def},
		{"comments only", "# kex=X25519\n#cipher=nonsense\n", def},
		{"none", "none\n", Config{}},
		{"none trimmed", "  none\t\n", Config{}},
		{"none stops parsing", "kex=X25519\nnone\nkex=nonsense\n", Config{}},
		{"custom kex", "kex=X25519\n", with(func(c *Config) { c.Kex, c.KexUnset = X25519, false })},
		{"whitespace", "# comment\n\n   kex   =   secp384r1  \n", with(func(c *Config) { c.Kex, c.KexUnset = Secp384r1, false })},
		{"cipher", "cipher=chacha20-poly1305", with(func(c *Config) { c.Cipher = ChaCha20Poly1305 })},
		{"digest", "digest=sha384\n", with(func(c *Config) { c.Digest = SHA384 })},
		{"kdf", "kdf = blake2b512\n", with(func(c *Config) { c.KDF = BLAKE2b512 })},
		{"kem client", "kex=ML-KEM-768\nkem_mode=client\n", with(func(c *Config) { c.Kex, c.KexUnset = MLKEM768, false; c.KEMMode = KEMClient })},
		{"hybrid", "kex=X25519MLKEM768\nkem_mode=server\n", with(func(c *Config) { c.Kex, c.KexUnset = X25519MLKEM768, false })},
		{"later line wins", "kex=X25519\nkex=secp521r1\n", with(func(c *Config) { c.Kex, c.KexUnset = Secp521r1, false })},
		{"unsupported overridden", "kex=X448\nkex=X25519\n", with(func(c *Config) { c.Kex, c.KexUnset = X25519, false })},
		{"unknown key ignored", "colour=blue\nkex=X25519\n", with(func(c *Config) { c.Kex, c.KexUnset = X25519, false })},
		{"line without =", "just words\n", def},
		{"indented comment", "  # kex = nonsense\n", def},
		{"CRLF", "kex=X25519\r\ncipher=aes-128-gcm\r\n", with(func(c *Config) { c.Kex, c.KexUnset = X25519, false; c.Cipher = AES128GCM })},
		{"value with =", "odd=a=b\n", def},
		{"long comment", "#" + strings.Repeat("x", 1000) + "\n", def},
	} {
		got, err := ParseConfig([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    string
		want  error
		errno oerr.Errno
		line  int
		text  string
	}{
		{"unknown kex", "# c\nkex=foo\n", ErrConfig, oerr.EINVAL, 2, `enc.conf:2: crypt: invalid enc.conf: unknown key exchange "foo"`},
		{"empty kex", "kex=\n", ErrConfig, oerr.EINVAL, 1, ""},
		{"case matters", "kex=x25519\n", ErrConfig, oerr.EINVAL, 1, ""},
		{"unknown cipher", "\n\ncipher=aes-512-gcm\n", ErrConfig, oerr.EINVAL, 3, ""},
		{"unknown kdf", "kdf=md5\n", ErrConfig, oerr.EINVAL, 1, ""},
		{"unknown digest", "digest=sha1\n", ErrConfig, oerr.EINVAL, 1, ""},
		{"bad kem_mode", "kem_mode=both\n", ErrConfig, oerr.EINVAL, 1, `enc.conf:1: crypt: invalid enc.conf: kem_mode "both" is neither server nor client`},
		{"unsupported kex", "kex=ffdhe2048\ncipher=aes-128-gcm\n", ErrUnsupported, oerr.ENOTSUP, 1, ""},
		{"unsupported KEM", "cipher=aes-128-gcm\nkex = ML-KEM-512\n", ErrUnsupported, oerr.ENOTSUP, 2, ""},
		{"unsupported X448", "# reference test: comments and\nkex = X448\n", ErrUnsupported, oerr.ENOTSUP, 2, ""},
		{"too large", strings.Repeat("#\n", MaxConfigSize), ErrConfig, oerr.EINVAL, 0, ""},
	} {
		got, err := ParseConfig([]byte(c.in))
		var ce *ConfigError
		if !errors.Is(err, c.want) || !errors.As(err, &ce) || ce.Line != c.line || Errno(err) != c.errno || got != (Config{}) {
			t.Errorf("%s: %+v, %v (line %v); want %v at line %d", c.name, got, err, ce, c.want, c.line)
			continue
		}
		if c.text != "" && err.Error() != c.text {
			t.Errorf("%s: error %q, want %q", c.name, err, c.text)
		}
	}
}

// TestPostQuantumDefault: a client whose enc.conf names no kex proposes
// X25519MLKEM768 first and may fall back to the file's prime256v1; a kex the
// file names, kem_mode client, and no encryption are left as they are.
func TestPostQuantumDefault(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		kex  Kex
		ok   bool
	}{
		{"no kex line", "cipher = chacha20-poly1305\n", X25519MLKEM768, true},
		{"empty file", "", X25519MLKEM768, true},
		{"kex named", "kex = prime256v1\n", Prime256v1, false},
		{"kex named after", "cipher = aes-128-gcm\nkex = X25519\n", X25519, false},
		{"kem_mode client", "kem_mode = client\n", Prime256v1, false},
		{"none", "none\n", 0, false},
	} {
		cfg, err := ParseConfig([]byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		pq, ok := cfg.WithPostQuantum()
		if pq.Kex != c.kex || ok != c.ok {
			t.Errorf("%s: proposes %v (replaced %v), want %v (%v)", c.name, pq.Kex, ok, c.kex, c.ok)
		}
		if pq.Cipher != cfg.Cipher || pq.KDF != cfg.KDF || pq.Digest != cfg.Digest {
			t.Errorf("%s: the rest of the policy changed: %+v from %+v", c.name, pq, cfg)
		}
		if err := pq.Check(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	for e, want := range map[oerr.Errno]bool{oerr.ECRYPT: true, oerr.ENOTSUP: true, oerr.EMSGSIZE: true,
		oerr.EAUTH: false, oerr.EPERM: false, oerr.ETIMEDOUT: false} {
		if PostQuantumFallback(e) != want {
			t.Errorf("fallback after %v: %v, want %v", e, !want, want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	if err := DefaultConfig().Check(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if err := (Config{}).Check(); err != nil {
		t.Errorf("zero: %v", err)
	}
	c := DefaultConfig()
	c.Cipher = 0
	if err := c.Check(); !errors.Is(err, ErrNoCipher) || Errno(err) != oerr.ECRYPT {
		t.Errorf("kex without cipher: %v", err)
	}
	c = DefaultConfig()
	c.KDF = 9999
	if err := c.Check(); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("unknown kdf: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadConfig(filepath.Join(dir, "enc.conf"))
	if err != nil || c != (Config{}) || c.Encrypted() {
		t.Errorf("missing file: %+v, %v", c, err)
	}
	p := filepath.Join(dir, "server", "enc.conf")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("kex=X25519\ncipher=aes-192-gcm\n"), 0o644)
	c, err = LoadConfig(p)
	if err != nil || c.Kex != X25519 || c.Cipher != AES192GCM || !c.Encrypted() {
		t.Errorf("file: %+v, %v", c, err)
	}
	os.WriteFile(p, []byte("\nkex=bogus\n"), 0o644)
	_, err = LoadConfig(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":2: ") {
		t.Errorf("error %q does not start with the path and line", err)
	}
	if _, err := LoadConfig(dir); err == nil {
		t.Error("a directory loads")
	}
}

func TestErrno(t *testing.T) {
	for err, want := range map[error]oerr.Errno{
		nil:                 0,
		ErrUnsupported:      oerr.ENOTSUP,
		ErrConfig:           oerr.EINVAL,
		ErrRefused:          oerr.ECRYPT,
		ErrInvalidKey:       oerr.ECRYPT,
		ErrUnknownAlgorithm: oerr.ECRYPT,
	} {
		if got := Errno(err); got != want {
			t.Errorf("Errno(%v) = %v, want %v", err, got, want)
		}
	}
}
