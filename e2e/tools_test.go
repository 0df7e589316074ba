package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

var (
	replyLine = regexp.MustCompile(`^64 bytes from oping\.srv: seq=(\d+) time=\d+\.\d{3} (ms|µs)$`)
	statsLine = regexp.MustCompile(`^5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss, time: \d+\.\d{3} ms$`)
	rttLine   = regexp.MustCompile(`^rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} (ms|µs)$`)
)

// checkOping checks the client output of oping -c 5 against the reference format.
func checkOping(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 11 {
		t.Fatalf("oping printed %d lines:\n%s", len(lines), out)
	}
	if lines[0] != "Pinging oping.srv with 64 bytes of data (5 packets):" || lines[1] != "" {
		t.Errorf("header: %q %q", lines[0], lines[1])
	}
	for i := range 5 {
		m := replyLine.FindStringSubmatch(lines[2+i])
		if m == nil || m[1] != strconv.Itoa(i) {
			t.Errorf("reply line %d: %q", i, lines[2+i])
		}
	}
	if lines[7] != "" || lines[8] != "--- oping.srv ping statistics ---" {
		t.Errorf("statistics header: %q %q", lines[7], lines[8])
	}
	if !statsLine.MatchString(lines[9]) || !rttLine.MatchString(lines[10]) {
		t.Errorf("statistics: %q / %q", lines[9], lines[10])
	}
}

// localOpingServer starts an instance with a local layer, the name
// oping.srv registered in it and an oping server bound to the name.
func localOpingServer(t *testing.T, opt rig.Options) (*env, *rig.Proc) {
	t.Helper()
	e := setup(t, opt)
	e.Irm("ipcp", "bootstrap", "type", "local", "name", "local-ipcp", "layer", "local-layer")
	e.Irm("name", "register", "oping.srv", "layer", "local-layer")
	srv := e.Start("oping", "-l")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	e.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "oping.srv")
	return e, srv
}

// TestOpingTutorial follows the reference tutorial: a local layer, a name
// registered in it, an oping server bound to the name, and oping -c 5.
func TestOpingTutorial(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			e, srv := localOpingServer(t, rig.Options{NoDirect: !direct})
			out, errOut, code := e.Run("oping", "-n", "oping.srv", "-c", "5", "-i", "20ms")
			if code != 0 {
				t.Fatalf("oping exit %d:\n%s%s", code, out, errOut)
			}
			checkOping(t, out)
			srv.WaitOutput(t, "Received 64 bytes on fd", time.Second)
			if !strings.Contains(srv.Out.String(), "New flow 64.") {
				t.Errorf("server output:\n%s", srv.Out.String())
			}
			if direct != strings.Contains(e.Log(), "(direct)") {
				t.Errorf("direct=%v but the log says:\n%s", direct, e.Tail())
			}
		})
	}
}

// TestOpingManyClients runs several oping clients at once against one server.
func TestOpingManyClients(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	e.Irm("ipcp", "bootstrap", "type", "local", "name", "local-ipcp", "layer", "local-layer")
	e.Irm("name", "register", "oping.srv", "layer", "local-layer")
	srv := e.Start("oping", "-l", "-Q")
	srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
	e.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "oping.srv")
	clients := make([]*rig.Proc, 8)
	for i := range clients {
		clients[i] = e.Start("oping", "-n", "oping.srv", "-c", "50", "-i", "0", "-Q")
	}
	for i, c := range clients {
		if !c.Wait(30 * time.Second) {
			t.Fatalf("client %d did not finish:\n%s", i, c.Out.String())
		}
		if !strings.Contains(c.Out.String(), "50 packets transmitted, 50 received") {
			t.Errorf("client %d:\n%s", i, c.Out.String())
		}
	}
}

// TestOpingAutoStart binds the oping program with auto-start: the first
// allocation starts the server.
func TestOpingAutoStart(t *testing.T) {
	e := setup(t, rig.Options{})
	e.Irm("bind", "program", "oping", "name", "oping.srv", "auto", "--", "-l")
	out, errOut, code := e.Run("oping", "-n", "oping.srv", "-c", "5", "-i", "10ms")
	if code != 0 {
		t.Fatalf("oping exit %d:\n%s%s\n%s", code, out, errOut, e.Tail())
	}
	checkOping(t, out)
	e.WaitLog("Starting "+e.Bin+"/oping for oping.srv.", time.Second)
}

// TestOpingUnknownName checks the client's error for a name nobody serves.
func TestOpingUnknownName(t *testing.T) {
	e := setup(t, rig.Options{})
	out, errOut, code := e.Run("oping", "-n", "nobody", "-c", "1")
	if code != 1 || !strings.Contains(out+errOut, "Failed to allocate flow: -1007.") {
		t.Fatalf("exit %d, output %q", code, out+errOut)
	}
}

// TestOecho runs the oecho server and client.
func TestOecho(t *testing.T) {
	e := setup(t, rig.Options{})
	srv := e.Start("oecho", "-l")
	srv.WaitOutput(t, "Starting the server.", 10*time.Second)
	e.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "oecho")
	out, errOut, code := e.Run("oecho")
	if code != 0 || out != "Server replied with Client says hi!\n" {
		t.Fatalf("oecho exit %d: %q %q", code, out, errOut)
	}
	srv.WaitOutput(t, "Message from client is Client says hi!.", time.Second)
}

// TestLocalIPCPPacedNoStall: paced pings through the local IPCP must not
// wait for the end of a forwarder's hot wait. The IPCP's forwarders wait on
// their ring's futex after a packet (datapath.Puller); when the one woken by
// the request's doorbell held the only thread that had been in the Go
// netpoller, the reply's doorbell (on the other forwarder's socket) was read
// only when that wait timed out, and every ping took the hot window, 10 ms.
// Not a speed test: it checks that the fastest of 20 pings, 30 ms apart,
// took less than half a hot window, which every one of them did without
// that defect, on a loaded machine too.
func TestLocalIPCPPacedNoStall(t *testing.T) {
	e, _ := localOpingServer(t, rig.Options{NoDirect: true})
	out, errOut, code := e.Run("oping", "-n", "oping.srv", "-c", "20", "-i", "30ms")
	if code != 0 {
		t.Fatalf("oping exit %d:\n%s%s", code, out, errOut)
	}
	best := fastestReply(t, out, 20)
	if best >= 5*time.Millisecond {
		t.Errorf("the fastest of 20 paced pings through the local IPCP took %v (a forwarder's hot window is 10 ms):\n%s", best, out)
	}
}

// fastestReply returns the shortest time= of oping's reply lines in out,
// failing t unless there are n of them.
func fastestReply(t *testing.T, out string, n int) time.Duration {
	t.Helper()
	re := regexp.MustCompile(`time=(\d+\.\d{3}) (ms|µs)`)
	best := time.Hour
	got := 0
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		d := time.Duration(v * float64(time.Millisecond))
		if m[2] == "µs" {
			d = time.Duration(v * float64(time.Microsecond))
		}
		best = min(best, d)
		got++
	}
	if got != n {
		t.Fatalf("%d replies of %d:\n%s", got, n, out)
	}
	return best
}
