package oap

import (
	"bytes"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// FuzzDecode feeds arbitrary bytes to DecodeRequest and DecodeResponse: no
// panic, and whatever decodes encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{specReq, specResp, capUDPReq, capUDPResp, capUniReq, capUniResp} {
		f.Add(unhex(f, s), uint16(0))
	}
	f.Add(unhex(f, refEncReq), uint16(0))
	f.Add(unhex(f, refEncResp), MDSHA256)
	f.Add(signedReq(f, 300, 91), MDSHA256)
	f.Add(signedReq(f, 0, 44), MDSHA3_512)
	f.Add(set16(unhex(f, specReq), 30, 60000), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, reqMD uint16) {
		check := func(h *Header, err error) {
			if err != nil {
				return
			}
			out, err := h.Encode()
			if err != nil {
				t.Fatalf("decoded header does not encode: %v\n%+v", err, h)
			}
			if !bytes.Equal(out, b) || h.Len() != len(b) {
				t.Fatalf("re-encoding differs\n in %x\nout %x", b, out)
			}
		}
		check(DecodeRequest(b))
		check(DecodeResponse(b, reqMD))
		check(DecodeResponse(b, 0))
	})
}

// FuzzServeSigned feeds Serve and Finish variants of a signed request and a
// signed response (P-256 certificates of a trusted CA on both sides): no
// panic, and whatever authenticates names the certificate's CN, the only
// one whose key can sign.
func FuzzServeSigned(f *testing.F) {
	p := newPKI(f, "unittest.o7s")
	cli := p.creds(f, crypt.RoleClient, "client.o7s", "p256", time.Time{}, time.Time{})
	srv := p.creds(f, crypt.RoleServer, authName, "p256", time.Time{}, time.Time{})
	req, st, err := Request(RequestOptions{Now: time.Now(), Creds: cli, Name: authName, Trust: p.trust})
	if err != nil {
		f.Fatal(err)
	}
	resp, _, err := Serve(req, ServeOptions{Replay: NewReplayCache(0), Creds: srv, Trust: p.trust})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(req, false)
	f.Add(resp, true)
	f.Add(flip3(bytes.Clone(req)), false)
	f.Fuzz(func(t *testing.T, b []byte, isResp bool) {
		if isResp {
			if r, err := st.Finish(b); err == nil && r.Peer != "" && r.Peer != authName {
				t.Fatalf("authenticated as %q", r.Peer)
			}
			return
		}
		if _, r, err := Serve(b, ServeOptions{Replay: NewReplayCache(0), Creds: srv, Trust: p.trust}); err == nil && r.Peer != "" && r.Peer != "client.o7s" {
			t.Fatalf("authenticated as %q", r.Peer)
		}
	})
}
