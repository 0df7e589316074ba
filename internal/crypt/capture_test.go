package crypt_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/oap"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// The OAP request of a flow allocation the reference refused for encryption
// mis-configuration (captures.md §10.5, frame 10): the client had no
// enc.conf in effect, so the request carries no kex data; the server
// required encryption and answered response = -1008 (ECRYPT, frame 11).
const refusedRequest = "d396c77bc8f0ad6547a52c9aaa789068 18eb8b669c3dae15 000000000000000000000000"

// offerOf copies the key-exchange fields of a decoded request into an Offer,
// as the server IRMd will.
func offerOf(h *oap.Header) crypt.Offer {
	return crypt.Offer{
		Cipher:      crypt.Cipher(h.CipherNID),
		KDF:         crypt.Digest(h.KDFNID),
		Kex:         h.Kex,
		Raw:         h.KexFormatRaw,
		ClientEncap: h.KexClientEncap,
	}
}

func TestCapturedRefusal(t *testing.T) {
	b, err := hex.DecodeString(strings.ReplaceAll(refusedRequest, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	h, err := oap.DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	o := offerOf(h)
	if o.Cipher != 0 || o.KDF != 0 || o.Kex != nil || o.Raw || o.ClientEncap {
		t.Fatalf("offer %+v, want empty", o)
	}
	// A server with an enc.conf (defaults) refuses it, with the captured code.
	_, err = crypt.NegotiateServer(o, crypt.DefaultConfig())
	if !errors.Is(err, crypt.ErrRefused) || crypt.Errno(err) != oerr.ECRYPT || -int32(crypt.Errno(err)) != -1008 {
		t.Errorf("server with encryption: %v (errno %d)", err, crypt.Errno(err))
	}
	// Without one it accepts the flow unencrypted.
	a, err := crypt.NegotiateServer(o, crypt.Config{})
	if err != nil || a.Encrypted() {
		t.Errorf("server without encryption: %+v, %v", a, err)
	}
}

// TestHeaderCarriesKex puts each kind of key-exchange data in an OAP request
// and response header, decodes them, and completes the exchange from the
// decoded fields: the sizes fit the header's 14-bit length and the flags
// travel as the spec says (F for hybrids, R for client encapsulation).
func TestHeaderCarriesKex(t *testing.T) {
	for _, c := range []crypt.Config{
		{Kex: crypt.Secp521r1, Cipher: crypt.AES256GCM, KDF: crypt.SHA512, Digest: crypt.SHA256},
		{Kex: crypt.MLKEM1024, Cipher: crypt.ChaCha20Poly1305, KDF: crypt.SHA3_384},
		{Kex: crypt.X25519MLKEM768, Cipher: crypt.AES128GCM, KDF: crypt.SHA256},
		{Kex: crypt.X25519MLKEM768, Cipher: crypt.AES128GCM, KDF: crypt.SHA256, KEMMode: crypt.KEMClient},
	} {
		var static *crypt.KeyPair
		var srvPub *crypt.PublicKey
		if c.KEMMode == crypt.KEMClient {
			static, _ = crypt.GenerateKeyPair(c.Kex)
			srvPub = static.PublicKey()
		}
		ck, err := crypt.PrepareClient(c, srvPub)
		if err != nil {
			t.Fatal(err)
		}
		req := oap.Header{CipherNID: uint16(ck.Offer.Cipher), KDFNID: uint16(ck.Offer.KDF), MDNID: uint16(c.Digest),
			Kex: ck.Offer.Kex, KexFormatRaw: ck.Offer.Raw, KexClientEncap: ck.Offer.ClientEncap}
		rb, err := req.Encode()
		if err != nil {
			t.Fatalf("%s: %v", c.Kex, err)
		}
		rh, err := oap.DecodeRequest(rb)
		if err != nil {
			t.Fatal(err)
		}
		if rh.KexFormatRaw != c.Kex.IsHybrid() || rh.KexClientEncap != (c.KEMMode == crypt.KEMClient) {
			t.Errorf("%s: flags F %v R %v", c.Kex, rh.KexFormatRaw, rh.KexClientEncap)
		}
		srv := crypt.Config{} // the server takes the client's settings
		if static != nil {
			srv = crypt.Config{Kex: c.Kex, Cipher: crypt.AES128CTR} // client encapsulation needs the server's KEM
		}
		a, srvKey, reply, err := crypt.ServerExchange(offerOf(rh), srv, static)
		if err != nil {
			t.Fatalf("%s: %v", c.Kex, err)
		}
		hashLen, _ := oap.DigestSize(oap.ReqMD(req.MDNID))
		resp := oap.Header{CipherNID: uint16(a.Cipher), KDFNID: uint16(a.KDF), Kex: reply,
			KexFormatRaw: len(reply) > 0 && a.Kex.IsHybrid(), ReqHash: make([]byte, hashLen)}
		sb, err := resp.Encode()
		if err != nil {
			t.Fatal(err)
		}
		sh, err := oap.DecodeResponse(sb, req.MDNID)
		if err != nil {
			t.Fatal(err)
		}
		cipher, key, err := ck.Complete(crypt.Answer{Cipher: crypt.Cipher(sh.CipherNID), KDF: crypt.Digest(sh.KDFNID), Kex: sh.Kex})
		if err != nil || cipher != c.Cipher || string(key) != string(srvKey) {
			t.Errorf("%s: %s, %v", c.Kex, cipher, err)
		}
	}
}

// TestNIDsAgreeWithOAP checks that the NID tables here and in the OAP header
// decoder name the same algorithms.
func TestNIDsAgreeWithOAP(t *testing.T) {
	for nid := range uint16(3000) {
		kind := oap.KindOf(nid)
		var known bool
		var name string
		switch kind {
		case oap.KindCipher:
			known, name = crypt.Cipher(nid).Known(), crypt.Cipher(nid).String()
		case oap.KindKex:
			known, name = crypt.Kex(nid).Known(), crypt.Kex(nid).String()
		case oap.KindDigest:
			known, name = crypt.Digest(nid).Known(), crypt.Digest(nid).String()
			if n, _ := oap.DigestSize(nid); n != crypt.Digest(nid).Size() {
				t.Errorf("%s: size %d here, %d in oap", name, crypt.Digest(nid).Size(), n)
			}
		default:
			if crypt.Cipher(nid).Known() || crypt.Kex(nid).Known() || crypt.Digest(nid).Known() {
				t.Errorf("NID %d known here, not in oap", nid)
			}
			continue
		}
		if !known || name != oap.NIDName(nid) {
			t.Errorf("NID %d: %q (known %v) here, %q in oap", nid, name, known, oap.NIDName(nid))
		}
	}
}
