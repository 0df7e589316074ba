package ipcp

import "testing"

// TestReleaser: memory is returned once the flows fall to half of a peak of
// at least releaseMinPeak, and not again until a new peak falls by half.
func TestReleaser(t *testing.T) {
	var r releaser
	steps := []struct {
		n    int
		want bool
	}{
		{100, false}, {50, false}, // below the minimum peak
		{10000, false}, {6000, false}, {5000, true}, // half of 10,000
		{4000, false}, {2500, true}, // half of the new peak, 5,000
		{0, true}, {0, false}, // 2,500 is above the minimum: returned once
	}
	for i, s := range steps {
		if got := r.observe(s.n); got != s.want {
			t.Fatalf("step %d: observe(%d) = %v, want %v", i, s.n, got, s.want)
		}
	}
}
