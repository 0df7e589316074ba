package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
)

// TestReferenceAuthFlows: encrypted, authenticated flows (P-256 key
// exchange, AES-256-GCM, a P-256 certificate on the server's name and one
// on the client's side) over udp4 between our namespace and a reference
// node, both ways. One CA and intermediate are installed on both; the
// reference node's security directory is in a copy of its install tree
// (as in TestReferenceVerifiesOcertFiles), since it reads its CA files at
// start. A flow that works was signed and verified by both irmds: each
// verifies a certificate the other presents and refuses what does not
// verify. Our client also refuses a reference server that presents
// another name's certificate.
func TestReferenceAuthFlows(t *testing.T) {
	if _, err := os.Stat(refPrefix + "/cnode.sh"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and the reference implementation (see TestReferenceSignsWithOcertFiles)")
	}
	pki := newTestCA(t, "o7s")
	tree, refSec := refTree(t)
	sec := t.TempDir()
	const conf = "kex = prime256v1\ncipher = aes-256-gcm\nkdf = sha256\n"
	pki.install(t, refSec.Root())
	pki.install(t, sec)
	// The reference serves oping.ref and allocates to oping.go; we do the
	// opposite. Each side has a certificate for what it does.
	pki.issue(t, refSec.Root(), crypt.Server, "oping.ref", "oping.ref", "p256")
	pki.issue(t, refSec.Root(), crypt.Server, "wrongcn.ref", "oping.ref", "p256") // another name's certificate
	pki.issue(t, refSec.Root(), crypt.Client, "oping.go", "ref-client.o7s", "p256")
	pki.issue(t, sec, crypt.Server, "oping.go", "oping.go", "p256")
	pki.issue(t, sec, crypt.Client, "oping.ref", "go-client.o7s", "p256")
	encConf(t, refSec.Root(), "server", "oping.ref", conf)
	encConf(t, refSec.Root(), "client", "oping.go", conf)
	encConf(t, sec, "client", "oping.ref", conf)
	encConf(t, sec, "server", "oping.go", conf)

	r := startRefNodeWithTree(t, tree)
	r.ns = r.name + "go"
	if out, err := exec.Command("ip", "netns", "add", r.ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", r.ns, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", r.ns).Run() })
	r.run("veth", r.name, r.ns, "10.99.0.1/24", "10.99.0.2/24")

	in := startUDPPair(t, r, sec, "oping.ref", "wrongcn.ref")

	// Ours to the reference's server.
	out := ourOpingToRef(t, in, r, "authenticated")
	in.WaitLog("Flow to oping.ref authenticated: the server's certificate is for oping.ref.", 20*time.Second)
	in.WaitLog("Flow to oping.ref encrypted: prime256v1, aes-256-gcm, kdf sha256", 20*time.Second)
	t.Logf("our oping to the reference's server, authenticated and encrypted: %s", lastLine(opingSummary.FindString(out)))

	// A reference server presenting another name's certificate is
	// refused (a failure of the reference's udp4 before the exchange is
	// tried again).
	const refused = `Flow allocation to wrongcn.ref refused: OAP response: oap: authentication failed: server certificate: crypt: certificate refused: certificate is for "oping.ref", not "wrongcn.ref"`
	for end := time.Now().Add(60 * time.Second); !strings.Contains(in.Log(), refused); time.Sleep(500 * time.Millisecond) {
		out, errOut, code := in.Run("oping", "-n", "wrongcn.ref", "-c", "1")
		if code == 0 {
			t.Fatalf("our oping accepted a reference server with another name's certificate:\n%s", out)
		}
		if time.Now().After(end) {
			t.Fatalf("our oping to wrongcn.ref failed, but not in the certificate check:\n%s%s\nour irmd log (tail):\n%s", out, errOut, lastLines(in.Log(), 15))
		}
	}

	// The reference's client to our server.
	rout := refOpingToOurs(t, r, in, "authenticated")
	in.WaitLog("Flow request for oping.go authenticated: the client's certificate is for ref-client.o7s.", 20*time.Second)
	in.WaitLog("Flow for oping.go encrypted: prime256v1, aes-256-gcm, kdf sha256", 20*time.Second)
	t.Logf("the reference's oping to our server, authenticated and encrypted: %s", lastLine(opingSummary.FindString(rout)))
}
