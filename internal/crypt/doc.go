// Package crypt is the crypto toolbox of secure flows: the algorithm tables,
// the key exchanges and key derivation of OAP (irmd.md §4.3–4.8), the
// per-packet encryption and key rotation of the flow library (library.md
// §6.2–6.4), and the enc.conf policy file (irmd.md §4.5, library.md §6.6).
// Everything that reaches the wire or a peer is byte-compatible with the
// reference.
//
// # Files
//
//	algo.go        NIDs, names and ranks of ciphers, key exchanges and digests
//	kdf.go         HKDF (RFC 5869) with the negotiated digest; salts; key rotation step
//	encoding.go    DER SubjectPublicKeyInfo of EC, X25519 and ML-KEM keys
//	kex.go         key pairs, public keys as carried in OAP, (EC)DH derivation
//	kem.go         ML-KEM-768/1024 and X25519MLKEM768 encapsulation and decapsulation
//	mlkemexp.go    expanded ML-KEM decapsulation keys; the raw hybrid key file
//	negotiate.go   the server's and the client's negotiation rules, as pure functions
//	exchange.go    both ends of an exchange built from the above
//	keyfile.go     PEM key files: static KEM keys, X25519 and EC keys
//	packet.go      PacketCipher: the packet format, Seal and Open
//	rotation.go    the key-rotation state machine
//	config.go      enc.conf parsing and its checks
//	cert.go        certificates and signing keys: parsing, size limits, Credentials
//	mldsa.go       ML-DSA-44/65/87 keys and signatures, their X.509 and PKCS#8 forms
//	sign.go        OAP signatures: Sign and Verify with the reference's digest rules
//	truststore.go  the CA and intermediate store; VerifyPeer (chain, dates, CN)
//	pqchain.go     chain checks crypto/x509 cannot do: ML-DSA signatures
//	secdir.go      the security directory's layout and loaders
//	issue.go       making keys and certificates (cmd/ocert, tests)
//	pqissue.go     certificates with an ML-DSA key or signature
//	errors.go      sentinel errors and their errno values
//
// # Algorithms
//
// Cipher, Kex and Digest are NIDs (OpenSSL's, plus 2053 and 2054 for the
// hybrid KEMs), as carried in OAP headers and IRMd replies. Rank orders each
// kind weakest first; negotiation compares ranks. 0 ranks 0; unknown NIDs and
// algorithms this build cannot run rank -1, as the reference ranks NIDs
// outside its build's supported set, so a peer asking for one is refused.
// Unsupported here: ffdhe2048/3072/4096 (no RFC 7919 groups with OpenSSL's
// encodings in the standard library), X448 and X448MLKEM1024 (no X448), and
// ML-KEM-512 (crypto/mlkem has 768 and 1024 only). They keep their names,
// so enc.conf naming them fails with ErrUnsupported (-ENOTSUP), not as a
// syntax error. ChaCha20-Poly1305 and BLAKE2 come from golang.org/x/crypto;
// ML-DSA, and ML-KEM decapsulation from an expanded key, from
// github.com/cloudflare/circl (pure Go); the rest is the standard library.
//
// # Key exchange
//
// Every exchange ends in a KeySize (32) byte flow key from DeriveKey (HKDF,
// L = 32, the negotiated digest, SHA-256 for 0):
//
//	DHE  IKM = raw shared secret (x-coordinate / X25519 output)
//	     salt = SHA-256(both DER public keys, lexicographically smaller first)
//	     info = "o7s-ossl-dhe"
//	KEM  IKM = shared secret (hybrid: ML-KEM secret ‖ X25519 secret)
//	     salt = SHA-256(encapsulation key as carried: DER, or raw for hybrids)
//	     info = "o7s-ossl-encap"
//
// Public keys travel as DER SubjectPublicKeyInfo (named curve, uncompressed
// point; ML-KEM with no parameters, RFC 9935); X25519MLKEM768 keys and
// ciphertexts travel raw, ML-KEM part first (the TLS layout), and are told
// apart by length. ParsePublicKey accepts only canonical encodings: what it
// parses re-encodes to the same bytes.
//
// NegotiateServer and NegotiateClient are the rules of irmd.md §4.8 with no
// I/O: policy and header fields in, an Agreement or a refusal out.
// PrepareClient, ClientKex.Complete and ServerExchange run a whole exchange
// on top of them; the caller moves Offer and Answer fields into and out of
// the OAP header (package oap) and sets its F and R flags.
//
// # Packets
//
// A PacketCipher holds one flow's key schedule and serves both directions,
// as in the reference: packets are IV ‖ ciphertext ‖ tag, the IV random but
// for bit 7 of byte 0, the key phase; keys rotate every 2^20 packets counted
// in both directions (rotation.go has the exact rules). Open reports
// ErrAuthentication for packets to drop and count. Seal follows the
// reference's rules exactly, so a reference peer opens what it sends. Open
// goes beyond the reference for the AEADs, whose failures are unambiguous:
// it tries the current key, the previous one (and older ones while the
// peer is not seen to use the current key) and the next few of the key
// chain, and moves to a key only when a packet verifies under it; the
// unauthenticated phase bit is not used and a forged packet changes no
// state. With the shared counter, a reliable flow's data one way and its ACKs
// the other otherwise make the two ends rotate past each other and stall
// (see rotation.go). CTR packets carry no integrity, and a CTR receiver
// cannot detect a key mismatch: it follows the reference's rules, and a
// boundary crossed by the peer's packet makes this end's next packet use the
// old key, which the peer decrypts to garbage (as with the reference).
// Prefer an AEAD.
//
// # Certificates and signatures
//
// A name's Credentials (its certificate and crypto.Signer key, from crt.pem
// and key.pem of the SecurityDir) sign OAP headers: Sign(key, md, signed
// region), where md is the header's md_nid (ECDSA and RSA over that digest,
// SHA-256 for 0; Ed25519 pure, md 0 only; ML-DSA pure whatever md is). The
// receiver checks the certificate with TrustStore.VerifyPeer (chain to a
// self-signed certificate of the CA and intermediate directories, validity
// at the given time, CA rights, and for the client CN = the name it
// allocated to), then Verify(peer.Cert, md, signed region, signature).
//
// ML-DSA (RFC 9881) rides on crypto/x509 where it can: a certificate with
// an ML-DSA key parses with PublicKey nil, which ParseCertificate (and the
// trust store, for its own certificates) fills with circl's key; a chain
// crypto/x509 cannot verify because an ML-DSA signature is in it is
// checked by pqchain.go with the same rules; Issue builds certificates
// with ML-DSA in them by letting crypto/x509 make the TBSCertificate with a
// stand-in key and replacing the key and signature algorithm (pqissue.go).
// SLH-DSA is refused by name.
//
// # Errors
//
// Every error wraps a sentinel of errors.go; Errno gives the code the
// reference reports: ErrUnsupported → ENOTSUP, ErrConfig → EINVAL, everything
// else (refusals, bad key material, a key exchange without cipher, refused
// certificates and signatures) → ECRYPT. ErrNoCredentials is no failure:
// that side is unauthenticated.
//
// # Users
//
// Package oap carries Offer and Answer in the OAP header (oap.Request,
// oap.Serve, ClientState.Finish); the IRMd loads enc.conf per name and side
// with LoadConfig and hands the cipher and key to applications in its
// flow-allocation replies; the flow library keeps a PacketCipher per
// encrypted flow, between FRCT and CRC. Certificates and signatures
// (truststore.go, sign.go) are used by OAP authentication: the IRMd loads the
// TrustStore at start and Credentials per allocation, signs and verifies
// headers. The server's static KEM key files load in every form the
// reference writes: PKCS#8 PEM ML-KEM keys with the seed, the expanded key
// or both (ParseKeyPairPEM), and the raw hybrid private key (kex.key.raw,
// OpenSSL's 2432-byte form with the expanded ML-KEM key; ParseRawKeyPair).
// crypto/mlkem builds keys from seeds only, so a key known only in
// expanded form is held and decapsulated by github.com/cloudflare/circl's
// ML-KEM, after the checks of FIPS 203 (mlkemexp.go).
package crypt
