package irmd

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/oap"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// Secure flows (irmd.md §4.4): the IRMd keeps, per name and side, the files
// of the name's security policy in its security directory, in the
// reference's layout:
//
//	<dir>/server/<name>/enc.conf        the accepting side's policy
//	<dir>/server/<name>/kex.key.pem     its static KEM key (kem_mode=client;
//	                                    kex.key.raw for a hybrid)
//	<dir>/client/<name>/enc.conf        the allocating side's policy
//	<dir>/client/<name>/kex.srv.pub.pem the server's static KEM public key
//	                                    (.raw for a hybrid)
//
// The configuration file may name other enc.conf files per name
// (server_enc_file, client_enc_file). Files are read for every allocation,
// so a change applies to the next flow.
// A missing enc.conf means no encryption asked by that side. A client's
// enc.conf that names no kex proposes crypt.PostQuantumDefault first; a
// remote allocation refused for it (ECRYPT, ENOTSUP, EMSGSIZE) is made once
// more with the file's prime256v1 (flowAlloc).
//
// Authentication (irmd.md §4.4, §4.6):
//
//	<dir>/cacert/*, <dir>/untrusted/*   the trust store, read once by New
//	<dir>/server/<name>/crt.pem, key.pem the name's credentials when serving it
//	<dir>/client/<name>/crt.pem, key.pem credentials for allocating to it (optional)
//
// (the configuration file may name other files: server_crt_file,
// server_key_file, client_crt_file, client_key_file). A side with both
// files sends its certificate and signs its OAP message; without them it
// is unauthenticated. A side that receives a certificate checks it against
// the trust store and the signature; the client also requires the CN to be
// the name it allocates to. Credentials are read for every allocation.

// maxKeyFile bounds a key file the IRMd reads, in bytes.
const maxKeyFile = 64 << 10

// secDir returns the IRMd's security directory (crypt.DefaultSecurityDir
// when the configuration names none). Its paths for a name are meaningful
// only for names crypt.CheckName accepts.
func (d *Daemon) secDir() crypt.SecurityDir { return crypt.SecurityDir(d.cfg.SecurityDir) }

// encConfig loads the enc.conf of name on side: the file the
// configuration file gave for the name (server_enc_file, client_enc_file),
// else the one in the security directory.
func (d *Daemon) encConfig(side crypt.Side, name string) (crypt.Config, error) {
	var p string
	if d.reg != nil {
		if n, ok := d.reg.GetName(name); ok {
			p = n.CEnc
			if side == crypt.Server {
				p = n.SEnc
			}
		}
	}
	if p == "" {
		if err := crypt.CheckName(name); err != nil {
			// No file can exist for such a name: no policy.
			d.log.Debug(fmt.Sprintf("No %s enc.conf for %s: %v.", side, name, err))
			return crypt.Config{}, nil
		}
		p = d.secDir().EncConfPath(side, name)
	}
	cfg, err := crypt.LoadConfig(p)
	if err != nil {
		return crypt.Config{}, err
	}
	if cfg.Encrypted() {
		d.log.Debug(fmt.Sprintf("Encryption enabled for %s (%s side: %s, %s).", name, side, cfg.Kex, cfg.Cipher))
	} else {
		d.log.Debug(fmt.Sprintf("Key exchange not configured for %s (%s side).", name, side))
	}
	return cfg, nil
}

// loadTrust loads the trust store of the security directory: its CA
// directory, then its intermediate directory. Missing directories are an
// empty store; a file that is not a PEM certificate fails.
func loadTrust(cfg Config) (*crypt.TrustStore, error) {
	dir := crypt.SecurityDir(cfg.SecurityDir)
	s, err := dir.LoadTrustStore()
	if err != nil {
		return nil, fmt.Errorf("failed to load the CA and intermediate certificates of %s: %w", dir.Root(), err)
	}
	return s, nil
}

// credentials loads the certificate and key of name on side: the files
// the configuration file gave for the name, else those of the security
// directory. nil, nil: the name has none on that side (unauthenticated).
func (d *Daemon) credentials(side crypt.Side, name string) (*crypt.Credentials, error) {
	var crt, key string
	if d.reg != nil {
		if n, ok := d.reg.GetName(name); ok {
			if side == crypt.Server {
				crt, key = n.SCrt, n.SKey
			} else {
				crt, key = n.CCrt, n.CKey
			}
		}
	}
	if crt == "" || key == "" {
		if crypt.CheckName(name) != nil {
			return nil, nil // no file can exist for such a name
		}
		if crt == "" {
			crt = d.secDir().CrtPath(side, name)
		}
		if key == "" {
			key = d.secDir().KeyPath(side, name)
		}
	}
	c, err := crypt.LoadCredentials(crt, key)
	if errors.Is(err, crypt.ErrNoCredentials) {
		return nil, nil
	}
	return c, err
}

// readKeyFile reads a key file of at most maxKeyFile bytes.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxKeyFile)
	}
	return b, nil
}

// clientRequest builds the OAP request for an allocation to name with the
// client's policy for it, proposing crypt.PostQuantumDefault where the
// policy names no kex. Errors are logged; the errno is the application's.
func (d *Daemon) clientRequest(name string) ([]byte, *oap.ClientState, oerr.Errno) {
	req, st, _, e := d.clientRequestPQ(name, true)
	return req, st, e
}

// clientRequestPQ is clientRequest; pq false proposes the policy's kex as
// the file gives it (prime256v1 where it names none). proposedPQ: the
// request proposed crypt.PostQuantumDefault in place of a kex the policy
// left unset, so a refusal of it may be tried again with pq false.
func (d *Daemon) clientRequestPQ(name string, pq bool) (req []byte, st *oap.ClientState, proposedPQ bool, e oerr.Errno) {
	cfg, err := d.encConfig(crypt.Client, name)
	if err != nil {
		d.log.Error(fmt.Sprintf("Flow allocation to %s refused: client enc.conf: %v.", name, err))
		return nil, nil, false, crypt.Errno(err)
	}
	if pq {
		cfg, proposedPQ = cfg.WithPostQuantum()
	}
	creds, err := d.credentials(crypt.Client, name)
	if err != nil {
		d.log.Error(fmt.Sprintf("Flow allocation to %s refused: client credentials: %v.", name, err))
		return nil, nil, false, oerr.EBADF // as the reference: its client prepare fails with EBADF
	}
	opt := oap.RequestOptions{Now: time.Now(), Enc: cfg, Creds: creds, Name: name, Trust: d.trust}
	if cfg.Kex.IsKEM() && cfg.KEMMode == crypt.KEMClient {
		err := crypt.CheckName(name)
		var b []byte
		if err == nil {
			b, err = readKeyFile(d.secDir().KexServerPubPath(name, cfg.Kex.IsHybrid()))
		}
		if err == nil {
			if cfg.Kex.IsHybrid() {
				opt.ServerKey, err = crypt.ParsePublicKey(b, true)
			} else {
				opt.ServerKey, err = crypt.ParsePublicKeyPEM(b)
			}
		}
		if err != nil {
			d.log.Error(fmt.Sprintf("Flow allocation to %s refused: server public key for kem_mode=client: %v.", name, err))
			return nil, nil, false, oerr.ECRYPT
		}
	}
	req, st, err = oap.Request(opt)
	if err != nil {
		d.log.Error(fmt.Sprintf("Flow allocation to %s refused: OAP request: %v.", name, err))
		return nil, nil, false, crypt.Errno(err)
	}
	return req, st, proposedPQ, 0
}

// clientFinish checks the response to an allocation to name and returns the
// flow's key. A refusal (downgrade, bad key share, bad response) is logged.
func (d *Daemon) clientFinish(name string, st *oap.ClientState, resp []byte) (oap.Result, bool) {
	res, err := st.Finish(resp)
	if err != nil {
		d.log.Error(fmt.Sprintf("Flow allocation to %s refused: OAP response: %v.", name, err))
		return oap.Result{}, false
	}
	if res.Peer != "" {
		d.log.Info(fmt.Sprintf("Flow to %s authenticated: the server's certificate is for %s.", name, res.Peer))
	}
	if res.Encrypted() {
		d.log.Info(fmt.Sprintf("Flow to %s encrypted: %s, %s, kdf %s.", name, res.Kex, res.Cipher, res.KDF))
	}
	return res, true
}

// serverServe answers an OAP request for name with the server's policy. On
// failure it logs why and returns the errno for IPCP_FLOW_ALLOC_RESP:
// ENOTSUP for an algorithm this build does not run, ECRYPT for a refused
// or failed key exchange or a bad policy file, EAUTH for the rest (decoding,
// freshness, replay, certificates, signatures, unusable credentials).
func (d *Daemon) serverServe(name string, req []byte) ([]byte, oap.Result, oerr.Errno) {
	cfg, err := d.encConfig(crypt.Server, name)
	if err != nil {
		d.log.Error(fmt.Sprintf("Flow request for %s refused: server enc.conf: %v.", name, err))
		return nil, oap.Result{}, oerr.ECRYPT
	}
	creds, err := d.credentials(crypt.Server, name)
	if err != nil {
		d.log.Error(fmt.Sprintf("Flow request for %s refused (%s): server credentials: %v.", name, oerr.EAUTH, err))
		return nil, oap.Result{}, oerr.EAUTH
	}
	opt := oap.ServeOptions{Now: time.Now(), Replay: d.replay, Enc: cfg, Creds: creds, Trust: d.trust,
		Static: func(raw bool) (*crypt.KeyPair, error) {
			if err := crypt.CheckName(name); err != nil {
				return nil, err
			}
			path := d.secDir().KexKeyPath(name, raw)
			b, err := readKeyFile(path)
			if err != nil {
				return nil, err
			}
			var kp *crypt.KeyPair
			if raw {
				kp, err = crypt.ParseRawKeyPair(b)
			} else {
				kp, err = crypt.ParseKeyPairPEM(b)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return kp, nil
		}}
	resp, res, err := oap.Serve(req, opt)
	if err != nil {
		e := oerr.EAUTH
		switch {
		case errors.Is(err, oap.ErrAuth):
		case errors.Is(err, crypt.ErrUnsupported):
			e = oerr.ENOTSUP
		case errors.Is(err, crypt.ErrRefused), errors.Is(err, crypt.ErrInvalidKey),
			errors.Is(err, crypt.ErrNoCipher), errors.Is(err, crypt.ErrUnknownAlgorithm):
			e = oerr.ECRYPT
		}
		d.log.Error(fmt.Sprintf("Flow request for %s refused (%s): %v.", name, e, err))
		return nil, oap.Result{}, e
	}
	if res.Peer != "" {
		d.log.Info(fmt.Sprintf("Flow request for %s authenticated: the client's certificate is for %s.", name, res.Peer))
	}
	if res.Encrypted() {
		d.log.Info(fmt.Sprintf("Flow for %s encrypted: %s, %s, kdf %s.", name, res.Kex, res.Cipher, res.KDF))
	}
	return resp, res, 0
}
