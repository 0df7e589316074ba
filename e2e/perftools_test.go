package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// The operf and ocbr tools against real processes: a server bound to a name
// in a local layer, clients over a direct flow and through the local IPCP.
// Runs are short (1 s); floods check that nothing is lost on raw local flows
// (the senders are back-pressured), by comparing the clients' and the
// servers' JSON summaries and the servers' per-packet and per-interval lines.

// perfSummary holds the fields of the tools' JSON summaries used here.
type perfSummary struct {
	Tool     string `json:"tool"`
	Role     string `json:"role"`
	Test     string `json:"test"`
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	Error    string `json:"error"`
	Flows    []struct {
		FD      int    `json:"fd"`
		Test    string `json:"test"`
		Packets uint64 `json:"packets"`
		Bytes   uint64 `json:"bytes"`
		End     string `json:"end"`
	} `json:"flows"`
}

// perfJSON parses the last line of out, the JSON summary.
func perfJSON(t *testing.T, who, out string) perfSummary {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var s perfSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("%s: no JSON summary last (%v):\n%s", who, err, perfTail(out))
	}
	return s
}

// perfTail is the end of a long output, for failure messages.
func perfTail(out string) string {
	if len(out) > 4000 {
		return "..." + out[len(out)-4000:]
	}
	return out
}

// perfWaitCount waits until p printed sub n times.
func perfWaitCount(t *testing.T, p *rig.Proc, sub string, n int, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); strings.Count(p.Out.String(), sub) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%q printed %d times, want %d:\n%s", sub, strings.Count(p.Out.String(), sub), n,
				perfTail(p.Out.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// perfStop stops a server with SIGTERM and returns its output; it must exit 0.
func perfStop(t *testing.T, p *rig.Proc) string {
	t.Helper()
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if !p.Wait(20 * time.Second) {
		t.Fatalf("server did not stop on SIGTERM:\n%s", perfTail(p.Out.String()))
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("server exit %d:\n%s", code, perfTail(p.Out.String()))
	}
	return p.Out.String()
}

// perfServer starts a server of tool bound to name in a local layer, over
// direct flows or through the local IPCP.
func perfServer(t *testing.T, direct bool, tool, name, started string, args ...string) (*env, *rig.Proc) {
	e := setup(t, rig.Options{NoDirect: !direct})
	e.Irm("ipcp", "bootstrap", "type", "local", "name", "local-ipcp", "layer", "local-layer")
	e.Irm("name", "register", name, "layer", "local-layer")
	srv := e.Start(tool, append([]string{"-l", "--json"}, args...)...)
	srv.WaitOutput(t, started, 10*time.Second)
	e.Irm("bind", "process", strconv.Itoa(srv.PID()), "name", name)
	return e, srv
}

// perfWait waits for a client and returns its output; it must exit 0.
func perfWait(t *testing.T, who string, p *rig.Proc) string {
	t.Helper()
	if !p.Wait(30 * time.Second) {
		t.Fatalf("%s did not finish:\n%s", who, perfTail(p.Out.String()))
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s exit %d:\n%s", who, code, p.Out.String())
	}
	return p.Out.String()
}

var (
	operfBiStats = regexp.MustCompile(`^(\d+) packets transmitted, (\d+) received, 0% packet loss, ` +
		`time: \d+\.\d{3} ms, bandwidth: \d+\.\d{3} Mb/s\.$`)
	operfSeqno = regexp.MustCompile(`(?m)^Seqno (\d+) from fd (\d+): \d+\.\d{6}$`)
)

// TestOperf runs three operf clients at once against one server: a
// unidirectional flood, a bidirectional flood and a paced bidirectional test
// with another QoS cube; then it stops the server.
func TestOperf(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			// The server prints a line per packet only with -v.
			verbose := !direct
			var args []string
			if verbose {
				args = []string{"-v"}
			}
			e, srv := perfServer(t, direct, "operf", "operf.srv", "Ouroboros perf server started.", args...)
			uni := e.Start("operf", "-n", "operf.srv", "-d", "1s", "-f", "--json")
			bi := e.Start("operf", "-n", "operf.srv", "-t", "bi", "-d", "1000ms", "-f", "-s", "1000", "--json")
			paced := e.Start("operf", "-n", "operf.srv", "-t", "bi", "-d", "1s", "-r", "4M", "--sleep",
				"-q", "voice", "--json")

			// Unidirectional: the client ends with its statistics.
			out := perfWait(t, "uni client", uni)
			want := "Doing a unidirectional test.\n" +
				"Flooding operf.srv with 1500 byte packets for 1 seconds.\n\n" +
				"Test finished.\n\n--- operf.srv perf statistics ---\n"
			if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 8 {
				t.Errorf("uni client output:\n%s", out)
			}
			uniSum := perfJSON(t, "uni client", out)
			if uniSum.Tool != "operf" || uniSum.Test != "uni" || uniSum.Sent == 0 || uniSum.Error != "" {
				t.Errorf("uni client summary %+v", uniSum)
			}
			if line := fmt.Sprintf("\n%d packets transmitted, %d bytes, time: ", uniSum.Sent, 1500*uniSum.Sent); !strings.Contains(out, line) {
				t.Errorf("uni client statistics: no %q in\n%s", line, out)
			}

			// Bidirectional: every echo comes back.
			biSent := map[string]uint64{}
			for _, c := range []struct {
				name  string
				p     *rig.Proc
				start string
			}{
				{"bi", bi, "Flooding operf.srv with 1000 byte packets for 1 seconds."},
				{"paced", paced, "Sending 1500 byte packets for 1 s to operf.srv at 4.000 Mb/s."},
			} {
				out := perfWait(t, c.name+" client", c.p)
				lines := strings.Split(out, "\n")
				if len(lines) != 9 || lines[0] != "Doing a bidirectional test." || lines[1] != c.start ||
					lines[2] != "" || lines[3] != "Test finished." || lines[4] != "" ||
					lines[5] != "--- operf.srv perf statistics ---" {
					t.Fatalf("%s client output:\n%s", c.name, out)
				}
				m := operfBiStats.FindStringSubmatch(lines[6])
				if m == nil || m[1] != m[2] {
					t.Errorf("%s client lost echoes: %q", c.name, lines[6])
				}
				s := perfJSON(t, c.name+" client", out)
				if s.Test != "bi" || s.Sent == 0 || s.Received != s.Sent || strconv.FormatUint(s.Sent, 10) != m[1] {
					t.Errorf("%s client summary %+v", c.name, s)
				}
				biSent[c.name] = s.Sent
			}
			// 4 Mb/s in 1500-byte packets is 333 packets in 1 s (the sleeps
			// keep a schedule); the race detector slows everything.
			if n := biSent["paced"]; n < 100 || n > 334 {
				t.Errorf("paced client sent %d packets in 1 s at 333/s", n)
			}

			perfWaitCount(t, srv, " ended.\n", 3, 10*time.Second)
			out = perfStop(t, srv)
			if !strings.HasPrefix(out, "Ouroboros perf server started.\n") ||
				strings.Count(out, "Doing a unidirectional test.\n") != 1 ||
				strings.Count(out, "Doing a bidirectional test.\n") != 2 ||
				len(regexp.MustCompile(`(?m)^New flow \d+\.$`).FindAllString(out, -1)) != 3 {
				t.Errorf("server output:\n%s", perfTail(out))
			}
			sum := perfJSON(t, "server", out)
			if len(sum.Flows) != 3 {
				t.Fatalf("server summary %+v", sum)
			}
			var gotBi []uint64
			for _, f := range sum.Flows {
				if f.End != "ended" {
					t.Errorf("flow %d ended %q", f.FD, f.End)
				}
				switch f.Test {
				case "uni":
					if f.Packets != uniSum.Sent || f.Bytes != 1500*uniSum.Sent {
						t.Errorf("uni: server got %d packets (%d bytes), client sent %d", f.Packets, f.Bytes, uniSum.Sent)
					}
					// One summary line for the flow, and with -v one line
					// per packet, in order.
					if line := fmt.Sprintf("Flow %d: %d packets, %d bytes received in ", f.FD, f.Packets, f.Bytes); !strings.Contains(out, line) {
						t.Errorf("uni: no %q in the server's output:\n%s", line, perfTail(out))
					}
					var ids []int
					for _, m := range operfSeqno.FindAllStringSubmatch(out, -1) {
						if m[2] == strconv.Itoa(f.FD) {
							id, _ := strconv.Atoi(m[1])
							ids = append(ids, id)
						}
					}
					if !verbose && len(ids) != 0 {
						t.Errorf("uni: %d Seqno lines without -v", len(ids))
					}
					if verbose && (uint64(len(ids)) != uniSum.Sent || (len(ids) > 0 && ids[len(ids)-1] != len(ids)-1)) {
						t.Errorf("uni: %d Seqno lines for %d packets", len(ids), uniSum.Sent)
					}
				case "bi":
					gotBi = append(gotBi, f.Packets)
				default:
					t.Errorf("flow %+v", f)
				}
			}
			wantBi := []uint64{biSent["bi"], biSent["paced"]}
			slices.Sort(gotBi)
			slices.Sort(wantBi)
			if !slices.Equal(gotBi, wantBi) {
				t.Errorf("bi: server echoed %v packets, clients sent %v", gotBi, wantBi)
			}
		})
	}
}

// TestOperfInterrupted stops a long bidirectional flood with SIGINT: the
// client ends the test, prints its statistics and exits 0.
func TestOperfInterrupted(t *testing.T) {
	e, srv := perfServer(t, true, "operf", "operf.srv", "Ouroboros perf server started.")
	c := e.Start("operf", "-n", "operf.srv", "-t", "bi", "-d", "1m", "-f")
	srv.WaitOutput(t, "Doing a bidirectional test.", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	c.Cmd.Process.Signal(syscall.SIGINT)
	out := perfWait(t, "client", c)
	if !strings.Contains(out, "Test finished.\n\n--- operf.srv perf statistics ---\n") {
		t.Errorf("client output:\n%s", out)
	}
	// Echoes in flight when the client left cannot be written.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out := srv.Out.String()
		if strings.Contains(out, "Flow 64 ended.\n") || strings.Contains(out, "Error writing to flow (fd 64).\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not notice the client left:\n%s", out)
		}
	}
	perfStop(t, srv)
}

// TestOperfWire talks to the operf server from this process, with messages
// built here byte by byte: a unidirectional test's packets are printed with
// their ids (operf -l -v), a bad configuration ends its flow without stopping
// the server.
func TestOperfWire(t *testing.T) {
	e, srv := perfServer(t, false, "operf", "operf.srv", "Ouroboros perf server started.", "-v")

	f := e.alloc("operf.srv", qos.Raw)
	msgs := [][]byte{
		{0, 0, 0, 0}, // configuration: uni, uint32 little-endian
		append([]byte{0, 0, 0, 0}, make([]byte, 60)...), // id 0, little-endian
		append([]byte{1, 0, 0, 0}, make([]byte, 60)...),
		append([]byte{0, 1, 0, 0}, make([]byte, 1496)...), // id 256
		{0xff, 0xff, 0xff, 0xff, 0},                       // id -1, printed signed
	}
	for _, m := range msgs {
		if _, err := f.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	perfWaitCount(t, srv, "Seqno ", 4, 10*time.Second)
	f.Close()
	perfWaitCount(t, srv, "Flow 64 ended.\n", 1, 10*time.Second)
	var ids []string
	for _, m := range operfSeqno.FindAllStringSubmatch(srv.Out.String(), -1) {
		ids = append(ids, m[1]+"@"+m[2])
	}
	if !slices.Equal(ids, []string{"0@64", "1@64", "256@64"}) ||
		!strings.Contains(srv.Out.String(), "\nSeqno -1 from fd 64: ") {
		t.Errorf("server output:\n%s", srv.Out.String())
	}

	g := e.alloc("operf.srv", qos.Raw)
	if _, err := g.Write([]byte{1, 0, 0}); err != nil { // 3 bytes: not a configuration
		t.Fatal(err)
	}
	srv.WaitOutput(t, "Invalid config message.\n", 10*time.Second)
	g.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := g.Read(make([]byte, 64)); !isErrno(err, flow.EFLOWDOWN) {
		t.Errorf("read after a bad configuration: %v, want EFLOWDOWN", err)
	}

	out, errOut, code := e.Run("operf", "-n", "operf.srv", "-t", "bi", "-d", "200ms", "-f")
	if code != 0 || !strings.Contains(out, " 0% packet loss") {
		t.Errorf("a client after the bad one: exit %d\n%s%s", code, out, errOut)
	}
	out = perfStop(t, srv)
	if strings.Count(out, "New flow ") != 3 {
		t.Errorf("server output:\n%s", perfTail(out))
	}
}

var (
	ocbrSent   = regexp.MustCompile(`^sent statistics: +(\d+) packets, +(\d+) bytes in +\d+ ms, \d+\.\d{4} Mb/s$`)
	ocbrReport = regexp.MustCompile(`(?m)^Flow +(\d+): +(\d+) packets \( +(\d+) bytes\) in +\d+ ms => +\d+\.\d{4} pps, +\d+\.\d{4} Mbps$`)
)

// TestOcbr runs three ocbr clients at once against one server: two floods and
// a paced run, and checks that the server counted every packet sent.
func TestOcbr(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			e, srv := perfServer(t, direct, "ocbr", "ocbr.srv", "Server started, interval is 1 s, timeout is 1 s.")
			clients := []*rig.Proc{
				e.Start("ocbr", "-n", "ocbr.srv", "-d", "1", "-f", "--json"),
				e.Start("ocbr", "-n", "ocbr.srv", "-d", "1", "-f", "-s", "1400", "-q", "best", "--json"),
				e.Start("ocbr", "-n", "ocbr.srv", "-d", "1", "-r", "8M", "--json"),
			}
			starts := []string{
				"Client started, duration 1, rate 1000000 b/s, size 1000 B.",
				"Client started, duration 1, rate 1000000 b/s, size 1400 B.",
				"Client started, duration 1, rate 8000000 b/s, size 1000 B.",
			}
			var sent []uint64
			for i, c := range clients {
				who := fmt.Sprintf("client %d", i)
				out := perfWait(t, who, c)
				lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
				// A paced client that fell short of its rate (a busy
				// machine, the race detector) says so after its statistics.
				if i == 2 && len(lines) == 4 && strings.HasPrefix(lines[2], "Requested rate not met: ") {
					lines = append(lines[:2], lines[3])
				}
				if len(lines) != 3 || lines[0] != starts[i] {
					t.Fatalf("%s output:\n%s", who, out)
				}
				m := ocbrSent.FindStringSubmatch(lines[1])
				s := perfJSON(t, who, out)
				if m == nil || m[1] != strconv.FormatUint(s.Packets, 10) || m[2] != strconv.FormatUint(s.Bytes, 10) ||
					s.Packets == 0 || s.Error != "" {
					t.Errorf("%s: %q, summary %+v", who, lines[1], s)
				}
				sent = append(sent, s.Packets)
			}
			// 8 Mb/s in 1000-byte packets is 1000 packets in 1 s: the
			// client sends the packets due in the duration, however long
			// the writes take.
			if sent[2] != 1000 {
				t.Errorf("paced client sent %d packets in 1 s at 1000/s", sent[2])
			}

			perfWaitCount(t, srv, " ended\n", 3, 10*time.Second)
			out := perfStop(t, srv)
			if strings.Count(out, "New flow.\n") != 3 || strings.Contains(out, "timed out") {
				t.Errorf("server output:\n%s", out)
			}
			// The reports of each flow add up to its packets.
			reported := map[int]uint64{}
			for _, m := range ocbrReport.FindAllStringSubmatch(out, -1) {
				fd, _ := strconv.Atoi(m[1])
				n, _ := strconv.ParseUint(m[2], 10, 64)
				reported[fd] += n
			}
			sum := perfJSON(t, "server", out)
			var got []uint64
			for _, f := range sum.Flows {
				if f.End != "ended" || reported[f.FD] != f.Packets {
					t.Errorf("flow %+v: reports add up to %d packets", f, reported[f.FD])
				}
				got = append(got, f.Packets)
			}
			slices.Sort(got)
			slices.Sort(sent)
			if !slices.Equal(got, sent) {
				t.Errorf("server counted %v packets, clients sent %v", got, sent)
			}
		})
	}
}

// TestOcbrPool starts more clients than the server has workers: the server
// waits for a free worker, and the last client's allocation waits with it.
func TestOcbrPool(t *testing.T) {
	e, srv := perfServer(t, true, "ocbr", "ocbr.srv", "Server started, interval is 1 s, timeout is 1 s.")
	var clients []*rig.Proc
	for range 11 {
		clients = append(clients, e.Start("ocbr", "-n", "ocbr.srv", "-d", "2", "-r", "80k", "--json"))
	}
	var sent []uint64
	for i, c := range clients {
		s := perfJSON(t, fmt.Sprint("client ", i), perfWait(t, fmt.Sprint("client ", i), c))
		sent = append(sent, s.Packets)
	}
	perfWaitCount(t, srv, " ended\n", 11, 10*time.Second)
	out := perfStop(t, srv)
	if strings.Count(out, "New flow.\n") != 11 || !strings.Contains(out, "Can't accept any more flows, waiting.\n") {
		t.Errorf("server output:\n%s", out)
	}
	sum := perfJSON(t, "server", out)
	var got []uint64
	for _, f := range sum.Flows {
		got = append(got, f.Packets)
	}
	slices.Sort(got)
	slices.Sort(sent)
	if !slices.Equal(got, sent) {
		t.Errorf("server counted %v packets, clients sent %v", got, sent)
	}
}

// TestPerfToolsUnknownName checks the clients' error for a name nobody serves.
func TestPerfToolsUnknownName(t *testing.T) {
	e := setup(t, rig.Options{})
	// The reference's line on stdout, the reason on stderr.
	const why = "allocate flow to nobody: naming error (unknown name"
	out, errOut, code := e.Run("operf", "-n", "nobody", "-d", "1s")
	if code != 1 || out != "Failed to allocate flow.\n" || !strings.HasPrefix(errOut, "operf: "+why) {
		t.Errorf("operf: exit %d, output %q %q", code, out, errOut)
	}
	out, errOut, code = e.Run("ocbr", "-n", "nobody", "-d", "1", "--json")
	lines := strings.Split(out, "\n")
	if code != 1 || !strings.HasPrefix(errOut, "ocbr: "+why) || len(lines) != 4 || lines[0] != "Client started, duration 1, rate 1000000 b/s, size 1000 B." ||
		lines[1] != "Failed to allocate flow." || perfJSON(t, "ocbr", out).Error != "Failed to allocate flow." {
		t.Errorf("ocbr: exit %d, output %q %q", code, out, errOut)
	}
}
