package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// TestOpingQoS: oping with the in-order cubes runs FRCT at both ends (the
// server adopts the client's QoS), through the local IPCP and directly.
func TestOpingQoS(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			e := setup(t, rig.Options{NoDirect: !direct})
			e.Irm("ipcp", "bootstrap", "type", "local", "name", "local-ipcp", "layer", "local-layer")
			e.Irm("name", "register", "oping.srv", "layer", "local-layer")
			srv := e.Start("oping", "-l")
			srv.WaitOutput(t, "Ouroboros ping server started.", 10*time.Second)
			e.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", "oping.srv")
			for _, q := range []string{"data", "best", "voice"} {
				out, errOut, code := e.Run("oping", "-n", "oping.srv", "-c", "5", "-i", "20ms", "-q", q)
				if code != 0 {
					t.Fatalf("oping -q %s exit %d:\n%s%s", q, code, out, errOut)
				}
				checkOping(t, out)
			}
			// A flood of 2000 pings on a reliable flow: nothing lost or reordered.
			out, errOut, code := e.Run("oping", "-n", "oping.srv", "-c", "2000", "-i", "0", "-q", "data", "-Q")
			if code != 0 || !strings.Contains(out, "2000 packets transmitted, 2000 received, 0 out-of-order") {
				t.Fatalf("oping -q data flood exit %d:\n%s%s", code, out, errOut)
			}
		})
	}
}

// TestOperfQoSData: operf over reliable flows; the server counts exactly
// what the client sent, one way and echoed.
func TestOperfQoSData(t *testing.T) {
	e, srv := perfServer(t, false, "operf", "operf.srv", "Ouroboros perf server started.")
	uni := e.Start("operf", "-n", "operf.srv", "-d", "1s", "-f", "--qos", "data", "--json")
	bi := e.Start("operf", "-n", "operf.srv", "-t", "bi", "-d", "1s", "-f", "-s", "1000", "--qos", "data", "--json")
	uniSum := perfJSON(t, "uni client", perfWait(t, "uni client", uni))
	biSum := perfJSON(t, "bi client", perfWait(t, "bi client", bi))
	if uniSum.Sent == 0 || uniSum.Error != "" {
		t.Fatalf("uni client %+v", uniSum)
	}
	if biSum.Sent == 0 || biSum.Received != biSum.Sent {
		t.Errorf("bi client on a reliable flow lost echoes: %+v", biSum)
	}
	perfWaitCount(t, srv, " ended.\n", 2, 10*time.Second)
	sum := perfJSON(t, "server", perfStop(t, srv))
	for _, f := range sum.Flows {
		if f.Test == "uni" && f.Packets != uniSum.Sent {
			t.Errorf("uni: server got %d packets, client sent %d", f.Packets, uniSum.Sent)
		}
	}
	t.Logf("reliable flood: %d packets one way, %d echoed", uniSum.Sent, biSum.Received)
}
