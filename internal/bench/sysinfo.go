package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"
)

// cpuModel returns the processor's name from /proc/cpuinfo: the first "model
// name" (x86), else "Hardware" or "cpu model" (other architectures), else the
// architecture.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	return parseCPUModel(b, runtime.GOARCH)
}

func parseCPUModel(b []byte, fallback string) string {
	found := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, seen := found[k]; !seen && v != "" {
			found[k] = v
		}
	}
	for _, k := range []string{"model name", "Hardware", "cpu model", "uarch"} {
		if v := found[k]; v != "" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return fallback
}

// kernelRelease returns the running kernel's release, "unknown" if it cannot
// be read.
func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
