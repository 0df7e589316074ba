package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"github.com/ouroboros-go/ouroboros/irm"
)

// msgFlow is what onc needs of a flow: messages in both directions.
type msgFlow interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetWriteDeadline(t time.Time) error
	Close() error
}

// endTimeout bounds the write of the end message when onc stops early (a
// signal, a failure): the peer may have stopped reading.
const endTimeout = 2 * time.Second

// session is one run of onc.
type session struct {
	cfg             config
	stdin           io.Reader
	stdout, stderr  io.Writer
	stdinIsTerminal bool
	hello           bool // send a hello first (the allocator)
	waitHello       bool // send nothing before the peer's first message (the acceptor of a reliable flow)

	sent, received int64 // payload bytes; sent is owned by the sender goroutine until it ends
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (s *session) logf(format string, args ...any) {
	if s.cfg.verbose {
		fmt.Fprintf(s.stderr, "onc: "+format+"\n", args...)
	}
}

// fail prints why onc stops and returns exit status 1.
func (s *session) fail(format string, args ...any) int {
	fmt.Fprintf(s.stderr, "onc: "+format+"\n", args...)
	return 1
}

// run opens the flow (accepting or allocating it) and pipes it.
func (s *session) run(ctx context.Context) int {
	var f *flow.Flow
	var err error
	if s.cfg.listen {
		if err := flow.Bind(ctx, s.cfg.name); err != nil {
			return s.fail("cannot listen: %s", tool.Explain(err))
		}
		for _, layer := range s.cfg.layers {
			if err := register(ctx, s.cfg.name, layer); err != nil {
				return s.fail("cannot register %s in layer %s: %s", s.cfg.name, layer, tool.Explain(err))
			}
			s.logf("registered %s in layer %s", s.cfg.name, layer)
		}
		s.logf("listening on %s", s.cfg.name)
		f, err = flow.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return s.fail("interrupted")
			}
			return s.fail("cannot accept a flow: %s", tool.Explain(err))
		}
		s.logf("accepted a flow (loss %d, in order %d)", f.QoS().Loss, f.QoS().InOrder)
		s.waitHello = f.QoS().Reliable()
	} else {
		s.logf("allocating a flow to %s (QoS %s)", s.cfg.name, s.cfg.qosName)
		f, err = flow.Alloc(ctx, s.cfg.name, s.cfg.qos)
		if err != nil {
			if ctx.Err() != nil {
				return s.fail("interrupted")
			}
			return s.fail("cannot reach %s: %s", s.cfg.name, tool.Explain(err))
		}
		s.logf("flow allocated to %s", s.cfg.name)
		s.hello = true
	}
	return s.pipe(ctx, f)
}

// register registers name in every IPCP of layer (irm name register).
func register(ctx context.Context, name, layer string) error {
	var c irm.Client
	ipcps, err := c.ListIPCPs(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, i := range ipcps {
		if i.Layer != layer {
			continue
		}
		found = true
		if err := c.RegName(ctx, name, i.PID); err != nil && !errors.Is(err, irm.EEXIST) {
			return err
		}
	}
	if !found {
		return fmt.Errorf("no IPCP of this host is in that layer")
	}
	return nil
}

// pipe copies standard input to f and f to standard output until both
// streams ended (see the package documentation for the rules), then closes
// f. It returns the exit status.
//
// An allocator (s.hello) first sends a hello message. An acceptor of a
// reliable flow (s.waitHello) sends nothing before the peer's first message
// arrived: across a shim layer, the acceptor's first packets can reach the
// allocator's host before the flow exists there, and be dropped.
func (s *session) pipe(ctx context.Context, f msgFlow) int {
	snd := &sender{f: f}
	first := make(chan struct{}) // closed at the peer's first message, or when receiving stops
	if s.hello {
		if err := snd.write([]byte{typeHello}); err != nil {
			f.Close()
			return s.fail("sending: %v", err)
		}
	}
	sendDone := make(chan error, 1) // standard input is done: nil at its end of file
	go func() {
		if s.waitHello {
			<-first
		}
		if s.cfg.noStdin {
			sendDone <- snd.end(time.Time{})
			return
		}
		sendDone <- snd.copyFrom(s.stdin, &s.sent)
	}()
	events := make(chan error, 2) // nil at the peer's end, then why receiving stopped
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.receive(f, first, events) }()

	code := func() int {
		sending, peerEnded := true, false
		var sendErr error // the flow refused our data
		for {
			select {
			case err := <-sendDone:
				sending = false
				if err != nil && !isDown(err) {
					snd.end(time.Now().Add(endTimeout))
					return s.fail("%v", err)
				}
				if err != nil {
					// The flow is down: the receiving side says why, once it
					// has written what arrived before.
					sendErr = err
					continue
				}
				s.logf("end of standard input: sent %d bytes", s.sent)
				if peerEnded {
					return 0
				}
			case err := <-events:
				if err != nil && peerEnded {
					return s.fail("the peer left before the end of our stream (sent %d bytes)", s.sent)
				}
				if err != nil {
					snd.end(time.Now().Add(endTimeout))
					return s.fail("%v", err)
				}
				if sendErr != nil {
					return s.fail("%v (the peer ended its stream but did not take ours)", sendErr)
				}
				peerEnded = true
				s.logf("end of the peer's stream: received %d bytes", s.received)
				if !sending {
					return 0
				}
				if s.stdinIsTerminal {
					// Nobody types for a peer that is done.
					snd.end(time.Now().Add(endTimeout))
					return 0
				}
			case <-ctx.Done():
				snd.end(time.Now().Add(endTimeout))
				return s.fail("interrupted")
			}
		}
	}()
	// On a reliable flow Close waits until the peer acknowledged everything
	// sent, the end message included. It also ends a pending Read, so the
	// receiving goroutine is done with standard output when pipe returns.
	f.Close()
	wg.Wait()
	return code
}

// isDown reports whether err says that the flow is down.
func isDown(err error) bool {
	return errors.Is(err, flow.EFLOWDOWN) || errors.Is(err, flow.EFLOWPEER)
}

// receive writes the data of the peer's messages to standard output. It
// closes first at the peer's first message, sends nil on events at the
// peer's end message, and goes on reading (so that a peer that dies while
// we still send is noticed) until reading fails, which it sends on events
// too. Messages that are not onc's, and data after the end, are dropped
// with a line on standard error.
func (s *session) receive(f msgFlow, first chan struct{}, events chan<- error) {
	var once sync.Once
	opened := func() { once.Do(func() { close(first) }) }
	defer opened()
	ended := false
	buf := make([]byte, flow.MaxSDU)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if isDown(err) && !ended {
				err = fmt.Errorf("the flow went down before the peer's end of stream (the peer left or died; received %d bytes)", s.received)
			} else {
				err = fmt.Errorf("receiving: %w", err)
			}
			events <- err
			return
		}
		if n == 0 {
			continue // the end of a message that filled buf exactly
		}
		opened()
		typ, payload, err := decode(buf[:n])
		if err != nil {
			fmt.Fprintf(s.stderr, "onc: dropped a message of %d bytes: %v\n", n, err)
			continue
		}
		switch {
		case typ == typeHello:
		case typ == typeEnd && !ended:
			ended = true
			events <- nil
		case ended:
			fmt.Fprintf(s.stderr, "onc: dropped a message of %d bytes after the peer's end of stream\n", n)
		default:
			if _, err := s.stdout.Write(payload); err != nil {
				events <- fmt.Errorf("writing standard output: %w", err)
				return
			}
			s.received += int64(len(payload))
		}
	}
}

// sender writes onc messages on a flow; after the end message it writes
// nothing more.
type sender struct {
	f     msgFlow
	mu    sync.Mutex
	ended bool
}

// errEnded is the error of a data write after the end.
var errEnded = errors.New("stream already ended")

// data sends one data message (msg[0] is reserved for the type byte).
func (s *sender) data(msg []byte) error {
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		return errEnded
	}
	msg[0] = typeData
	_, err := s.f.Write(msg)
	return err
}

// write sends msg as it is.
func (s *sender) write(msg []byte) error {
	_, err := s.f.Write(msg)
	return err
}

// end sends the end message once; a non-zero deadline bounds the write.
func (s *sender) end(deadline time.Time) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil
	}
	s.ended = true
	s.mu.Unlock()
	if !deadline.IsZero() {
		s.f.SetWriteDeadline(deadline)
	}
	if _, err := s.f.Write(endMessage); err != nil {
		return fmt.Errorf("sending the end of the stream: %w", err)
	}
	return nil
}

// copyFrom sends r as data messages, then the end message. It returns nil
// at r's end of file, or why it stopped (the end is then up to the caller).
func (s *sender) copyFrom(r io.Reader, sent *int64) error {
	buf := make([]byte, chunk)
	for {
		n, rerr := r.Read(buf[1:])
		if n > 0 {
			if err := s.data(buf[:1+n]); err != nil {
				if errors.Is(err, errEnded) {
					return nil // the session ended meanwhile
				}
				return fmt.Errorf("sending: %w", err)
			}
			*sent += int64(n)
		}
		if rerr == io.EOF {
			return s.end(time.Time{})
		}
		if rerr != nil {
			return fmt.Errorf("reading standard input: %w", rerr)
		}
	}
}
