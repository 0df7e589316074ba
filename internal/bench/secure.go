package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The encrypted flows table: `ocbr -f -s 1000` over a direct flow and over
// the udp4 layer, plaintext and encrypted with each cipher of SecureCiphers,
// in turn on the same hosts with the same ocbr server, so that each
// encrypted row stands next to the plaintext row of its path in the same
// run (×raw). The rows of a path run in rounds (plaintext, then each cipher;
// Config.SecureRounds of them) and each row keeps its median run: on a busy
// machine one run of a few seconds can be far off. The hosts' irmds share a private security directory; before
// each row the harness writes (or, for the plaintext row, removes) the
// server's and the client's enc.conf of serverName, which the irmds read at
// every allocation: each client run allocates a new flow under the policy
// of its row. A row checks the irmds' logs: an encrypted row fails unless
// the server's irmd logged the flow encrypted with its cipher, a plaintext
// row fails if it logged any encrypted flow.

// SecureCiphers are the ciphers of the encrypted flows table, by their
// enc.conf names; "" is the plaintext row.
var SecureCiphers = []string{"", "aes-256-gcm", "chacha20-poly1305"}

// SecureSize is the packet size of the encrypted flows table's ocbr rows.
const SecureSize = 1000

// SecureToolPaths returns the paths of the encrypted flows table: direct
// and the udp4 layer, each with a private security directory.
func SecureToolPaths() []ToolPath {
	return []ToolPath{
		{ID: DirectID, Label: "direct flow", open: func(ctx context.Context, h *Harness) (*hostSet, error) {
			return h.startSecureHosts(ctx, instance{})
		}},
		{ID: UDP4LayerID, Label: "udp4 layer", open: func(ctx context.Context, h *Harness) (*hostSet, error) {
			inst, err := udp4Instance()
			if err != nil {
				return nil, err
			}
			return h.startSecureHosts(ctx, inst)
		}},
	}
}

// startSecureHosts starts the hosts of inst with a new, empty security
// directory shared by their irmds (hostSet.secDir).
func (h *Harness) startSecureHosts(ctx context.Context, inst instance) (*hostSet, error) {
	dir, err := h.procs.tempDir("obench-sec-")
	if err != nil {
		return nil, err
	}
	inst.securityDir = dir
	hs, err := h.startHosts(ctx, inst)
	if err != nil {
		h.procs.removeDir(dir)
		return nil, err
	}
	hs.secDir = dir
	hs.stops = append(hs.stops, func() { h.procs.removeDir(dir) })
	return hs, nil
}

// setEncConf makes serverName's flows in the security directory dir
// encrypted with cipher (the server's and the client's enc.conf say so), or
// plaintext for "" (neither file exists).
func setEncConf(dir, cipher string) error {
	for _, side := range []string{"server", "client"} {
		d := filepath.Join(dir, side, serverName)
		p := filepath.Join(d, "enc.conf")
		if cipher == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		conf := fmt.Sprintf("# obench: the encrypted flows table\nkex = X25519\ncipher = %s\n", cipher)
		if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// secureLabel is the label of a row of the encrypted flows table.
func secureLabel(path, cipher string) string {
	if cipher == "" {
		return path + ", plaintext"
	}
	return path + ", " + cipher
}

// runSecure runs the encrypted flows table.
func (h *Harness) runSecure(ctx context.Context) []ToolResult {
	var all []ToolResult
	for _, p := range h.cfg.SecurePaths {
		var rows []ToolResult
		for _, c := range SecureCiphers {
			tool, args, _ := h.toolArgs(ToolMeasure{OcbrFlood, SecureSize}, "raw")
			rows = append(rows, ToolResult{Path: p.ID, Label: secureLabel(p.Label, c), Impl: ImplOurs,
				QoS: "raw", Test: OcbrFlood, Size: SecureSize, Command: commandLine(tool, args), Cipher: c})
		}
		all = append(all, h.runSecurePath(ctx, p, rows)...)
	}
	ComputeRawRatios(all)
	return all
}

// runSecurePath runs rows (one per cipher) over p: one set of hosts, one
// ocbr server, the rows in turn.
func (h *Harness) runSecurePath(ctx context.Context, p ToolPath, rows []ToolResult) []ToolResult {
	hs, fail := startPath(ctx, h, "encrypted flows", p, rows)
	if hs == nil {
		return rows
	}
	defer hs.close()
	srv, err := h.startToolServer(ctx, hs, "ocbr", "Server started", "-i", "1", "-t", "1")
	if err != nil {
		return fail(fmt.Errorf("ocbr server: %w%s", err, hs.logs()))
	}
	defer h.stopToolServer(hs, srv)
	runs := make([][]ToolResult, len(rows))
	for round := range max(1, h.cfg.SecureRounds) {
		for i := range rows {
			if rows[i].Error != "" {
				continue // a failed run fails its row
			}
			r := rows[i] // a copy: this run's figures
			if err := h.runSecureRow(ctx, hs, srv, &r); err != nil {
				rows[i].Error = err.Error()
				h.logf("encrypted flows, %s: %s: %v", r.Label, r.Command, err)
				continue
			}
			h.logf("encrypted flows, %s, round %d: %s: %s", r.Label, round+1, r.Command, toolSummary(&r))
			runs[i] = append(runs[i], r)
		}
	}
	for i := range rows {
		if rows[i].Error == "" && len(runs[i]) > 0 {
			rows[i] = medianRun(runs[i])
		}
	}
	return rows
}

// runSecureRow sets the enc.conf files for r's cipher and runs r's command
// once, filling in r's figures; it fails if the flow was not encrypted as
// the row says.
func (h *Harness) runSecureRow(ctx context.Context, hs *hostSet, srv *toolServer, r *ToolResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := setEncConf(hs.secDir, r.Cipher); err != nil {
		return fmt.Errorf("enc.conf: %w", err)
	}
	before := encryptedFlows(hs.server.irmd.out.String(), "")
	beforeC := encryptedFlows(hs.server.irmd.out.String(), r.Cipher)
	if err := h.runTool(ctx, hs, srv, r); err != nil {
		return err
	}
	log := hs.server.irmd.out.String()
	switch {
	case r.Cipher == "" && encryptedFlows(log, "") != before:
		return fmt.Errorf("the irmd encrypted the plaintext row's flow")
	case r.Cipher != "" && encryptedFlows(log, r.Cipher) == beforeC:
		return fmt.Errorf("the server's irmd logged no flow encrypted with %s%s", r.Cipher, hs.logs())
	}
	return nil
}

// medianRun returns the run of a row with the median rate (the lower
// middle one of an even count).
func medianRun(runs []ToolResult) ToolResult {
	s := slices.Clone(runs)
	slices.SortStableFunc(s, func(a, b ToolResult) int { return cmp.Compare(a.PacketsPerSec, b.PacketsPerSec) })
	return s[(len(s)-1)/2]
}

// encryptedFlows counts the lines of an irmd's log that say a flow for
// serverName was encrypted with cipher (any cipher for "").
func encryptedFlows(log, cipher string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "Flow for "+serverName+" encrypted: ") &&
			(cipher == "" || strings.Contains(line, ", "+cipher+", ")) {
			n++
		}
	}
	return n
}

// ComputeRawRatios sets RawRatio of every encrypted row that has a figure:
// its figure ÷ the plaintext row's of the same path.
func ComputeRawRatios(rows []ToolResult) {
	raw := map[string]*ToolResult{}
	for i := range rows {
		if r := &rows[i]; r.Cipher == "" {
			raw[r.Path] = r
		}
	}
	for i := range rows {
		r := &rows[i]
		r.RawRatio = 0
		if b := raw[r.Path]; r.Cipher != "" && b != nil {
			if q := Ratio(r.Figure(), b.Figure()); !math.IsNaN(q) {
				r.RawRatio = q
			}
		}
	}
}

// secureFailed reports whether a row of the encrypted flows table failed.
func (rep *Report) secureFailed() bool {
	for _, r := range rep.Secure {
		if r.Error != "" {
			return true
		}
	}
	return false
}

// secureMarkdown renders the encrypted flows table; "" for none.
func (rep *Report) secureMarkdown() string {
	if len(rep.Secure) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Encrypted flows: `ocbr -f -s %d -d %d`\n\n", SecureSize, rep.OcbrSeconds)
	fmt.Fprintf(&b, "The ocbr flood of the tools table over a direct flow and over the udp4 layer, plaintext and "+
		"encrypted end to end (the server's and the client's `enc.conf` of the name: `kex = X25519` and the "+
		"cipher), the rows of a path in turn on the same hosts with the same ocbr server, in %d rounds; each row "+
		"shows its median run. ×raw is the row's rate ÷ the plaintext row's of the same path. Every encrypted run "+
		"is checked in the server irmd's log (the flow was encrypted with its cipher).\n\n", max(1, rep.SecureRounds))
	cols := []string{"packets/s", "×raw", "lost", "CPU µs/pkt"}
	b.WriteString("| path | " + strings.Join(cols, " | ") + " |\n")
	b.WriteString("|---|" + strings.Repeat("---:|", len(cols)) + "\n")
	for i := range rep.Secure {
		b.WriteString(toolRow(&rep.Secure[i], cols))
	}
	return b.String()
}
