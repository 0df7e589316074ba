package bench

import (
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// TestToolPaths checks the table of tool paths: unique identifiers and
// labels, a way to open each, the unicast paths with the reference's
// unicast layer next to those over udp4, and only the eth-dix ones
// skipped, exactly when the machine cannot run them.
func TestToolPaths(t *testing.T) {
	ids, labels := map[string]ToolPath{}, map[string]bool{}
	for _, p := range DefaultToolPaths() {
		if _, dup := ids[p.ID]; dup || labels[p.Label] || p.ID == "" || p.Label == "" || p.open == nil {
			t.Errorf("tool path %s (%q): empty or duplicate", p.ID, p.Label)
		}
		ids[p.ID], labels[p.Label] = p, true
		switch p.RefVariant {
		case "", "direct", "nodirect":
		default:
			t.Errorf("%s: reference variant %q", p.ID, p.RefVariant)
		}
		if p.refOpen != nil && p.RefVariant == "" {
			t.Errorf("%s: reference nodes but no reference rows", p.ID)
		}
		eth := p.ID == EthDIXID || p.ID == UnicastEthID
		switch {
		case eth && (p.Skip == nil || p.Skip() != ethSkip()):
			t.Errorf("%s: Skip is not ethSkip", p.ID)
		case !eth && p.Skip != nil:
			t.Errorf("%s can be skipped", p.ID)
		}
	}
	for _, id := range []string{UnicastID, UnicastTwoHopID} {
		if p, ok := ids[id]; !ok || p.refOpen == nil || p.RefVariant != "nodirect" {
			t.Errorf("%s: missing, or without the reference's unicast layer", id)
		}
	}
	if p, ok := ids[UnicastEthID]; !ok || p.RefVariant != "" {
		t.Errorf("%s: missing, or with reference rows", UnicastEthID)
	}
}

// TestUniEthMTU checks that every packet of the tools' plan, with an FRCT
// header, a CRC and the unicast layer's data-transfer header, fits in an
// eth-dix frame of the pair's MTU, which is standard Ethernet's for today's
// plan.
func TestUniEthMTU(t *testing.T) {
	mtu := uniEthMTU()
	for _, m := range ToolPlan() {
		if sdu := m.Size + wire.FRCTLen + crcLen + wire.DTPCILen; sdu > mtu-wire.EthDIXOverhead {
			t.Errorf("%v: an SDU of %d bytes does not fit in %d", m, sdu, mtu-wire.EthDIXOverhead)
		}
	}
	if mtu != ethMTUStd {
		t.Errorf("uniEthMTU() = %d, want %d", mtu, ethMTUStd)
	}
}

// TestRefUniAddrs checks the address plan of the reference's line: every
// node's IPCP binds an address of its own pairs, node 0's and node 1's on
// the pair they share, node 2's on its pair with node 1.
func TestRefUniAddrs(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{refUniAddr(0, 0), "10.79.0.1"}, {refUniAddr(0, 1), "10.79.0.2"},
		{refUniAddr(1, 1), "10.79.1.1"}, {refUniAddr(1, 2), "10.79.1.2"},
		{refUniIPCPAddr(0), "10.79.0.1"}, {refUniIPCPAddr(1), "10.79.0.2"}, {refUniIPCPAddr(2), "10.79.1.2"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

// TestLogTail checks that a reference log is cut to its end, on one line,
// without colours, with its pipes escaped for a table cell.
func TestLogTail(t *testing.T) {
	log := "\x1b[38;5;4m banner \x1b[0m\n==1== irmd(II): started.\n==1== irmd(EE): Flow allocation timed out | x.\n"
	if got, want := logTail(log, 1000), "banner ==1== irmd(II): started. ==1== irmd(EE): Flow allocation timed out \\| x."; got != want {
		t.Errorf("logTail = %q, want %q", got, want)
	}
	if got, want := logTail(log, 12), "…ed out \\| x."; got != want {
		t.Errorf("logTail(12) = %q, want %q", got, want)
	}
}
