package oap

import (
	"bytes"
	"testing"
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
