package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestLocalIPCPDeliversBeforeRelease: a raw flow through the local IPCP
// whose client writes until its queues are full and closes the flow at once
// delivers every packet it wrote. The client's Close releases the flow while
// packets still wait in the channel towards the IPCP; the IPCP passes them on
// before it lets the channel go. (It once closed the channel at once, and a
// 100-flow flood closed right after its burst lost a few percent.)
func TestLocalIPCPDeliversBeforeRelease(t *testing.T) {
	for _, dp := range []string{"shm", "socket"} {
		t.Run(dp, func(t *testing.T) {
			e := setup(t, rig.Options{NoDirect: true, Datapath: dp})
			pid := e.localLayer("local1", "local-layer")
			e.register("late.counter", pid)
			goFile := filepath.Join(t.TempDir(), "go")
			srv := roleIn(t, e.Instance, "late-counter", "late.counter", "O7S_E2E_GO="+goFile)
			srv.WaitOutput(t, "ready", 20*time.Second)
			f, err := flow.Alloc(e.ctx(), "late.counter", qos.Raw)
			if err != nil {
				t.Fatalf("alloc: %v\n%s", err, e.Tail())
			}
			srv.WaitOutput(t, "accepted", 20*time.Second)
			// Fill every queue on the way (the server reads nothing yet);
			// a write that would wait says EAGAIN. A few rounds, as the IPCP
			// may still be moving packets on when the first EAGAIN comes.
			f.SetFlags(flow.FlagRdWr | flow.FlagWNoBlock)
			msg := make([]byte, 64)
			sent := 0
			for idle := 0; idle < 20; {
				_, err := f.Write(msg)
				switch {
				case err == nil:
					sent++
					idle = 0
				case errors.Is(err, flow.EAGAIN):
					idle++
					time.Sleep(5 * time.Millisecond)
				default:
					t.Fatalf("write %d: %v", sent, err)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if err := os.WriteFile(goFile, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if !srv.Wait(60 * time.Second) {
				t.Fatalf("the server did not see the flow end\n%s\n%s", srv.Tail(), e.Tail())
			}
			m := regexp.MustCompile(`count (\d+)`).FindStringSubmatch(srv.Out.String())
			if m == nil {
				t.Fatalf("no count from the server:\n%s\n%s", srv.Tail(), e.Tail())
			}
			got, _ := strconv.Atoi(m[1])
			if got != sent {
				t.Fatalf("the server read %d of the %d packets written before Close (%s)\n%s", got, sent,
					fmt.Sprint(sent-got)+" lost", e.Tail())
			}
			t.Logf("%d packets written, all read after the client closed", sent)
		})
	}
}
