package simnet

import (
	"os"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/routing"
)

// TestScale reports, for a random layer of 100 members (and of 1,000 with
// OUROBOROS_SIM_1000=1), average degree 3, 1 ms links and the default
// link-state timers: initial convergence, LSUs per member, and convergence
// after a link cut. It simulates minutes of virtual time and a flood of
// millions of LSUs, so it is skipped in -short mode and under the race
// detector. The 1,000-member run floods about 40 million LSUs (the cut
// waits for ageing, five refresh periods): about 20 s of CPU.
func TestScale(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulates millions of LSUs: skipped in -short mode and under the race detector")
	}
	sizes := []int{100}
	if os.Getenv("OUROBOROS_SIM_1000") != "" {
		sizes = append(sizes, 1000)
	} else {
		t.Log("1,000 members: set OUROBOROS_SIM_1000=1")
	}
	for _, n := range sizes {
		start := time.Now()
		cfg := SimConfig{Algo: routing.Simple, Delay: time.Millisecond, Hold: 50 * time.Millisecond}
		res, err := MeasureScale(n, 3, cfg, time.Second, 20, 5*time.Minute, true)
		if err != nil {
			t.Fatalf("%d members: %v", n, err)
		}
		t.Logf("%d members, %d links: initial convergence %v (%.0f LSUs sent per member); %.0f LSUs per member per refresh period (%v)",
			res.Nodes, res.Links, res.Initial, res.InitialLSUs, res.PeriodLSUs, routing.DefaultUpdate)
		t.Logf("%d members: after a link cut, converged in %v (%.0f LSUs per member meanwhile) [%v real time]",
			n, res.AfterCut, res.AfterCutLSUs, time.Since(start).Round(time.Millisecond))
	}
}
