package flow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

// Flow descriptors are handed out lowest-free-first in [resFDs, maxFlows), as
// the reference's PROG_RES_FDS and PROG_MAX_FLOWS; ours allows 32,704 flows
// per process (the reference 4,032). Each open flow also holds one file
// descriptor (its channel's socket) and, on the shared-memory data path, one
// memory mapping: the process's RLIMIT_NOFILE and the host's
// vm.max_map_count (65,530 by default) bound it too (see addFlow).
const (
	resFDs    = 64
	maxFlows  = 1 << 15
	maxFQueue = 32 // PROG_MAX_FQUEUES; set 0 is reserved
)

// process is this process's view of its IRMd: the run directory, the pid it
// announced and the tables of flow descriptors and event sets.
type process struct {
	dir string
	pid int

	// gone is set when a request found no IRMd in dir, sock is the identity
	// of irm.sock when the process announced itself; either one differing
	// makes the next call announce the process again (to a new IRMd).
	// Both are guarded by procMu.
	gone bool
	sock socketID

	mu    sync.Mutex
	fds   [maxFlows - resFDs]*Flow
	free  int // no descriptor below resFDs+free is free
	sets  [maxFQueue]bool
	flows map[*Flow]struct{}
}

var (
	procMu sync.Mutex
	cur    *process
)

// Init announces this process to the IRMd. Calling it is optional: the first
// Alloc or Accept does it. It fails with EIRMD when no IRMd answers in the run
// directory.
func Init() error {
	_, err := defaultProcess()
	return err
}

// defaultProcess returns this process, announced to the IRMd of the run
// directory. A process whose IRMd went away (a request found it gone, or
// irm.sock is another socket than the one it announced to) is announced
// again, keeping its flows and event sets: a new IRMd in the same directory
// then knows it.
func defaultProcess() (*process, error) {
	procMu.Lock()
	defer procMu.Unlock()
	p := cur
	if p != nil && !p.gone && socketOf(p.dir) == p.sock {
		return p, nil
	}
	if p == nil {
		p = &process{dir: rundir.Dir(), pid: os.Getpid(), flows: map[*Flow]struct{}{}}
		p.sets[0] = true
	}
	sock := socketOf(p.dir)
	if _, _, err := p.request(context.Background(), p.announcement(), cur != nil); err != nil {
		return nil, fmt.Errorf("announce to IRMd in %s: %w", p.dir, err)
	}
	p.gone, p.sock = false, sock
	cur = p
	return p, nil
}

// announcement is the request that announces the process to the IRMd.
func (p *process) announcement() *pb.IrmMsg {
	return &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE.Enum(), Pid: proto.Int32(int32(p.pid)),
		Prog: proto.String(progName())}
}

// socketID identifies a socket file: a restarted IRMd creates a new one.
type socketID struct{ dev, ino uint64 }

// socketOf returns the identity of irm.sock in dir (zero if it is missing).
func socketOf(dir string) socketID {
	var st syscall.Stat_t
	if syscall.Stat(rundir.IRMSocket(dir), &st) != nil {
		return socketID{}
	}
	return socketID{dev: uint64(st.Dev), ino: st.Ino}
}

// progName is the basename of argv[0], or of argv[1] for python interpreters.
func progName() string {
	if len(os.Args) == 0 {
		return "unknown"
	}
	n := filepath.Base(os.Args[0])
	switch n {
	case "python", "python2", "python3":
		if len(os.Args) > 1 {
			n = filepath.Base(os.Args[1])
		}
	}
	return n
}

// Fini closes every open flow and tells the IRMd this process is leaving.
// After Fini, the next call announces the process again.
func Fini() {
	procMu.Lock()
	p := cur
	cur = nil
	procMu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	open := make([]*Flow, 0, len(p.flows))
	for f := range p.flows {
		open = append(open, f)
	}
	p.mu.Unlock()
	for _, f := range open {
		f.Close()
	}
	req := &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_EXIT.Enum(), Pid: proto.Int32(int32(p.pid))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	p.call(ctx, req)
}

// call sends one request to the IRMd and returns its reply and any descriptors
// that came with it. A negative result becomes an Errno.
// A request that finds the IRMd gone gives an error matching ErrIRMDGone and
// makes the next call announce the process again.
func (p *process) call(ctx context.Context, req *pb.IrmMsg) (*pb.IrmMsg, []*os.File, error) {
	rep, files, err := p.request(ctx, req, true)
	if errors.Is(err, ErrIRMDGone) {
		procMu.Lock()
		p.gone = true
		procMu.Unlock()
	}
	return rep, files, err
}

// request is call without marking the process gone (defaultProcess holds
// procMu); known says whether the process had announced itself before.
func (p *process) request(ctx context.Context, req *pb.IrmMsg, known bool) (*pb.IrmMsg, []*os.File, error) {
	rep := &pb.IrmMsg{}
	files, err := ctrl.Call(ctx, rundir.IRMSocket(p.dir), 0, req, rep)
	kept := false
	defer func() {
		if !kept {
			clear(rep.GetSymKey()) // a flow key in a reply nobody uses
		}
	}()
	if errors.Is(err, ctrl.ErrNoFiles) && rep.GetResult() == 0 && rep.FlowInfo != nil {
		// A flow was allocated but its channel could not be received: give
		// it back, or the IRMd would hold it until this process exits.
		p.releaseFlow(int(rep.FlowInfo.GetId()))
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, oerr.ETIMEDOUT
		}
		// (No probe after PROC_EXIT: it would announce the leaving process again.)
		if ctx.Err() == nil && req.GetCode() != pb.IrmMsgCode_IRM_PROC_EXIT {
			if cause, ok := goneCause(p, err); ok {
				return nil, nil, &irmdGone{dir: p.dir, cause: cause, known: known}
			}
		}
		if ctrl.IsClosed(err) {
			return nil, nil, fmt.Errorf("IRMd closed the request: %v: %w", err, oerr.EIRMD)
		}
		return nil, nil, err
	}
	if rep.Result == nil {
		ctrl.CloseFiles(files)
		return nil, nil, fmt.Errorf("reply without result: %w", oerr.EIRMD)
	}
	if err := oerr.FromResult(rep.GetResult()); err != nil {
		ctrl.CloseFiles(files)
		return nil, nil, err
	}
	kept = true
	return rep, files, nil
}

// releaseFlow deallocates flow id at the IRMd (a flow this process got but
// cannot use).
func (p *process) releaseFlow(id int) {
	req := &pb.IrmMsg{
		Code:     pb.IrmMsgCode_IRM_FLOW_DEALLOC.Enum(),
		FlowInfo: ctrl.FlowInfoToPB(ctrl.FlowInfo{ID: id, NPid: p.pid}),
		Timeo:    ctrl.Timespec(0),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctrl.Call(ctx, rundir.IRMSocket(p.dir), 0, req, &pb.IrmMsg{})
}

// addFlow assigns the lowest free descriptor to f.
func (p *process) addFlow(f *Flow) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := p.free; i < len(p.fds); i++ {
		if p.fds[i] == nil {
			p.fds[i] = f
			f.fd = i + resFDs
			p.flows[f] = struct{}{}
			p.free = i + 1
			return nil
		}
	}
	p.free = len(p.fds)
	return fmt.Errorf("all %d flow descriptors of this process are in use: %w", len(p.fds), oerr.ENOMEM)
}

func (p *process) delFlow(f *Flow) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := f.fd - resFDs; i >= 0 && i < len(p.fds) && p.fds[i] == f {
		p.fds[i] = nil
		p.free = min(p.free, i)
	}
	delete(p.flows, f)
}

func (p *process) newSetIndex() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 1; i < maxFQueue; i++ {
		if !p.sets[i] {
			p.sets[i] = true
			return i, nil
		}
	}
	return 0, fmt.Errorf("all %d event sets in use: %w", maxFQueue-1, oerr.ENOMEM)
}

func (p *process) freeSetIndex(i int) {
	p.mu.Lock()
	p.sets[i] = false
	p.mu.Unlock()
}
