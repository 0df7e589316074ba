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
		{"custom kex", "kex=X25519\n", with(func(c *Config) { c.Kex = X25519 })},
		{"whitespace", "# comment\n\n   kex   =   secp384r1  \n", with(func(c *Config) { c.Kex = Secp384r1 })},
		{"cipher", "cipher=chacha20-poly1305", with(func(c *Config) { c.Cipher = ChaCha20Poly1305 })},
		{"digest", "digest=sha384\n", with(func(c *Config) { c.Digest = SHA384 })},
		{"kdf", "kdf = blake2b512\n", with(func(c *Config) { c.KDF = BLAKE2b512 })},
		{"kem client", "kex=ML-KEM-768\nkem_mode=client\n", with(func(c *Config) { c.Kex = MLKEM768; c.KEMMode = KEMClient })},
		{"hybrid", "kex=X25519MLKEM768\nkem_mode=server\n", with(func(c *Config) { c.Kex = X25519MLKEM768 })},
		{"later line wins", "kex=X25519\nkex=secp521r1\n", with(func(c *Config) { c.Kex = Secp521r1 })},
		{"unsupported overridden", "kex=X448\nkex=X25519\n", with(func(c *Config) { c.Kex = X25519 })},
		{"unknown key ignored", "colour=blue\nkex=X25519\n", with(func(c *Config) { c.Kex = X25519 })},
		{"line without =", "just words\n", def},
		{"indented comment", "  # kex = nonsense\n", def},
		{"CRLF", "kex=X25519\r\ncipher=aes-128-gcm\r\n", with(func(c *Config) { c.Kex = X25519; c.Cipher = AES128GCM })},
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
