package bench

import (
	"math"
	"slices"
	"time"
)

// Stats summarises round-trip times; every field is in nanoseconds.
type Stats struct {
	Count int   `json:"count"` // number of samples
	Min   int64 `json:"min_ns"`
	P50   int64 `json:"p50_ns"`
	P99   int64 `json:"p99_ns"`
	Max   int64 `json:"max_ns"`
	Mean  int64 `json:"mean_ns"`
}

// Percentile returns the p-th percentile (0 <= p <= 100) of sorted by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are less than or equal to it. Percentile 0 is the minimum. It
// returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	p = math.Max(0, math.Min(100, p))
	rank := int(math.Ceil(p / 100 * float64(n))) // 1-based
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Summarize sorts samples in place and returns their statistics.
func Summarize(samples []time.Duration) Stats {
	if len(samples) == 0 {
		return Stats{}
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	return Stats{
		Count: len(samples),
		Min:   int64(samples[0]),
		P50:   int64(Percentile(samples, 50)),
		P99:   int64(Percentile(samples, 99)),
		Max:   int64(samples[len(samples)-1]),
		Mean:  int64(sum / float64(len(samples))),
	}
}

// Rate returns n events over d in events per second; 0 when d is not positive.
func Rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Mbps returns the payload rate of n packets of size bytes over d in megabits
// (10^6 bits) per second.
func Mbps(n int64, size int, d time.Duration) float64 {
	return Rate(n, d) * float64(size) * 8 / 1e6
}

// Ratio returns a / b, or NaN when either is not a positive finite number.
func Ratio(a, b float64) float64 {
	if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return math.NaN()
	}
	return a / b
}
