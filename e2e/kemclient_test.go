package e2e

import (
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestSecureUDPClientEncapsulation: kem_mode = client between two irmds
// over udp4, with the server's static key in the forms the reference
// stores it without its seed: X25519MLKEM768 as OpenSSL's raw 2432-byte
// private key (server/<name>/kex.key.raw, the client holding the raw
// public key in client/<name>/kex.srv.pub.raw), and ML-KEM-768 as an
// expanded-only PKCS#8 kex.key.pem (the client holding the PEM public
// key). Both flows carry data encrypted with the key the server
// decapsulated.
func TestSecureUDPClientEncapsulation(t *testing.T) {
	hyb, err := crypt.GenerateKeyPair(crypt.X25519MLKEM768)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hyb.MarshalRaw()
	if err != nil {
		t.Fatal(err)
	}
	pure, err := crypt.GenerateKeyPair(crypt.MLKEM768)
	if err != nil {
		t.Fatal(err)
	}
	expanded, err := crypt.MarshalKEMPrivateKeyPEM(pure, crypt.FormExpanded)
	if err != nil {
		t.Fatal(err)
	}
	s := newSecureHostsWith(t, func(secA, secB string) {
		a, b := crypt.SecurityDir(secA), crypt.SecurityDir(secB)
		encConf(t, secA, "client", "kemraw.sec", "kex = X25519MLKEM768\nkem_mode = client\n")
		encConf(t, secB, "server", "kemraw.sec", "kex = X25519MLKEM768\nkem_mode = client\n")
		writeFile(t, a.KexServerPubPath("kemraw.sec", true), hyb.PublicKey().Bytes(), 0o644)
		writeFile(t, b.KexKeyPath("kemraw.sec", true), raw, 0o600)
		encConf(t, secA, "client", "kemexp.sec", "kex = ML-KEM-768\nkem_mode = client\ncipher = chacha20-poly1305\n")
		encConf(t, secB, "server", "kemexp.sec", "kex = ML-KEM-768\nkem_mode = client\n")
		writeFile(t, a.KexServerPubPath("kemexp.sec", false),
			pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pure.PublicKey().Bytes()}), 0o644)
		writeFile(t, b.KexKeyPath("kemexp.sec", false), expanded, 0o600)
	}, "kemraw.sec", "kemexp.sec")

	for _, c := range []struct{ name, kex, cipher string }{
		{"kemraw.sec", "X25519MLKEM768", "aes-256-gcm"},
		{"kemexp.sec", "ML-KEM-768", "chacha20-poly1305"},
	} {
		srv := roleIn(t, s.b, "echo-server", c.name)
		srv.WaitOutput(t, "ready", 20*time.Second)
		f, err := flow.Alloc(s.a.ctx(), c.name, qos.Raw)
		if err != nil {
			t.Fatalf("alloc %s: %v\nA:\n%s\nB:\n%s", c.name, err, s.a.Tail(), s.b.Tail())
		}
		if f.Encryption() != c.cipher {
			t.Errorf("%s: encryption %q, want %s", c.name, f.Encryption(), c.cipher)
		}
		roundTrip(t, f, []byte("encapsulated by the client to "+c.name))
		f.Close()
		eventually(t, "B to log the encrypted flow for "+c.name, func() bool {
			return strings.Contains(s.b.Log(), "Flow for "+c.name+" encrypted: "+c.kex+", "+c.cipher)
		})
	}
}
