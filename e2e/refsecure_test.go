package e2e

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// refSecDir is the reference's security directory: <prefix>/etc/ouroboros/
// security, fixed when it was built (its irmd has no option for it).
const refSecDir = refPrefix + "/nodirect/etc/ouroboros/security"

// refSecurityDir gives the reference node a security directory of its own:
// a tmpfs mounted on <prefix>/etc inside the node's private mount
// namespace, so that other reference nodes do not see its files. The host
// needs <prefix>/etc as a mount point; it is created if missing and removed
// afterwards if it was created here (and is empty).
func refSecurityDir(t *testing.T, r *refNode) {
	t.Helper()
	const mp = refPrefix + "/nodirect/etc"
	if _, err := os.Stat(mp); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(mp, 0o755); err != nil {
			t.Fatalf("mount point for the reference's security directory: %v", err)
		}
		t.Cleanup(func() { os.Remove(mp) }) // only if empty: nothing of anyone else's goes
	}
	r.run("exec", r.name, "mount", "-t", "tmpfs", "o7s-sec", mp)
}

// refEncConf writes an enc.conf for name on side in the reference node's
// security directory.
func refEncConf(t *testing.T, r *refNode, side, name, conf string) {
	t.Helper()
	dir := refSecDir + "/" + side + "/" + name
	r.run("exec", r.name, "sh", "-c", `mkdir -p "$0" && printf '%s' "$1" > "$0/enc.conf"`, dir, conf)
}

// startUDPPair starts our irmd in the reference node's namespace with the
// security directory sec, and a udp4 layer "udp" on both sides (ours at
// 10.99.0.2, the reference's at 10.99.0.1). oping.go is registered on our
// side; each of refNames is served on the reference's side by its oping
// (bound, started on demand), and our udp4 IPCP finds it at 10.99.0.1.
func startUDPPair(t *testing.T, r *refNode, sec string, refNames ...string) *rig.Instance {
	t.Helper()
	addrs := map[string]string{}
	for _, n := range refNames {
		addrs[n] = "10.99.0.1"
	}
	hosts := writeHosts(t, addrs)
	in := rig.Start(t, rig.Options{NetNS: r.ns, NoDirect: true, SecurityDir: sec,
		Env: []string{udp.HostsEnv + "=" + hosts}})
	in.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", "10.99.0.2")
	in.Irm("name", "register", "oping.go", "layer", "udp")
	r.bootstrap("10.99.0.1")
	r.run("host", r.name, "oping.go", "10.99.0.2")
	for _, n := range append([]string{"oping.go"}, refNames...) {
		r.run("exec", r.name, "irm", "name", "create", n)
	}
	r.serveOping("udp", refNames...)
	return in
}

// ourOpingToRef runs our oping (10 raw pings) to the reference's oping.ref
// until it answers all of them (60 s: the reference's server starts on
// demand) and returns its output; kind describes the server in the
// failure message ("encrypting", "authenticated").
func ourOpingToRef(t *testing.T, in *rig.Instance, r *refNode, kind string) string {
	t.Helper()
	var out, errOut string
	code := -1
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		out, errOut, code = in.Run("oping", "-n", "oping.ref", "-c", "10", "-i", "20ms")
		if code == 0 {
			break
		}
	}
	if code != 0 || !strings.Contains(out, "10 packets transmitted, 10 received") {
		t.Fatalf("our oping to the reference's %s server: exit %d\n%s%s\nour irmd log (tail):\n%s\nreference irmd log (tail):\n%s",
			kind, code, out, errOut, lastLines(in.Log(), 15), r.logTail())
	}
	return out
}

// refOpingToOurs starts our oping server for oping.go and runs the
// reference's oping (10 raw pings) to it, up to 4 times, and returns the
// output of the run that got all answers; kind describes our server in
// the failure message.
func refOpingToOurs(t *testing.T, r *refNode, in *rig.Instance, kind string) string {
	t.Helper()
	srv := opingServer(t, in, "oping.go")
	var rout string
	var err error
	for try := 1; try <= 4; try++ {
		rout, err = r.try(time.Minute, "exec", r.name, "timeout", "-k", "2", "30", "stdbuf", "-oL", "oping", "-n", "oping.go",
			"-c", "10", "-i", "20", "-q", "raw")
		if m := opingSummary.FindStringSubmatch(rout); err == nil && m != nil && m[2] == "10" {
			break
		}
		// The reference client fails now and then against any server
		// (TestReferenceClientToOurServer): try again with a new IPCP.
		t.Logf("reference oping, attempt %d: %v\n%s", try, err, lastLines(rout, 5))
		r.renew()
	}
	if m := opingSummary.FindStringSubmatch(rout); err != nil || m == nil || m[2] != "10" {
		t.Fatalf("the reference's oping to our %s server: %v\n%s\nour server:\n%s\nour irmd log (tail):\n%s\nreference irmd log (tail):\n%s",
			kind, err, rout, lastLines(srv.Out.String(), 5), lastLines(in.Log(), 15), r.logTail())
	}
	return rout
}

// TestReferenceSecureFlows: encrypted flows (P-256 key exchange,
// AES-256-GCM, no certificates) over udp4 between our namespace and a
// reference node, both ways: our oping to the reference's oping server
// (raw and reliable), and the reference's oping to ours. Both ends require encryption, so a
// flow that works is an encrypted one: a plaintext answer is refused by an
// encrypting client, a plaintext request by an encrypting server.
func TestReferenceSecureFlows(t *testing.T) {
	r := startRefNode(t)
	refSecurityDir(t, r)
	const conf = "kex = prime256v1\ncipher = aes-256-gcm\nkdf = sha256\n"
	refEncConf(t, r, "server", "oping.ref", conf)
	refEncConf(t, r, "client", "oping.go", conf)
	sec := t.TempDir()
	encConf(t, sec, "client", "oping.ref", conf)
	encConf(t, sec, "server", "oping.go", conf)

	in := startUDPPair(t, r, sec, "oping.ref")

	// Ours to the reference's server.
	out := ourOpingToRef(t, in, r, "encrypting")
	in.WaitLog("Flow to oping.ref encrypted: prime256v1, aes-256-gcm, kdf sha256", 20*time.Second)
	t.Logf("our oping to the reference's server, encrypted: %s", lastLine(opingSummary.FindString(out)))
	// FRCT inside the encryption: a reliable flow (the reference's FRCT
	// stalls after 64 packets between two of its own nodes: 20 here).
	out, errOut, code := in.Run("oping", "-n", "oping.ref", "-c", "20", "-i", "20ms", "-q", "data")
	if code != 0 || !strings.Contains(out, "20 packets transmitted, 20 received") {
		t.Fatalf("our reliable oping to the reference's encrypting server: exit %d\n%s%s\nreference irmd log (tail):\n%s",
			code, out, errOut, r.logTail())
	}
	t.Logf("our oping -q data to the reference's server, encrypted: %s", lastLine(opingSummary.FindString(out)))

	// The reference's client to our server.
	rout := refOpingToOurs(t, r, in, "encrypting")
	in.WaitLog("Flow for oping.go encrypted: prime256v1, aes-256-gcm, kdf sha256", 20*time.Second)
	t.Logf("the reference's oping to our server, encrypted: %s", lastLine(opingSummary.FindString(rout)))
	// The reference read its enc.conf on both sides.
	for _, n := range []string{"oping.ref", "oping.go"} {
		eventually(t, "the reference's irmd to enable encryption for "+n, func() bool {
			return strings.Contains(r.logSince(0), "Encryption enabled for "+n+".")
		})
	}
}

// TestReferencePostQuantumFallback: a client enc.conf that names no kex
// proposes the post-quantum default, X25519MLKEM768, first. A reference
// server built without ML-KEM (as the one here, on OpenSSL 3.0) refuses it
// at once with ECRYPT; our client then tries prime256v1, the kex such a
// file means to the reference, and the flow is encrypted with it. A client
// that names the hybrid gets no such second try: it is refused.
func TestReferencePostQuantumFallback(t *testing.T) {
	r := startRefNode(t)
	refSecurityDir(t, r)
	refEncConf(t, r, "server", "oping.ref", "cipher = aes-256-gcm\n")
	refEncConf(t, r, "server", "pq.ref", "cipher = aes-256-gcm\n")
	sec := t.TempDir()
	encConf(t, sec, "client", "oping.ref", "cipher = aes-256-gcm\n")
	encConf(t, sec, "client", "pq.ref", "kex = X25519MLKEM768\ncipher = aes-256-gcm\n")
	in := startUDPPair(t, r, sec, "oping.ref", "pq.ref")

	out := ourOpingToRef(t, in, r, "encrypting")
	in.WaitLog("The server of oping.ref or the layer refused X25519MLKEM768 (encryption error), proposed because the client's enc.conf names no kex; trying prime256v1.", 20*time.Second)
	in.WaitLog("Flow to oping.ref encrypted: prime256v1, aes-256-gcm, kdf sha256", 20*time.Second)
	t.Logf("our oping to the reference's server after the fallback: %s", lastLine(opingSummary.FindString(out)))

	// Named: refused, and not tried again. The reference's server starts on
	// demand: an attempt before it accepts fails otherwise; and under load
	// the reference's irmd can give up on its own IPCP's answer ("IPCP
	// alloc_resp timed out after 508 ms", seen in a loaded CI run) and send
	// our client nothing, which then times out. Try until the refusal
	// arrives.
	var errOut string
	code, tries := -1, 0
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		_, errOut, code = in.Run("oping", "-n", "pq.ref", "-c", "1")
		tries++
		if code == 0 || strings.Contains(errOut, "encryption error") || time.Now().After(end) {
			break
		}
	}
	if strings.Contains(in.Log(), "The server of pq.ref or the layer refused") {
		t.Errorf("a client that named its kex fell back:\n%s", lastLines(in.Log(), 15))
	}
	if code != 0 && !strings.Contains(errOut, "encryption error") {
		// Seen once in a loaded CI run: after its irmd gave up on its
		// IPCP's answer to the first request, the reference's irmd saw
		// none of our next requests (its udp4 IPCP passed them on no
		// more), so no refusal could come. A limitation of the
		// reference, not of ours: our irmd's first request reached it
		// and was refused there.
		rlog := r.logSince(0)
		arrived := strings.Count(rlog, "Flow request arrived for pq.ref")
		refused := strings.Contains(rlog, "Client KEX X25519MLKEM768 too weak")
		if refused && strings.Contains(rlog, "alloc_resp timed out") && arrived < tries {
			t.Skipf("the reference's udp4 IPCP passed %d of our %d flow requests for pq.ref to its irmd after its irmd "+
				"gave up on its answer (\"IPCP alloc_resp timed out\"): no refusal can come; a limitation of the reference "+
				"on a loaded machine\nreference irmd log (tail):\n%s", arrived, tries, r.logTail())
		}
	}
	if code == 0 || !strings.Contains(errOut, "encryption error") {
		t.Fatalf("our oping naming X25519MLKEM768 to a reference server without ML-KEM: exit %d\n%s\nreference irmd log (tail):\n%s",
			code, errOut, r.logTail())
	}
}
