package oap

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// An encrypted allocation with the reference (0.23.0) over udp4, both sides
// with enc.conf "kex = prime256v1, cipher = aes-256-gcm, kdf = sha256":
// refEncReq is the reference client's request (the OAP part of its
// FLOW_REQ to our server), refEncResp the reference server's response to
// a request of ours (the OAP part of its FLOW_REPLY). Recorded on the veth
// between the namespaces of TestReferenceSecureFlows.
const (
	refEncReq = "65e57e912e1d37d31a27b179e5a5534c 18ee1e0379b7c2a8 0385 02a0 02a0 0000 005b 0000" +
		"3059301306072a8648ce3d020106082a8648ce3d03010703420004252b0d563b72cd55984bad39dc8ac1428cac2516a722" +
		"35af61589f714ba6a64e8a5a51b9b358bfbdc7012e3b1d35a03ebdc6fb4fb2d0b866ae87a56c148d35c2"
	refEncResp = "c352075a5d83aaca44f9e2ae8c4e3a22 18ee1e03576f0bd5 0385 02a0 02a0 0000 005b 0000" +
		"3059301306072a8648ce3d020106082a8648ce3d0301070342000410bf485df158bacc981e4cce6b74422ba353112c6d2c" +
		"ff887ef0901353ea125c114c6476cc1bd5844a6e423c87871c303d9d732627b851164ecc40080116d2e412" +
		"b48f97e6b62d37f7f177020baa91612cc16183e6d6fbc27f1b6cb33894fa02"
)

// refDefault is the policy both sides had.
func refDefault() crypt.Config {
	c := crypt.DefaultConfig()
	c.Kex, c.Cipher, c.KDF = crypt.Prime256v1, crypt.AES256GCM, crypt.SHA256
	return c
}

// TestReferenceEncryptedRequest decodes the reference's request, checks
// that our request for the same policy, id and time has the same 36-byte
// header, and answers it: our response has the reference's header fields
// (cipher 901, kdf 672, md 672, a 91-byte key, no flags) and SHA-256 of the
// request as req_hash.
func TestReferenceEncryptedRequest(t *testing.T) {
	req := unhex(t, refEncReq)
	h, err := DecodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if h.CipherNID != CipherAES256GCM || h.KDFNID != MDSHA256 || h.MDNID != MDSHA256 || len(h.Cert) != 0 ||
		len(h.Kex) != 91 || h.KexFormatRaw || h.KexClientEncap {
		t.Fatalf("decoded %+v", h)
	}
	pub, err := crypt.ParsePublicKey(h.Kex, false)
	if err != nil || pub.Kex() != crypt.Prime256v1 || !bytes.Equal(pub.Bytes(), h.Kex) {
		t.Fatalf("key share: %v", err)
	}
	ours, _, err := Request(RequestOptions{Now: h.Time(), Random: bytes.NewReader(h.ID[:]), Enc: refDefault()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours[:MinHeaderLen], req[:MinHeaderLen]) || len(ours) != len(req) {
		t.Errorf("our request\n %x\nthe reference's\n %x", ours[:MinHeaderLen], req[:MinHeaderLen])
	}
	resp, res, err := Serve(req, ServeOptions{Now: h.Time().Add(time.Millisecond), Replay: NewReplayCache(0), Enc: refDefault()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cipher != crypt.AES256GCM || len(res.Key) != 32 {
		t.Errorf("result %+v", res)
	}
	ref := unhex(t, refEncResp)
	if len(resp) != len(ref) || !bytes.Equal(resp[24:MinHeaderLen], ref[24:MinHeaderLen]) {
		t.Errorf("our response fields %x (%d bytes), the reference's %x (%d bytes)",
			resp[24:MinHeaderLen], len(resp), ref[24:MinHeaderLen], len(ref))
	}
	if sum := sha256.Sum256(req); !bytes.Equal(resp[len(resp)-32:], sum[:]) {
		t.Error("req_hash is not SHA-256 of the request")
	}
}

// TestReferenceEncryptedResponse decodes the reference server's response
// (to a request with md_nid sha256): its fields, a canonical P-256 key
// share, a 32-byte req_hash; re-encoded it gives the same bytes.
func TestReferenceEncryptedResponse(t *testing.T) {
	resp := unhex(t, refEncResp)
	h, err := DecodeResponse(resp, MDSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if h.CipherNID != CipherAES256GCM || h.KDFNID != MDSHA256 || h.MDNID != MDSHA256 || len(h.Kex) != 91 ||
		len(h.ReqHash) != 32 || len(h.Signature) != 0 {
		t.Fatalf("decoded %+v", h)
	}
	if pub, err := crypt.ParsePublicKey(h.Kex, false); err != nil || pub.Kex() != crypt.Prime256v1 {
		t.Fatalf("key share: %v", err)
	}
	out, err := h.Encode()
	if err != nil || !bytes.Equal(out, resp) {
		t.Errorf("re-encoded %x, %v", out, err)
	}
	// The client side of that policy accepts the answer's algorithms.
	a, err := crypt.NegotiateClient(crypt.Answer{Cipher: crypt.Cipher(h.CipherNID), KDF: crypt.Digest(h.KDFNID), Kex: h.Kex}, refDefault())
	if err != nil || a.Cipher != crypt.AES256GCM || a.KDF != crypt.SHA256 {
		t.Errorf("negotiation: %+v, %v", a, err)
	}
}
