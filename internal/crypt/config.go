package crypt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// KEMMode says which side encapsulates when the key exchange is a KEM
// (enc.conf kem_mode=).
type KEMMode uint8

// KEM modes.
const (
	// KEMServer (the default): the client sends an ephemeral public key and
	// the server encapsulates to it.
	KEMServer KEMMode = iota
	// KEMClient: the client encapsulates to the server's static public key
	// (one round trip less, no forward secrecy).
	KEMClient
)

func (m KEMMode) String() string {
	if m == KEMClient {
		return "client"
	}
	return "server"
}

// Config is one side's security policy for one name: the parsed enc.conf
// (irmd.md §4.5, library.md §6.6). The zero value is "no encryption", what a
// missing file or a file saying `none` means.
type Config struct {
	Kex     Kex     // 0: no key exchange, the flow is not encrypted
	Cipher  Cipher  // proposed cipher
	KDF     Digest  // HKDF digest
	Digest  Digest  // signature digest (OAP md_nid)
	KEMMode KEMMode // meaningful only when Kex is a KEM

	// KexUnset: the file named no kex, so Kex is the default, prime256v1.
	// A server takes it as its floor, as the reference does. A client
	// proposes PostQuantumDefault first where it can (see WithPostQuantum).
	KexUnset bool
}

// PostQuantumDefault is the key exchange a client proposes first when its
// enc.conf names none and kem_mode is server: the X25519MLKEM768 hybrid, as
// strong as X25519 against today's attacks and as ML-KEM-768 against a
// quantum computer. A server that cannot run it (a reference built without
// ML-KEM answers ECRYPT at once) gets prime256v1 in a second request; a
// client that must not fall back names its kex.
const PostQuantumDefault = X25519MLKEM768

// DefaultConfig returns the policy of an existing enc.conf that sets nothing:
// prime256v1, kem_mode server, kdf sha256, aes-256-gcm, digest sha256.
func DefaultConfig() Config {
	return Config{Kex: Prime256v1, Cipher: AES256GCM, KDF: SHA256, Digest: SHA256, KEMMode: KEMServer, KexUnset: true}
}

// WithPostQuantum returns the client policy to propose first: c with
// PostQuantumDefault as its kex when c's file named no kex and kem_mode is
// server (kem_mode client needs the server's static key of a kex the user
// named), else c. ok: the kex was replaced, so a refusal may be tried again
// with c.
func (c Config) WithPostQuantum() (pq Config, ok bool) {
	if !c.KexUnset || c.Kex == 0 || c.KEMMode != KEMServer {
		return c, false
	}
	c.Kex = PostQuantumDefault
	return c, true
}

// PostQuantumFallback reports whether a client whose request proposed
// PostQuantumDefault in place of an unset kex tries once more with
// prime256v1 after a server refused it with errno e: ECRYPT is
// what a server without ML-KEM answers (the reference says "too weak"),
// ENOTSUP what one that knows it cannot run it answers, EMSGSIZE what a
// server whose response with the KEM ciphertext did not fit its layer answers.
func PostQuantumFallback(e oerr.Errno) bool {
	return e == oerr.ECRYPT || e == oerr.ENOTSUP || e == oerr.EMSGSIZE
}

// Encrypted reports whether the policy asks for a key exchange.
func (c Config) Encrypted() bool { return c.Kex != 0 }

// ConfigError is an enc.conf error at a line (1-based; 0 for an error of the
// file as a whole). It wraps ErrConfig, ErrUnsupported or ErrNoCipher.
type ConfigError struct {
	File string // as given to LoadConfig, "enc.conf" for ParseConfig
	Line int
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// MaxConfigSize bounds the enc.conf this package reads, in bytes.
const MaxConfigSize = 64 << 10

// LoadConfig reads the enc.conf at path. A file that does not exist is not an
// error: it means no encryption (the zero Config).
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return Config{}, err
	}
	c, err := parseConfig(path, b)
	return c, err
}

// ParseConfig parses the contents of an existing enc.conf. The rules are the
// reference's:
//
//   - Start from DefaultConfig.
//   - Lines are read one by one. A line starting with '#' (in column 0) and an
//     empty line are skipped.
//   - A line that, trimmed of white space, is `none` disables encryption (the
//     zero Config) and ends parsing.
//   - Otherwise the line is split at its first '='; key and value are trimmed.
//     Lines without '=' and unknown keys are ignored.
//   - kex, cipher, kdf and digest take an algorithm name (case-sensitive,
//     e.g. X25519, aes-256-gcm, sha384), kem_mode takes server or client. Any
//     other value makes the whole file invalid (ErrConfig); a known algorithm
//     this build cannot run fails with ErrUnsupported. A later line
//     overrides an earlier one.
//
// The reference reads lines of at most 255 characters and would split a longer
// one; here a line is a line, whatever its length (up to MaxConfigSize).
func ParseConfig(b []byte) (Config, error) { return parseConfig("enc.conf", b) }

func parseConfig(file string, b []byte) (Config, error) {
	if len(b) > MaxConfigSize {
		return Config{}, &ConfigError{File: file, Err: fmt.Errorf("%w: larger than %d bytes", ErrConfig, MaxConfigSize)}
	}
	c := DefaultConfig()
	where := map[string]int{} // key → line that last set it
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 256), MaxConfigSize+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.TrimSpace(line) == "none" {
			return Config{}, nil
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if err := c.set(k, strings.TrimSpace(v)); err != nil {
			return Config{}, &ConfigError{File: file, Line: n, Err: err}
		}
		where[k] = n
	}
	if err := sc.Err(); err != nil {
		return Config{}, &ConfigError{File: file, Err: fmt.Errorf("%w: %w", ErrConfig, err)}
	}
	if key, err := c.check(); err != nil {
		return Config{}, &ConfigError{File: file, Line: where[key], Err: err}
	}
	return c, nil
}

// set applies one key = value line. Unknown keys are ignored.
func (c *Config) set(key, val string) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: unknown %s %q", ErrConfig, what, val)
	}
	switch key {
	case "kex":
		k, ok := KexByName(val)
		if !ok {
			return bad("key exchange")
		}
		c.Kex, c.KexUnset = k, false
	case "cipher":
		ci, ok := CipherByName(val)
		if !ok {
			return bad("cipher")
		}
		c.Cipher = ci
	case "kdf", "digest":
		d, ok := DigestByName(val)
		if !ok {
			return bad("digest")
		}
		if key == "kdf" {
			c.KDF = d
		} else {
			c.Digest = d
		}
	case "kem_mode":
		switch val {
		case "server":
			c.KEMMode = KEMServer
		case "client":
			c.KEMMode = KEMClient
		default:
			return fmt.Errorf("%w: kem_mode %q is neither server nor client", ErrConfig, val)
		}
	}
	return nil
}

// Check applies the rules the reference applies after loading: every
// algorithm named must be supported by this build (ErrUnsupported), and a key
// exchange needs a cipher (ErrNoCipher).
func (c Config) Check() error {
	_, err := c.check()
	return err
}

// check is Check that also names the enc.conf key at fault.
func (c Config) check() (key string, err error) {
	for _, a := range []struct {
		key              string
		known, supported bool
		name             string
	}{
		{"kex", c.Kex == 0 || c.Kex.Known(), c.Kex == 0 || c.Kex.Supported(), c.Kex.String()},
		{"cipher", c.Cipher == 0 || c.Cipher.Known(), c.Cipher == 0 || c.Cipher.Supported(), c.Cipher.String()},
		{"kdf", c.KDF == 0 || c.KDF.Known(), c.KDF == 0 || c.KDF.Supported(), c.KDF.String()},
		{"digest", c.Digest == 0 || c.Digest.Known(), c.Digest == 0 || c.Digest.Supported(), c.Digest.String()},
	} {
		switch {
		case !a.known:
			return a.key, fmt.Errorf("%w: %s %s", ErrUnknownAlgorithm, a.key, a.name)
		case !a.supported:
			return a.key, fmt.Errorf("%w: %s %s", ErrUnsupported, a.key, a.name)
		}
	}
	if c.Kex != 0 && c.Cipher == 0 {
		return "cipher", ErrNoCipher
	}
	return "", nil
}
