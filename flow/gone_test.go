package flow

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/qos"
)

// fakeIRMd answers IRM_PROC_ANNOUNCE and holds every IRM_FLOW_ACCEPT open
// (as an IRMd with no client for it does) until it dies.
type fakeIRMd struct {
	l     *net.UnixListener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []*net.UnixConn
	codes []pb.IrmMsgCode
	reqs  []*pb.IrmMsg
	held  chan struct{} // receives once per accept held
}

func startFakeIRMd(t *testing.T, dir string) *fakeIRMd {
	t.Helper()
	l, err := ctrl.Listen(rundir.IRMSocket(dir))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIRMd{l: l, held: make(chan struct{}, 16)}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			req := &pb.IrmMsg{}
			if _, err := ctrl.Recv(c, req); err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.codes = append(f.codes, req.GetCode())
			f.reqs = append(f.reqs, req)
			f.mu.Unlock()
			if req.GetCode() == pb.IrmMsgCode_IRM_FLOW_ACCEPT {
				f.mu.Lock()
				f.conns = append(f.conns, c)
				f.mu.Unlock()
				f.held <- struct{}{}
				continue
			}
			ctrl.Send(c, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(), Result: proto.Int32(0)})
			c.Close()
		}
	}()
	t.Cleanup(func() { f.die(true) })
	return f
}

// die stops the fake as a killed IRMd does: the listener goes first (its
// socket file stays unless unlink), then the pending requests are closed.
func (f *fakeIRMd) die(unlink bool) {
	f.l.SetUnlinkOnClose(unlink)
	f.l.Close()
	f.wg.Wait()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
}

func (f *fakeIRMd) count(code pb.IrmMsgCode) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.codes {
		if c == code {
			n++
		}
	}
	return n
}

// useRunDir points the process at a fresh run directory with no process
// announced, and restores the previous state at the end of the test.
func useRunDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "o7s-gone-") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv(rundir.Env, dir)
	procMu.Lock()
	saved := cur
	cur = nil
	procMu.Unlock()
	t.Cleanup(func() {
		procMu.Lock()
		cur = saved
		procMu.Unlock()
	})
	return dir
}

// TestAcceptIRMDGone: an IRMd killed under a pending Accept makes that Accept
// and every later one fail at once with ErrIRMDGone (which is also EIRMD),
// naming the run directory, whether the dead IRMd's socket file stayed or
// not; an IRMd started again in the directory gets the process announced
// anew and serves its next Accept.
func TestAcceptIRMDGone(t *testing.T) {
	for _, unlink := range []bool{false, true} {
		name := "socket-stays"
		if unlink {
			name = "socket-removed"
		}
		t.Run(name, func(t *testing.T) {
			dir := useRunDir(t)
			irmd := startFakeIRMd(t, dir)
			errc := make(chan error, 1)
			go func() {
				_, err := Accept(context.Background())
				errc <- err
			}()
			<-irmd.held
			irmd.die(unlink)
			err := <-errc
			if !errors.Is(err, ErrIRMDGone) || !errors.Is(err, oerr.EIRMD) {
				t.Fatalf("pending Accept after the IRMd died: %v; want ErrIRMDGone and EIRMD", err)
			}
			if !strings.Contains(err.Error(), "IPC Resource Manager daemon at "+dir+" is gone") {
				t.Errorf("error text %q does not say the IRMd at %s is gone", err, dir)
			}
			var e Errno
			if !errors.As(err, &e) || e != EIRMD {
				t.Errorf("errors.As(%v) gives errno %d, want EIRMD", err, e)
			}
			for range 3 {
				if _, err := Accept(context.Background()); !errors.Is(err, ErrIRMDGone) {
					t.Fatalf("Accept with the IRMd gone: %v; want ErrIRMDGone", err)
				}
			}
			if _, err := Alloc(context.Background(), "x", qos.Raw); !errors.Is(err, ErrIRMDGone) {
				t.Fatalf("Alloc with the IRMd gone: %v; want ErrIRMDGone", err)
			}
			if _, err := NewEventSet(); !errors.Is(err, ErrIRMDGone) {
				t.Fatalf("NewEventSet with the IRMd gone: %v; want ErrIRMDGone", err)
			}

			again := startFakeIRMd(t, dir)
			go func() {
				_, err := Accept(context.Background())
				errc <- err
			}()
			<-again.held
			if n := again.count(pb.IrmMsgCode_IRM_PROC_ANNOUNCE); n != 1 {
				t.Errorf("the new IRMd saw %d announcements before the accept, want 1", n)
			}
			again.die(true)
			<-errc
		})
	}
}

// TestInitNoIRMD: with no IRMd at all, Init says so in words and matches
// ErrIRMDGone.
func TestInitNoIRMD(t *testing.T) {
	dir := useRunDir(t)
	err := Init()
	if !errors.Is(err, ErrIRMDGone) || !strings.Contains(err.Error(), "no IPC Resource Manager daemon at "+dir) {
		t.Fatalf("Init without an IRMd: %v", err)
	}
}

// TestRefusedRequestNotGone: an IRMd that closes one request without a reply
// but is still there is not reported gone.
func TestRefusedRequestNotGone(t *testing.T) {
	dir := useRunDir(t)
	l, err := ctrl.Listen(rundir.IRMSocket(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			req := &pb.IrmMsg{}
			ctrl.Recv(c, req)
			if req.GetCode() == pb.IrmMsgCode_IRM_PROC_ANNOUNCE {
				ctrl.Send(c, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(), Result: proto.Int32(0)})
			}
			c.Close() // anything else: closed without a reply
		}
	}()
	_, err = Accept(context.Background())
	if err == nil || errors.Is(err, ErrIRMDGone) || !errors.Is(err, oerr.EIRMD) {
		t.Fatalf("Accept closed by a live IRMd: %v; want EIRMD, not ErrIRMDGone", err)
	}
	l.Close()
	<-done
}
