// Package oap implements the wire format of OAP, the Ouroboros flow-allocation
// authentication protocol, and its handshake: unsecured, or with a key
// exchange.
//
// # Role
//
// OAP runs end to end between two IRMds: the IRMd of the allocating process
// (the client) and the IRMd of the accepting process (the server). There are
// exactly two messages. The request travels in IPCP_FLOW_ALLOC.pk, crosses the
// layer as opaque bytes and arrives in IPCP_FLOW_REQ_ARR.pk; the response
// travels in IPCP_FLOW_ALLOC_RESP.pk and arrives in IPCP_FLOW_ALLOC_REPLY.pk.
// For direct local flows the two headers pass through the registry instead
// (reg.Flow ReqData/RspData). A request is always sent, even with no security
// configured, and the response always carries a digest of the request, so an
// IRMd must implement at least this package to interoperate.
//
// # Header layout
//
// All integers are big-endian (network byte order):
//
//	offset size      field
//	     0   16      id          random flow-allocation id; the response copies it
//	    16    8      timestamp   sender's wall clock, nanoseconds since the Unix epoch (UTC)
//	    24    2      cipher_nid  symmetric cipher NID, 0 = none
//	    26    2      kdf_nid     KDF digest NID, 0 = none/default
//	    28    2      md_nid      signature digest NID of this message, 0 = default
//	    30    2      crt_len     certificate length in bytes, 0 = unauthenticated
//	    32    2      kex_len     bit 15 F (raw format), bit 14 R (client encapsulates),
//	                             bits 0-13 kex data length in bytes
//	    34    2      data_len    piggybacked data length in bytes
//	    36   crt_len certificate (X.509 DER)
//	     …   kex_len kex data (public key or KEM ciphertext)
//	     …   data_len data
//	     …   hash_len req_hash   response only: digest of the whole request as received
//	     …   rest    signature   over all preceding bytes; present only if crt_len > 0
//
// hash_len is not on the wire: both sides derive it from the request's md_nid
// (ReqMD). The signature has no length field: it is the remainder.
//
// # What is implemented
//
//   - Header with Encode/AppendEncode, DecodeRequest and DecodeResponse, which
//     apply the reference's decoding rules (see decode in header.go).
//     Decoded slices alias the input.
//
//   - The reference's table of algorithm NIDs and the request digests (SHA-2, SHA-3; the BLAKE2
//     NIDs are known, so they decode, but Sum reports ErrDigestUnavailable
//     because the standard library has no BLAKE2).
//
//   - The unsecured exchange (no credentials, no enc.conf on either side):
//     NewRequest and ClientState.Complete on the client, Process on the
//     server, with the server's freshness and replay checks (ReplayCache).
//
//   - The secured exchange (secure.go): Request, Serve and
//     ClientState.Finish carry the key exchange of irmd.md §4.7–4.8 with
//     package crypt, per each side's enc.conf (crypt.Config), and give both
//     ends the cipher and the 32-byte flow key (Result). With no policy on
//     either side their bytes are those of the unsecured exchange.
//
//   - Authentication (auth.go): a side with credentials for the name signs
//     its message and sends its certificate; the other side verifies the
//     chain against its trust store, the signature, and (the client) that
//     the certificate's CN is the destination name, and gets the peer's
//     name in Result.Peer. Authentication is optional on both sides.
//
// Process, the unsecured server, refuses a certificate (ErrAuthUnsupported)
// and kex data (ErrKexUnsupported): callers that handle keys and
// certificates use Serve. Piggybacked data is decoded but ignored: the
// reference IRMd never sends any.
//
// # Errors
//
// All errors wrap one of the sentinels in errors.go, so callers can use
// errors.Is. For the errno sent back in IPCP_FLOW_ALLOC_RESP, the reference
// server uses -EAUTH for freshness, replay and certificate failures
// (ErrFuture, ErrOutdated, ErrReplay, ErrAuth, ErrAuthUnsupported) and -ECRYPT for
// key-exchange failures (ErrKexUnsupported, and from Serve the errors of
// package crypt: crypt.Errno gives -ECRYPT, or -ENOTSUP for an algorithm this
// build does not run); it names no errno for a request
// that fails to decode (-EAUTH is a reasonable choice). Every client-side
// failure reaches the application as -ECRYPT.
package oap
