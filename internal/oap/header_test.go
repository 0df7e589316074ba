package oap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestEncodeSpecVectors(t *testing.T) {
	id := [IDLen]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	req := Header{ID: id, Timestamp: specTS}
	got, err := req.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, specReq); !bytes.Equal(got, want) {
		t.Errorf("request\n got %x\nwant %x", got, want)
	}
	sum, err := Sum(ReqMD(0), got)
	if err != nil {
		t.Fatal(err)
	}
	resp := Header{ID: id, Timestamp: specRespTS, ReqHash: sum}
	if got, want := mustEncode(t, &resp), unhex(t, specResp); !bytes.Equal(got, want) {
		t.Errorf("response\n got %x\nwant %x", got, want)
	}
	if d := resp.Time().Sub(req.Time()); d.Milliseconds() != 5 {
		t.Errorf("server answered %v after the request, want 5ms", d)
	}
	if got := req.Time().UTC().Format("2006-01-02T15:04:05Z"); got != "2026-01-01T00:00:00Z" {
		t.Errorf("Time() = %s", got)
	}
}

func mustEncode(t testing.TB, h *Header) []byte {
	t.Helper()
	b, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != h.Len() {
		t.Fatalf("len(Encode()) = %d, Len() = %d", len(b), h.Len())
	}
	return b
}

// TestDecodeCaptures decodes the OAP headers sent by reference IRMds.
func TestDecodeCaptures(t *testing.T) {
	for _, c := range []struct {
		name        string
		req, resp   string
		reqTS, rsTS uint64
	}{
		{"udp4 frames 1/2", capUDPReq, capUDPResp, 1795679391046281033, 1795679391047856351},
		{"unicast frames 31/32", capUniReq, capUniResp, 1795679397727467533, 1795679397728102787},
		{"minimal exchange", specReq, specResp, specTS, specRespTS},
	} {
		t.Run(c.name, func(t *testing.T) {
			reqB, respB := unhex(t, c.req), unhex(t, c.resp)
			req, err := DecodeRequest(reqB)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := DecodeResponse(respB, req.MDNID)
			if err != nil {
				t.Fatal(err)
			}
			if req.Timestamp != c.reqTS || resp.Timestamp != c.rsTS {
				t.Errorf("timestamps %d, %d; want %d, %d", req.Timestamp, resp.Timestamp, c.reqTS, c.rsTS)
			}
			if resp.ID != req.ID || !bytes.Equal(req.ID[:], reqB[:IDLen]) {
				t.Errorf("ids %x, %x", req.ID, resp.ID)
			}
			for _, h := range []*Header{req, resp} {
				if h.CipherNID|h.KDFNID|h.MDNID != 0 || h.Cert != nil || h.Kex != nil || h.Data != nil ||
					h.Signature != nil || h.KexFormatRaw || h.KexClientEncap {
					t.Errorf("unexpected fields in %+v", h)
				}
			}
			if req.ReqHash != nil || len(resp.ReqHash) != 48 {
				t.Errorf("req_hash lengths %d, %d; want 0, 48", len(req.ReqHash), len(resp.ReqHash))
			}
			sum, _ := Sum(MDSHA384, reqB)
			if !bytes.Equal(resp.ReqHash, sum) {
				t.Errorf("req_hash %x, SHA-384(request) %x", resp.ReqHash, sum)
			}
			if !bytes.Equal(mustEncode(t, req), reqB) || !bytes.Equal(mustEncode(t, resp), respB) {
				t.Error("re-encoding differs")
			}
		})
	}
}

// TestRoundTripFields encodes every field and flag and decodes them back.
func TestRoundTripFields(t *testing.T) {
	want := Header{ID: [IDLen]byte{0xff, 1}, Timestamp: 1<<64 - 1, CipherNID: CipherChaCha20Poly1305,
		KDFNID: MDSHA3_512, MDNID: MDBLAKE2b512, Cert: []byte("cert"), Kex: fill(MaxKexLen, 7),
		KexFormatRaw: true, KexClientEncap: true, Data: []byte("data"), ReqHash: fill(32, 0xaa),
		Signature: []byte("sig")}
	b := mustEncode(t, &want)
	if w := binary.BigEndian.Uint16(b[32:]); w != 0xffff {
		t.Errorf("kex_len word %#04x, want 0xffff", w)
	}
	got, err := DecodeResponse(b, MDSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !equalHeaders(got, &want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, &want)
	}
	// Decoded fields alias b but cannot grow into the next field.
	if &got.Cert[0] != &b[MinHeaderLen] || cap(got.Cert) != len(got.Cert) {
		t.Error("Cert does not alias the buffer with limited capacity")
	}
	// Each flag on its own.
	for _, f := range []struct{ raw, client bool }{{true, false}, {false, true}} {
		h := Header{Kex: []byte{1}, KexFormatRaw: f.raw, KexClientEncap: f.client}
		d, err := DecodeRequest(mustEncode(t, &h))
		if err != nil || d.KexFormatRaw != f.raw || d.KexClientEncap != f.client || len(d.Kex) != 1 {
			t.Errorf("flags %+v: decoded %+v, %v", f, d, err)
		}
	}
}

func equalHeaders(a, b *Header) bool {
	return a.ID == b.ID && a.Timestamp == b.Timestamp && a.CipherNID == b.CipherNID &&
		a.KDFNID == b.KDFNID && a.MDNID == b.MDNID && bytes.Equal(a.Cert, b.Cert) &&
		bytes.Equal(a.Kex, b.Kex) && a.KexFormatRaw == b.KexFormatRaw &&
		a.KexClientEncap == b.KexClientEncap && bytes.Equal(a.Data, b.Data) &&
		bytes.Equal(a.ReqHash, b.ReqHash) && bytes.Equal(a.Signature, b.Signature)
}

// set16 returns a copy of b with the big-endian uint16 at off set to v.
func set16(b []byte, off int, v uint16) []byte {
	c := bytes.Clone(b)
	binary.BigEndian.PutUint16(c[off:], v)
	return c
}

// TestDecodeRules covers each decoding rule and the header cases of the
// reference's OAP tests.
func TestDecodeRules(t *testing.T) {
	min := unhex(t, specReq)
	signed := signedReq(t, 300, 0)
	resp := unhex(t, specResp)
	for _, c := range []struct {
		name     string
		b        []byte
		response bool
		reqMD    uint16
		want     error
	}{
		{"empty", nil, false, 0, ErrTruncated},
		{"35 bytes", min[:35], false, 0, ErrTruncated},
		{"truncated request (half)", min[:18], false, 0, ErrTruncated},
		{"truncated signed request (half)", signed[:len(signed)/2], false, 0, ErrTruncated},
		{"inflated crt_len 60000", set16(signed, 30, 60000), false, 0, ErrTruncated},
		{"deflated crt_len 1, unsigned", set16(min, 30, 1), false, 0, ErrTruncated},
		{"kex_len past end", set16(min, 32, 0xc001), false, 0, ErrTruncated},
		{"data_len past end", set16(min, 34, 1), false, 0, ErrTruncated},
		{"cipher NID 9999", set16(min, 24, 9999), false, 0, ErrUnknownNID},
		{"cipher NID is a digest", set16(min, 24, MDSHA256), false, 0, ErrUnknownNID},
		{"kdf NID is a cipher", set16(min, 26, CipherAES256GCM), false, 0, ErrUnknownNID},
		{"md NID is a kex", set16(min, 28, KexX25519), false, 0, ErrUnknownNID},
		{"md NID 9999 in response", set16(resp, 28, 9999), true, 0, ErrUnknownNID},
		{"trailing byte after request", append(bytes.Clone(min), 0), false, 0, ErrTrailing},
		{"response decoded as request", resp, false, 0, ErrTrailing},
		{"request decoded as response", min, true, 0, ErrTruncated},
		{"response short of req_hash", resp[:len(resp)-1], true, 0, ErrTruncated},
		{"trailing byte after response", append(bytes.Clone(resp), 0), true, 0, ErrTrailing},
		{"sha384 response checked as sha256", resp, true, MDSHA256, ErrTrailing},
		{"sha384 response checked as sha512", resp, true, MDSHA512, ErrTruncated},
		{"unknown request md", resp, true, 9999, ErrUnknownNID},
		{"valid minimal request", min, false, 0, nil},
		{"valid signed request", signed, false, 0, nil},
		// The signature takes the rest, so a deflated crt_len still decodes;
		// the signature check (or Process) must reject it.
		{"deflated crt_len 1, signed", set16(signed, 30, 1), false, 0, nil},
		{"valid response", resp, true, MDSHA384, nil},
		{"flags without kex", set16(min, 32, 0xc000), false, 0, nil},
	} {
		var err error
		if c.response {
			_, err = DecodeResponse(c.b, c.reqMD)
		} else {
			_, err = DecodeRequest(c.b)
		}
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestTruncatedPrefixes checks that every strict prefix of a valid message
// fails to decode as truncated.
func TestTruncatedPrefixes(t *testing.T) {
	msgs := [][]byte{signedReq(t, 0, 91), unhex(t, specResp)}
	for i, m := range msgs {
		for n := range len(m) {
			var err error
			if i == 0 {
				_, err = DecodeRequest(m[:n])
			} else {
				_, err = DecodeResponse(m[:n], 0)
			}
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("message %d cut to %d bytes: %v", i, n, err)
			}
		}
	}
}

func TestEncodeInvalid(t *testing.T) {
	for _, c := range []struct {
		name string
		h    Header
	}{
		{"unknown cipher", Header{CipherNID: 9999}},
		{"kdf not a digest", Header{KDFNID: KexX448}},
		{"md not a digest", Header{MDNID: CipherAES128CTR}},
		{"cert too long", Header{Cert: make([]byte, MaxCertLen+1)}},
		{"kex too long", Header{Kex: make([]byte, MaxKexLen+1)}},
		{"data too long", Header{Data: make([]byte, MaxDataLen+1)}},
		{"signature without cert", Header{Signature: []byte{1}}},
	} {
		b, err := c.h.AppendEncode([]byte("prefix"))
		if !errors.Is(err, ErrInvalid) || string(b) != "prefix" {
			t.Errorf("%s: %q, %v; want prefix unchanged and ErrInvalid", c.name, b, err)
		}
	}
}
