package bench

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	for _, c := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one p0", []time.Duration{7}, 0, 7},
		{"one p50", []time.Duration{7}, 50, 7},
		{"one p100", []time.Duration{7}, 100, 7},
		{"ten p0 is the minimum", ten, 0, 1},
		{"ten p10", ten, 10, 1},
		{"ten p11", ten, 11, 2},
		{"ten p50", ten, 50, 5},
		{"ten p51", ten, 51, 6},
		{"ten p99", ten, 99, 10},
		{"ten p100", ten, 100, 10},
		{"hundred p50", hundred, 50, 50},
		{"hundred p99", hundred, 99, 99},
		{"hundred p99.5", hundred, 99.5, 100},
		{"below 0 clamps", ten, -5, 1},
		{"above 100 clamps", ten, 150, 10},
	} {
		if got := Percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: Percentile(p=%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	if s := Summarize(nil); s != (Stats{}) {
		t.Errorf("Summarize(nil) = %+v", s)
	}
	samples := []time.Duration{40, 10, 30, 20}
	s := Summarize(samples)
	want := Stats{Count: 4, Min: 10, P50: 20, P99: 40, Max: 40, Mean: 25}
	if s != want {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	if samples[0] != 10 || samples[3] != 40 {
		t.Errorf("samples not sorted in place: %v", samples)
	}
}

func TestRates(t *testing.T) {
	if got := Rate(1000, 2*time.Second); got != 500 {
		t.Errorf("Rate = %v, want 500", got)
	}
	if got := Rate(1000, 0); got != 0 {
		t.Errorf("Rate over 0 s = %v, want 0", got)
	}
	// 1000 packets of 1000 bytes in 1 s: 8 Mb/s.
	if got := Mbps(1000, 1000, time.Second); got != 8 {
		t.Errorf("Mbps = %v, want 8", got)
	}
}

func TestRatio(t *testing.T) {
	if got := Ratio(3, 2); got != 1.5 {
		t.Errorf("Ratio(3, 2) = %v", got)
	}
	for _, c := range [][2]float64{{0, 1}, {1, 0}, {-1, 2}, {math.NaN(), 1}, {1, math.Inf(1)}, {math.Inf(1), 1}} {
		if got := Ratio(c[0], c[1]); !math.IsNaN(got) {
			t.Errorf("Ratio(%v, %v) = %v, want NaN", c[0], c[1], got)
		}
	}
}
