package oap

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Wire sizes and limits, in bytes.
const (
	MinHeaderLen = 36     // fixed part: id, timestamp, three NIDs, three lengths
	IDLen        = 16     // flow-allocation id
	MaxCertLen   = 0xffff // crt_len is 16 bits
	MaxKexLen    = 0x3fff // kex_len has 14 bits of length
	MaxDataLen   = 0xffff // data_len is 16 bits
)

// Bits of the kex_len word (offset 32).
const (
	kexFlagRaw    = 1 << 15 // F: kex data is raw (hybrid KEM), not DER SPKI
	kexFlagClient = 1 << 14 // R: the client encapsulated (KEM client mode)
	kexLenMask    = 0x3fff
)

// Header is one OAP message, request or response.
//
// Timestamp is kept as the raw wire value, nanoseconds since the Unix epoch
// (UTC) as an unsigned 64-bit integer, so that every decoded header encodes
// back to the same bytes; Time converts it.
//
// Headers returned by DecodeRequest and DecodeResponse alias the decoded
// buffer: Cert, Kex, Data, ReqHash and Signature are sub-slices of it (with
// capacity limited to their length), so the buffer must not be modified while
// the Header is in use. Absent fields are nil.
type Header struct {
	ID        [IDLen]byte
	Timestamp uint64 // ns since the Unix epoch, UTC

	CipherNID uint16 // 0 or a cipher NID
	KDFNID    uint16 // 0 or a digest NID
	MDNID     uint16 // 0 or a digest NID: signature digest of this message

	Cert           []byte // X.509 DER certificate, nil = unauthenticated
	Kex            []byte // public key or KEM ciphertext, at most MaxKexLen bytes
	KexFormatRaw   bool   // F, bit 15 of the kex_len word
	KexClientEncap bool   // R, bit 14 of the kex_len word
	Data           []byte // piggybacked data
	ReqHash        []byte // response only: digest of the request (ReqMD)
	Signature      []byte // remainder; only with a certificate
}

// Time returns the timestamp as a time.Time. Timestamps beyond year 2262
// (above math.MaxInt64 ns) are clamped.
func (h *Header) Time() time.Time {
	return time.Unix(0, int64(min(h.Timestamp, math.MaxInt64)))
}

// unixNano returns t as a wire timestamp; instants before 1970 become 0.
func unixNano(t time.Time) uint64 {
	return uint64(max(t.UnixNano(), 0))
}

// Len returns the encoded length of h in bytes.
func (h *Header) Len() int {
	return MinHeaderLen + len(h.Cert) + len(h.Kex) + len(h.Data) + len(h.ReqHash) + len(h.Signature)
}

// Encode returns the wire form of h.
func (h *Header) Encode() ([]byte, error) {
	return h.AppendEncode(make([]byte, 0, h.Len()))
}

// AppendEncode appends the wire form of h to b. It fails with ErrInvalid (and
// returns b unchanged) if h breaks a rule the decoder enforces, so whatever it
// encodes decodes again.
func (h *Header) AppendEncode(b []byte) ([]byte, error) {
	if err := h.check(); err != nil {
		return b, err
	}
	kex := uint16(len(h.Kex))
	if h.KexFormatRaw {
		kex |= kexFlagRaw
	}
	if h.KexClientEncap {
		kex |= kexFlagClient
	}
	b = append(b, h.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Timestamp)
	b = binary.BigEndian.AppendUint16(b, h.CipherNID)
	b = binary.BigEndian.AppendUint16(b, h.KDFNID)
	b = binary.BigEndian.AppendUint16(b, h.MDNID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Cert)))
	b = binary.BigEndian.AppendUint16(b, kex)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Data)))
	b = append(b, h.Cert...)
	b = append(b, h.Kex...)
	b = append(b, h.Data...)
	b = append(b, h.ReqHash...)
	return append(b, h.Signature...), nil
}

func (h *Header) check() error {
	if err := checkNIDs(h.CipherNID, h.KDFNID, h.MDNID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case len(h.Cert) > MaxCertLen:
		return fmt.Errorf("%w: certificate of %d bytes (max %d)", ErrInvalid, len(h.Cert), MaxCertLen)
	case len(h.Kex) > MaxKexLen:
		return fmt.Errorf("%w: kex data of %d bytes (max %d)", ErrInvalid, len(h.Kex), MaxKexLen)
	case len(h.Data) > MaxDataLen:
		return fmt.Errorf("%w: data of %d bytes (max %d)", ErrInvalid, len(h.Data), MaxDataLen)
	case len(h.Signature) > 0 && len(h.Cert) == 0:
		return fmt.Errorf("%w: signature without certificate", ErrInvalid)
	}
	return nil
}

// checkNIDs applies decoding rule 2: each NID is 0 or known, of the right kind.
func checkNIDs(cipher, kdf, md uint16) error {
	if cipher != 0 && KindOf(cipher) != KindCipher {
		return fmt.Errorf("%w: cipher_nid %d", ErrUnknownNID, cipher)
	}
	if kdf != 0 && KindOf(kdf) != KindDigest {
		return fmt.Errorf("%w: kdf_nid %d", ErrUnknownNID, kdf)
	}
	if md != 0 && KindOf(md) != KindDigest {
		return fmt.Errorf("%w: md_nid %d", ErrUnknownNID, md)
	}
	return nil
}

// DecodeRequest decodes an OAP request (no req_hash). The result aliases b.
func DecodeRequest(b []byte) (*Header, error) {
	return decode(b, 0)
}

// DecodeResponse decodes an OAP response to a request whose md_nid was reqMD
// (0 and MDSHA384 both mean SHA-384): the req_hash is DigestSize(ReqMD(reqMD))
// bytes long. The result aliases b.
func DecodeResponse(b []byte, reqMD uint16) (*Header, error) {
	n, err := DigestSize(ReqMD(reqMD))
	if err != nil {
		return nil, fmt.Errorf("request md_nid: %w", err)
	}
	return decode(b, n)
}

// decode applies the reference's decoding rules in order: at least 36 bytes;
// known (or zero) NIDs; room for the certificate, kex data, data and hashLen
// bytes of request digest; no trailing bytes unless a certificate makes them a
// signature. hashLen is 0 for a request.
func decode(b []byte, hashLen int) (*Header, error) {
	if len(b) < MinHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrTruncated, len(b), MinHeaderLen)
	}
	h := &Header{
		Timestamp: binary.BigEndian.Uint64(b[16:]),
		CipherNID: binary.BigEndian.Uint16(b[24:]),
		KDFNID:    binary.BigEndian.Uint16(b[26:]),
		MDNID:     binary.BigEndian.Uint16(b[28:]),
	}
	copy(h.ID[:], b)
	if err := checkNIDs(h.CipherNID, h.KDFNID, h.MDNID); err != nil {
		return nil, err
	}
	crtLen := int(binary.BigEndian.Uint16(b[30:]))
	kexWord := binary.BigEndian.Uint16(b[32:])
	kexLen := int(kexWord & kexLenMask)
	h.KexFormatRaw = kexWord&kexFlagRaw != 0
	h.KexClientEncap = kexWord&kexFlagClient != 0
	dataLen := int(binary.BigEndian.Uint16(b[34:]))

	need := MinHeaderLen + crtLen + kexLen + dataLen + hashLen
	if len(b) < need {
		return nil, fmt.Errorf("%w: %d bytes, need %d (crt_len %d, kex_len %d, data_len %d, req_hash %d)",
			ErrTruncated, len(b), need, crtLen, kexLen, dataLen, hashLen)
	}
	off := MinHeaderLen
	field := func(n int) []byte {
		if n == 0 {
			return nil
		}
		off += n
		return b[off-n : off : off]
	}
	h.Cert = field(crtLen)
	h.Kex = field(kexLen)
	h.Data = field(dataLen)
	h.ReqHash = field(hashLen)
	rest := len(b) - off
	if rest > 0 && crtLen == 0 {
		return nil, fmt.Errorf("%w: %d bytes in an unsigned message", ErrTrailing, rest)
	}
	h.Signature = field(rest)
	return h, nil
}
