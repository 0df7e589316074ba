package qos

import (
	"math"
	"testing"
)

func TestPredefined(t *testing.T) {
	// The reference's values.
	cases := []struct {
		name string
		got  Spec
		want Spec
	}{
		{"raw", Raw, Spec{math.MaxUint32, 0, 0, 1, 1, 0, math.MaxUint32, 120000}},
		{"raw_no_errors", RawNoErrors, Spec{math.MaxUint32, 0, 0, 1, 0, 0, math.MaxUint32, 120000}},
		{"best", BestEffort, Spec{math.MaxUint32, 0, 0, 1, 0, 1, math.MaxUint32, 120000}},
		{"video", Video, Spec{100, math.MaxUint64, 3, 1, 0, 1, 100, 120000}},
		{"voice", Voice, Spec{50, 100000, 5, 1, 0, 1, 50, 120000}},
		{"data", Data, Spec{1000, 0, 0, 0, 0, 1, 2000, 120000}},
		{"np1", NP1, Spec{math.MaxUint32, 0, 0, math.MaxUint32, math.MaxUint32, 0, math.MaxUint32, 0}},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %+v, want %+v", c.name, c.got, c.want)
		}
	}
}

func TestByName(t *testing.T) {
	for _, n := range Names() {
		if _, err := ByName(n); err != nil {
			t.Errorf("ByName(%q): %v", n, err)
		}
	}
	if s, err := ByName("bogus"); err == nil || s != Raw {
		t.Errorf("ByName(bogus) = %v, %v; want Raw and an error", s, err)
	}
	if s, _ := ByName("data"); !s.Reliable() {
		t.Error("data is not reliable")
	}
}

func TestCube(t *testing.T) {
	if c := Voice.Cube(); c != CubeVoice {
		t.Errorf("voice cube = %d", c)
	}
	if c := Video.Cube(); c != CubeVideo {
		t.Errorf("video cube = %d", c)
	}
	if c := Raw.Cube(); c != CubeBE {
		t.Errorf("raw cube = %d", c)
	}
}
