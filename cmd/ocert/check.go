package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// check verifies a name's files the way the IRMds will use them: the
// credentials load, the certificate chains to a CA of cacert/ (through
// untrusted/) today, its CN is the name, and the key signs what the
// certificate verifies.
func check(o options, stdout io.Writer) error {
	store, err := o.dir.LoadTrustStore()
	if err != nil {
		return err
	}
	creds, err := o.dir.LoadCredentials(o.side, o.name)
	if err != nil {
		return err
	}
	peer, err := store.VerifyPeer(creds.DER(), o.name, time.Now())
	if err != nil {
		return err
	}
	msg := []byte("ocert check " + o.name)
	sig, err := crypt.Sign(creds.Key, 0, msg)
	if err != nil {
		return err
	}
	if err := crypt.Verify(peer.Cert, 0, msg, sig); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s certificate OK (%s, issued by %s, valid until %s).\n", o.name, o.side,
		crypt.KeyType(peer.Cert.PublicKey), peer.Cert.Issuer.CommonName, peer.Cert.NotAfter.UTC().Format(time.DateOnly))
	return nil
}
