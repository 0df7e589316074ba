package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// uniLine is a unicast layer "uni" of three members in a line, A - B - C,
// each on a host of its own (a private irmd) joined by udp4 on
// 127.0.0.1-3. The test process is an application of host A. Link-state
// adjacencies are refreshed every second and age out after three.
type uniLine struct {
	a    *env
	b, c *rig.Instance
	ips  [3]string
	port string
}

func newUniLine(t *testing.T) *uniLine {
	t.Helper()
	l := &uniLine{ips: [3]string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}}
	hosts := writeHosts(t, map[string]string{"uni": l.ips[0], "uni.a": l.ips[0], "uni.b": l.ips[1], "uni.c": l.ips[2]})
	opt := rig.Options{NoDirect: true, Env: []string{udp.HostsEnv + "=" + hosts}}
	l.a = setup(t, opt)
	l.b, l.c = rig.Start(t, opt), rig.Start(t, opt)
	l.port = strconv.Itoa(freeUDPPort(t, l.ips[:]...))
	for i, in := range l.hosts() {
		in.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", l.ips[i], "port", l.port)
	}
	a, b, c := l.hosts()[0], l.b, l.c
	a.Irm("ipcp", "bootstrap", "type", "unicast", "name", "uni.a", "layer", "uni", "autobind",
		"ls_t_update", "1", "ls_t_timeo", "3", "ls_t_recalc", "1")
	a.Irm("name", "register", "uni.a", "layer", "udp")
	a.Irm("name", "register", "uni", "layer", "udp")
	b.Irm("ipcp", "enroll", "name", "uni.b", "layer", "uni", "autobind")
	b.Irm("name", "register", "uni.b", "layer", "udp")
	b.Irm("ipcp", "connect", "name", "uni.b", "dst", "uni.a")
	c.Irm("ipcp", "enroll", "name", "uni.c", "dst", "uni.b", "autobind")
	c.Irm("ipcp", "connect", "name", "uni.c", "dst", "uni.b")
	return l
}

func (l *uniLine) hosts() []*rig.Instance { return []*rig.Instance{l.a.Instance, l.b, l.c} }

// TestUnicastLineOverUDP: three hosts joined by udp4, a unicast layer over
// them in a line (C enrolled through B, B through A). A name registered on
// C is reached from A, two hops away, and one on A from C, with oping; 100
// flows at once from A to an echo server on C; 10 MB over a reliable
// stream from A to C checked by SHA-256. Then C's udp4 IPCP is destroyed:
// the layer's routes to C go (A's allocation fails with an error instead
// of hanging), and once C has a new udp4 IPCP and connects again, A
// reaches C's server again. No unicast IPCP logs an error.
func TestUnicastLineOverUDP(t *testing.T) {
	l := newUniLine(t)
	a, c := l.a, l.c
	c.Irm("name", "register", "oping.c", "layer", "uni")
	opingServer(t, c, "oping.c")
	t.Logf("A to C: %s", pingUntil(t, a.Instance, "oping.c"))
	a.Irm("name", "register", "oping.a", "layer", "uni")
	opingServer(t, a.Instance, "oping.a")
	t.Logf("C to A: %s", pingUntil(t, c, "oping.a"))

	c.Irm("name", "register", "echo.c", "layer", "uni")
	roleIn(t, c, "echo-server", "echo.c").WaitOutput(t, "ready", 10*time.Second)
	const flows = 100
	var wg sync.WaitGroup
	errs := make(chan error, flows)
	start := time.Now()
	for i := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			f, err := flow.Alloc(ctx, "echo.c", qos.Raw)
			if err != nil {
				errs <- fmt.Errorf("flow %d: %w", i, err)
				return
			}
			defer f.Close()
			buf := make([]byte, 64)
			for j := range 10 {
				msg := fmt.Sprintf("flow %d message %d", i, j)
				f.SetReadDeadline(time.Now().Add(20 * time.Second))
				if _, err := f.Write([]byte(msg)); err != nil {
					errs <- fmt.Errorf("flow %d write: %w", i, err)
					return
				}
				n, err := f.Read(buf)
				if err != nil || string(buf[:n]) != msg {
					errs <- fmt.Errorf("flow %d: read %q, %v; want %q", i, buf[:n], err, msg)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v\nA:\n%s", err, a.Tail())
	}
	t.Logf("%d flows at once A to C, 10 echoes each, in %v", flows, time.Since(start).Round(time.Millisecond))

	c.Irm("name", "register", "bulk.c", "layer", "uni")
	bulkAcross(t, a.Instance, c, "bulk.c", 10<<20, func() {})

	// C's link goes: its udp4 IPCP is destroyed.
	c.Irm("ipcp", "destroy", "name", "udp")
	var out string
	code := 0
	for end := time.Now().Add(30 * time.Second); code == 0 && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		out, _, code = a.Run("oping", "-n", "oping.c", "-c", "1")
	}
	if code == 0 {
		t.Fatalf("C still reached from A after its udp4 IPCP was destroyed:\n%s", out)
	}
	// And comes back.
	c.Irm("ipcp", "bootstrap", "type", "udp4", "name", "udp", "layer", "udp", "ip", l.ips[2], "port", l.port)
	c.Irm("name", "register", "uni.c", "layer", "udp")
	c.Irm("ipcp", "connect", "name", "uni.c", "dst", "uni.b")
	t.Logf("A to C after the link came back: %s", pingUntil(t, a.Instance, "oping.c"))
	for _, in := range l.hosts() {
		if errs := unicastErrors(in.Log()); len(errs) != 0 {
			t.Fatalf("a unicast IPCP logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}
}
