package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// Steps of the reference tests that allocate a flow through the
// reference's udp4 IPCP (enroll, connect) fail now and then on the
// reference's own: its udp4 IPCP drops our well-formed FLOW_REPLY as "from
// wrong source", or fails to answer a flow request its irmd accepted
// ("Failed to respond to flow request"); it fails so against its own
// peers too (TestRefRunFailure). Under load its irmd also gives up on its
// own udp4 IPCP's answer to an accepted request ("IPCP alloc_resp timed
// out after 523 ms", a 500 ms timeout). Such a step is tried again, up to
// refStepAttempts times, each attempt judged by what the reference logged
// during it; any other failure fails the test at once. After such a
// failure its udp4 IPCP may go silent: the next attempt's request never
// reaches its irmd (nothing "arrived"), which counts as its own failure
// too (loaded CI run 61). When every attempt failed on the reference's
// side, the test is skipped with the reason: nothing of ours was shown
// wrong, and the steps after it cannot run.

const refStepAttempts = 3

// refOwnAllocFailure reports whether what the reference node logged during
// a failed flow allocation names one of its udp4 IPCP's own failures.
func refOwnAllocFailure(refLog string) bool {
	return strings.Contains(refLog, "from wrong source") || strings.Contains(refLog, "Failed to respond to flow request") ||
		strings.Contains(refLog, "IPCP alloc_resp timed out")
}

// refOwnAttempt reports whether a failed attempt of a step is the
// reference's own: what it logged during the attempt names one of its
// failures, or, after an attempt that failed so (ownBefore), its irmd never
// saw the request arrive (its udp4 IPCP went silent).
func refOwnAttempt(refLog string, ownBefore bool) bool {
	return refOwnAllocFailure(refLog) || ownBefore && !strings.Contains(refLog, "request arrived")
}

// refStepFailed ends a step whose last attempt failed: a skip when that
// failure was the reference's own (every attempt was then), else a failure.
func refStepFailed(t *testing.T, own bool, step, why string) {
	t.Helper()
	if own {
		t.Skipf("the reference's udp4 IPCP failed on its own in all %d attempts of %s; nothing of ours was shown wrong, and the steps after it cannot run:\n%s",
			refStepAttempts, step, why)
	}
	t.Fatalf("%s: %s", step, why)
}

// refStep runs an irm command on the reference node (args after "exec
// NODE"), tried again after the reference's own failures. It reports
// whether it was tried again.
func (r *refNode) refStep(t *testing.T, explain func() string, args ...string) (retried bool) {
	t.Helper()
	for try := 1; ; try++ {
		off := r.logLen()
		out, err := r.try(time.Minute, append([]string{"exec", r.name}, args...)...)
		if err == nil {
			return retried
		}
		since := r.logSince(off)
		own := refOwnAttempt(since, retried)
		if try < refStepAttempts && own {
			t.Logf("reference: %s, attempt %d: %v, the reference's own udp4 failure; again:\n%s", strings.Join(args, " "), try, err, since)
			retried = true
			continue
		}
		refStepFailed(t, own, "reference: "+strings.Join(args, " "), fmt.Sprintf("%v\n%s\n%s\n%s", err, out, since, explain()))
	}
}

// ourRefStep runs irm with args on our instance in, for a step whose flow
// goes through the reference node r, tried again after the reference's
// own failures. It reports whether it was tried again.
func ourRefStep(t *testing.T, r *refNode, in *rig.Instance, explain func() string, args ...string) (retried bool) {
	t.Helper()
	for try := 1; ; try++ {
		off := r.logLen()
		out, errOut, code := in.Run("irm", args...)
		if code == 0 {
			return retried
		}
		since := r.logSince(off)
		own := refOwnAttempt(since, retried)
		if try < refStepAttempts && own {
			t.Logf("irm %s, attempt %d: exit %d, the reference's own udp4 failure; again:\n%s%s\n%s", strings.Join(args, " "), try, code, out, errOut, since)
			retried = true
			continue
		}
		refStepFailed(t, own, "irm "+strings.Join(args, " "), fmt.Sprintf("exit %d\n%s%s\n%s\n%s", code, out, errOut, since, explain()))
	}
}

// withoutRetried drops from errs (error lines of our IPCPs' log) those of
// the attempts of steps tried again after the reference's own failure
// (retried["enroll"], retried["connect"]): our side rightly logged that
// the failed attempt failed. It logs each line dropped.
func withoutRetried(t *testing.T, errs []string, retried map[string]bool) []string {
	t.Helper()
	var out []string
	for _, l := range errs {
		if retried["enroll"] && strings.Contains(l, "Failed to enroll:") || retried["connect"] && strings.Contains(l, "Failed to connect") {
			t.Logf("an error of an attempt the reference failed, tried again: %s", l)
			continue
		}
		out = append(out, l)
	}
	return out
}

// stepVerb returns the irm verb of a step's arguments ("enroll",
// "connect", ...): the word after "ipcp".
func stepVerb(args []string) string {
	for i, a := range args {
		if a == "ipcp" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// TestRefStepHelpers: the reference's own allocation failures are told
// from others, and only the error lines of retried steps are dropped.
func TestRefStepHelpers(t *testing.T) {
	for log, want := range map[string]bool{
		"ipcpd/udp4(EE): Flow allocation reply for 64 from wrong source 10.99.0.2.": true,
		"ipcpd/udp4(EE): Failed to respond to flow request.":                        true,
		"irmd/ipcp(WW): IPCP alloc_resp timed out after 523 ms.":                    true,
		"irmd(EE): Flow allocation timed out.":                                      false,
		"":                                                                          false,
	} {
		if got := refOwnAllocFailure(log); got != want {
			t.Errorf("refOwnAllocFailure(%q) = %v", log, got)
		}
	}
	// After an attempt the reference failed on its own, one whose request
	// never reached its irmd is its own too; not otherwise.
	for _, c := range []struct {
		log       string
		ownBefore bool
		want      bool
	}{
		{"", true, true},
		{"irmd(II): Flow request arrived for uni.ref.\n", true, false},
		{"", false, false},
		{"ipcpd/udp4(EE): Failed to respond to flow request.", false, true},
	} {
		if got := refOwnAttempt(c.log, c.ownBefore); got != c.want {
			t.Errorf("refOwnAttempt(%q, %v) = %v", c.log, c.ownBefore, got)
		}
	}
	if v := stepVerb([]string{"irm", "ipcp", "connect", "name", "x"}); v != "connect" {
		t.Errorf("stepVerb = %q", v)
	}
	if v := stepVerb([]string{"ipcp", "enroll", "name", "x"}); v != "enroll" {
		t.Errorf("stepVerb = %q", v)
	}
	errs := []string{
		"ipcpd/unicast(EE): Failed to enroll: flow to uni: timed out.",
		"ipcpd/unicast(EE): Failed to connect Management to x.",
		"ipcpd/unicast(EE): Dropped a malformed LSU.",
	}
	if got := withoutRetried(t, errs, map[string]bool{}); len(got) != 3 {
		t.Errorf("nothing retried: %q", got)
	}
	if got := withoutRetried(t, errs, map[string]bool{"enroll": true}); len(got) != 2 || got[0] != errs[1] {
		t.Errorf("enroll retried: %q", got)
	}
	if got := withoutRetried(t, errs, map[string]bool{"enroll": true, "connect": true}); len(got) != 1 || got[0] != errs[2] {
		t.Errorf("both retried: %q", got)
	}
}
