// Package irmtest provides a fake IRMd for testing code that manages an IRMd
// through package irm: a Server that listens on irm.sock in a temporary run
// directory and answers every request with a Handler, recording what it was
// sent, and Fake, a Handler keeping just enough IPCP and name state for a
// management tool to see the effects of its requests.
package irmtest

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
	"github.com/ouroboros-go/ouroboros/irm"
)

// Handler answers one request. A nil reply closes the connection without
// answering, as the IRMd does when it cannot unpack a request.
type Handler func(req *pb.IrmMsg) *pb.IrmMsg

// Server is a fake IRMd. Its goroutines end when Close returns.
type Server struct {
	// Dir is the run directory; irm.sock is in it.
	Dir string

	l  *net.UnixListener
	h  Handler
	wg sync.WaitGroup

	mu     sync.Mutex
	reqs   []*pb.IrmMsg
	conns  map[*net.UnixConn]struct{}
	closed bool
}

// Start starts a Server in a new temporary directory of tb; it is closed when
// the test ends.
func Start(tb testing.TB, h Handler) *Server {
	tb.Helper()
	// Unix socket paths are limited to 108 bytes; test temporary directories
	// can be longer than that, so fall back to a short directory of our own.
	dir := tb.TempDir()
	if len(rundir.IRMSocket(dir)) > 100 {
		d, err := os.MkdirTemp("", "irmtest")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	s, err := Listen(dir, h)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Listen starts a Server on irm.sock in dir.
func Listen(dir string, h Handler) (*Server, error) {
	l, err := ctrl.Listen(filepath.Join(dir, "irm.sock"))
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, l: l, h: h, conns: map[*net.UnixConn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Client returns a client of this server.
func (s *Server) Client() *irm.Client { return &irm.Client{Dir: s.Dir} }

// Requests returns copies of the requests received so far, in arrival order.
func (s *Server) Requests() []*pb.IrmMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*pb.IrmMsg, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = proto.Clone(r).(*pb.IrmMsg)
	}
	return out
}

// Codes returns the codes of the requests received so far, in arrival order.
func (s *Server) Codes() []pb.IrmMsgCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pb.IrmMsgCode, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = r.GetCode()
	}
	return out
}

// Close stops the server, aborts open connections and waits for its
// goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.l.Close()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.l.AcceptUnix()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c)
	}
}

// handle serves one connection: one request, at most one reply.
func (s *Server) handle(c *net.UnixConn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	req := &pb.IrmMsg{}
	if _, err := ctrl.Recv(c, req); err != nil {
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, proto.Clone(req).(*pb.IrmMsg))
	s.mu.Unlock()
	if rep := s.h(req); rep != nil {
		ctrl.Send(c, rep)
	}
}

// Reply is an IRM_REPLY with the given result (0 or a negative errno).
func Reply(result int32) *pb.IrmMsg {
	return &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(), Result: proto.Int32(result)}
}

// Result answers every request with result.
func Result(result int32) Handler {
	return func(*pb.IrmMsg) *pb.IrmMsg { return Reply(result) }
}

// IPCPsReply is a successful reply to IRM_LIST_IPCPS listing ipcps in order.
func IPCPsReply(ipcps ...irm.IPCPInfo) *pb.IrmMsg {
	rep := Reply(0)
	for _, i := range ipcps {
		rep.Ipcps = append(rep.Ipcps, &pb.IpcpListMsg{
			Pid:      proto.Uint32(uint32(i.PID)),
			Type:     proto.Uint32(uint32(i.Type)),
			Name:     proto.String(i.Name),
			Layer:    proto.String(i.Layer),
			HashAlgo: proto.Uint32(uint32(i.HashAlgo)),
		})
	}
	return rep
}

// NamesReply is a successful reply to IRM_LIST_NAMES listing names in order,
// with empty key and certificate paths as the IRMd sends them.
func NamesReply(names ...irm.NameInfo) *pb.IrmMsg {
	rep := Reply(0)
	for _, n := range names {
		rep.Names = append(rep.Names, &pb.NameInfoMsg{
			Name:  proto.String(n.Name),
			PolLb: proto.Uint32(uint32(n.LB)),
			Skey:  proto.String(""),
			Scrt:  proto.String(""),
			Ckey:  proto.String(""),
			Ccrt:  proto.String(""),
		})
	}
	return rep
}
