// Package fdlimit raises the limit of open files of processes that hold many
// flows. Every flow holds a descriptor in each process at its ends (the
// socket of its channel), and a flow through an IPCP holds two in the IPCP,
// so an IPCP with 10,000 flows needs more than 20,000 descriptors.
//
// The Go runtime already raises the soft limit (RLIMIT_NOFILE) to the hard
// limit at start-up. Raise also lifts the hard limit, when the process may
// (CAP_SYS_RESOURCE, as root), up to the kernel's ceiling fs.nr_open or Max,
// whichever is lower. Children inherit the hard limit, so the IRMd raising it
// covers the IPCPs it starts.
package fdlimit

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Max is the most Raise asks for.
const Max = 1 << 20

// Raise lifts the soft limit of open files to the hard limit, and the hard
// limit towards Max where permitted. It returns the soft limit in force.
func Raise() uint64 {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	want := uint64(Max)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			want = min(want, n)
		}
	}
	if l.Max < want {
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: want, Max: want}) == nil {
			return want
		}
	}
	if l.Cur < l.Max {
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: l.Max, Max: l.Max}) == nil {
			return l.Max
		}
	}
	return l.Cur
}
