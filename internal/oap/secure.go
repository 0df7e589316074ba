package oap

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// The secured exchange: the unsecured one (exchange.go) plus the key exchange
// of irmd.md §4.7–4.8, run with package crypt. Each side brings its enc.conf
// for the name (crypt.Config; the zero Config is "no enc.conf"), so with no
// policy on either side the bytes are those of NewRequest and Process.
//
//	client (Request)                          server (Serve)
//	id ‖ now ‖ cipher kdf md ‖ kex        →   decode, refuse cert, H(request),
//	  (kex: ephemeral public key, or the      freshness + replay, negotiate
//	   ciphertext with R set)                 (crypt.ServerExchange)
//	Finish: id, req_hash, negotiate     ←     id ‖ now ‖ cipher kdf md ‖ kex ‖ H(request)
//	  (crypt.ClientKex.Complete)
//
// Header fields set by each side (irmd.md §4.2, §4.8 step 5, §4.10):
//
//	request   cipher_nid = client's cipher, kdf_nid = client's KDF,
//	          md_nid = client's digest (all 0 without enc.conf);
//	          kex = public key (DER, or raw with F for a hybrid) or, in
//	          kem_mode=client, the ciphertext with R (and F for a hybrid)
//	response  cipher_nid, kdf_nid = negotiated (0 when not encrypted),
//	          md_nid = server's digest, kex = server public key (DHE),
//	          ciphertext (KEM, F for a hybrid), or nothing
//
// Authentication (auth.go): a side with credentials for the name
// (RequestOptions.Creds, ServeOptions.Creds) sends its certificate and
// signs its message; a side that receives a certificate verifies it
// against its trust store (Trust) and the signature over the message, and
// learns the peer's name (Result.Peer). The client also requires the
// server's certificate to be issued to the destination name.

// Result is the outcome of an exchange for one side: the cipher and the
// 32-byte flow key the application gets. Cipher 0 (Key nil) means the flow is
// not encrypted.
type Result struct {
	Cipher crypt.Cipher
	Key    []byte
	Kex    crypt.Kex    // the key exchange that produced Key (0 if none)
	KDF    crypt.Digest // the HKDF digest that produced Key
	// Peer is the peer's authenticated name, the CN of the certificate it
	// sent and proved it holds the key of; "" if it sent none.
	Peer string
}

// Encrypted reports whether the flow is encrypted.
func (r Result) Encrypted() bool { return r.Cipher != 0 }

// RequestOptions build a client's request.
type RequestOptions struct {
	Now    time.Time // timestamp of the request (the caller's time.Now())
	Random io.Reader // source of the id; crypto/rand.Reader if nil
	// Enc is the client's enc.conf for the destination name; the zero
	// Config (no file, or `none`) asks for no encryption.
	Enc crypt.Config
	// ServerKey is the server's static KEM public key
	// (client/<name>/kex.srv.pub.*), needed only for kem_mode=client.
	ServerKey *crypt.PublicKey
	// Creds, if not nil, authenticate the client: its certificate goes in
	// the request, which its key signs (client/<name>/crt.pem, key.pem).
	Creds *crypt.Credentials
	// Name is the destination name; a server's certificate must be issued
	// to it. Required when Trust is set.
	Name string
	// Trust verifies a server's certificate; with nil (or an empty store)
	// a response that carries a certificate is refused.
	Trust *crypt.TrustStore
}

// Request builds a client's request per opt and returns it with the state
// Finish needs. With a zero opt.Enc the request is the one of NewRequest.
// Errors: opt.Enc fails crypt.Config.Check, the server key is missing for
// kem_mode=client, Trust without Name, signing fails (ErrAuth), or the
// random source fails.
func Request(opt RequestOptions) ([]byte, *ClientState, error) {
	if opt.Random == nil {
		opt.Random = rand.Reader
	}
	if opt.Trust != nil && opt.Name == "" {
		return nil, nil, errors.New("oap: Request with a trust store but no destination name")
	}
	kex, err := crypt.PrepareClient(opt.Enc, opt.ServerKey)
	if err != nil {
		return nil, nil, fmt.Errorf("oap: client key exchange: %w", err)
	}
	h := Header{
		Timestamp: unixNano(opt.Now),
		CipherNID: uint16(kex.Offer.Cipher),
		KDFNID:    uint16(kex.Offer.KDF),
		MDNID:     uint16(signingMD(opt.Creds, opt.Enc.Digest)),
		Kex:       kex.Offer.Kex,
	}
	if len(h.Kex) > 0 {
		h.KexFormatRaw = kex.Offer.Raw
		h.KexClientEncap = kex.Offer.ClientEncap
	}
	if _, err := io.ReadFull(opt.Random, h.ID[:]); err != nil {
		return nil, nil, fmt.Errorf("oap: request id: %w", err)
	}
	req, err := seal(&h, opt.Creds)
	if err != nil {
		return nil, nil, err
	}
	st := &ClientState{id: h.ID, md: ReqMD(h.MDNID), kex: kex, enc: opt.Enc, name: opt.Name, trust: opt.Trust}
	if st.hash, err = Sum(st.md, req); err != nil {
		return nil, nil, err
	}
	return req, st, nil
}

// Finish checks the server's response as Complete does, authenticates the
// server if it sent a certificate (ErrAuth: untrusted or expired chain, a
// CN other than the destination name, a bad signature), and then completes
// the key exchange (irmd.md §4.8, client completion): without a kex in the
// client's policy the flow is not encrypted whatever the response says;
// otherwise a missing or weaker cipher or KDF (downgrade) and a missing or bad
// key share are refused with errors wrapping crypt.ErrRefused or
// crypt.ErrInvalidKey.
func (st *ClientState) Finish(resp []byte) (Result, error) {
	h, peer, err := st.check(resp)
	if err != nil {
		return Result{}, err
	}
	if st.kex == nil || !st.enc.Encrypted() {
		return Result{Peer: peer}, nil
	}
	c, key, err := st.kex.Complete(crypt.Answer{Cipher: crypt.Cipher(h.CipherNID), KDF: crypt.Digest(h.KDFNID), Kex: h.Kex})
	if err != nil {
		return Result{}, fmt.Errorf("oap: key exchange: %w", err)
	}
	if c == 0 {
		return Result{Peer: peer}, nil
	}
	kdf := st.enc.KDF
	if st.enc.KEMMode != crypt.KEMClient || !st.enc.Kex.IsKEM() {
		if h.KDFNID != 0 {
			kdf = crypt.Digest(h.KDFNID)
		}
	}
	return Result{Cipher: c, Key: key, Kex: st.enc.Kex, KDF: kdf, Peer: peer}, nil
}

// ServeOptions are the server's side of one request.
type ServeOptions struct {
	Now    time.Time    // response timestamp and freshness reference; time.Now() if zero
	Replay *ReplayCache // required
	// Enc is the server's enc.conf for the name; the zero Config encrypts
	// only if the client asks.
	Enc crypt.Config
	// Static returns the server's static KEM key pair
	// (server/<name>/kex.key.raw if raw, else kex.key.pem) when a client
	// encapsulated; nil refuses such requests.
	Static func(raw bool) (*crypt.KeyPair, error)
	// Creds, if not nil, authenticate the server: its certificate goes in
	// the response, which its key signs (server/<name>/crt.pem, key.pem).
	Creds *crypt.Credentials
	// Trust verifies a client's certificate (any CN); with nil (or an
	// empty store) a request that carries a certificate is refused.
	Trust *crypt.TrustStore
}

// Serve is the server side of the secured exchange: it checks the request
// and returns the response with the flow's key. In order:
//  1. decode the request (DecodeRequest);
//  2. if it has a certificate, authenticate the client: chain to
//     opt.Trust at opt.Now, then the signature (ErrAuth); its CN is
//     Result.Peer, whatever it is;
//  3. compute the request digest (ErrDigestUnavailable for BLAKE2);
//  4. freshness and replay check at now (replay.Check);
//  5. negotiate and run the key exchange (crypt.ServerExchange): errors
//     wrap crypt.ErrRefused, crypt.ErrUnsupported or crypt.ErrInvalidKey;
//  6. encode the response, with opt.Creds' certificate and signature
//     (ErrAuth if signing fails).
//
// The reference checks freshness and replay before the signature; here
// the stateless checks, the signature's included, come first, so that a
// forged request takes no place in the replay cache (and cannot make the
// genuine request with the same id and timestamp look like a replay).
//
// With a zero opt.Enc and a request without kex data the response is the one
// of Process.
func Serve(req []byte, opt ServeOptions) ([]byte, Result, error) {
	if opt.Replay == nil {
		return nil, Result{}, errors.New("oap: Serve without a ReplayCache")
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	h, err := DecodeRequest(req)
	if err != nil {
		return nil, Result{}, err
	}
	peer, err := authenticate(h, req, opt.Trust, "", opt.Now, "client")
	if err != nil {
		return nil, Result{}, err
	}
	sum, err := Sum(ReqMD(h.MDNID), req)
	if err != nil {
		return nil, Result{}, err
	}
	if err := opt.Replay.Check(h.ID, h.Timestamp, opt.Now); err != nil {
		return nil, Result{}, err
	}
	offer := crypt.Offer{Cipher: crypt.Cipher(h.CipherNID), KDF: crypt.Digest(h.KDFNID), Kex: h.Kex,
		Raw: h.KexFormatRaw, ClientEncap: h.KexClientEncap}
	var static *crypt.KeyPair
	if offer.ClientEncap && len(offer.Kex) > 0 && opt.Static != nil {
		if static, err = opt.Static(offer.Raw); err != nil {
			return nil, Result{}, fmt.Errorf("oap: %w: server static KEM key: %w", crypt.ErrRefused, err)
		}
	}
	a, key, share, err := crypt.ServerExchange(offer, opt.Enc, static)
	if err != nil {
		return nil, Result{}, fmt.Errorf("oap: key exchange: %w", err)
	}
	resp := Header{ID: h.ID, Timestamp: unixNano(opt.Now), MDNID: uint16(signingMD(opt.Creds, opt.Enc.Digest)), ReqHash: sum}
	if a.Encrypted() {
		resp.CipherNID, resp.KDFNID = uint16(a.Cipher), uint16(a.KDF)
		resp.Kex = share
		resp.KexFormatRaw = len(share) > 0 && a.Kex.IsHybrid()
	}
	out, err := seal(&resp, opt.Creds)
	if err != nil {
		return nil, Result{}, err
	}
	if !a.Encrypted() {
		return out, Result{Peer: peer}, nil
	}
	return out, Result{Cipher: a.Cipher, Key: key, Kex: a.Kex, KDF: a.KDF, Peer: peer}, nil
}

// check applies the checks of Complete to resp (irmd.md §4.10, client
// complete steps 1–5: decode, id, the server's certificate and signature,
// req_hash; the CN is checked with the chain) and returns the decoded
// header and the server's authenticated name ("" if it sent no
// certificate).
func (st *ClientState) check(resp []byte) (*Header, string, error) {
	h, err := DecodeResponse(resp, st.md)
	if err != nil {
		return nil, "", err
	}
	if h.ID != st.id {
		return nil, "", fmt.Errorf("%w: got %x, want %x", ErrIDMismatch, h.ID, st.id)
	}
	peer, err := authenticate(h, resp, st.trust, st.name, time.Now(), "server")
	if err != nil {
		return nil, "", err
	}
	if !bytes.Equal(h.ReqHash, st.hash) {
		return nil, "", fmt.Errorf("%w (%s)", ErrHashMismatch, NIDName(st.md))
	}
	return h, peer, nil
}
