package irmd

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oap"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/olog"
)

func secDaemon(t *testing.T) (*Daemon, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	return &Daemon{cfg: Config{SecurityDir: t.TempDir()}, log: olog.New(&log, "irmd", olog.Options{}),
		replay: oap.NewReplayCache(0)}, &log
}

func writeSec(t *testing.T, d *Daemon, side, name, file, content string) {
	t.Helper()
	dir := filepath.Join(d.cfg.SecurityDir, side, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readSec(t *testing.T, d *Daemon, side, name, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.cfg.SecurityDir, side, name, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSecDir: names that would leave the security directory have no
// policy and no credentials, whatever lies where their path would lead;
// the default directory is the reference's.
func TestSecDir(t *testing.T) {
	d, _ := secDaemon(t)
	// <dir>/server/../enc.conf is <dir>/enc.conf: it must not be read.
	if err := os.WriteFile(filepath.Join(d.cfg.SecurityDir, "enc.conf"), []byte("cipher = aes-128-gcm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"", ".", "..", "../x", "a/b", "a\x00b"} {
		if c, err := d.encConfig(crypt.Server, n); err != nil || c.Encrypted() {
			t.Errorf("name %q: enc.conf %+v, %v", n, c, err)
		}
		if c, err := d.credentials(crypt.Client, n); c != nil || err != nil {
			t.Errorf("name %q: credentials %v, %v", n, c, err)
		}
	}
	if p := d.secDir().EncConfPath(crypt.Client, "oping..b"); p != filepath.Join(d.cfg.SecurityDir, "client", "oping..b", "enc.conf") {
		t.Errorf("path %q", p)
	}
	d.cfg.SecurityDir = ""
	if p := d.secDir().EncConfPath(crypt.Server, "x"); p != "/etc/ouroboros/security/server/x/enc.conf" {
		t.Errorf("default path %q", p)
	}
}

// TestClientServerPolicies: each side's enc.conf is read per name; a bad
// client file fails the allocation with its errno and a log line naming
// the name; a server refusal is ECRYPT, logged with the reason.
func TestClientServerPolicies(t *testing.T) {
	d, log := secDaemon(t)
	writeSec(t, d, "client", "a", "enc.conf", "kex = X25519\ncipher = chacha20-poly1305\n")
	writeSec(t, d, "server", "a", "enc.conf", "kex = X25519\n")
	req, st, e := d.clientRequest("a")
	if e != 0 {
		t.Fatalf("client request: %v\n%s", e, log)
	}
	resp, res, e := d.serverServe("a", req)
	if e != 0 || res.Cipher != crypt.ChaCha20Poly1305 {
		t.Fatalf("serve: %v %+v\n%s", e, res, log)
	}
	cres, ok := d.clientFinish("a", st, resp)
	if !ok || !bytes.Equal(cres.Key, res.Key) {
		t.Fatalf("finish: %v %+v", ok, cres)
	}

	// A name that cannot be a directory has no policy: plaintext.
	if req, _, e := d.clientRequest("a/../b"); e != 0 || len(req) != 36 {
		t.Errorf("name with a slash: %v, %d-byte request", e, len(req))
	}

	writeSec(t, d, "client", "bad", "enc.conf", "cipher = rot13\n")
	if _, _, e := d.clientRequest("bad"); e != oerr.EINVAL {
		t.Errorf("bad enc.conf: %v", e)
	}
	if !strings.Contains(log.String(), "Flow allocation to bad refused: client enc.conf") {
		t.Errorf("log:\n%s", log)
	}

	writeSec(t, d, "server", "strict", "enc.conf", "\n")
	req, _, _ = d.clientRequest("strict")
	if _, _, e := d.serverServe("strict", req); e != oerr.ECRYPT {
		t.Errorf("strict server: %v", e)
	}
	if !strings.Contains(log.String(), "Flow request for strict refused") ||
		!strings.Contains(log.String(), "client sent no key exchange data") {
		t.Errorf("log:\n%s", log)
	}
}

// TestEncFileFromConfigFile: an enc.conf path given for the name by the
// configuration file wins over the security directory's.
func TestEncFileFromConfigFile(t *testing.T) {
	d, _ := secDaemon(t)
	d.reg = reg.New()
	writeSec(t, d, "server", "n", "enc.conf", "cipher = aes-128-gcm\n")
	other := filepath.Join(t.TempDir(), "srv.conf")
	if err := os.WriteFile(other, []byte("cipher = chacha20-poly1305\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.reg.CreateName(reg.NameInfo{Name: "n"}); err != nil {
		t.Fatal(err)
	}
	if c, err := d.encConfig(crypt.Server, "n"); err != nil || c.Cipher != crypt.AES128GCM {
		t.Fatalf("default file: %+v, %v", c, err)
	}
	if err := d.reg.SetEncFiles("n", other, ""); err != nil {
		t.Fatal(err)
	}
	if c, err := d.encConfig(crypt.Server, "n"); err != nil || c.Cipher != crypt.ChaCha20Poly1305 {
		t.Fatalf("configured file: %+v, %v", c, err)
	}
	if c, err := d.encConfig(crypt.Client, "n"); err != nil || c.Encrypted() {
		t.Fatalf("client side: %+v, %v", c, err)
	}
}

// mlkem1024PEM is the ML-KEM-1024 key of seed 00…3f (PKCS#8, seed-only
// form), written by OpenSSL.
const mlkem1024PEM = `-----BEGIN PRIVATE KEY-----
MFQCAQAwCwYJYIZIAWUDBAQDBEKAQAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZ
GhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=
-----END PRIVATE KEY-----
`

// TestClientEncapsulationFiles: with kem_mode = client the client reads
// the server's public key from client/<name>/kex.srv.pub.pem and the
// server its key pair from server/<name>/kex.key.pem; without them the
// allocation is refused on the side that lacks its file.
func TestClientEncapsulationFiles(t *testing.T) {
	d, log := secDaemon(t)
	const conf = "kex = ML-KEM-1024\nkem_mode = client\n"
	writeSec(t, d, "client", "k", "enc.conf", conf)
	writeSec(t, d, "server", "k", "enc.conf", conf)
	if _, _, e := d.clientRequest("k"); e != oerr.ECRYPT {
		t.Fatalf("client without the server's key: %v", e)
	}
	kp, err := crypt.ParseKeyPairPEM([]byte(mlkem1024PEM))
	if err != nil {
		t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: kp.PublicKey().Bytes()})
	writeSec(t, d, "client", "k", "kex.srv.pub.pem", string(pub))
	req, st, e := d.clientRequest("k")
	if e != 0 {
		t.Fatalf("client request: %v\n%s", e, log)
	}
	if _, _, e := d.serverServe("k", req); e != oerr.ECRYPT {
		t.Fatalf("server without its key: %v", e)
	}
	writeSec(t, d, "server", "k", "kex.key.pem", mlkem1024PEM)
	req, st, _ = d.clientRequest("k")
	resp, res, e := d.serverServe("k", req)
	if e != 0 {
		t.Fatalf("serve: %v\n%s", e, log)
	}
	cres, ok := d.clientFinish("k", st, resp)
	if !ok || !res.Encrypted() || !bytes.Equal(cres.Key, res.Key) {
		t.Fatalf("keys: client %+v server %+v", cres, res)
	}
}

// TestClientEncapsulationExpandedKeys: the server's static key may be kept
// without its seed: the hybrid's raw kex.key.raw (OpenSSL's form, with the
// expanded ML-KEM key) and an expanded-only ML-KEM PKCS#8 kex.key.pem both
// serve a kem_mode = client allocation; a damaged raw key is refused with
// a log line naming the file.
func TestClientEncapsulationExpandedKeys(t *testing.T) {
	d, log := secDaemon(t)
	for _, c := range []struct {
		name, conf string
		kex        crypt.Kex
	}{
		{"hyb", "kex = X25519MLKEM768\nkem_mode = client\n", crypt.X25519MLKEM768},
		{"exp", "kex = ML-KEM-768\nkem_mode = client\n", crypt.MLKEM768},
	} {
		writeSec(t, d, "client", c.name, "enc.conf", c.conf)
		writeSec(t, d, "server", c.name, "enc.conf", c.conf)
		kp, err := crypt.GenerateKeyPair(c.kex)
		if err != nil {
			t.Fatal(err)
		}
		if c.kex.IsHybrid() {
			raw, err := kp.MarshalRaw()
			if err != nil {
				t.Fatal(err)
			}
			writeSec(t, d, "client", c.name, "kex.srv.pub.raw", string(kp.PublicKey().Bytes()))
			writeSec(t, d, "server", c.name, "kex.key.raw", string(raw))
		} else {
			key, err := crypt.MarshalKEMPrivateKeyPEM(kp, crypt.FormExpanded)
			if err != nil {
				t.Fatal(err)
			}
			pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: kp.PublicKey().Bytes()})
			writeSec(t, d, "client", c.name, "kex.srv.pub.pem", string(pub))
			writeSec(t, d, "server", c.name, "kex.key.pem", string(key))
		}
		req, st, e := d.clientRequest(c.name)
		if e != 0 {
			t.Fatalf("%s: client request: %v\n%s", c.name, e, log)
		}
		resp, res, e := d.serverServe(c.name, req)
		if e != 0 {
			t.Fatalf("%s: serve: %v\n%s", c.name, e, log)
		}
		cres, ok := d.clientFinish(c.name, st, resp)
		if !ok || !res.Encrypted() || res.Kex != c.kex || !bytes.Equal(cres.Key, res.Key) {
			t.Fatalf("%s: keys: client %+v server %+v", c.name, cres, res)
		}
	}
	// A raw key whose H(ek) does not match is refused, and said so.
	raw := []byte(readSec(t, d, "server", "hyb", "kex.key.raw"))
	raw[1152+1184] ^= 1
	writeSec(t, d, "server", "hyb", "kex.key.raw", string(raw))
	req, _, _ := d.clientRequest("hyb")
	if _, _, e := d.serverServe("hyb", req); e != oerr.ECRYPT {
		t.Fatalf("damaged raw key: %v", e)
	}
	if !strings.Contains(log.String(), "kex.key.raw: crypt: invalid key material: ML-KEM-768 expanded private key: the hash of its encapsulation key does not match") {
		t.Errorf("log does not say what is wrong with the key:\n%s", log)
	}
}

// TestAuthFiles: the trust store loads from cacert/ and untrusted/ (a
// broken file fails with its name); a name's credentials come from the
// security directory or from the paths the configuration file gave; the
// server signs and the client verifies, both learn the peer's name; an
// unusable key fails the server with EAUTH and the client with EBADF,
// each logged with the name.
func TestAuthFiles(t *testing.T) {
	d, log := secDaemon(t)
	d.reg = reg.New()
	now := time.Now()
	caKey, _ := crypt.GenerateKey("p256")
	ca, err := crypt.Issue(crypt.RoleCA, "ca.test", caKey, nil, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	issuer := &crypt.Credentials{Cert: ca, Key: caKey}
	creds := func(side, name, cn, dir string) {
		k, _ := crypt.GenerateKey("p256")
		c, err := crypt.Issue(crypt.RoleServer, cn, k, issuer, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		kp, _ := crypt.PrivateKeyPEM(k)
		if dir == "" {
			writeSec(t, d, side, name, "crt.pem", string(crypt.CertificatePEM(c)))
			writeSec(t, d, side, name, "key.pem", string(kp))
			return
		}
		os.WriteFile(filepath.Join(dir, "crt.pem"), crypt.CertificatePEM(c), 0o644)
		os.WriteFile(filepath.Join(dir, "key.pem"), kp, 0o600)
	}
	writeSec(t, d, "cacert", ".", "ca.pem", string(crypt.CertificatePEM(ca)))
	if d.trust, err = loadTrust(d.cfg); err != nil {
		t.Fatal(err)
	}
	if a, _ := d.trust.Len(); a != 1 {
		t.Fatalf("%d trust anchors", a)
	}
	creds("server", "srv.a", "srv.a", "")
	other := t.TempDir()
	creds("client", "", "client.x", other)
	if err := d.reg.CreateName(reg.NameInfo{Name: "srv.a", CCrt: filepath.Join(other, "crt.pem"), CKey: filepath.Join(other, "key.pem")}); err != nil {
		t.Fatal(err)
	}
	req, st, e := d.clientRequest("srv.a")
	if e != 0 {
		t.Fatalf("client request: %v\n%s", e, log)
	}
	resp, sres, e := d.serverServe("srv.a", req)
	if e != 0 || sres.Peer != "client.x" {
		t.Fatalf("server: %v, peer %q\n%s", e, sres.Peer, log)
	}
	cres, ok := d.clientFinish("srv.a", st, resp)
	if !ok || cres.Peer != "srv.a" {
		t.Fatalf("client: %v, peer %q\n%s", ok, cres.Peer, log)
	}
	for _, l := range []string{"Flow to srv.a authenticated: the server's certificate is for srv.a.",
		"Flow request for srv.a authenticated: the client's certificate is for client.x."} {
		if !strings.Contains(log.String(), l) {
			t.Errorf("log lacks %q:\n%s", l, log)
		}
	}

	// Unusable keys.
	writeSec(t, d, "server", "srv.b", "crt.pem", string(crypt.CertificatePEM(ca)))
	writeSec(t, d, "server", "srv.b", "key.pem", "junk")
	writeSec(t, d, "client", "srv.b", "crt.pem", string(crypt.CertificatePEM(ca)))
	writeSec(t, d, "client", "srv.b", "key.pem", "junk")
	if _, _, e := d.clientRequest("srv.b"); e != oerr.EBADF {
		t.Errorf("client with a bad key: %v, want EBADF", e)
	}
	req, _, _ = d.clientRequest("srv.a")
	if _, _, e := d.serverServe("srv.b", req); e != oerr.EAUTH {
		t.Errorf("server with a bad key: %v, want EAUTH", e)
	}
	for _, l := range []string{"Flow allocation to srv.b refused: client credentials", "Flow request for srv.b refused (authentication error): server credentials"} {
		if !strings.Contains(log.String(), l) {
			t.Errorf("log lacks %q:\n%s", l, log)
		}
	}

	// A broken trust store.
	writeSec(t, d, "untrusted", ".", "im.pem", "not a certificate")
	if _, err := loadTrust(d.cfg); err == nil || !strings.Contains(err.Error(), "im.pem") {
		t.Errorf("broken intermediate: %v", err)
	}
}
