package oap

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Test vectors. spec* are the minimal interoperable exchange, with no
// credentials and no enc.conf on either side (id 00..0f, request timestamp
// 2026-01-01T00:00:00Z = 0x18867251EDFA0000, server 5 ms later; the response
// ends with SHA-384 of the request); cap* are the OAP headers of real
// exchanges between reference IRMds (frames 1/2, udp4 layer, and 31/32,
// unicast layer, of internal/wire/testdata/udp-uni.pcapng).
const (
	specReq  = "000102030405060708090a0b0c0d0e0f 18867251edfa0000 000000000000000000000000"
	specResp = "000102030405060708090a0b0c0d0e0f 18867251ee464b40 000000000000000000000000" +
		"e5d7561772c89d3d3aac64c773582aef65348d429769f37d69e54f0290e1c630ee4d2b32354254159f5991b15bfeb978"
	specTS     = 0x18867251EDFA0000
	specRespTS = 0x18867251EE464B40

	capUDPReq  = "72705609b7e06cda02e8e8684691359e 18eb88e469cda749 000000000000000000000000"
	capUDPResp = "72705609b7e06cda02e8e8684691359e 18eb88e469e5b0df 000000000000000000000000" +
		"eb822f2e77c7091e470ac5a93a5a25e567b79bd96ae40cac2a86a4838e7f5ba35c97766b589a96db424c2478896314bd"
	capUniReq  = "6fbae3b9501f305b60032d41709475d7 18eb88e5f808780d 000000000000000000000000"
	capUniResp = "6fbae3b9501f305b60032d41709475d7 18eb88e5f8122983 000000000000000000000000" +
		"83a6b79f98fb15e5d2a375088024f7f69ca552915762cfebd56d1737f307f5c6234ef57a6a7f34afe4ee07563ded1731"
)

// unhex decodes hex with optional spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedReq returns a request with a fake certificate (crtLen bytes of 0xc0),
// kex (kexLen bytes of 0x4b) and a 70-byte fake signature, as a signed request
// of the reference looks on the wire. Nothing here is real cryptography.
func signedReq(t testing.TB, crtLen, kexLen int) []byte {
	t.Helper()
	h := Header{ID: [IDLen]byte{1, 2, 3}, Timestamp: specTS, CipherNID: CipherAES256GCM,
		KDFNID: MDSHA256, MDNID: MDSHA256}
	h.Cert = fill(crtLen, 0xc0)
	h.Kex = fill(kexLen, 0x4b)
	if crtLen > 0 {
		h.Signature = fill(70, 0x51)
	}
	b, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fill(n int, v byte) []byte {
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}
