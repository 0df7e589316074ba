package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oap"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// TestReferenceSignsWithOcertFiles: the reference authenticates names with
// the files ocert makes, and its signatures verify here. ocert writes a
// CA, an intermediate and server certificates for three names (P-256,
// P-384 and Ed25519 keys) into a security directory; the reference node
// gets that directory as its own (a copy of its install tree, with the
// directory added, bind-mounted over the original in the node's private
// mount namespace; it reads server credentials at every allocation). A
// reference oping server is bound to each name. From our namespace the test
// sends the reference's udp4 IPCP a FLOW_REQ carrying a minimal OAP request,
// as our irmd does, and checks the FLOW_REPLY's OAP response: the request's
// SHA-384, the name's certificate, which VerifyPeer accepts for the name
// against the same directory's CA and intermediate, and a signature that
// Verify accepts over the signed region, and refuses once a byte of it is
// changed.
func TestReferenceSignsWithOcertFiles(t *testing.T) {
	r := startRefNode(t)
	bin := rig.Bin(t)

	tree, sec := refTree(t) // the security directory, inside a copy of the reference's tree
	ocert := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(filepath.Join(bin, "ocert"), append(args, "-d", sec.Root())...).CombinedOutput(); err != nil {
			t.Fatalf("ocert %v: %v\n%s", args, err, out)
		}
	}
	ocert("ca")
	ocert("im")
	names := map[string]string{"p256": "oping.p256", "p384": "oping.p384", "ed25519": "oping.ed25519"}
	for key, name := range names {
		ocert("name", name, "--server", "-k", key)
	}
	r.run("exec", r.name, "mount", "--bind", tree, refPrefix+"/nodirect")

	r.bootstrap("10.99.0.1")
	for _, name := range names {
		r.serveOping("udp", name)
	}

	store, conn, peer := oapProbe(t, r, sec)
	eid := uint32(100)
	for key, name := range names {
		eid++
		req, resp := oapExchange(t, conn, peer, eid, name)
		h, err := oap.DecodeResponse(resp, 0)
		if err != nil {
			t.Fatalf("%s: the reference's response %x: %v", name, resp, err)
		}
		if want := sha512.Sum384(req); !bytes.Equal(h.ReqHash, want[:]) {
			t.Fatalf("%s: req_hash %x, want SHA-384 of the request %x", name, h.ReqHash, want)
		}
		if len(h.Cert) == 0 {
			t.Fatalf("%s: the reference sent no certificate (it did not load the files ocert made); its log:\n%s", name, r.logTail())
		}
		p, err := store.VerifyPeer(h.Cert, name, time.Now())
		if err != nil {
			t.Fatalf("%s: the reference's certificate: %v", name, err)
		}
		signed := resp[:len(resp)-len(h.Signature)]
		if err := crypt.Verify(p.Cert, crypt.Digest(h.MDNID), signed, h.Signature); err != nil {
			t.Fatalf("%s (%s key, md_nid %d): the reference's signature %x: %v", name, key, h.MDNID, h.Signature, err)
		}
		bad := bytes.Clone(signed)
		bad[len(bad)-1] ^= 1
		if err := crypt.Verify(p.Cert, crypt.Digest(h.MDNID), bad, h.Signature); !errors.Is(err, crypt.ErrSignature) {
			t.Fatalf("%s: signature verified over changed bytes: %v", name, err)
		}
		t.Logf("%s: the reference signed its response with the %s key ocert made (md_nid %d, %d-byte signature); verified", name, key, h.MDNID, len(h.Signature))
	}
}

// oapProbe prepares OAP exchanges with the reference node r from our
// namespace: the trust store of the security directory sec, a UDP socket
// at 10.99.0.2 (closed when the test ends) and the reference's udp4
// address.
func oapProbe(t *testing.T, r *refNode, sec crypt.SecurityDir) (*crypt.TrustStore, *net.UDPConn, *net.UDPAddr) {
	t.Helper()
	store, err := sec.LoadTrustStore()
	if err != nil {
		t.Fatal(err)
	}
	conn := udpIn(t, r.ns, "10.99.0.2:3435")
	t.Cleanup(func() { conn.Close() })
	return store, conn, &net.UDPAddr{IP: net.IPv4(10, 99, 0, 1), Port: wire.UDPPort}
}

// udpIn opens a UDP socket bound to addr inside the network namespace ns
// (the socket stays in the namespace it was made in).
func udpIn(t *testing.T, ns, addr string) *net.UDPConn {
	t.Helper()
	type result struct {
		c   *net.UDPConn
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // not unlocked if restoring fails: the thread then exits with the goroutine
		var res result
		defer func() { ch <- res }()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			res.err = err
			return
		}
		defer self.Close()
		target, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			res.err = err
			return
		}
		defer target.Close()
		if res.err = unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); res.err != nil {
			return
		}
		a, err := net.ResolveUDPAddr("udp4", addr)
		if err == nil {
			res.c, res.err = net.ListenUDP("udp4", a)
		} else {
			res.err = err
		}
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			if res.c != nil {
				res.c.Close()
			}
			res.c, res.err = nil, fmt.Errorf("back to our namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	res := <-ch
	if res.err != nil {
		t.Fatalf("UDP socket at %s in namespace %s: %v", addr, ns, res.err)
	}
	return res.c
}

// oapExchange sends a udp4 FLOW_REQ for name with a minimal OAP request
// (the raw cube's QoS, as the reference's own clients send it) and returns
// the request and the OAP response of the FLOW_REPLY that answers it. The
// request is sent again every 2 s (a first one may arrive before the
// reference has registered the name) for at most 30 s.
func oapExchange(t *testing.T, conn *net.UDPConn, peer *net.UDPAddr, eid uint32, name string) (req, resp []byte) {
	t.Helper()
	return oapExchangeWith(t, conn, peer, eid, name, oap.Header{})
}

// oapExchangeWith is oapExchange with the request's fields from hdr (its
// id and timestamp are set here). A FLOW_REQ unanswered for 2 s is sent
// again as a new request (a new OAP id and timestamp, under SEID eid+1000,
// eid+2000, ...): the reference refuses a request it has seen as a replay
// (EAUTH), and under load its first answer may take longer than 2 s (its
// oping server starts on demand). The first FLOW_REPLY to any of them
// counts, with the request it answers.
func oapExchangeWith(t *testing.T, conn *net.UDPConn, peer *net.UDPAddr, eid uint32, name string, hdr oap.Header) (req, resp []byte) {
	t.Helper()
	nameHash, err := hash.Sum(hash.MD5, name)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[uint32][]byte{} // SEID → the OAP request it carried
	buf := make([]byte, 65536)
	for try, end := uint32(0), time.Now().Add(30*time.Second); time.Now().Before(end); try++ {
		h := hdr
		rand.Read(h.ID[:])
		h.Timestamp = uint64(time.Now().UnixNano())
		r, err := h.Encode()
		if err != nil {
			t.Fatal(err)
		}
		seid := eid + 1000*try
		sent[seid] = r
		m := wire.UDPMgmt{SEID: seid, Delay: 0xffffffff, Loss: 1, BER: 1, MaxGap: 0xffffffff, Timeout: 120000,
			Code: wire.UDPFlowReq, Data: r}
		copy(m.Hash[:], nameHash)
		if _, err := conn.WriteToUDP(m.Append(nil), peer); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				break // deadline: a new request
			}
			reply, err := wire.ParseUDPMgmt(buf[:n])
			if err != nil || reply.Code != wire.UDPFlowReply || sent[reply.SEID] == nil {
				continue
			}
			if reply.Response != 0 {
				t.Fatalf("%s: the reference refused the flow (request %d of %d): response %d", name, reply.SEID/1000+1, try+1, reply.Response)
			}
			return sent[reply.SEID], bytes.Clone(reply.Data)
		}
	}
	t.Fatalf("%s: no FLOW_REPLY from the reference within 30 s", name)
	return nil, nil
}

// startRefNodeWithTree starts a reference node whose install tree is tree
// (a copy of the reference's, with a security directory added): cnode.sh
// start runs in a mount namespace of its own in which tree is bind-mounted
// over the original, so the node's irmd reads its CA and intermediate
// certificates from there at start-up. The node has no namespace of ours
// joined to it.
func startRefNodeWithTree(t *testing.T, tree string) *refNode {
	t.Helper()
	cnode := refCnode(t)
	r := &refNode{t: t, cnode: cnode, name: fmt.Sprintf("o7ref%05x", mrand.IntN(1<<20)), state: t.TempDir()}
	// The network namespace is made here, in the host's mount namespace:
	// made by cnode.sh inside the mount namespace below, its bind mount
	// under /var/run/netns would be visible there only.
	if out, err := exec.Command("ip", "netns", "add", r.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", r.name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", r.name).Run() })
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$0" "$1" && exec "$2" start "$3" nodirect`, tree, refPrefix+"/nodirect", cnode, r.name)
	cmd.Env = append(os.Environ(), "O7S_REF_STATE="+r.state)
	out, err := cmd.CombinedOutput()
	t.Cleanup(r.stop)
	if err != nil {
		t.Fatalf("starting a reference node on %s: %v\n%s", tree, err, out)
	}
	return r
}

// refTree copies the reference's install tree into a temporary directory
// and returns it with its security directory (empty).
func refTree(t *testing.T) (string, crypt.SecurityDir) {
	t.Helper()
	tree := filepath.Join(t.TempDir(), "nodirect")
	if out, err := exec.Command("cp", "-a", refPrefix+"/nodirect", tree).CombinedOutput(); err != nil {
		t.Fatalf("copying the reference's tree: %v\n%s", err, out)
	}
	return tree, crypt.SecurityDir(filepath.Join(tree, "etc", "ouroboros", "security"))
}

// TestReferenceVerifiesOcertFiles: a reference client checks servers'
// certificates made by ocert as the README says to make them. Both nodes
// are reference nodes over udp4, sharing one security directory: the
// client's irmd loads ocert's CA (cacert/) and intermediate (untrusted/)
// at start, the server's irmd signs with each name's server files. The
// client's oping reaches the name whose certificate is its own; it is
// refused by a server presenting the certificate of another name (wrong
// CN) or one from a CA the client does not trust.
func TestReferenceVerifiesOcertFiles(t *testing.T) {
	if _, err := os.Stat(refPrefix + "/cnode.sh"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and the reference implementation (see TestReferenceSignsWithOcertFiles)")
	}
	bin := rig.Bin(t)
	tree, sec := refTree(t)
	ocert := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(filepath.Join(bin, "ocert"), args...).CombinedOutput(); err != nil {
			t.Fatalf("ocert %v: %v\n%s", args, err, out)
		}
	}
	d := []string{"-d", sec.Root()}
	ocert(append([]string{"ca"}, d...)...)
	ocert(append([]string{"im"}, d...)...)
	ocert(append([]string{"name", "oping.good", "--server"}, d...)...)
	ocert(append([]string{"name", "oping.other", "--server"}, d...)...)
	// oping.wrongcn serves oping.other's certificate and key.
	for _, f := range []string{crypt.CrtFile, crypt.KeyFile} {
		b, err := os.ReadFile(filepath.Join(sec.NameDir(crypt.Server, "oping.other"), f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(sec.NameDir(crypt.Server, "oping.wrongcn"), 0o755)
		if err := os.WriteFile(filepath.Join(sec.NameDir(crypt.Server, "oping.wrongcn"), f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// oping.untrusted has a certificate from a CA that is not installed.
	other := t.TempDir()
	ocert("ca", "-d", other, "--cn", "other.ca")
	ocert("name", "oping.untrusted", "--server", "-d", other, "--issuer", "other.ca")
	if out, err := exec.Command("cp", "-a", filepath.Join(other, "server", "oping.untrusted"), sec.NameDir(crypt.Server, "oping.untrusted")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	cli := startRefNodeWithTree(t, tree)
	srv := startRefNodeWithTree(t, tree)
	cli.run("veth", cli.name, srv.name, "10.97.0.1/24", "10.97.0.2/24")
	cli.bootstrap("10.97.0.1")
	srv.bootstrap("10.97.0.2")
	names := []string{"oping.good", "oping.wrongcn", "oping.untrusted"}
	for _, n := range names {
		srv.serveOping("udp", n)
		cli.run("host", cli.name, n, "10.97.0.2")
		cli.run("exec", cli.name, "irm", "name", "create", n)
	}
	ping := func(name string) (string, error) {
		return cli.try(time.Minute, "exec", cli.name, "timeout", "-k", "2", "30", "stdbuf", "-oL", "oping", "-n", name, "-c", "3", "-i", "100")
	}
	// The good name first, with a few attempts (the reference's udp4
	// IPCP and name query can fail on their own, see its README).
	var out string
	var err error
	for try := 1; try <= 3; try++ {
		if out, err = ping("oping.good"); err == nil && opingSummary.MatchString(out) {
			break
		}
		t.Logf("oping.good, attempt %d: %v\n%s", try, err, out)
	}
	if m := opingSummary.FindStringSubmatch(out); err != nil || m == nil || m[2] == "0" {
		t.Fatalf("the reference client refused (or did not reach) a server with ocert's certificate: %v\n%s\nclient irmd log:\n%s\nserver irmd log:\n%s",
			err, out, cli.logTail(), srv.logTail())
	}
	t.Logf("oping.good: %s", lastLine(opingSummary.FindString(out)))
	// A refusal must be the certificate check's ("OAP completion failed"
	// in the client irmd's log, with the reason before it); the
	// reference's own udp4 failures ("wrong source", a timeout) are
	// retried with a new client IPCP.
	for _, n := range names[1:] {
		for try := 1; ; try++ {
			mark := cli.logLen()
			out, err := ping(n)
			if m := opingSummary.FindStringSubmatch(out); err == nil || m != nil && m[2] != "0" {
				t.Fatalf("%s: the reference client accepted the server: %v\n%s", n, err, out)
			}
			log := cli.logSince(mark)
			if strings.Contains(log, "OAP completion failed for "+n) {
				t.Logf("%s refused by the reference client: %s\nits irmd log:\n%s", n, lastLine(out), log)
				break
			}
			if try == 3 {
				t.Fatalf("%s: the reference client failed, but not in its certificate check, %d times:\n%s\n%s", n, try, out, log)
			}
			t.Logf("%s, attempt %d: the reference failed before its certificate check, retried:\n%s", n, try, log)
			cli.renew()
		}
	}
}

// TestReferenceSignatureDigests: the reference's ECDSA signatures with each
// digest an enc.conf can name verify here, with the digest its md_nid
// names (see the NOTE below for SHA-3). The reference's server signs
// with its enc.conf's digest, and an enc.conf needs a key exchange, so the
// request offers X25519 (crypt.PrepareClient); the test also completes
// the exchange on the reference's answer.
func TestReferenceSignatureDigests(t *testing.T) {
	r := startRefNode(t)
	bin := rig.Bin(t)
	tree, sec := refTree(t)
	ocert := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(filepath.Join(bin, "ocert"), append(args, "-d", sec.Root())...).CombinedOutput(); err != nil {
			t.Fatalf("ocert %v: %v\n%s", args, err, out)
		}
	}
	ocert("ca")
	digests := []crypt.Digest{crypt.SHA256, crypt.SHA384, crypt.SHA512, crypt.SHA3_256, crypt.SHA3_384, crypt.SHA3_512, crypt.BLAKE2s256, crypt.BLAKE2b512}
	name := func(d crypt.Digest) string { return "oping.md-" + d.String() }
	for _, d := range digests {
		ocert("name", name(d), "--server")
		conf := fmt.Sprintf("kex=X25519\ndigest=%s\n", d)
		if err := os.WriteFile(sec.EncConfPath(crypt.Server, name(d)), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.run("exec", r.name, "mount", "--bind", tree, refPrefix+"/nodirect")
	r.bootstrap("10.99.0.1")
	for _, d := range digests {
		r.serveOping("udp", name(d))
	}
	store, conn, peer := oapProbe(t, r, sec)
	eid := uint32(200)
	for _, d := range digests {
		eid++
		cli, err := crypt.PrepareClient(crypt.Config{Kex: crypt.X25519, Cipher: crypt.AES256GCM, KDF: crypt.SHA256}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, resp := oapExchangeWith(t, conn, peer, eid, name(d), oap.Header{
			CipherNID: uint16(cli.Offer.Cipher), KDFNID: uint16(cli.Offer.KDF), Kex: cli.Offer.Kex})
		h, err := oap.DecodeResponse(resp, 0)
		if err != nil {
			t.Fatalf("%s: %v", name(d), err)
		}
		if len(h.Cert) == 0 {
			t.Fatalf("%s: md_nid %d, %d-byte certificate; want a certificate", name(d), h.MDNID, len(h.Cert))
		}
		p, err := store.VerifyPeer(h.Cert, name(d), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// What the reference sends (seen with 0.23.0 on OpenSSL 3):
		// OpenSSL's own NIDs, where SHA3-256 is 1097 (irmd.md §4.3 numbers
		// the SHA-3 digests one lower; crypt.Digest follows the bytes), and
		// for sha3-384, sha3-512 (and once sha512) md_nid 0 with a SHA-256
		// signature or the digest's own NID.
		signedWith := crypt.Digest(h.MDNID)
		switch d {
		case crypt.SHA3_256:
			if h.MDNID != 1097 {
				t.Fatalf("%s: md_nid %d, want 1097 (OpenSSL's NID of SHA3-256)", name(d), h.MDNID)
			}
			if signedWith != crypt.SHA3_256 {
				t.Fatalf("%s: the reference sends md_nid 1097 for SHA3-256 (OpenSSL's NID); crypt reads 1097 as %s", name(d), signedWith)
			}
		case crypt.SHA3_384, crypt.SHA3_512:
			// Seen: md_nid 0 (a SHA-256 signature) for both, and 1099 for
			// sha3-512 once our request carries OpenSSL's NIDs.
			if h.MDNID != 0 && signedWith != d {
				t.Fatalf("%s: md_nid %d, want 0 or %d", name(d), h.MDNID, d)
			}
		default:
			// md_nid 0 (a SHA-256 signature) seen for sha512 too, in one
			// run of many under load: the reference's choice varies.
			if h.MDNID != 0 && signedWith != d {
				t.Fatalf("%s: md_nid %d, want 0 or %d", name(d), h.MDNID, d)
			}
		}
		if err := crypt.Verify(p.Cert, signedWith, resp[:len(resp)-len(h.Signature)], h.Signature); err != nil {
			t.Fatalf("%s: the reference's ECDSA signature (md_nid %d, verified as %s): %v", name(d), h.MDNID, signedWith, err)
		}
		cipher, key, err := cli.Complete(crypt.Answer{Cipher: crypt.Cipher(h.CipherNID), KDF: crypt.Digest(h.KDFNID), Kex: h.Kex})
		if err != nil || cipher != crypt.AES256GCM || len(key) != crypt.KeySize {
			t.Fatalf("%s: completing the key exchange: cipher %s, %d-byte key, %v", name(d), cipher, len(key), err)
		}
		t.Logf("%s: md_nid %d, ECDSA P-256 signature with %s (%d bytes) verified; X25519 exchange completed (%s)", name(d), h.MDNID, orSHA256(signedWith), len(h.Signature), cipher)
	}
}

func orSHA256(d crypt.Digest) crypt.Digest {
	if d == 0 {
		return crypt.SHA256
	}
	return d
}
