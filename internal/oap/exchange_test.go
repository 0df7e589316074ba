package oap

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"
	"testing/iotest"
	"time"
)

// TestProcessSpecVector: the server answers the minimal request (specReq) 5 ms
// later with exactly the minimal response (specResp).
func TestProcessSpecVector(t *testing.T) {
	resp, err := Process(unhex(t, specReq), time.Unix(0, specRespTS), NewReplayCache(0))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, specResp); !bytes.Equal(resp, want) {
		t.Errorf("response\n got %x\nwant %x", resp, want)
	}
}

func TestRoundTrip(t *testing.T) {
	replay := NewReplayCache(0)
	for range 10 {
		req, st, err := NewRequest(t0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(req) != MinHeaderLen || !bytes.Equal(req[:IDLen], func() []byte { id := st.ID(); return id[:] }()) ||
			binary.BigEndian.Uint64(req[16:]) != specTS || !bytes.Equal(req[24:], make([]byte, 12)) {
			t.Fatalf("request %x", req)
		}
		resp, err := Process(req, t0.Add(3*time.Millisecond), replay)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp) != MinHeaderLen+48 {
			t.Errorf("response of %d bytes, want 84", len(resp))
		}
		if err := st.Complete(resp); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewRequestRandomFails(t *testing.T) {
	boom := errors.New("boom")
	if _, _, err := NewRequest(t0, iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}

// TestCompleteCapture completes the captured exchange with a client state for
// its request.
func TestCompleteCapture(t *testing.T) {
	req := unhex(t, capUDPReq)
	st := &ClientState{md: MDSHA384}
	copy(st.id[:], req)
	st.hash, _ = Sum(MDSHA384, req)
	if err := st.Complete(unhex(t, capUDPResp)); err != nil {
		t.Error(err)
	}
	if err := st.Complete(unhex(t, capUniResp)); !errors.Is(err, ErrIDMismatch) {
		t.Errorf("other exchange's response: %v", err)
	}
}

func TestCompleteRejects(t *testing.T) {
	req, st, err := NewRequest(t0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Process(req, t0, NewReplayCache(0))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := bytes.Clone(resp); b[i] ^= 0x01; return b }
	h, _ := DecodeResponse(resp, 0)
	h.Cert, h.Signature = []byte("cert"), []byte("sig")
	signed := mustEncode(t, h)
	h.Cert, h.Signature = nil, nil
	h.Kex, h.CipherNID = []byte("server public key"), CipherAES256GCM
	withKex := mustEncode(t, h)
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"wrong id", flip(0), ErrIDMismatch},
		{"wrong id (last byte)", flip(15), ErrIDMismatch},
		{"wrong hash", flip(MinHeaderLen + 10), ErrHashMismatch},
		{"bytes 50-52 flipped", func() []byte {
			b := bytes.Clone(resp)
			b[50], b[51], b[52] = ^b[50], ^b[51], ^b[52]
			return b
		}(), ErrHashMismatch},
		{"truncated", resp[:len(resp)-1], ErrTruncated},
		{"request instead of response", req, ErrTruncated},
		{"signed response", signed, ErrAuth},
		{"empty", nil, ErrTruncated},
	} {
		if err := st.Complete(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Kex data and a cipher are ignored when the client configured no kex.
	if err := st.Complete(withKex); err != nil {
		t.Errorf("response with kex: %v", err)
	}
	// Timestamp of the response is not checked.
	b := bytes.Clone(resp)
	binary.BigEndian.PutUint64(b[16:], 0)
	if err := st.Complete(b); err != nil {
		t.Errorf("response timestamp 0: %v", err)
	}
}

// TestProcessRejects covers the server-side cases of the reference's OAP tests
// that apply without cryptography, plus the refusal of what is not
// implemented.
func TestProcessRejects(t *testing.T) {
	min := unhex(t, specReq)
	at := time.Unix(0, specTS)
	withData := func() []byte {
		h := Header{ID: [IDLen]byte{5}, Timestamp: specTS, Data: []byte("client_data")}
		return mustEncode(t, &h)
	}()
	for _, c := range []struct {
		name string
		b    []byte
		now  time.Time
		want error
	}{
		{"truncated request", min[:18], at, ErrTruncated},
		{"inflated crt_len 60000", set16(signedReq(t, 300, 0), 30, 60000), at, ErrTruncated},
		{"deflated crt_len 1", set16(min, 30, 1), at, ErrTruncated},
		{"deflated crt_len 1, signed", set16(signedReq(t, 300, 0), 30, 1), at, ErrAuthUnsupported},
		{"unsupported cipher NID 9999", set16(min, 24, 9999), at, ErrUnknownNID},
		{"trailing bytes", append(bytes.Clone(min), 0xde, 0xad), at, ErrTrailing},
		{"outdated 30 s", min, at.Add(30 * time.Second), ErrOutdated},
		{"future 1 s", min, at.Add(-time.Second), ErrFuture},
		{"certificate", signedReq(t, 300, 0), at, ErrAuthUnsupported},
		{"kex", signedReq(t, 0, 44), at, ErrKexUnsupported},
		{"kex is unsupported", signedReq(t, 0, 44), at, ErrUnsupported},
		{"blake2 request digest", set16(min, 28, MDBLAKE2b512), at, ErrDigestUnavailable},
	} {
		replay := NewReplayCache(0)
		if _, err := Process(c.b, c.now, replay); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.want != ErrOutdated && c.want != ErrFuture && replay.Len() != 0 {
			t.Errorf("%s: refused request entered the replay cache", c.name)
		}
	}
	// Cipher set without kex (the reference's nid_without_kex case): a server
	// without kex proceeds unencrypted, like the reference. Piggybacked data is ignored.
	for _, b := range [][]byte{set16(min, 24, CipherAES256GCM), withData} {
		if _, err := Process(b, at, NewReplayCache(0)); err != nil {
			t.Errorf("request %x: %v", b, err)
		}
	}
	if _, err := Process(min, at, nil); err == nil {
		t.Error("Process without a replay cache succeeded")
	}
}

func TestProcessReplay(t *testing.T) {
	replay := NewReplayCache(0)
	req := unhex(t, specReq)
	if _, err := Process(req, t0, replay); err != nil {
		t.Fatal(err)
	}
	if _, err := Process(req, t0.Add(time.Second), replay); !errors.Is(err, ErrReplay) {
		t.Errorf("second processing: %v, want ErrReplay", err)
	}
}

// TestProcessSHA256 checks that the req_hash follows the request's md_nid.
func TestProcessSHA256(t *testing.T) {
	req := set16(unhex(t, specReq), 28, MDSHA256)
	resp, err := Process(req, t0, NewReplayCache(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp) != MinHeaderLen+32 {
		t.Fatalf("response of %d bytes, want 68", len(resp))
	}
	st := &ClientState{md: MDSHA256}
	copy(st.id[:], req)
	st.hash, _ = Sum(MDSHA256, req)
	if err := st.Complete(resp); err != nil {
		t.Error(err)
	}
}
