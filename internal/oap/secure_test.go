package oap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// The tests of irmd.md §4.12 that concern the key exchange, without
// certificates: round trips for every KEX and cipher, the negotiation matrix,
// downgrades, replays and corrupted messages.

func enc(kex crypt.Kex, c crypt.Cipher, kdf crypt.Digest) crypt.Config {
	cfg := crypt.DefaultConfig()
	cfg.Kex, cfg.Cipher, cfg.KDF = kex, c, kdf
	return cfg
}

// exchange runs one exchange and returns both results and the messages.
func exchange(t *testing.T, cli, srv crypt.Config, static *crypt.KeyPair) (cr, sr Result, req, resp []byte, err error) {
	t.Helper()
	ropt := RequestOptions{Now: t0, Enc: cli}
	if static != nil {
		ropt.ServerKey = static.PublicKey()
	}
	req, st, err := Request(ropt)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	sopt := ServeOptions{Now: t0.Add(time.Millisecond), Replay: NewReplayCache(0), Enc: srv}
	if static != nil {
		sopt.Static = func(bool) (*crypt.KeyPair, error) { return static, nil }
	}
	resp, sr, err = Serve(req, sopt)
	if err != nil {
		return Result{}, Result{}, req, nil, err
	}
	cr, err = st.Finish(resp)
	return cr, sr, req, resp, err
}

// sameKey checks that both ends got the same encrypted result, and that a
// packet sealed by one opens at the other with that cipher.
func sameKey(t *testing.T, cr, sr Result, want crypt.Cipher) {
	t.Helper()
	if cr.Cipher != want || sr.Cipher != want {
		t.Fatalf("ciphers client %s server %s, want %s", cr.Cipher, sr.Cipher, want)
	}
	if len(cr.Key) != 32 || !bytes.Equal(cr.Key, sr.Key) {
		t.Fatalf("keys differ: client %x server %x", cr.Key, sr.Key)
	}
	a, err := crypt.NewPacketCipher(want, cr.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := crypt.NewPacketCipher(want, sr.Key, nil)
	pkt, err := a.Seal(nil, []byte("hello, flow"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := b.Open(nil, pkt)
	if err != nil || string(pt) != "hello, flow" {
		t.Fatalf("open = %q, %v", pt, err)
	}
}

// TestSecureUnsecuredIdentical: with no policy on either side Request and
// Serve produce exactly the bytes of NewRequest and Process (the spec vector
// and the reference's captured exchanges).
func TestSecureUnsecuredIdentical(t *testing.T) {
	for _, v := range []struct{ req, resp string }{{specReq, specResp}, {capUDPReq, capUDPResp}, {capUniReq, capUniResp}} {
		req := unhex(t, v.req)
		want := unhex(t, v.resp)
		h, _ := DecodeResponse(want, 0)
		resp, res, err := Serve(req, ServeOptions{Now: h.Time(), Replay: NewReplayCache(0)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp, want) || res.Encrypted() {
			t.Errorf("response\n got %x\nwant %x (encrypted %v)", resp, want, res.Encrypted())
		}
	}
	id := bytes.NewReader(unhex(t, "000102030405060708090a0b0c0d0e0f"))
	req, st, err := Request(RequestOptions{Now: time.Unix(0, specTS), Random: id})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req, unhex(t, specReq)) {
		t.Errorf("request %x, want %s", req, specReq)
	}
	if res, err := st.Finish(unhex(t, specResp)); err != nil || res.Encrypted() {
		t.Errorf("Finish = %+v, %v", res, err)
	}
}

// TestSecureCapturedRefusal: the reference's request of captures §10.5 (no
// kex data: the client had no enc.conf) reaching a server that requires
// encryption is refused as the reference refused it (ECRYPT).
func TestSecureCapturedRefusal(t *testing.T) {
	req := unhex(t, "d396c77bc8f0ad6547a52c9aaa789068 18eb8b669c3dae15 000000000000000000000000")
	h, err := DecodeRequest(req)
	if err != nil || h.CipherNID != 0 || len(h.Kex) != 0 {
		t.Fatalf("decode: %+v, %v", h, err)
	}
	_, _, err = Serve(req, ServeOptions{Now: h.Time(), Replay: NewReplayCache(0), Enc: crypt.DefaultConfig()})
	if !errors.Is(err, crypt.ErrRefused) || crypt.Errno(err) != 1008 {
		t.Errorf("err = %v (errno %d), want a refusal with ECRYPT", err, crypt.Errno(err))
	}
}

// TestSecureRequestLayout: the request of the reference's default enc.conf
// (P-256, AES-256-GCM, sha256 KDF and digest): NIDs 901/672/672 at offsets
// 24–29, a 91-byte DER public key with no flags, and a response whose
// req_hash is SHA-256 (md_nid 672).
func TestSecureRequestLayout(t *testing.T) {
	cfg := crypt.DefaultConfig()
	_, _, req, resp, err := exchange(t, cfg, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := req[24:36]; !bytes.Equal(got, []byte{0x03, 0x85, 0x02, 0xa0, 0x02, 0xa0, 0, 0, 0, 91, 0, 0}) {
		t.Errorf("request fields %x", got)
	}
	if len(req) != 36+91 {
		t.Errorf("request of %d bytes", len(req))
	}
	if got := resp[24:36]; !bytes.Equal(got, []byte{0x03, 0x85, 0x02, 0xa0, 0x02, 0xa0, 0, 0, 0, 91, 0, 0}) {
		t.Errorf("response fields %x", got)
	}
	if len(resp) != 36+91+32 {
		t.Errorf("response of %d bytes, want 159 (91-byte key, SHA-256 req_hash)", len(resp))
	}
}

// TestSecureEachKex: every key exchange this build runs, DHE and KEM in both
// modes, agrees on one key; the flags follow §4.2.
func TestSecureEachKex(t *testing.T) {
	for _, k := range []crypt.Kex{crypt.Prime256v1, crypt.X25519, crypt.Secp384r1, crypt.Secp521r1,
		crypt.MLKEM768, crypt.MLKEM1024, crypt.X25519MLKEM768} {
		for _, mode := range []crypt.KEMMode{crypt.KEMServer, crypt.KEMClient} {
			if mode == crypt.KEMClient && !k.IsKEM() {
				continue
			}
			t.Run(k.String()+"/"+mode.String(), func(t *testing.T) {
				cfg := enc(k, crypt.AES256GCM, crypt.SHA256)
				cfg.KEMMode = mode
				var static *crypt.KeyPair
				if mode == crypt.KEMClient {
					var err error
					if static, err = crypt.GenerateKeyPair(k); err != nil {
						t.Fatal(err)
					}
				}
				cr, sr, req, resp, err := exchange(t, cfg, cfg, static)
				if err != nil {
					t.Fatal(err)
				}
				sameKey(t, cr, sr, crypt.AES256GCM)
				if sr.Kex != k {
					t.Errorf("server kex %s", sr.Kex)
				}
				word := binary.BigEndian.Uint16(req[32:])
				if raw := word&kexFlagRaw != 0; raw != k.IsHybrid() {
					t.Errorf("request F = %v", raw)
				}
				if r := word&kexFlagClient != 0; r != (mode == crypt.KEMClient) {
					t.Errorf("request R = %v", r)
				}
				rh, _ := DecodeResponse(resp, ReqMD(binary.BigEndian.Uint16(req[28:])))
				switch {
				case mode == crypt.KEMClient && len(rh.Kex) != 0:
					t.Errorf("client encapsulation answered with %d bytes of kex", len(rh.Kex))
				case mode == crypt.KEMServer && len(rh.Kex) == 0:
					t.Error("response without kex data")
				case rh.KexFormatRaw != (k.IsHybrid() && mode == crypt.KEMServer) || rh.KexClientEncap:
					t.Errorf("response flags F %v R %v", rh.KexFormatRaw, rh.KexClientEncap)
				}
			})
		}
	}
}

// TestSecureEachCipher: every cipher and KDF round trips.
func TestSecureEachCipher(t *testing.T) {
	for _, c := range []crypt.Cipher{crypt.AES128CTR, crypt.AES192CTR, crypt.AES256CTR, crypt.AES128GCM,
		crypt.AES192GCM, crypt.AES256GCM, crypt.ChaCha20Poly1305} {
		for _, kdf := range []crypt.Digest{crypt.SHA256, crypt.SHA3_256, crypt.SHA384, crypt.SHA512, crypt.SHA3_512} {
			cfg := enc(crypt.X25519, c, kdf)
			cr, sr, _, _, err := exchange(t, cfg, cfg, nil)
			if err != nil {
				t.Fatalf("%s/%s: %v", c, kdf, err)
			}
			sameKey(t, cr, sr, c)
			if cr.KDF != kdf || sr.KDF != kdf {
				t.Errorf("%s/%s: kdf client %s server %s", c, kdf, cr.KDF, sr.KDF)
			}
		}
	}
}

// TestSecureMatrix is the policy matrix of §4.8 and test_oap_cipher_mismatch,
// test_oap_srv_enc_cli_none, test_oap_cli_enc_srv_none,
// test_oap_srv_rejects_weak_kex and test_oap_kem_srv_uncfg.
func TestSecureMatrix(t *testing.T) {
	none := crypt.Config{}
	x := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA256)
	for _, c := range []struct {
		name     string
		cli, srv crypt.Config
		want     crypt.Cipher // 0: plaintext
		kdf      crypt.Digest
		refused  bool
	}{
		{name: "none/none", cli: none, srv: none},
		{name: "client only", cli: x, srv: none, want: crypt.AES256GCM, kdf: crypt.SHA256},
		{name: "server only", cli: none, srv: x, refused: true},
		{name: "both", cli: x, srv: x, want: crypt.AES256GCM, kdf: crypt.SHA256},
		{name: "strongest cipher and kdf", cli: enc(crypt.X25519, crypt.AES256GCM, crypt.SHA512),
			srv: enc(crypt.X25519, crypt.AES128GCM, crypt.SHA256), want: crypt.AES256GCM, kdf: crypt.SHA512},
		{name: "server's stronger cipher", cli: enc(crypt.X25519, crypt.AES128GCM, crypt.SHA256),
			srv: enc(crypt.X25519, crypt.ChaCha20Poly1305, crypt.SHA384), want: crypt.ChaCha20Poly1305, kdf: crypt.SHA384},
		{name: "weak kex", cli: enc(crypt.Prime256v1, crypt.AES256GCM, crypt.SHA256),
			srv: enc(crypt.Secp521r1, crypt.AES256GCM, crypt.SHA256), refused: true},
		{name: "classical client, ML-KEM server", cli: x, srv: enc(crypt.MLKEM768, crypt.AES256GCM, crypt.SHA256), refused: true},
		{name: "KEM client, server unconfigured", cli: enc(crypt.MLKEM768, crypt.AES256GCM, crypt.SHA256), srv: none,
			want: crypt.AES256GCM, kdf: crypt.SHA256},
		{name: "stronger client kex", cli: enc(crypt.X25519MLKEM768, crypt.AES256GCM, crypt.SHA256), srv: x,
			want: crypt.AES256GCM, kdf: crypt.SHA256},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr, sr, _, _, err := exchange(t, c.cli, c.srv, nil)
			if c.refused {
				if !errors.Is(err, crypt.ErrRefused) {
					t.Fatalf("err = %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want == 0 {
				if cr.Encrypted() || sr.Encrypted() {
					t.Fatalf("encrypted: client %+v server %+v", cr, sr)
				}
				return
			}
			sameKey(t, cr, sr, c.want)
			if cr.KDF != c.kdf || sr.KDF != c.kdf {
				t.Errorf("kdf client %s server %s, want %s", cr.KDF, sr.KDF, c.kdf)
			}
		})
	}
}

// serveResp answers req with policy srv.
func serveResp(t *testing.T, req []byte, srv crypt.Config) []byte {
	t.Helper()
	resp, _, err := Serve(req, ServeOptions{Now: t0, Replay: NewReplayCache(0), Enc: srv})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestSecureDowngrade: the client refuses a response whose cipher or KDF is
// weaker than its own (test_oap_cli_rejects_downgrade), or that carries no
// or a bad key share; a server without encryption answering an encrypting
// client gives a plaintext response the client refuses too.
func TestSecureDowngrade(t *testing.T) {
	cfg := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA384)
	for _, c := range []struct {
		name   string
		mangle func(h *Header)
		want   error
	}{
		{"cipher to aes-128-ctr", func(h *Header) { h.CipherNID = CipherAES128CTR }, crypt.ErrRefused},
		{"no cipher", func(h *Header) { h.CipherNID = 0 }, crypt.ErrRefused},
		{"kdf to sha256", func(h *Header) { h.KDFNID = MDSHA256 }, crypt.ErrRefused},
		{"no key share", func(h *Header) { h.Kex = nil }, crypt.ErrRefused},
		{"bad key share", func(h *Header) { h.Kex = bytes.Repeat([]byte{7}, 44) }, crypt.ErrInvalidKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, st, err := Request(RequestOptions{Now: t0, Enc: cfg})
			if err != nil {
				t.Fatal(err)
			}
			resp := serveResp(t, req, cfg)
			h, err := DecodeResponse(resp, ReqMD(uint16(cfg.Digest)))
			if err != nil {
				t.Fatal(err)
			}
			c.mangle(h)
			resp, err = h.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Finish(resp); !errors.Is(err, c.want) {
				t.Errorf("Finish: %v, want %v", err, c.want)
			}
		})
	}
}

// TestSecureBadRequests: a server refuses a replay, a request from the
// future or the past, a corrupted key share, an unknown cipher NID and a
// truncated request; a corrupted response fails at the client.
func TestSecureBadRequests(t *testing.T) {
	cfg := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA256)
	req, _, err := Request(RequestOptions{Now: t0, Enc: cfg})
	if err != nil {
		t.Fatal(err)
	}
	replay := NewReplayCache(0)
	serve := func(b []byte, now time.Time) error {
		_, _, err := Serve(b, ServeOptions{Now: now, Replay: replay, Enc: cfg})
		return err
	}
	if err := serve(req, t0); err != nil {
		t.Fatal(err)
	}
	if err := serve(req, t0); !errors.Is(err, ErrReplay) {
		t.Errorf("replay: %v", err)
	}
	fresh := func(mangle func([]byte) []byte) []byte {
		r, _, err := Request(RequestOptions{Now: t0, Enc: cfg})
		if err != nil {
			t.Fatal(err)
		}
		return mangle(r)
	}
	same := func(b []byte) []byte { return b }
	if err := serve(fresh(same), t0.Add(30*time.Second)); !errors.Is(err, ErrOutdated) {
		t.Errorf("outdated: %v", err)
	}
	if err := serve(fresh(same), t0.Add(-time.Second)); !errors.Is(err, ErrFuture) {
		t.Errorf("future: %v", err)
	}
	bad := fresh(func(b []byte) []byte { b[40] ^= 0xff; return b }) // inside the DER prefix
	if err := serve(bad, t0); !errors.Is(err, crypt.ErrInvalidKey) {
		t.Errorf("corrupted key share: %v", err)
	}
	if err := serve(fresh(func(b []byte) []byte { return set16(b, 24, 9999) }), t0); !errors.Is(err, ErrUnknownNID) {
		t.Errorf("unknown cipher: %v", err)
	}
	if err := serve(fresh(func(b []byte) []byte { return b[:len(b)/2] }), t0); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated: %v", err)
	}
	// test_oap_nid_without_kex: a cipher but no kex data to a server that
	// requires a kex.
	nokex := fresh(func(b []byte) []byte { return set16(b[:36], 32, 0) })
	if err := serve(nokex, t0); !errors.Is(err, crypt.ErrRefused) {
		t.Errorf("cipher without kex: %v", err)
	}
	// A corrupted req_hash fails at the client. (Without a signature a
	// corrupted key share goes unnoticed here and gives the two ends
	// different keys: the flow's packets then fail authentication.)
	r2, st2, err := Request(RequestOptions{Now: t0, Enc: cfg})
	if err != nil {
		t.Fatal(err)
	}
	resp := serveResp(t, r2, cfg)
	resp[len(resp)-1] ^= 1
	if _, err := st2.Finish(resp); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("corrupted response: %v", err)
	}
}

// TestSecureClientEncapNeedsKeys: kem_mode=client needs the server's public
// key at the client and the static key pair at the server.
func TestSecureClientEncapNeedsKeys(t *testing.T) {
	cfg := enc(crypt.MLKEM768, crypt.AES256GCM, crypt.SHA256)
	cfg.KEMMode = crypt.KEMClient
	if _, _, err := Request(RequestOptions{Now: t0, Enc: cfg}); !errors.Is(err, crypt.ErrInvalidKey) {
		t.Errorf("request without the server key: %v", err)
	}
	kp, err := crypt.GenerateKeyPair(crypt.MLKEM768)
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := Request(RequestOptions{Now: t0, Enc: cfg, ServerKey: kp.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Serve(req, ServeOptions{Now: t0, Replay: NewReplayCache(0), Enc: cfg}); !errors.Is(err, crypt.ErrRefused) {
		t.Errorf("server without its static key: %v", err)
	}
}

// FuzzServe feeds arbitrary requests to a server that encrypts: no panic, and
// an accepted request gives a response that decodes.
func FuzzServe(f *testing.F) {
	cfg := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA256)
	for _, c := range []crypt.Config{cfg, enc(crypt.MLKEM768, crypt.AES256GCM, crypt.SHA256), {}} {
		req, _, err := Request(RequestOptions{Now: t0, Enc: c})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(req)
	}
	f.Add(unhex(f, refEncReq))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeRequest(b)
		if err != nil {
			return
		}
		resp, res, err := Serve(b, ServeOptions{Now: h.Time(), Replay: NewReplayCache(0), Enc: cfg})
		if err != nil {
			return
		}
		if _, err := DecodeResponse(resp, ReqMD(h.MDNID)); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
		if !res.Encrypted() || len(res.Key) != 32 {
			t.Fatalf("accepted without a key: %+v", res)
		}
	})
}

// FuzzFinish feeds arbitrary responses to an encrypting client: no panic.
func FuzzFinish(f *testing.F) {
	cfg := enc(crypt.X25519, crypt.AES256GCM, crypt.SHA256)
	req, st, err := Request(RequestOptions{Now: t0, Enc: cfg})
	if err != nil {
		f.Fatal(err)
	}
	resp, _, err := Serve(req, ServeOptions{Now: t0, Replay: NewReplayCache(0), Enc: cfg})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(resp)
	f.Add(unhex(f, refEncResp))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := st.Finish(b)
		if err == nil && (!res.Encrypted() || len(res.Key) != 32) {
			t.Fatalf("accepted without a key: %+v", res)
		}
	})
}
