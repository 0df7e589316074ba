package flow

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// TestBind: one call announces the process and binds it to the name, with
// this process's pid; with no IRMd it fails with ErrIRMDGone.
func TestBind(t *testing.T) {
	dir := useRunDir(t)
	irmd := startFakeIRMd(t, dir)
	if err := Bind(context.Background(), "my.srv"); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	irmd.mu.Lock()
	codes := append([]pb.IrmMsgCode(nil), irmd.codes...)
	last := irmd.reqs[len(irmd.reqs)-1]
	irmd.mu.Unlock()
	if len(codes) != 2 || codes[0] != pb.IrmMsgCode_IRM_PROC_ANNOUNCE || codes[1] != pb.IrmMsgCode_IRM_BIND_PROCESS {
		t.Fatalf("requests %v, want an announcement and a bind", codes)
	}
	if last.GetName() != "my.srv" || last.GetPid() != int32(os.Getpid()) {
		t.Errorf("bind request for %q, pid %d; want my.srv, pid %d", last.GetName(), last.GetPid(), os.Getpid())
	}

	useRunDir(t)
	if err := Bind(context.Background(), "my.srv"); !errors.Is(err, ErrIRMDGone) {
		t.Errorf("Bind without an IRMd: %v, want ErrIRMDGone", err)
	}
}
