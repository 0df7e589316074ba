// Package ipcp is the skeleton every IPC process shares: start-up with the arguments the IRMd passes, the control socket
// ipcp.<pid>.sock answering the IRMd's ipcp_msg requests one per connection,
// the state machine INIT -> BOOT -> OPERATIONAL, the calls to the IRMd
// (IPCP_CREATE_R, IPCP_FLOW_REQ_ARR, IPCP_FLOW_ALLOC_REPLY, IPCP_FLOW_DEALLOC),
// and the table of N+1 flows. A type of IPCP supplies its behaviour as Ops.
//
// N+1 flows: the IRMd creates each flow's channel and passes the IPCP's end with
// IPCP_FLOW_ALLOC (a flow this host allocates) or with the reply to
// IPCP_FLOW_REQ_ARR (a flow arriving for a local application). The IRMd may send
// IPCP_FLOW_ALLOC_RESP for an arriving flow before that reply reaches us, so the
// response waits (bounded) until the flow is in the table.
package ipcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// States (enum ipcp_state); the numbers travel in ipcp_info_msg.
const (
	StateNull        = 0
	StateInit        = 1
	StateBoot        = 2
	StateOperational = 5
	StateShutdown    = 6
)

// respWait bounds how long an allocation response waits for its flow.
const respWait = 4 * time.Second

// Flow is the IPCP's end of an N+1 flow.
type Flow struct {
	ID  int                // flow id, from the IRMd
	PID int                // the application at the other end
	EP  *datapath.Endpoint // the channel to the application

	stalled time.Time // Deliver: until then a full channel drops at once (reader only)
}

// Ops is what a type of IPCP does. Embed Unsupported to get ENOTSUP for the
// operations a type does not have.
type Ops interface {
	Bootstrap(ctx context.Context, conf *pb.IpcpConfigMsg) (layer string, algo hash.Algo, err error)
	Enroll(ctx context.Context, dst string) (layer string, algo hash.Algo, err error)
	Connect(ctx context.Context, dst, comp string, q qos.Spec) error
	Disconnect(ctx context.Context, dst, comp string) error
	Reg(h []byte) error
	Unreg(h []byte) error
	Query(ctx context.Context, h []byte) error
	FlowAlloc(ctx context.Context, f *Flow, h []byte, q qos.Spec, pk []byte) error
	FlowAllocResp(ctx context.Context, f *Flow, response int32, pk []byte) error
	// FlowJoin adds flow f to the broadcast layer whose name hashes to
	// h; on success the type has sent IPCP_FLOW_ALLOC_REPLY for it.
	FlowJoin(ctx context.Context, f *Flow, h []byte) error
	FlowDealloc(f *Flow)
	Close()
}

// Unsupported answers ENOTSUP to every operation.
type Unsupported struct{}

func (Unsupported) Bootstrap(context.Context, *pb.IpcpConfigMsg) (string, hash.Algo, error) {
	return "", 0, oerr.ENOTSUP
}
func (Unsupported) Enroll(context.Context, string) (string, hash.Algo, error) {
	return "", 0, oerr.ENOTSUP
}
func (Unsupported) Connect(context.Context, string, string, qos.Spec) error { return oerr.ENOTSUP }
func (Unsupported) Disconnect(context.Context, string, string) error        { return oerr.ENOTSUP }
func (Unsupported) Reg([]byte) error                                        { return oerr.ENOTSUP }
func (Unsupported) Unreg([]byte) error                                      { return oerr.ENOTSUP }
func (Unsupported) Query(context.Context, []byte) error                     { return oerr.ENOTSUP }
func (Unsupported) FlowAlloc(context.Context, *Flow, []byte, qos.Spec, []byte) error {
	return oerr.ENOTSUP
}
func (Unsupported) FlowAllocResp(context.Context, *Flow, int32, []byte) error { return oerr.ENOTSUP }
func (Unsupported) FlowJoin(context.Context, *Flow, []byte) error             { return oerr.ENOTSUP }
func (Unsupported) FlowDealloc(*Flow)                                         {}
func (Unsupported) Close()                                                    {}

// Config describes the process.
type Config struct {
	Type    uint32 // ipcp_type
	Name    string
	IRMdPID int
	Dir     string
	Log     *slog.Logger
}

// IPCP is a running IPC process.
type IPCP struct {
	cfg Config
	ops Ops
	log *slog.Logger
	pid int
	ln  *net.UnixListener

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	state   int
	layer   string
	algo    hash.Algo
	flows   map[int]*Flow
	arrived chan struct{} // closed and replaced when a flow enters the table
	// maxFlows is how many flows the table may hold: each holds one
	// descriptor, and the limit of open files must keep fdReserve for the
	// IRMd's requests and the IPCP's own sockets (at the limit, the IPCP
	// could no longer accept a request, and every allocation and release
	// through it would wait for its timeout). 0: no bound.
	maxFlows int
	// refused holds the ids of flows the IRMd gave for a request that
	// arrived (FlowReqArr) and that the table had no room for: the IRMd's
	// IPCP_FLOW_ALLOC_RESP for one is answered ENOTALLOC at once instead
	// of waiting respWait for a flow that never comes. An id leaves it
	// when that answer is given, when the id is released, or when it is
	// used again.
	refused map[int]bool
}

// fdReserve is how many descriptors the flow table leaves free.
const fdReserve = 128

// flowRoom returns the flows that this process's limit of open files leaves
// room for (see IPCP.maxFlows), or 0 if it cannot be read.
func flowRoom() int {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<30 {
		return 0
	}
	return max(1, int(l.Cur)-fdReserve)
}

// New opens the control socket of the IPCP.
func New(cfg Config, ops Ops) (*IPCP, error) {
	if cfg.Dir == "" {
		cfg.Dir = rundir.Dir()
	}
	pid := os.Getpid()
	ln, err := ctrl.Listen(rundir.IPCPSocket(cfg.Dir, pid))
	if err != nil {
		return nil, err
	}
	// Only the irmd, which started this IPCP as its own user, talks to it.
	if err := os.Chmod(rundir.IPCPSocket(cfg.Dir, pid), 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &IPCP{cfg: cfg, ops: ops, log: cfg.Log, pid: pid, ln: ln, ctx: ctx, cancel: cancel,
		state: StateInit, flows: map[int]*Flow{}, arrived: make(chan struct{}), maxFlows: flowRoom(), refused: map[int]bool{}}, nil
}

// PID returns the IPCP's pid.
func (p *IPCP) PID() int { return p.pid }

// Log returns the IPCP's logger (reference log-line format).
func (p *IPCP) Log() *slog.Logger { return p.log }

// Type returns the IPCP type (ipcp_type, as irm.IPCPType).
func (p *IPCP) Type() uint32 { return p.cfg.Type }

// Layer returns the layer name and hash algorithm (after bootstrap/enroll).
func (p *IPCP) Layer() (string, hash.Algo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.layer, p.algo
}

// Run announces the IPCP to the IRMd, serves its requests until ctx ends, the
// IRMd dies or Stop is called, and then shuts down.
func (p *IPCP) Run(ctx context.Context) error {
	prog := "ipcpd-" + typeName(p.cfg.Type)
	ann := &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_ANNOUNCE.Enum(), Pid: proto.Int32(int32(p.pid)),
		Prog: proto.String(prog)}
	if _, err := p.irmCall(ctx, ann); err != nil {
		p.ln.Close()
		return fmt.Errorf("announce: %w", err)
	}
	p.mu.Lock()
	p.state = StateBoot
	p.mu.Unlock()
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.acceptLoop() }()
	info := &pb.IrmMsg{Code: pb.IrmMsgCode_IPCP_CREATE_R.Enum(), IpcpInfo: &pb.IpcpInfoMsg{
		Type: proto.Uint32(p.cfg.Type), Name: proto.String(p.cfg.Name),
		Pid: proto.Uint32(uint32(p.pid)), State: proto.Uint32(StateBoot)}}
	if _, err := p.irmCall(ctx, info); err != nil {
		p.Stop()
		p.shutdown()
		return fmt.Errorf("IPCP_CREATE_R: %w", err)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-p.ctx.Done():
			break loop
		case <-tick.C:
			if p.cfg.IRMdPID > 0 && syscall.Kill(p.cfg.IRMdPID, 0) != nil {
				p.log.Error("IRMd is gone, exiting.")
				break loop
			}
		}
	}
	p.shutdown()
	return nil
}

// Stop makes Run return.
func (p *IPCP) Stop() { p.cancel() }

func (p *IPCP) shutdown() {
	p.mu.Lock()
	if p.state == StateOperational {
		p.state = StateShutdown
	}
	p.mu.Unlock()
	p.cancel()
	p.ln.Close()
	p.mu.Lock()
	flows := p.flows
	p.flows = map[int]*Flow{}
	p.mu.Unlock()
	for _, f := range flows {
		f.EP.Close()
	}
	p.ops.Close()
	p.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	p.irmCall(ctx, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_PROC_EXIT.Enum(), Pid: proto.Int32(int32(p.pid))})
	p.mu.Lock()
	p.state = StateNull
	p.mu.Unlock()
}

func (p *IPCP) acceptLoop() {
	for {
		c, err := p.ln.AcceptUnix()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			p.serve(c)
		}()
	}
}

// irmCall sends one request to the IRMd.
func (p *IPCP) irmCall(ctx context.Context, req *pb.IrmMsg) (*pb.IrmMsg, error) {
	rep, files, err := p.irmCallFiles(ctx, req)
	ctrl.CloseFiles(files)
	return rep, err
}

func (p *IPCP) irmCallFiles(ctx context.Context, req *pb.IrmMsg) (*pb.IrmMsg, []*os.File, error) {
	rep := &pb.IrmMsg{}
	files, err := ctrl.Call(ctx, rundir.IRMSocket(p.cfg.Dir), 0, req, rep)
	if err != nil {
		return nil, nil, err
	}
	if rep.Result == nil {
		return nil, files, oerr.EIRMD
	}
	return rep, files, oerr.FromResult(rep.GetResult())
}

func typeName(t uint32) string { return irm.IPCPType(t).String() }
