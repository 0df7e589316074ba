package oap

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// The authentication tests of irmd.md §4.12 (roundtrip_auth_only, corrupted
// request and response, server name mismatch, replay) and the refusals of
// §4.6: signed round trips with P-256, P-384 and Ed25519 names, a tampered
// signature, a wrong CN, an expired certificate and an untrusted chain.

const authName = "test-1.unittest.o7s"

type testPKI struct {
	trust *crypt.TrustStore
	im    *crypt.Credentials
}

func newPKI(t testing.TB, cn string) *testPKI {
	t.Helper()
	nb, na := time.Now().Add(-24*time.Hour), time.Now().Add(24*time.Hour)
	caKey, _ := crypt.GenerateKey("p256")
	ca, err := crypt.Issue(crypt.RoleCA, "ca."+cn, caKey, nil, nb.Add(-time.Hour), na.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	imKey, _ := crypt.GenerateKey("p256")
	im, err := crypt.Issue(crypt.RoleIntermediate, "im."+cn, imKey, &crypt.Credentials{Cert: ca, Key: caKey}, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{trust: crypt.NewTrustStore(ca, im), im: &crypt.Credentials{Cert: im, Key: imKey}}
}

// creds issues a certificate for cn with a new key of type alg, valid
// from nb to na (around now if both zero).
func (p *testPKI) creds(t testing.TB, role crypt.Role, cn, alg string, nb, na time.Time) *crypt.Credentials {
	t.Helper()
	if nb.IsZero() {
		nb, na = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	}
	k, err := crypt.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := crypt.Issue(role, cn, k, p.im, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	return &crypt.Credentials{Cert: c, Key: k}
}

type authSide struct {
	enc   crypt.Config
	creds *crypt.Credentials
	trust *crypt.TrustStore
}

// authExchange runs one exchange at the current time; name is the
// destination the client allocates to. resp is nil if the server refused.
func authExchange(t *testing.T, name string, cli, srv authSide, mutReq, mutResp func([]byte) []byte) (cr, sr Result, req, resp []byte, srvErr, cliErr error) {
	t.Helper()
	req, st, err := Request(RequestOptions{Now: time.Now(), Enc: cli.enc, Creds: cli.creds, Name: name, Trust: cli.trust})
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if mutReq != nil {
		req = mutReq(bytes.Clone(req))
	}
	resp, sr, srvErr = Serve(req, ServeOptions{Now: time.Now(), Replay: NewReplayCache(0), Enc: srv.enc,
		Creds: srv.creds, Trust: srv.trust})
	if srvErr != nil {
		return Result{}, Result{}, req, nil, srvErr, nil
	}
	if mutResp != nil {
		resp = mutResp(bytes.Clone(resp))
	}
	cr, cliErr = st.Finish(resp)
	return cr, sr, req, resp, nil, cliErr
}

func flip3(b []byte) []byte {
	b[50], b[51], b[52] = ^b[50], ^b[51], ^b[52]
	return b
}

func TestAuthRoundTrips(t *testing.T) {
	p := newPKI(t, "unittest.o7s")
	x25519 := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA256)
	for _, alg := range []string{"p256", "p384", "ed25519"} {
		srvCreds := p.creds(t, crypt.RoleServer, authName, alg, time.Time{}, time.Time{})
		cliCreds := p.creds(t, crypt.RoleClient, "client-"+alg+".o7s", alg, time.Time{}, time.Time{})
		for _, c := range []struct {
			what     string
			cli, srv authSide
			cipher   crypt.Cipher
			cliPeer  string // the name the client learns
			srvPeer  string // the name the server learns
		}{
			{"auth only (server signs)", authSide{trust: p.trust}, authSide{creds: srvCreds}, 0, authName, ""},
			{"both sign, no kex", authSide{creds: cliCreds, trust: p.trust}, authSide{creds: srvCreds, trust: p.trust}, 0, authName, cliCreds.Name()},
			{"both sign, X25519", authSide{enc: x25519, creds: cliCreds, trust: p.trust}, authSide{enc: x25519, creds: srvCreds, trust: p.trust}, crypt.AES256GCM, authName, cliCreds.Name()},
			{"client signs only, kex", authSide{enc: x25519, creds: cliCreds}, authSide{enc: x25519, trust: p.trust}, crypt.AES256GCM, "", cliCreds.Name()},
		} {
			cr, sr, req, resp, srvErr, cliErr := authExchange(t, authName, c.cli, c.srv, nil, nil)
			if srvErr != nil || cliErr != nil {
				t.Fatalf("%s, %s: server %v, client %v", alg, c.what, srvErr, cliErr)
			}
			if cr.Peer != c.cliPeer || sr.Peer != c.srvPeer {
				t.Errorf("%s, %s: client learned %q (want %q), server %q (want %q)", alg, c.what, cr.Peer, c.cliPeer, sr.Peer, c.srvPeer)
			}
			if c.cipher != 0 {
				sameKey(t, cr, sr, c.cipher)
			} else if cr.Encrypted() || sr.Encrypted() {
				t.Errorf("%s, %s: encrypted without kex", alg, c.what)
			}
			// The header fields: certificate as DER, md_nid 0 for Ed25519
			// whatever the digest, else the enc.conf's.
			hq, _ := DecodeRequest(req)
			hr, _ := DecodeResponse(resp, hq.MDNID)
			if c.srv.creds != nil && (!bytes.Equal(hr.Cert, srvCreds.DER()) || len(hr.Signature) == 0) {
				t.Errorf("%s, %s: response without the server's certificate and signature", alg, c.what)
			}
			if c.cli.creds != nil && (!bytes.Equal(hq.Cert, cliCreds.DER()) || len(hq.Signature) == 0) {
				t.Errorf("%s, %s: request without the client's certificate and signature", alg, c.what)
			}
			wantMD := uint16(c.cli.enc.Digest)
			if alg == "ed25519" && c.cli.creds != nil {
				wantMD = 0
			}
			if hq.MDNID != wantMD {
				t.Errorf("%s, %s: request md_nid %d, want %d", alg, c.what, hq.MDNID, wantMD)
			}
		}
	}
}

func TestAuthRefusals(t *testing.T) {
	p := newPKI(t, "unittest.o7s")
	other := newPKI(t, "other.o7s")
	srvCreds := p.creds(t, crypt.RoleServer, authName, "p256", time.Time{}, time.Time{})
	cliCreds := p.creds(t, crypt.RoleClient, "client.o7s", "p256", time.Time{}, time.Time{})
	expired := p.creds(t, crypt.RoleServer, authName, "p256", time.Now().Add(-3*time.Hour), time.Now().Add(-2*time.Hour))
	untrusted := other.creds(t, crypt.RoleServer, authName, "p256", time.Time{}, time.Time{})
	x25519 := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA256)
	for _, c := range []struct {
		what             string
		name             string
		cli, srv         authSide
		mutReq, mutResp  func([]byte) []byte
		srvWant, cliWant error // the refusal expected from one side
	}{
		{"corrupted response (bytes 50-52)", authName, authSide{trust: p.trust}, authSide{creds: srvCreds}, nil, flip3, nil, ErrAuth}, // inside the certificate
		{"tampered response signature", authName, authSide{enc: x25519, trust: p.trust}, authSide{enc: x25519, creds: srvCreds}, nil,
			func(b []byte) []byte { b[len(b)-5] ^= 1; return b }, nil, ErrAuth},
		{"response signature cut off", authName, authSide{trust: p.trust}, authSide{creds: srvCreds}, nil,
			func(b []byte) []byte { h, _ := DecodeResponse(b, 0); return b[:len(b)-len(h.Signature)] }, nil, crypt.ErrSignature},
		{"server name mismatch", "wrong.server.name", authSide{trust: p.trust}, authSide{creds: srvCreds}, nil, nil, nil, crypt.ErrCertificate},
		{"expired server certificate", authName, authSide{trust: p.trust}, authSide{creds: expired}, nil, nil, nil, crypt.ErrCertificate},
		{"untrusted server chain", authName, authSide{trust: p.trust}, authSide{creds: untrusted}, nil, nil, nil, crypt.ErrCertificate},
		{"client without trust store", authName, authSide{}, authSide{creds: srvCreds}, nil, nil, nil, ErrAuth},
		{"corrupted request (bytes 50-52)", authName, authSide{creds: cliCreds}, authSide{trust: p.trust}, flip3, nil, ErrAuth, nil},
		{"tampered request signature", authName, authSide{enc: x25519, creds: cliCreds}, authSide{enc: x25519, trust: p.trust},
			func(b []byte) []byte { b[len(b)-3] ^= 1; return b }, nil, ErrAuth, nil},
		{"untrusted client chain", authName, authSide{creds: other.creds(t, crypt.RoleClient, "c.o7s", "p256", time.Time{}, time.Time{})},
			authSide{trust: p.trust}, nil, nil, crypt.ErrCertificate, nil},
		{"server without trust store", authName, authSide{creds: cliCreds}, authSide{}, nil, nil, ErrAuth, nil},
	} {
		_, _, _, _, srvErr, cliErr := authExchange(t, c.name, c.cli, c.srv, c.mutReq, c.mutResp)
		switch {
		case c.srvWant != nil && (!errors.Is(srvErr, c.srvWant) || !errors.Is(srvErr, ErrAuth)):
			t.Errorf("%s: server: %v, want %v", c.what, srvErr, c.srvWant)
		case c.cliWant != nil && (srvErr != nil || !errors.Is(cliErr, c.cliWant) || !errors.Is(cliErr, ErrAuth)):
			t.Errorf("%s: server %v, client %v, want %v", c.what, srvErr, cliErr, c.cliWant)
		}
		t.Logf("%s: server %v; client %v", c.what, srvErr, cliErr)
	}
}

// TestAuthReplay: a signed request is still caught the second time, and a
// forged one (bad signature) takes no place in the replay cache.
func TestAuthReplay(t *testing.T) {
	p := newPKI(t, "unittest.o7s")
	cliCreds := p.creds(t, crypt.RoleClient, "client.o7s", "p384", time.Time{}, time.Time{})
	req, _, err := Request(RequestOptions{Now: time.Now(), Creds: cliCreds})
	if err != nil {
		t.Fatal(err)
	}
	replay := NewReplayCache(0)
	opt := ServeOptions{Replay: replay, Trust: p.trust}
	forged := bytes.Clone(req)
	forged[len(forged)-1] ^= 1
	if _, _, err := Serve(forged, opt); !errors.Is(err, ErrAuth) {
		t.Fatalf("forged request: %v", err)
	}
	if replay.Len() != 0 {
		t.Fatal("a forged request entered the replay cache")
	}
	if _, res, err := Serve(req, opt); err != nil || res.Peer != "client.o7s" {
		t.Fatalf("first: %v, peer %q", err, res.Peer)
	}
	if _, _, err := Serve(req, opt); !errors.Is(err, ErrReplay) {
		t.Fatalf("second: %v, want ErrReplay", err)
	}
}

// TestAuthSigningFails: a key that cannot sign with the enc.conf's digest
// (RSA with BLAKE2) fails the request with ErrAuth, not with a bad message.
func TestAuthSigningFails(t *testing.T) {
	var k crypto.Signer = badSigner{}
	_, _, err := Request(RequestOptions{Now: time.Now(), Creds: &crypt.Credentials{Cert: &x509.Certificate{Raw: []byte{1}}, Key: k}})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("%v, want ErrAuth", err)
	}
	if _, _, err := Request(RequestOptions{Now: time.Now(), Trust: crypt.NewTrustStore()}); err == nil {
		t.Fatal("a trust store without destination name was accepted")
	}
}

type badSigner struct{}

func (badSigner) Public() crypto.PublicKey { return struct{}{} }
func (badSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no")
}

// TestAuthDigests is test_oap_roundtrip_md_all: signed round trips with md
// 0 and each digest this build computes (P-256 on both sides); the
// request's md_nid also picks the req_hash.
func TestAuthDigests(t *testing.T) {
	p := newPKI(t, "unittest.o7s")
	srv := p.creds(t, crypt.RoleServer, authName, "p256", time.Time{}, time.Time{})
	cli := p.creds(t, crypt.RoleClient, "client.o7s", "p256", time.Time{}, time.Time{})
	for _, md := range []crypt.Digest{0, crypt.SHA256, crypt.SHA384, crypt.SHA512, crypt.SHA3_256, crypt.SHA3_384, crypt.SHA3_512} {
		cfg := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA256)
		cfg.Digest = md
		cr, sr, req, resp, srvErr, cliErr := authExchange(t, authName, authSide{enc: cfg, creds: cli, trust: p.trust},
			authSide{enc: cfg, creds: srv, trust: p.trust}, nil, nil)
		if srvErr != nil || cliErr != nil {
			t.Fatalf("md %d: server %v, client %v", md, srvErr, cliErr)
		}
		sameKey(t, cr, sr, crypt.AES256GCM)
		hq, _ := DecodeRequest(req)
		hr, _ := DecodeResponse(resp, hq.MDNID)
		if hq.MDNID != uint16(md) || hr.MDNID != uint16(md) {
			t.Errorf("md %d: request md_nid %d, response %d", md, hq.MDNID, hr.MDNID)
		}
		if n, _ := DigestSize(ReqMD(uint16(md))); len(hr.ReqHash) != n {
			t.Errorf("md %d: req_hash of %d bytes, want %d", md, len(hr.ReqHash), n)
		}
	}
}

// TestAuthMLDSA: auth_only and KEM round trips of oap_test_ml_dsa.c with
// ML-DSA-65 certificates (under an ML-DSA-65 CA and intermediate) on both
// sides, md 0 and a digest (ML-DSA signs pure: md_nid only chooses the
// request hash); a tampered signature and an untrusted ML-DSA chain are
// refused.
func TestAuthMLDSA(t *testing.T) {
	nb, na := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	mk := func(role crypt.Role, cn string, issuer *crypt.Credentials) *crypt.Credentials {
		k, err := crypt.GenerateKey("mldsa65")
		if err != nil {
			t.Fatal(err)
		}
		c, err := crypt.Issue(role, cn, k, issuer, nb, na)
		if err != nil {
			t.Fatal(err)
		}
		return &crypt.Credentials{Cert: c, Key: k}
	}
	ca := mk(crypt.RoleCA, "ca.unittest.o7s", nil)
	im := mk(crypt.RoleIntermediate, "im.unittest.o7s", ca)
	trust := crypt.NewTrustStore(ca.Cert, im.Cert)
	srv := mk(crypt.RoleServer, authName, im)
	cli := mk(crypt.RoleClient, "client.o7s", im)
	otherCA := mk(crypt.RoleCA, "ca.unittest.o7s", nil)
	untrusted := mk(crypt.RoleServer, authName, otherCA)

	for _, k := range []crypt.Kex{0, crypt.MLKEM768, crypt.X25519MLKEM768} {
		for _, md := range []crypt.Digest{0, crypt.SHA384} {
			cfg := crypt.Config{}
			if k != 0 {
				cfg = enc(k, crypt.AES256GCM, crypt.SHA256)
			}
			cfg.Digest = md
			cr, sr, req, resp, srvErr, cliErr := authExchange(t, authName,
				authSide{enc: cfg, creds: cli, trust: trust}, authSide{enc: cfg, creds: srv, trust: trust}, nil, nil)
			if srvErr != nil || cliErr != nil {
				t.Fatalf("%s md %d: server %v, client %v", k, md, srvErr, cliErr)
			}
			if cr.Peer != authName || sr.Peer != "client.o7s" {
				t.Errorf("%s md %d: peers %q, %q", k, md, cr.Peer, sr.Peer)
			}
			if k != 0 {
				sameKey(t, cr, sr, crypt.AES256GCM)
			}
			hq, _ := DecodeRequest(req)
			if hq.MDNID != uint16(md) || len(hq.Signature) != 3309 {
				t.Errorf("%s md %d: request md_nid %d, %d-byte signature", k, md, hq.MDNID, len(hq.Signature))
			}
			t.Logf("%s md %d: request %d bytes, response %d bytes", k, md, len(req), len(resp))
		}
	}
	for _, c := range []struct {
		what    string
		srv     *crypt.Credentials
		mutResp func([]byte) []byte
		want    error
	}{
		{"tampered signature", srv, func(b []byte) []byte { b[len(b)-100] ^= 1; return b }, crypt.ErrSignature},
		{"untrusted chain", untrusted, nil, crypt.ErrCertificate},
	} {
		_, _, _, _, srvErr, cliErr := authExchange(t, authName, authSide{trust: trust}, authSide{creds: c.srv}, nil, c.mutResp)
		if srvErr != nil || !errors.Is(cliErr, c.want) || !errors.Is(cliErr, ErrAuth) {
			t.Errorf("%s: server %v, client %v, want %v", c.what, srvErr, cliErr, c.want)
		}
	}
}
