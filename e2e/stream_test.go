package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
)

// TestReliableBulkHash: 100 MB over a reliable stream through the local
// IPCP to another process, checked by SHA-256 at the far end.
func TestReliableBulkHash(t *testing.T) {
	size := 100 << 20
	if testing.Short() {
		size = 10 << 20
	}
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local-ipcp", "local-layer")
	e.register("bulk.sink", pid)
	sink := e.role("hash-sink", "bulk.sink")
	sink.WaitOutput(t, "ready", 10*time.Second)

	c, err := flow.Dial(e.ctx(), "bulk.sink")
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, e.Tail())
	}
	h := sha256.New()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	start := time.Now()
	for sent := 0; sent < size; sent += len(buf) {
		for i := 0; i < len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		h.Write(buf)
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("write after %d bytes: %v", sent, err)
		}
	}
	if err := c.Close(); err != nil { // lingers until everything is acknowledged
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if !sink.Wait(60 * time.Second) {
		t.Fatalf("sink did not finish:\n%s", sink.Out.String())
	}
	want := fmt.Sprintf("received %d bytes sha256 %x err <nil>", size, h.Sum(nil))
	if !strings.Contains(sink.Out.String(), want) {
		t.Fatalf("sink says:\n%s\nwant %s", sink.Out.String(), want)
	}
	t.Logf("%d MB in %v (%.0f Mb/s, race detector on: %v)", size>>20, elapsed.Round(time.Millisecond),
		float64(size)*8/elapsed.Seconds()/1e6, rig.Race())
}

// TestHTTPOverFlow: httpflow (cmd/httpflow) serves a directory with net/http
// over reliable flows through the local IPCP; its own client and the
// standard http.Client (dialling with flow.Dial) fetch pages from it.
func TestHTTPOverFlow(t *testing.T) {
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local-ipcp", "local-layer")
	e.register("web.srv", pid)
	dir := t.TempDir()
	big := make([]byte, 3<<20+17)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>Ouroboros</h1>\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)

	// A directory that does not exist is refused at start.
	missing := filepath.Join(dir, "nosuchdir")
	if out, errOut, code := e.Run("httpflow", "serve", "-n", "web.srv", "-d", missing); code != 1 ||
		!strings.Contains(errOut, missing+": no such file or directory") {
		t.Fatalf("serve a missing directory: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	srv := e.Start("httpflow", "serve", "-n", "web.srv", "-d", dir)
	srv.WaitOutput(t, "Serving HTTP on web.srv.", 10*time.Second)

	out, errOut, code := e.Run("httpflow", "get", "http://web.srv/index.html")
	if code != 0 || out != "<h1>Ouroboros</h1>\n" {
		t.Fatalf("httpflow get: exit %d, %q %s", code, out, errOut)
	}
	if _, errOut, code := e.Run("httpflow", "get", "http://web.srv/missing"); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("missing page: exit %d, %s", code, errOut)
	}

	tr := &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return flow.Dial(ctx, host)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for i := range 3 { // the second and third reuse the kept-alive flow
		resp, err := client.Get("http://web.srv/big.bin")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(big) {
			t.Fatalf("get %d: status %d, %d bytes, %v", i, resp.StatusCode, len(body), err)
		}
	}
	resp, err := client.Post("http://web.srv/index.html", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tr.CloseIdleConnections()

	srv.Cmd.Process.Signal(os.Interrupt)
	if !srv.Wait(10 * time.Second) {
		t.Fatalf("server did not stop:\n%s", srv.Out.String())
	}
	if !strings.Contains(srv.Out.String(), "Server stopped.") {
		t.Errorf("server output:\n%s", srv.Out.String())
	}
}

// TestNettestConformance runs the net.Conn conformance tests of
// golang.org/x/net/nettest on streams over reliable flows (direct flows
// within this process).
func TestNettestConformance(t *testing.T) {
	e := setup(t, rig.Options{})
	l, err := flow.Listen("nettest.srv")
	if err != nil {
		t.Fatalf("listen: %v\n%s", err, e.Tail())
	}
	defer l.Close()
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := l.Accept()
			ch <- res{c, err}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := flow.Dial(ctx, "nettest.srv")
		if err != nil {
			return nil, nil, nil, err
		}
		r := <-ch
		if r.err != nil {
			d.Close()
			return nil, nil, nil, r.err
		}
		stop = func() {
			d.Flow().SetLinger(0)
			r.c.(*flow.Conn).Flow().SetLinger(0)
			d.Close()
			r.c.Close()
		}
		return d, r.c, stop, nil
	})
}
