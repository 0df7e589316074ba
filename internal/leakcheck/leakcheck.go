// Package leakcheck fails a test that leaves goroutines behind. Call Check at
// the start of a test; when the test ends it waits (up to a few seconds) for
// every goroutine started since to exit, and reports the stacks of those left.
package leakcheck

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check registers the leak check with t.Cleanup. Register it before other
// cleanups that stop goroutines (cleanups run last-in first-out).
func Check(t testing.TB) {
	t.Helper()
	before := snapshot()
	t.Cleanup(func() {
		var left []string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			left = left[:0]
			for id, stack := range snapshot() {
				if _, ok := before[id]; !ok && !ignored(stack) {
					left = append(left, stack)
				}
			}
			if len(left) == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("%d goroutines leaked:\n%s", len(left), strings.Join(left, "\n\n"))
	})
}

func snapshot() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		// "goroutine 12 [running]:"
		f := strings.Fields(head)
		if len(f) >= 2 {
			out[f[1]] = g
		}
	}
	return out
}

func ignored(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run", "testing.tRunner", "testing.runTests", "testing.(*M).",
		"runtime.goexit", "os/signal.signal_recv", "runtime.ensureSigM",
		"leakcheck.snapshot", "created by runtime.gc", "runtime.forcegchelper",
		"runtime.bgsweep", "runtime.bgscavenge", "runtime.runfinq",
	} {
		if strings.Contains(stack, s) && !strings.Contains(stack, "ouroboros") {
			return true
		}
	}
	return false
}
