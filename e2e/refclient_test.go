package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// How a run of the reference's oping client against our oping -l failed,
// and whether the reference fails the same way against its own oping -l
// server. scripts/ref-client-rates.sh measured both on the same topology
// (the client on a reference node, udp4 between network namespaces,
// oping -c 20 -i 50, 40 interleaved rounds of -q raw, data and best
// against each server, 2 cores under a load average of 4 to 24): 28 of
// the 120 runs failed against the reference's own server, 19 against
// ours, and every kind of failure named below as the reference's own came
// against its own server too (README, "The reference client's own
// failures"). See TestReferenceClientToOurServer.

// refRun is one run of the reference's oping client against our server.
type refRun struct {
	cube      string
	n, min    int    // requests a complete run sends; answers it must get
	sent, got int    // from the client's summary line; 0, 0 without one
	exit      int    // exit status through cnode.sh (128+signal if a signal ended the client), -1 if killed before it exited
	out       string // the client's output
	received  int    // requests our server received on the run's flow
	refLog    string // what the reference node's irmd and IPCPs logged during the run
}

// failure returns "" for a run that passed, else what went wrong and
// whether it is one of the reference's own failures (measured against
// its own server too). A failure that is not the reference's own may be
// ours.
func (r refRun) failure() (what string, refOwn bool) {
	if r.exit == 0 && r.sent == r.n && r.got >= r.min {
		return "", false
	}
	switch {
	case r.exit == 128+11:
		return fmt.Sprintf("the reference client crashed with SIGSEGV (after %d answers; our server had received %d requests)",
			strings.Count(r.out, " bytes from "), r.received), true
	case r.exit == 124 || r.exit == 128+9 || r.exit == -1:
		return fmt.Sprintf("the reference client blocked and was killed by its timeout (%d of %d answers; our server had received %d requests)",
			r.got, r.sent, r.received), true
	case strings.Contains(r.out, "Failed to allocate flow") && strings.Contains(r.refLog, "wrong source"):
		return "the reference's udp4 IPCP dropped our well-formed FLOW_REPLY (\"Flow allocation reply ... from wrong source\", though it came from our address and port 3435) and its allocation timed out", true
	case strings.Contains(r.out, "Failed to allocate flow") && strings.Contains(r.refLog, "Failed to find IPCP"):
		return "the reference's irmd found no IPCP for the name (-1003: its udp4 IPCP did not answer the name query in time, or is gone)", true
	case strings.Contains(r.out, "Failed to allocate flow") && strings.Contains(r.refLog, "Flow allocation timed out"):
		return "the reference's irmd timed out the flow allocation (no reply reached it, or its IPCP did not pass it on)", true
	case strings.Contains(r.out, "Invalid message"):
		return fmt.Sprintf("the reference client reported an invalid message (%d of %d answers; our server had received %d requests)",
			r.got, r.sent, r.received), true
	case r.sent == r.n && r.received < r.sent:
		return fmt.Sprintf("the reference client's sender stopped: our server received only %d of its %d requests and it got %d answers",
			r.received, r.sent, r.got), true
	case r.sent == r.n && r.received == r.sent && r.cube == "best":
		return fmt.Sprintf("the reference client's best-effort receiver lost answers: our server received all %d requests, the client got %d answers",
			r.received, r.got), true
	}
	return fmt.Sprintf("exit status %d, %d sent, %d answered, our server received %d requests", r.exit, r.sent, r.got, r.received), false
}

func TestRefRunFailure(t *testing.T) {
	base := refRun{cube: "data", n: 20, min: 20, sent: 20, got: 20, received: 20}
	for _, tc := range []struct {
		name   string
		edit   func(*refRun)
		want   string // a substring of the description; "" for a pass
		refOwn bool
	}{
		{"pass", func(r *refRun) {}, "", false},
		{"best pass with losses", func(r *refRun) { r.cube, r.min, r.got = "best", 15, 16 }, "", false},
		{"segfault", func(r *refRun) { r.exit, r.sent, r.got, r.received = 139, 0, 0, 1 }, "SIGSEGV", true},
		{"blocked", func(r *refRun) { r.exit, r.got, r.received = 137, 4, 4 }, "killed by its timeout", true},
		{"not exited", func(r *refRun) { r.exit, r.sent, r.got = -1, 0, 0 }, "killed by its timeout", true},
		{"wrong source", func(r *refRun) {
			r.exit, r.sent, r.got, r.received = 1, 0, 0, 0
			r.out = "Failed to allocate flow: -1.\n"
			r.refLog = "ipcpd/udp4(EE): Flow allocation reply for 66 from wrong source 10.99.0.2.\nirmd(EE): Flow allocation timed out.\n"
		}, "wrong source", true},
		{"no IPCP", func(r *refRun) {
			r.exit, r.sent, r.got, r.received = 1, 0, 0, 0
			r.out = "Failed to allocate flow: -1003.\n"
			r.refLog = "irmd(EE): Failed to find IPCP for oping.go.\n"
		}, "no IPCP", true},
		{"allocation timed out", func(r *refRun) {
			r.exit, r.sent, r.got, r.received = 1, 0, 0, 0
			r.out = "Failed to allocate flow: -1.\n"
			r.refLog = "irmd(EE): Flow allocation timed out.\n"
		}, "timed out the flow allocation", true},
		{"invalid message", func(r *refRun) { r.got, r.out = 16, "Invalid message on fd 64.\nServer timed out.\n" }, "invalid message", true},
		{"sender stopped", func(r *refRun) { r.got, r.received = 4, 4 }, "sender stopped", true},
		{"best receiver lost answers", func(r *refRun) { r.cube, r.min, r.got = "best", 15, 10 }, "best-effort receiver lost answers", true},
		// Not measured against the reference's own server: may be ours.
		{"reliable answers lost", func(r *refRun) { r.got = 18 }, "our server received 20", false},
		{"allocation failed otherwise", func(r *refRun) {
			r.exit, r.sent, r.got, r.received = 1, 0, 0, 0
			r.out = "Failed to allocate flow: -1.\n"
		}, "exit status 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			what, own := r.failure()
			if tc.want == "" {
				if what != "" {
					t.Fatalf("a passing run: failure() = %q", what)
				}
				return
			}
			if !strings.Contains(what, tc.want) || own != tc.refOwn {
				t.Fatalf("failure() = %q, %v; want one containing %q, %v", what, own, tc.want, tc.refOwn)
			}
		})
	}
}
