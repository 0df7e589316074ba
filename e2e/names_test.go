package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestManyNames holds 100,000 names in one irmd: `irm name list` lists every
// one (the replies come in pages of one control message each), a request
// without the paging field (as the reference's irm sends) gets the first page
// instead of an error, `irm name register` and `irm ipcp list` work, and a
// flow is allocated through the local IPCP, whose request the irmd resolves
// by hash without walking the names. Before paging, the listing failed past
// about 330 names.
func TestManyNames(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 names: not in -short")
	}
	e := setup(t, rig.Options{NoDirect: true})
	e.localLayer("local1", "local-layer")
	const n = 100000
	name := func(i int) string { return fmt.Sprintf("many.%06d", i) }
	// Many requests in parallel: one connection each, as the irm tool does.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := e.irm.CreateName(ctx, irm.NameInfo{Name: name(i)}); err != nil {
					errs <- fmt.Errorf("create %s: %w", name(i), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Our irm lists them all, in order.
	out, errOut, code := e.Run("irm", "name", "list")
	if code != 0 {
		t.Fatalf("irm name list: exit %d: %s\nirmd log (tail):\n%s", code, errOut, rig.Tail(e.Log(), 20))
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if f := rig.Fields(l); len(f) == 2 && strings.HasPrefix(f[0], "many.") {
			got = append(got, f[0])
		}
	}
	if len(got) != n {
		t.Fatalf("irm name list printed %d names, want %d", len(got), n)
	}
	for i, g := range got {
		if g != name(i) {
			t.Fatalf("name %d is %q, want %q", i, g, name(i))
		}
	}

	// A client that does not page gets one page that fits a control message.
	rep := irmReq(t, e, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_LIST_NAMES.Enum()})
	if rep.GetResult() != 0 || len(rep.GetNames()) < 100 || rep.ListNext == nil {
		t.Fatalf("unpaged list: result %d, %d names, next %q", rep.GetResult(), len(rep.GetNames()), rep.GetListNext())
	}
	if sz := proto.Size(rep); sz > ctrl.BufSize {
		t.Errorf("unpaged reply of %d bytes", sz)
	}
	// The irmd logs before it replies, but its log reaches this process
	// through a pipe that may be read later.
	e.WaitLog("Listing cut after", 30*time.Second)

	// Registering a new name does not list the names first, and works.
	e.Irm("name", "register", "echo.names", "layer", "local-layer")
	if out := e.Irm("ipcp", "list"); !contains(out, "local1") {
		t.Errorf("irm ipcp list:\n%s", out)
	}
	e.serve("echo.names")
	f, err := e.allocQuiet("echo.names")
	if err != nil {
		t.Fatalf("alloc among %d names: %v\nirmd log (tail):\n%s", n, err, rig.Tail(e.Log(), 20))
	}
	defer f.Close()
	roundTrip(t, f, []byte("hello among many names"))
}

// allocQuiet allocates a raw flow and leaves reporting to the caller.
func (e *env) allocQuiet(name string) (*flow.Flow, error) {
	return flow.Alloc(e.ctx(), name, qos.Raw)
}
