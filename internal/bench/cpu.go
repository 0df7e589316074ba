package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// ProcTimes is the CPU time a process has used, in clock ticks (USER_HZ), as
// /proc/<pid>/stat reports it. For a process (thread-group leader) it covers
// all its threads; it does not include children.
type ProcTimes struct {
	UTime uint64 // user mode, ticks
	STime uint64 // kernel mode, ticks
}

// ParseStat parses the contents of /proc/<pid>/stat: "pid (comm) state ppid
// ... utime stime ...". utime and stime are fields 14 and 15 (1-based). The
// command name may contain spaces and parentheses, so the fields are counted
// from the last ')'.
func ParseStat(b []byte) (ProcTimes, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return ProcTimes{}, errors.New("stat: no (comm)")
	}
	if _, err := strconv.Atoi(string(bytes.TrimSpace(b[:open]))); err != nil {
		return ProcTimes{}, fmt.Errorf("stat: bad pid: %w", err)
	}
	// After ')': field 3 (state) is index 0, so field k is index k-3.
	f := bytes.Fields(b[end+1:])
	if len(f) < 13 {
		return ProcTimes{}, fmt.Errorf("stat: %d fields after comm, want at least 13", len(f))
	}
	u, err := strconv.ParseUint(string(f[14-3]), 10, 64)
	if err != nil {
		return ProcTimes{}, fmt.Errorf("stat: utime: %w", err)
	}
	s, err := strconv.ParseUint(string(f[15-3]), 10, 64)
	if err != nil {
		return ProcTimes{}, fmt.Errorf("stat: stime: %w", err)
	}
	return ProcTimes{UTime: u, STime: s}, nil
}

// ReadProcTimes reads the CPU times of the process pid.
func ReadProcTimes(pid int) (ProcTimes, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcTimes{}, err
	}
	t, err := ParseStat(b)
	if err != nil {
		return ProcTimes{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return t, nil
}

// CPUTicks returns the sum of user and system ticks of every process in pids.
func CPUTicks(pids []int) (uint64, error) {
	var sum uint64
	for _, pid := range pids {
		t, err := ReadProcTimes(pid)
		if err != nil {
			return 0, err
		}
		sum += t.UTime + t.STime
	}
	return sum, nil
}

// TicksToDuration converts clock ticks to time at hz ticks per second.
func TicksToDuration(ticks uint64, hz uint64) time.Duration {
	if hz == 0 {
		return 0
	}
	return time.Duration(ticks) * time.Second / time.Duration(hz)
}

var (
	clkTckOnce sync.Once
	clkTck     uint64
)

// ClockTick returns USER_HZ, the unit of /proc/<pid>/stat times, in ticks per
// second: AT_CLKTCK from this process's auxiliary vector, else 100 (its value
// on every common Linux architecture).
func ClockTick() uint64 {
	clkTckOnce.Do(func() {
		clkTck = 100
		if strconv.IntSize != 64 {
			return
		}
		b, err := os.ReadFile("/proc/self/auxv")
		if err != nil {
			return
		}
		if v, ok := auxvValue(b, 17 /* AT_CLKTCK */); ok && v > 0 {
			clkTck = v
		}
	})
	return clkTck
}

// auxvValue finds the value of type typ in a 64-bit native-endian auxiliary
// vector (pairs of type and value, ended by AT_NULL) of a 64-bit process.
func auxvValue(b []byte, typ uint64) (uint64, bool) {
	for i := 0; i+16 <= len(b); i += 16 {
		t := binary.NativeEndian.Uint64(b[i:])
		v := binary.NativeEndian.Uint64(b[i+8:])
		if t == 0 {
			break
		}
		if t == typ {
			return v, true
		}
	}
	return 0, false
}
