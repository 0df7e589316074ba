package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// Broadcast layers: members on hosts joined by udp4 on loopback (each
// host an irmd of its own with a udp4 IPCP at 127.0.0.<i>), applications
// that join the layer (roles of this test binary, and obc).

func init() {
	moreRoles["bc-reader"] = bcReaderRole
	moreRoles["bc-writer"] = bcWriterRole
	moreRoles["bc-stall"] = bcStallRole
}

// bcReaderRole joins the layer name and prints every message as
// "got <size> <first 40 bytes>".
func bcReaderRole(name string) int {
	defer flow.Fini()
	f, err := flow.Join(context.Background(), name)
	if err != nil {
		fmt.Println("join:", err)
		return 1
	}
	fmt.Println("joined")
	buf := make([]byte, 2048)
	for {
		n, err := f.Read(buf)
		if err != nil {
			fmt.Println("read:", err)
			return 1
		}
		fmt.Printf("got %d %s\n", n, buf[:min(n, 40)])
	}
}

// bcStallRole joins the layer name and never reads.
func bcStallRole(name string) int {
	defer flow.Fini()
	if _, err := flow.Join(context.Background(), name); err != nil {
		fmt.Println("join:", err)
		return 1
	}
	fmt.Println("joined")
	select {}
}

// bcWriterRole joins the layer name, waits for the file O7S_E2E_GO (if
// set), writes O7S_E2E_COUNT messages "m-<tag>-<k>" (O7S_E2E_TAG),
// padded with dots to O7S_E2E_SIZE bytes if set, O7S_E2E_PAUSE µs apart,
// then "end-<tag>". With O7S_E2E_SIZES it then writes a message of 1400
// bytes and one of 1401 and reports each. It stays joined until the file
// O7S_E2E_GO2 exists, if set.
func bcWriterRole(name string) int {
	defer flow.Fini()
	f, err := flow.Join(context.Background(), name)
	if err != nil {
		fmt.Println("join:", err)
		return 1
	}
	fmt.Println("joined")
	waitFile(os.Getenv("O7S_E2E_GO"))
	count, _ := strconv.Atoi(os.Getenv("O7S_E2E_COUNT"))
	size, _ := strconv.Atoi(os.Getenv("O7S_E2E_SIZE"))
	pause, _ := strconv.Atoi(os.Getenv("O7S_E2E_PAUSE"))
	tag := os.Getenv("O7S_E2E_TAG")
	for k := range count {
		m := []byte(fmt.Sprintf("m-%s-%d", tag, k))
		if len(m) < size {
			m = append(m, bytes.Repeat([]byte{'.'}, size-len(m))...)
		}
		if _, err := f.Write(m); err != nil {
			fmt.Println("write:", err)
			return 1
		}
		time.Sleep(time.Duration(pause) * time.Microsecond) // pacing, as a sender on a network
	}
	if _, err := f.Write([]byte("end-" + tag)); err != nil {
		fmt.Println("write:", err)
		return 1
	}
	fmt.Println("sent", count)
	if os.Getenv("O7S_E2E_SIZES") != "" {
		for _, n := range []int{flow.JoinMaxSDU, flow.JoinMaxSDU + 1} {
			_, err := f.Write(bytes.Repeat([]byte{'B'}, n))
			switch {
			case err == nil:
				fmt.Printf("%d: ok\n", n)
			case errors.Is(err, flow.EMSGSIZE):
				fmt.Printf("%d: EMSGSIZE: %v\n", n, err)
			default:
				fmt.Printf("%d: %v\n", n, err)
			}
		}
	}
	waitFile(os.Getenv("O7S_E2E_GO2"))
	return 0
}

// bcNet is a broadcast layer "bcl" of n members bc.1 .. bc.n, one per
// host; bc.1 bootstraps it, the others enroll through it by the layer's
// name.
type bcNet struct {
	t     *testing.T
	hosts []*rig.Instance // hosts[i] is host i+1
}

// newBCNet starts n hosts joined by udp4 on loopback, with a member of
// the broadcast layer on each, and connects the members along edges
// (pairs of host numbers, the first connecting to the second).
func newBCNet(t *testing.T, n int, edges [][2]int) *bcNet {
	t.Helper()
	ips := make([]string, n)
	entries := map[string]string{"bcl": "127.0.0.1"}
	for i := range n {
		ips[i] = fmt.Sprintf("127.0.0.%d", i+1)
		entries[fmt.Sprintf("bc.%d", i+1)] = ips[i]
	}
	hosts := writeHosts(t, entries)
	port := strconv.Itoa(freeUDPPort(t, ips...))
	b := &bcNet{t: t}
	for i := range n {
		in := rig.Start(t, rig.Options{NoDirect: true, Env: []string{udp.HostsEnv + "=" + hosts}})
		in.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", ips[i], "port", port)
		b.hosts = append(b.hosts, in)
	}
	b.hosts[0].Irm("ipcp", "bootstrap", "type", "broadcast", "name", "bc.1", "layer", "bcl", "autobind")
	b.hosts[0].Irm("name", "register", "bc.1", "layer", "udp")
	b.hosts[0].Irm("name", "register", "bcl", "layer", "udp")
	for i := 2; i <= n; i++ {
		in := b.hosts[i-1]
		name := fmt.Sprintf("bc.%d", i)
		in.Irm("ipcp", "enroll", "name", name, "layer", "bcl", "type", "broadcast", "autobind")
		in.Irm("name", "register", name, "layer", "udp")
	}
	degree := make([]int, n)
	for _, e := range edges {
		b.hosts[e[0]-1].Irm("ipcp", "connect", "name", fmt.Sprintf("bc.%d", e[0]), "dst", fmt.Sprintf("bc.%d", e[1]),
			"component", "dt")
		degree[e[0]-1]++
		degree[e[1]-1]++
	}
	for i, in := range b.hosts {
		waitLines(t, in, regexp.MustCompile(`ipcpd/broadcast\(II\): Data Transfer connection \d+ with .* up\.`), degree[i])
	}
	return b
}

// waitLines waits until in's log has n lines matching re.
func waitLines(t *testing.T, in *rig.Instance, re *regexp.Regexp, n int) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); len(re.FindAllString(in.Log(), -1)) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("fewer than %d lines %q after 30 s:\n%s", n, re, in.Tail())
		}
	}
}

// reader joins the layer at host i (1-based).
func (b *bcNet) reader(i int) *rig.Proc {
	b.t.Helper()
	p := roleIn(b.t, b.hosts[i-1], "bc-reader", "bcl")
	p.WaitOutput(b.t, "joined", 30*time.Second)
	return p
}

// writer joins the layer at host i and writes count messages tagged tag
// once the returned function is called.
func (b *bcNet) writer(i int, tag string, count int, env ...string) (*rig.Proc, func()) {
	b.t.Helper()
	goFile := filepath.Join(b.t.TempDir(), "go")
	env = append(env, "O7S_E2E_GO="+goFile, "O7S_E2E_TAG="+tag, "O7S_E2E_COUNT="+strconv.Itoa(count))
	p := roleIn(b.t, b.hosts[i-1], "bc-writer", "bcl", env...)
	p.WaitOutput(b.t, "joined", 30*time.Second)
	return p, func() {
		if err := os.WriteFile(goFile, nil, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// received returns how many times a reader got each message.
func received(p *rig.Proc) map[string]int {
	got := map[string]int{}
	for _, l := range strings.Split(p.Out.String(), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "got" {
			got[strings.TrimRight(f[2], ".")]++ // the padding of O7S_E2E_SIZE
		}
	}
	return got
}

// waitGot waits until reader p got the message msg.
func waitGot(t *testing.T, p *rig.Proc, msg string) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); received(p)[msg] == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %q after 60 s; the reader printed:\n%s", msg, p.Tail())
		}
	}
}

// checkOnce checks that reader p got each of the count messages tagged
// tag, and its end marker, exactly once.
func checkOnce(t *testing.T, who string, p *rig.Proc, tag string, count int) {
	t.Helper()
	got := received(p)
	for k := range count {
		if n := got[fmt.Sprintf("m-%s-%d", tag, k)]; n != 1 {
			t.Fatalf("%s got m-%s-%d %d times, want once", who, tag, k, n)
		}
	}
	if n := got["end-"+tag]; n != 1 {
		t.Fatalf("%s got end-%s %d times, want once", who, tag, n)
	}
}

// broadcastErrors returns the error lines of the broadcast IPCPs.
func broadcastErrors(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "ipcpd/broadcast(EE)") || strings.Contains(l, "panic") {
			out = append(out, l)
		}
	}
	return out
}

// floodedRE is the summary a broadcast IPCP logs when it stops.
var floodedRE = regexp.MustCompile(`ipcpd/broadcast\(II\): Flooded (\d+) packets, dropped (\d+) duplicates\.`)

// stopMembers destroys the broadcast IPCPs of the given members (host
// numbers) and returns the packets each flooded and the duplicates each
// dropped.
func (b *bcNet) stopMembers(members ...int) (flooded, dups []int) {
	b.t.Helper()
	for _, i := range members {
		in := b.hosts[i-1]
		in.Irm("ipcp", "destroy", "name", fmt.Sprintf("bc.%d", i))
		waitLines(b.t, in, floodedRE, 1)
		m := floodedRE.FindStringSubmatch(in.Log())
		f, _ := strconv.Atoi(m[1])
		d, _ := strconv.Atoi(m[2])
		flooded, dups = append(flooded, f), append(dups, d)
	}
	return flooded, dups
}

// TestBroadcastTree: four members over udp4 in a tree (2-1, 3-1, 4-3).
// Applications at every member join; one writer at member 2 and one at
// member 4 send 100 messages each: every reader gets every message
// exactly once. A message of 1400 bytes reaches the readers; one of 1401
// is refused by Write with EMSGSIZE. The reference's obc works both ways
// round: obc -l at member 4 prints what obc at member 2 sends.
func TestBroadcastTree(t *testing.T) {
	b := newBCNet(t, 4, [][2]int{{2, 1}, {3, 1}, {4, 3}})
	readers := []*rig.Proc{b.reader(1), b.reader(2), b.reader(3), b.reader(4)}
	const count = 100
	w2, go2 := b.writer(2, "two", count, "O7S_E2E_PAUSE=2000", "O7S_E2E_SIZES=1")
	w4, go4 := b.writer(4, "four", count, "O7S_E2E_PAUSE=2000")
	go2()
	go4()
	for i, r := range readers {
		waitGot(t, r, "end-two")
		waitGot(t, r, "end-four")
		waitGot(t, r, strings.Repeat("B", 40))
		checkOnce(t, fmt.Sprintf("the reader at member %d", i+1), r, "two", count)
		checkOnce(t, fmt.Sprintf("the reader at member %d", i+1), r, "four", count)
		if !strings.Contains(r.Out.String(), "got 1400 BBBB") {
			t.Fatalf("reader %d: no 1400-byte message:\n%s", i+1, r.Tail())
		}
	}
	for _, w := range []*rig.Proc{w2, w4} {
		if !w.Wait(30 * time.Second) {
			t.Fatalf("writer did not finish:\n%s", w.Tail())
		}
	}
	out := w2.Out.String()
	if !strings.Contains(out, "1400: ok") || !strings.Contains(out, "1401: EMSGSIZE") ||
		!strings.Contains(out, "1401-byte message, the flow carries at most 1400") {
		t.Fatalf("writer sizes:\n%s", out)
	}
	t.Logf("the 1401-byte write: %s", rig.Lines(out, "1401:")[0])

	// obc, writer and listener.
	lis := b.hosts[3].Start("obc", "-l", "-n", "bcl")
	lis.WaitOutput(t, "New flow.", 30*time.Second)
	o, e, code := b.hosts[1].Run("obc", "-n", "bcl", "-m", "hello from obc")
	if code != 0 || o != "" {
		t.Fatalf("obc writer: exit %d\n%s%s", code, o, e)
	}
	lis.WaitOutput(t, "Message is hello from obc.", 30*time.Second)
	o, _, code = b.hosts[1].Run("obc", "-n", "nolayer")
	if code != 255 || o != "Failed to join broadcast.\n" {
		t.Fatalf("obc to a layer that is not there: exit %d, %q", code, o)
	}
	lis.Cmd.Process.Signal(syscall.SIGTERM)
	if !lis.Wait(30 * time.Second) {
		t.Fatalf("obc -l did not stop on SIGTERM:\n%s", lis.Tail())
	}
	if got := lis.Out.String(); got != "Starting a reader.\nNew flow.\nMessage is hello from obc.\n" {
		t.Fatalf("obc -l printed %q", got)
	}
	for i, in := range b.hosts {
		if errs := broadcastErrors(in.Log()); len(errs) != 0 {
			t.Fatalf("the broadcast IPCP at member %d logged errors:\n%s", i+1, strings.Join(errs, "\n"))
		}
	}
}

// TestBroadcastRing: four members over udp4 connected in a ring
// (1-2-3-4-1), which makes the reference's packets circulate for ever.
// 100 messages from member 1 reach the readers at every member exactly
// once, and each member floods each message once (the summary the IPCPs
// log when they stop: the messages, the end marker, and nothing else),
// dropping the copies that come round. Then member 3's IPCP is killed in
// the middle of a second stream from member 2: the readers at 1 and 4
// get every message of it exactly once all the same (member 4 through 1).
func TestBroadcastRing(t *testing.T) {
	b := newBCNet(t, 4, [][2]int{{1, 2}, {2, 3}, {3, 4}, {4, 1}})
	readers := []*rig.Proc{b.reader(1), b.reader(2), b.reader(3), b.reader(4)}
	const count = 100
	_, go1 := b.writer(1, "one", count, "O7S_E2E_PAUSE=2000")
	go1()
	for i, r := range readers {
		waitGot(t, r, "end-one")
		checkOnce(t, fmt.Sprintf("the reader at member %d", i+1), r, "one", count)
	}

	// A member dies in the middle of a stream.
	w2, go2 := b.writer(2, "two", 300, "O7S_E2E_PAUSE=5000")
	go2()
	waitGot(t, readers[3], "m-two-50")
	var pid int
	for _, l := range rig.Lines(b.hosts[2].Irm("ipcp", "list"), "bc.3") {
		pid, _ = strconv.Atoi(rig.Fields(l)[0])
	}
	if pid <= 0 {
		t.Fatalf("no pid for bc.3")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for _, i := range []int{0, 1, 3} {
		waitGot(t, readers[i], "end-two")
		checkOnce(t, fmt.Sprintf("the reader at member %d", i+1), readers[i], "two", 300)
	}
	if !w2.Wait(30 * time.Second) {
		t.Fatalf("writer did not finish:\n%s", w2.Tail())
	}
	flooded, dups := b.stopMembers(1, 2, 4)
	for i, f := range flooded {
		// Member 1: the first stream and its end; all members: the
		// second stream and its end (members 1 and 4 at least once,
		// through one path or the other).
		if f != count+1+300+1 {
			t.Fatalf("member %d flooded %d packets, want %d (flooded %v, duplicates dropped %v)",
				[]int{1, 2, 4}[i], f, count+1+300+1, flooded, dups)
		}
	}
	t.Logf("packets flooded by members 1, 2 and 4: %v; duplicates dropped: %v", flooded, dups)
}

// TestBroadcastStalledReader: an application that joins and stops
// reading does not hold up the others: 4000 messages of 1000 bytes (more
// than its channel, its library's queue and the IPCP's queue for it
// hold) reach a reader at the same member, and the IPCP says that it
// drops the stalled application's packets.
func TestBroadcastStalledReader(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	e.Irm("ipcp", "bootstrap", "type", "broadcast", "name", "bc", "layer", "bcl")
	stall := roleIn(t, e.Instance, "bc-stall", "bcl")
	stall.WaitOutput(t, "joined", 30*time.Second)
	r := roleIn(t, e.Instance, "bc-reader", "bcl")
	r.WaitOutput(t, "joined", 30*time.Second)
	goFile := filepath.Join(t.TempDir(), "go")
	const count = 4000
	w := roleIn(t, e.Instance, "bc-writer", "bcl", "O7S_E2E_GO="+goFile, "O7S_E2E_TAG=s",
		"O7S_E2E_COUNT="+strconv.Itoa(count), "O7S_E2E_SIZE=1000", "O7S_E2E_PAUSE=1000")
	w.WaitOutput(t, "joined", 30*time.Second)
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitGot(t, r, "end-s")
	got := received(r)
	for k := range count {
		if n := got[fmt.Sprintf("m-s-%d", k)]; n != 1 {
			t.Fatalf("the reader got m-s-%d %d times, want once", k, n)
		}
	}
	e.WaitLog("does not keep up: packets for it are dropped", 30*time.Second)
}

// TestBroadcastConfigFileOverLocal: a broadcast layer of two members on
// one host, their N-1 flows through the local IPCP, set up by the irmd's
// configuration file (bootstrap, enrol, autobind, reg, conn: the
// Management connection is skipped for a broadcast IPCP): the second
// enrolls and connects over the local layer. Then obc -l prints what obc
// sends (on one host, both join through the first member of the layer
// the irmd finds).
func TestBroadcastConfigFileOverLocal(t *testing.T) {
	conf := writeConfig(t, `[local.loc]
bootstrap = "lo"
reg = ["bc.1", "bcl", "bc.2"]  # the members' names, in the lower layer

[broadcast."bc.1"]
bootstrap = "bcl"
autobind = true

[broadcast."bc.2"]
enrol = "bcl"
autobind = true
conn = ["bc.1"]
`)
	in := rig.Start(t, rig.Options{NoDirect: true, Config: conf})
	in.WaitLog("carried out", 30*time.Second)
	waitLines(t, in, regexp.MustCompile(`ipcpd/broadcast\(II\): Data Transfer connection \d+ with .* up\.`), 2)
	if l := rig.Lines(in.Irm("ipcp", "list"), "bc.2"); len(l) != 1 || !strings.Contains(l[0], "broadcast") ||
		!strings.Contains(l[0], "bcl") {
		t.Fatalf("irm ipcp list: %q", l)
	}
	lis := in.Start("obc", "-l", "-n", "bcl")
	lis.WaitOutput(t, "New flow.", 30*time.Second)
	if o, e, code := in.Run("obc", "-n", "bcl", "-m", "over the local layer"); code != 0 {
		t.Fatalf("obc: exit %d\n%s%s", code, o, e)
	}
	lis.WaitOutput(t, "Message is over the local layer.", 30*time.Second)
	if errs := broadcastErrors(in.Log()); len(errs) != 0 {
		t.Fatalf("a broadcast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
	}
}
