package bench

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// statLine is a /proc/<pid>/stat line with the given command name and times.
func statLine(comm string, utime, stime uint64) string {
	return fmt.Sprintf("1234 (%s) S 1 1234 1234 0 -1 4194560 1297 0 0 0 %d %d 0 0 20 0 3 0 "+
		"12345 1234567 890 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", comm, utime, stime)
}

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		comm      string
		user, sys uint64
	}{
		{"obench", 120, 35},
		{"a b c", 1, 2},
		{"x) S 1 2 3 4 5 6 7 8 9 10 11 12 (y", 5, 6}, // a name that looks like fields
		{"", 0, 0},
		{"((", 18446744073709551615, 7},
	} {
		got, err := ParseStat([]byte(statLine(c.comm, c.user, c.sys)))
		if err != nil {
			t.Errorf("comm %q: %v", c.comm, err)
			continue
		}
		if got != (ProcTimes{UTime: c.user, STime: c.sys}) {
			t.Errorf("comm %q: got %+v, want %d/%d", c.comm, got, c.user, c.sys)
		}
	}
	for _, bad := range []string{
		"",
		"1234 obench S 1",
		"1234 (obench) S 1 2 3",
		"x (obench) S 1 1234 1234 0 -1 4194560 1297 0 0 0 1 2 0 0",
		"1234 (obench) S 1 1234 1234 0 -1 4194560 1297 0 0 0 -1 2 0 0",
		"1234 (obench) S 1 1234 1234 0 -1 4194560 1297 0 0 0 1 x 0 0",
		")1234 (",
	} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q) succeeded", bad)
		}
	}
}

func TestReadProcTimes(t *testing.T) {
	// Burn some CPU so that at least one tick is counted.
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	pt, err := ReadProcTimes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if pt.UTime+pt.STime == 0 {
		t.Errorf("no CPU time after 50 ms of work: %+v", pt)
	}
	if _, err := CPUTicks([]int{os.Getpid(), os.Getpid()}); err != nil {
		t.Error(err)
	}
	if _, err := CPUTicks([]int{-1}); err == nil {
		t.Error("CPUTicks of a pid that cannot exist succeeded")
	}
}

func TestClockTick(t *testing.T) {
	if hz := ClockTick(); hz == 0 {
		t.Fatal("ClockTick = 0")
	}
	if d := TicksToDuration(150, 100); d != 1500*time.Millisecond {
		t.Errorf("150 ticks at 100 Hz = %v", d)
	}
	if d := TicksToDuration(1, 0); d != 0 {
		t.Errorf("ticks at 0 Hz = %v", d)
	}
	aux := make([]byte, 48)
	binary.NativeEndian.PutUint64(aux[0:], 6) // AT_PAGESZ
	binary.NativeEndian.PutUint64(aux[8:], 4096)
	binary.NativeEndian.PutUint64(aux[16:], 17) // AT_CLKTCK
	binary.NativeEndian.PutUint64(aux[24:], 250)
	if v, ok := auxvValue(aux, 17); !ok || v != 250 {
		t.Errorf("auxvValue = %d, %v", v, ok)
	}
	if _, ok := auxvValue(aux, 99); ok {
		t.Error("auxvValue found a missing type")
	}
	if _, ok := auxvValue(aux[:20], 17); ok {
		t.Error("auxvValue read a truncated pair")
	}
}

// FuzzParseStat checks that ParseStat never panics on any input, and that any
// command name round-trips: the times come back from a well-formed line.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine("obench", 1, 2)), "obench", uint64(1), uint64(2))
	f.Add([]byte("1 (a) S"), "a) (b", uint64(0), uint64(99))
	f.Add([]byte(")))((("), "", uint64(1<<63), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, comm string, user, sys uint64) {
		ParseStat(data)
		comm = strings.ReplaceAll(comm, "\n", " ")
		got, err := ParseStat([]byte(statLine(comm, user, sys)))
		if err != nil {
			t.Fatalf("comm %q: %v", comm, err)
		}
		if got.UTime != user || got.STime != sys {
			t.Fatalf("comm %q: got %+v, want %d/%d", comm, got, user, sys)
		}
	})
}
