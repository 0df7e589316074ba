package ctrl_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakedGoroutines("ouroboros/internal/ctrl"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines reports goroutines, other than the caller, whose stack
// mentions pkg, after giving them a moment to finish.
func leakedGoroutines(pkg string) error {
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return nil
	}
	var leaked []string
	for range 200 {
		leaked = leaked[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, s := range strings.Split(string(buf), "\n\n")[1:] {
			if strings.Contains(s, pkg) {
				leaked = append(leaked, s)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("leaked %d goroutine(s):\n%s", len(leaked), strings.Join(leaked, "\n\n"))
}

// pair returns the two ends of a SOCK_SEQPACKET socketpair, closed when the
// test ends.
func pair(t testing.TB) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	a, b := ctrl.SeqpacketPair(t)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// sockPath returns a socket path in a fresh temporary directory, short enough
// for sun_path.
func sockPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.sock")
	if len(p) >= 104 {
		dir, err := os.MkdirTemp("", "ctrl")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		p = filepath.Join(dir, "s.sock")
	}
	return p
}

func TestRoundTripIrmMsg(t *testing.T) {
	t.Parallel()
	covered := map[pb.IrmMsgCode]bool{}
	for _, c := range irmMessages() {
		covered[c.msg.GetCode()] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, b := pair(t)
			if err := ctrl.Send(a, c.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := &pb.IrmMsg{}
			files, err := ctrl.Recv(b, got)
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if len(files) != 0 {
				t.Errorf("%d unexpected files", len(files))
			}
			if !proto.Equal(got, c.msg) {
				t.Errorf("received %v\nwant %v", got, c.msg)
			}
		})
	}
	for code, name := range pb.IrmMsgCode_name {
		if !covered[pb.IrmMsgCode(code)] {
			t.Errorf("no round-trip case for %s", name)
		}
	}
	if len(pb.IrmMsgCode_name) != 27 {
		t.Errorf("%d irm_msg codes, want 27", len(pb.IrmMsgCode_name))
	}
}

func TestRoundTripIpcpMsg(t *testing.T) {
	t.Parallel()
	covered := map[pb.IpcpMsgCode]bool{}
	for _, c := range ipcpMessages() {
		covered[c.msg.GetCode()] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, b := pair(t)
			if err := ctrl.Send(a, c.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := &pb.IpcpMsg{}
			if _, err := ctrl.Recv(b, got); err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if !proto.Equal(got, c.msg) {
				t.Errorf("received %v\nwant %v", got, c.msg)
			}
		})
	}
	for code, name := range pb.IpcpMsgCode_name {
		if !covered[pb.IpcpMsgCode(code)] {
			t.Errorf("no round-trip case for %s", name)
		}
	}
	if len(pb.IpcpMsgCode_name) != 12 {
		t.Errorf("%d ipcp_msg codes, want 12", len(pb.IpcpMsgCode_name))
	}
}

// A message can carry descriptors; each arrives as a working file.
func TestSendRecvFiles(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			a, b := pair(t)
			var readers, writers []*os.File
			var fds []int
			for range n {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close(); w.Close() })
				readers, writers = append(readers, r), append(writers, w)
				fds = append(fds, int(w.Fd()))
			}
			msg := irmMessages()[0].msg
			if err := ctrl.Send(a, msg, fds...); err != nil {
				t.Fatalf("Send: %v", err)
			}
			for _, w := range writers { // the sender's copies are independent
				w.Close()
			}
			got := &pb.IrmMsg{}
			files, err := ctrl.Recv(b, got)
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if !proto.Equal(got, msg) {
				t.Errorf("message %v, want %v", got, msg)
			}
			if len(files) != n {
				t.Fatalf("%d files, want %d", len(files), n)
			}
			for i, f := range files {
				want := fmt.Sprintf("through pipe %d", i)
				if _, err := f.Write([]byte(want)); err != nil {
					t.Fatalf("write to received file %d: %v", i, err)
				}
				f.Close() // last writer: the reader sees EOF after the data
				data, err := io.ReadAll(readers[i])
				if err != nil || string(data) != want {
					t.Errorf("pipe %d read %q, %v; want %q", i, data, err, want)
				}
			}
		})
	}
}

// More descriptors than Recv accepts: the message is refused and the
// descriptors that did arrive are closed.
func TestRecvTooManyFiles(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fd := int(w.Fd())
	if err := ctrl.Send(a, irmMessages()[0].msg, fd, fd, fd, fd, fd, fd, fd, fd); err != nil {
		t.Fatalf("Send: %v", err)
	}
	w.Close()
	if _, err := ctrl.Recv(b, &pb.IrmMsg{}); err == nil {
		t.Fatal("Recv accepted a message with 8 descriptors")
	}
	// Every copy of the write end is closed: the reader sees EOF.
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read = %d, %v; want EOF (a received descriptor leaked)", n, err)
	}
}

func TestRecvGarbage(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"invalid tag":       {0xff, 0xff, 0xff, 0xff},
		"truncated varint":  {0x08, 0x80},
		"truncated bytes":   {0x08, 0x1b, 0x12, 0x05, 'a'},
		"missing code":      {0x12, 0x05, 'o', 'p', 'i', 'n', 'g'},
		"wrong wire type":   {0x0a, 0x01, 0x00}, // code as bytes
		"text":              []byte("hello, irmd"),
		"missing sub field": {0x08, 0x1b, 0x32, 0x02, 0x08, 0x01}, // ipcp_info{type} only
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, c := pair(t)
			if _, err := a.Write(b); err != nil {
				t.Fatal(err)
			}
			_, err := ctrl.Recv(c, &pb.IrmMsg{})
			if !errors.Is(err, oerr.EIRMD) {
				t.Errorf("Recv(%x) = %v, want an error wrapping EIRMD", b, err)
			}
		})
	}
}

// An empty datagram is not a message. (Go reports a zero-length read on a
// SEQPACKET socket as io.EOF, so it looks like a closed connection, which is
// how the reference treats a read of 0 bytes too.)
func TestRecvEmpty(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	if _, err := a.Write(nil); err != nil {
		t.Fatal(err)
	}
	_, err := ctrl.Recv(b, &pb.IrmMsg{})
	if !errors.Is(err, oerr.EIRMD) && !ctrl.IsClosed(err) {
		t.Errorf("Recv(empty) = %v, want EIRMD or a closed connection", err)
	}
}

// A closed peer gives an error that IsClosed recognises.
func TestRecvClosed(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	a.Close()
	_, err := ctrl.Recv(b, &pb.IrmMsg{})
	if err == nil {
		t.Fatal("Recv on a closed connection succeeded")
	}
	if !ctrl.IsClosed(err) {
		t.Errorf("IsClosed(%v) = false", err)
	}
	err = ctrl.Send(b, irmMessages()[0].msg)
	if err == nil || !ctrl.IsClosed(err) {
		t.Errorf("Send to a closed peer = %v, want an error IsClosed recognises", err)
	}
}

func TestIsClosed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{fmt.Errorf("read: %w", io.EOF), true},
		{syscall.EPIPE, true},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{syscall.ECONNRESET, true},
		{net.ErrClosed, true},
		{nil, false},
		{oerr.EIRMD, false},
		{ctrl.ErrTooBig, false},
		{os.ErrDeadlineExceeded, false},
	} {
		if got := ctrl.IsClosed(c.err); got != c.want {
			t.Errorf("IsClosed(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// The largest message is BufSize (10240) bytes; one byte more is refused by
// Send, and by Recv when a peer sends it anyway.
func TestMessageSize(t *testing.T) {
	t.Parallel()
	if ctrl.BufSize != 10240 {
		t.Fatalf("BufSize = %d, want 10240", ctrl.BufSize)
	}
	// code (2 bytes) + pk tag (2) + pk length (2) + pk.
	msg := func(pk int) *pb.IrmMsg {
		return &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), Pk: make([]byte, pk)}
	}
	fits := msg(10240 - 6)
	if n := proto.Size(fits); n != 10240 {
		t.Fatalf("test message is %d bytes, want 10240", n)
	}
	t.Run("fits", func(t *testing.T) {
		t.Parallel()
		a, b := pair(t)
		if err := ctrl.Send(a, fits); err != nil {
			t.Fatalf("Send(10240 bytes) = %v", err)
		}
		got := &pb.IrmMsg{}
		if _, err := ctrl.Recv(b, got); err != nil || !proto.Equal(got, fits) {
			t.Fatalf("Recv(10240 bytes) = %v", err)
		}
	})
	t.Run("too big", func(t *testing.T) {
		t.Parallel()
		a, _ := pair(t)
		for _, n := range []int{10240 - 5, 20000} {
			if err := ctrl.Send(a, msg(n)); !errors.Is(err, ctrl.ErrTooBig) {
				t.Errorf("Send(%d-byte pk) = %v, want ErrTooBig", n, err)
			}
		}
	})
	t.Run("peer sends too big", func(t *testing.T) {
		t.Parallel()
		a, b := pair(t)
		big, err := proto.Marshal(msg(10240 - 5))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Write(big); err != nil {
			t.Fatal(err)
		}
		if _, err := ctrl.Recv(b, &pb.IrmMsg{}); !errors.Is(err, ctrl.ErrTooBig) {
			t.Errorf("Recv(10241 bytes) = %v, want ErrTooBig", err)
		}
	})
}

// Send refuses a message without its required fields (a C peer could not
// unpack it).
func TestSendMissingRequired(t *testing.T) {
	t.Parallel()
	a, _ := pair(t)
	for name, m := range map[string]proto.Message{
		"no code":          &pb.IrmMsg{Pid: proto.Int32(1)},
		"partial flow":     &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), FlowInfo: &pb.FlowInfoMsg{Id: proto.Uint32(1)}},
		"partial ipcp msg": &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_REPLY), LayerInfo: &pb.LayerInfoMsg{Name: proto.String("l")}},
	} {
		err := ctrl.Send(a, m)
		if err == nil || errors.Is(err, ctrl.ErrTooBig) {
			t.Errorf("%s: Send = %v, want a marshal error", name, err)
		}
	}
}

// Listen, Dial and Call over a socket file: one request and one reply per
// connection, the peer's credentials, and the socket file's life cycle.
func TestListenCall(t *testing.T) {
	t.Parallel()
	path := sockPath(t)
	l, err := ctrl.Listen(path)
	if err != nil {
		t.Fatal(err)
	}

	type cred struct {
		ctrl.Cred
		err error
	}
	creds := make(chan cred, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.AcceptUnix()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		pc, err := ctrl.PeerCred(c)
		creds <- cred{pc, err}
		req := &pb.IrmMsg{}
		files, err := ctrl.Recv(c, req)
		if err != nil {
			t.Errorf("server Recv: %v", err)
			return
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		rep := &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), Result: proto.Int32(-req.GetPid())}
		if err := ctrl.Send(c, rep, int(files[0].Fd())); err != nil {
			t.Errorf("server Send: %v", err)
		}
	}()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rep := &pb.IrmMsg{}
	req := &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_PROC_ANNOUNCE), Pid: proto.Int32(77), Prog: proto.String("t")}
	files, err := ctrl.Call(context.Background(), path, 30*time.Second, req, rep, int(w.Fd()))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	<-done
	// The server is still listening (its backlog answers): a second daemon
	// must not take the socket over.
	if l2, err := ctrl.Listen(path); err == nil {
		l2.Close()
		t.Error("second Listen on a live socket succeeded")
	}
	if rep.GetCode() != pb.IrmMsgCode_IRM_REPLY || rep.GetResult() != -77 {
		t.Errorf("reply %v", rep)
	}
	// The descriptor went there and back.
	if len(files) != 1 {
		t.Fatalf("%d files in the reply, want 1", len(files))
	}
	files[0].Write([]byte("ok"))
	files[0].Close()
	w.Close()
	if b, _ := io.ReadAll(r); string(b) != "ok" {
		t.Errorf("pipe read %q", b)
	}
	if c := <-creds; c.err != nil || c.UID != uint32(os.Geteuid()) || c.GID != uint32(os.Getegid()) || c.PID != os.Getpid() {
		t.Errorf("PeerCred = %+v, %v; want pid %d uid %d gid %d", c.Cred, c.err, os.Getpid(), os.Geteuid(), os.Getegid())
	}

	l.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Close: %v", err)
	}
	_, err = ctrl.Call(context.Background(), path, time.Second, req, rep)
	if !errors.Is(err, oerr.EIRMD) {
		t.Errorf("Call to a closed socket = %v, want EIRMD", err)
	}
}

// A stale socket file (nobody listening) is replaced.
func TestListenStale(t *testing.T) {
	t.Parallel()
	path := sockPath(t)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := ctrl.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale file: %v", err)
	}
	l.Close()
}

// serveSilently accepts one connection on a fresh listener, reads the
// request, reports it and keeps the connection open, without replying, until
// the client goes.
func serveSilently(t *testing.T) (path string, got <-chan struct{}) {
	t.Helper()
	path = sockPath(t)
	l, err := ctrl.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.AcceptUnix()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		if _, err := ctrl.Recv(c, &pb.IrmMsg{}); err != nil {
			t.Errorf("server Recv: %v", err)
		}
		close(ch)
		ctrl.Recv(c, &pb.IrmMsg{}) // returns once the client closes
	}()
	t.Cleanup(func() { <-done; l.Close() })
	return path, ch
}

func TestCallTimeout(t *testing.T) {
	t.Parallel()
	path, _ := serveSilently(t)
	req := &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_LIST_IPCPS)}
	// The timeout covers the whole exchange, sending included: keep it long
	// enough that a loaded machine still gets the request out.
	_, err := ctrl.Call(context.Background(), path, 200*time.Millisecond, req, &pb.IrmMsg{})
	if !errors.Is(err, oerr.ETIMEDOUT) {
		t.Errorf("Call = %v, want ETIMEDOUT", err)
	}
}

func TestCallCancel(t *testing.T) {
	t.Parallel()
	path, got := serveSilently(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-got
		cancel()
	}()
	req := &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_FLOW_ACCEPT)}
	_, err := ctrl.Call(ctx, path, 0, req, &pb.IrmMsg{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Call = %v, want context.Canceled", err)
	}
}

// A Call whose request cannot be marshalled fails before sending.
func TestCallSendError(t *testing.T) {
	t.Parallel()
	path := sockPath(t)
	l, err := ctrl.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = ctrl.Call(context.Background(), path, time.Second, &pb.IrmMsg{}, &pb.IrmMsg{})
	if err == nil || errors.Is(err, oerr.ETIMEDOUT) {
		t.Errorf("Call with an unmarshalable request = %v, want a send error", err)
	}
}

// TestCallCancelWhileSending: a Call canceled at any moment, sending
// included, says context.Canceled. (It said "send: i/o timeout" when the
// cancellation's deadline caught the request going out: an IPCP canceled
// during its IPCP_CREATE_R reported that instead of its cancellation, seen
// under load in internal/ipcp TestFlowTableFull.)
func TestCallCancelWhileSending(t *testing.T) {
	t.Parallel()
	path := sockPath(t)
	l, err := ctrl.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				ctrl.Recv(c, &pb.IrmMsg{}) // and never answer
				ctrl.Recv(c, &pb.IrmMsg{})
			}()
		}
	}()
	req := &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_FLOW_ACCEPT), Name: proto.String(strings.Repeat("n", 8000))}
	for i := range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for range i % 7 {
				runtime.Gosched()
			}
			cancel()
		}()
		_, err := ctrl.Call(ctx, path, 0, req, &pb.IrmMsg{})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("call %d: %v, want context.Canceled", i, err)
		}
	}
}
