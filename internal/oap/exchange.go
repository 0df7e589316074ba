package oap

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// The unsecured exchange: no certificates, no key
// exchange, no enc.conf on either side.
//
//	client                                    server
//	NewRequest: id ‖ now ‖ 12 zero bytes  →   Process: decode, refuse cert/kex,
//	                                          freshness + replay check,
//	Complete: id equal, req_hash equal    ←   id ‖ now ‖ 12 zero bytes ‖ H(request)

// ClientState is what a client keeps between its request and the response.
// It is immutable, so Complete may be called from any goroutine.
type ClientState struct {
	id   [IDLen]byte
	md   uint16 // request digest, ReqMD of the request's md_nid
	hash []byte // H_md(request as sent)

	kex *crypt.ClientKex // the key-exchange state (Request); nil from NewRequest
	enc crypt.Config     // the client's policy the request was built with

	name  string            // destination name: the server's certificate must name it
	trust *crypt.TrustStore // verifies the server's certificate; nil: none is trusted
}

// NewRequest builds an unsecured 36-byte request with a fresh random id read
// from random (crypto/rand.Reader if nil) and timestamp now, and returns it
// with the state Complete needs to check the response.
func NewRequest(now time.Time, random io.Reader) ([]byte, *ClientState, error) {
	if random == nil {
		random = rand.Reader
	}
	return Request(RequestOptions{Now: now, Random: random})
}

// ID returns the flow-allocation id of the request.
func (st *ClientState) ID() [IDLen]byte { return st.id }

// Complete checks the server's response, as the reference client does: it
// must decode as a response to our request, carry our id and the digest of our
// request. A signed response is authenticated as by Finish: a state from
// NewRequest trusts no certificate, so it refuses one (ErrAuth). Key-exchange
// data and a cipher in the response are ignored, as the reference does when
// the client has no kex configured: the flow is not encrypted.
func (st *ClientState) Complete(resp []byte) error {
	_, _, err := st.check(resp)
	return err
}

// Process is the server side of the unsecured exchange: it checks the request
// as received and returns the response to send back. In order:
//  1. decode the request (DecodeRequest);
//  2. refuse a certificate (ErrAuthUnsupported) or kex data (ErrKexUnsupported);
//  3. compute the request digest (ErrDigestUnavailable for BLAKE2);
//  4. freshness and replay check at now (replay.Check).
//
// The stateless checks come first so that a refused request takes no place in
// the replay cache. The cipher and KDF NIDs of the request are ignored (with
// no kex the flow is not encrypted, as in the reference), and so is any
// piggybacked data. The response has the request's id, timestamp now, all
// NIDs and lengths 0 and req_hash = H(request).
func Process(req []byte, now time.Time, replay *ReplayCache) ([]byte, error) {
	if replay == nil {
		return nil, errors.New("oap: Process without a ReplayCache")
	}
	h, err := DecodeRequest(req)
	if err != nil {
		return nil, err
	}
	if len(h.Cert) > 0 {
		return nil, fmt.Errorf("%w: request has a %d-byte certificate", ErrAuthUnsupported, len(h.Cert))
	}
	if len(h.Kex) > 0 {
		return nil, fmt.Errorf("%w: request has %d bytes of kex data", ErrKexUnsupported, len(h.Kex))
	}
	sum, err := Sum(ReqMD(h.MDNID), req)
	if err != nil {
		return nil, err
	}
	if err := replay.Check(h.ID, h.Timestamp, now); err != nil {
		return nil, err
	}
	resp := Header{ID: h.ID, Timestamp: unixNano(now), ReqHash: sum}
	return resp.Encode()
}
