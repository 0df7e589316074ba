package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCnode stands in for the reference's cnode.sh: "bg" starts an ocbr
// server (a file says it is alive), "kill" stops it, an ocbr client
// allocates a flow only while the server lives and then leaves a test in
// the server's log. With failonce, the first allocation fails and the
// server exits, as the reference's ocbr server does when an accept fails.
const fakeCnode = `#!/bin/sh
d=$FAKE_DIR
case "$1" in
bg)
	touch "$d/alive"
	echo "Server started, interval is 1 s, timeout is 1 s." > "$d/bg.$3.log"
	echo 4242 ;;
kill)
	rm -f "$d/alive"
	echo kill >> "$d/events" ;;
exec)
	shift 2
	case "$*" in
	*"irm bind"*) exit 0 ;;
	*ocbr*)
		echo "Client started, duration 1, rate 1000000 b/s, size 1000 B."
		if [ -f "$d/failonce" ]; then
			rm -f "$d/failonce" "$d/alive"
		fi
		if [ ! -f "$d/alive" ]; then
			echo "Failed to allocate flow."
			exit 255
		fi
		printf 'New flow.\nFlow   64:       500 packets (      500000 bytes) in      1001 ms =>   499.5005 pps,    3.9960 Mbps\nTest on flow 64 timed out\nFlow   64:         0 packets (           0 bytes) in      1015 ms =>     0.0000 pps,    0.0000 Mbps\n' >> "$d/bg.ocbr.log"
		echo "sent statistics:       500 packets,       500000 bytes in      1000 ms,  4.0000 Mb/s" ;;
	esac ;;
esac
`

// TestRefToolRestartsServer: a reference client whose allocation failed
// (which ends the reference's ocbr server) is tried again against a new
// server, and the row is measured; before, every retry found no server
// and the row failed with "Failed to allocate flow".
func TestRefToolRestartsServer(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "cnode.sh")
	if err := os.WriteFile(script, []byte(fakeCnode), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{OcbrSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	n := &refNode{h: h, cnode: script, name: "fake", state: dir,
		env: append(os.Environ(), "FAKE_DIR="+dir)}
	start := func() error { return n.startServer("ocbr", "Server started", "ocbr", "-i", "1", "-t", "1") }
	restart := func() error {
		n.stopServer("ocbr")
		return start()
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "failonce"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := ToolResult{Test: OcbrFlood, Size: 1000}
	if err := h.runRefTool(context.Background(), n, n, &r, restart); err != nil {
		t.Fatalf("row failed: %v", err)
	}
	if r.Received != 500 || r.Sent != 500 || r.PacketsPerSec == 0 {
		t.Errorf("row %+v", r)
	}
	if ev, _ := os.ReadFile(filepath.Join(dir, "events")); strings.Count(string(ev), "kill") != 1 {
		t.Errorf("server stopped %d times before the retry, want 1", strings.Count(string(ev), "kill"))
	}
}

// TestRefToolAllocationLimit: a reference client that never gets its flow,
// whatever the server, is a limitation of the reference: the row says so
// instead of an error.
func TestRefToolAllocationLimit(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "cnode.sh")
	if err := os.WriteFile(script, []byte(fakeCnode), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{OcbrSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	n := &refNode{h: h, cnode: script, name: "fake", state: dir,
		env: append(os.Environ(), "FAKE_DIR="+dir)}
	restarts := 0
	restart := func() error { restarts++; return nil } // the server stays dead
	r := ToolResult{Test: OcbrFlood, Size: 1000}
	err = h.runRefTool(context.Background(), n, n, &r, restart)
	if err == nil || restarts != refTries-1 {
		t.Fatalf("err %v after %d restarts", err, restarts)
	}
	refRowFailed(&r, err)
	if r.Error != "" || !strings.Contains(r.Skipped, "limitation of the reference") {
		t.Errorf("row error %q, note %q", r.Error, r.Skipped)
	}
	other := ToolResult{Test: OcbrFlood, Size: 1000}
	refRowFailed(&other, os.ErrDeadlineExceeded)
	if other.Error == "" || other.Skipped != "" {
		t.Errorf("another failure: error %q, note %q", other.Error, other.Skipped)
	}
}
