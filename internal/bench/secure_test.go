package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecureRatiosAndTable: an encrypted row's ×raw is its rate ÷ the
// plaintext row's of the same path, a failed plaintext row leaves it empty,
// and the table shows every row with its ratio.
func TestSecureRatiosAndTable(t *testing.T) {
	rows := []ToolResult{
		{Path: DirectID, Label: "direct flow, plaintext", Test: OcbrFlood, Size: 1000, Sent: 10, Received: 10, PacketsPerSec: 200},
		{Path: DirectID, Label: "direct flow, aes-256-gcm", Cipher: "aes-256-gcm", Test: OcbrFlood, Size: 1000, Sent: 10, Received: 10, PacketsPerSec: 150},
		{Path: UDP4LayerID, Label: "udp4 layer, plaintext", Test: OcbrFlood, Size: 1000, Error: "setup: boom"},
		{Path: UDP4LayerID, Label: "udp4 layer, aes-256-gcm", Cipher: "aes-256-gcm", Test: OcbrFlood, Size: 1000, Sent: 10, Received: 9, PacketsPerSec: 90},
	}
	ComputeRawRatios(rows)
	if rows[1].RawRatio != 0.75 || rows[3].RawRatio != 0 || rows[0].RawRatio != 0 {
		t.Errorf("ratios %v %v %v", rows[0].RawRatio, rows[1].RawRatio, rows[3].RawRatio)
	}
	rep := &Report{OcbrSeconds: 3, Secure: rows}
	md := rep.secureMarkdown()
	for _, want := range []string{"## Encrypted flows: `ocbr -f -s 1000 -d 3`", "| direct flow, aes-256-gcm | 150 | 0.75 | 0 |",
		"| udp4 layer, plaintext | error: setup: boom |"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	if !rep.Failed() {
		t.Error("a failed row does not fail the report")
	}
}

// TestSetEncConf: a cipher writes the server's and the client's enc.conf of
// the server's name; "" removes both (and twice is no error).
func TestSetEncConf(t *testing.T) {
	dir := t.TempDir()
	if err := setEncConf(dir, "chacha20-poly1305"); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"server", "client"} {
		b, err := os.ReadFile(filepath.Join(dir, side, serverName, "enc.conf"))
		if err != nil || !strings.Contains(string(b), "\ncipher = chacha20-poly1305\n") {
			t.Errorf("%s: %q, %v", side, b, err)
		}
	}
	for range 2 {
		if err := setEncConf(dir, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, side := range []string{"server", "client"} {
		if _, err := os.Stat(filepath.Join(dir, side, serverName, "enc.conf")); !os.IsNotExist(err) {
			t.Errorf("%s enc.conf still there: %v", side, err)
		}
	}
}

// TestEncryptedFlowsLog: the irmd's log lines that say a flow for the
// server's name was encrypted are counted, by cipher.
func TestEncryptedFlowsLog(t *testing.T) {
	log := "irmd: Flow for obench.server encrypted: X25519, aes-256-gcm, kdf sha256.\n" +
		"irmd: Flow to obench.server encrypted: X25519, aes-256-gcm, kdf sha256.\n" +
		"irmd: Flow for other encrypted: X25519, chacha20-poly1305, kdf sha256.\n"
	if n := encryptedFlows(log, ""); n != 1 {
		t.Errorf("any cipher: %d", n)
	}
	if n := encryptedFlows(log, "aes-256-gcm"); n != 1 {
		t.Errorf("aes-256-gcm: %d", n)
	}
	if n := encryptedFlows(log, "chacha20-poly1305"); n != 0 {
		t.Errorf("chacha20-poly1305: %d", n)
	}
}

// TestMedianRun: a row keeps the run of median rate.
func TestMedianRun(t *testing.T) {
	runs := []ToolResult{{PacketsPerSec: 30, Sent: 3}, {PacketsPerSec: 10, Sent: 1}, {PacketsPerSec: 20, Sent: 2}}
	if r := medianRun(runs); r.Sent != 2 {
		t.Errorf("median of 3: %+v", r)
	}
	if r := medianRun(runs[:2]); r.Sent != 1 {
		t.Errorf("median of 2: %+v", r)
	}
	if r := medianRun(runs[:1]); r.Sent != 3 {
		t.Errorf("median of 1: %+v", r)
	}
}
