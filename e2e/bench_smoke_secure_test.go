package e2e

import (
	"strings"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/bench"
)

// checkSecureRows checks the encrypted flows table of a smoke run: a row
// for every path and cipher, in order, each with its figures and, for an
// encrypted row, its ratio to the plaintext row of its path; the table in
// the Markdown. The harness itself fails a row whose flow was not encrypted
// with its cipher (the server irmd's log says so). Figures are never
// compared with anything.
func checkSecureRows(t *testing.T, rep *bench.Report, md string) {
	t.Helper()
	if !strings.Contains(md, "\n## Encrypted flows: `ocbr -f -s 1000 ") {
		t.Error("no encrypted flows table in the output")
	}
	paths := bench.SecureToolPaths()
	if len(rep.Secure) != len(paths)*len(bench.SecureCiphers) {
		t.Fatalf("%d encrypted flows rows, want %d", len(rep.Secure), len(paths)*len(bench.SecureCiphers))
	}
	for i, r := range rep.Secure {
		p, c := paths[i/len(bench.SecureCiphers)], bench.SecureCiphers[i%len(bench.SecureCiphers)]
		if r.Path != p.ID || r.Cipher != c || r.Test != bench.OcbrFlood || r.Size != bench.SecureSize {
			t.Errorf("encrypted flows row %d is %s %q %s %d, want %s %q", i, r.Path, r.Cipher, r.Test, r.Size, p.ID, c)
			continue
		}
		if r.Error != "" || r.Received == 0 || !(r.PacketsPerSec > 0) {
			t.Errorf("encrypted flows row %d (%s): %+v", i, r.Label, r)
		}
		if c != "" && !(r.RawRatio > 0) {
			t.Errorf("encrypted flows row %d (%s): no ratio to the plaintext row", i, r.Label)
		}
		if !strings.Contains(md, "| "+r.Label+" | ") {
			t.Errorf("no row %q in the Markdown", r.Label)
		}
	}
}
