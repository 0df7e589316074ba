package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/qos"
)

func TestParseArgs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want config
		code int
		msg  string
	}{
		{args: []string{"srv"}, want: config{name: "srv", qos: qos.Data, qosName: "data"}, code: -1},
		{args: []string{"-l", "srv", "-r", "L1", "--register", "L2", "-v"},
			want: config{name: "srv", listen: true, layers: []string{"L1", "L2"}, qos: qos.Data, qosName: "data", verbose: true}, code: -1},
		{args: []string{"-q", "raw", "-d", "srv"}, want: config{name: "srv", qos: qos.Raw, qosName: "raw", noStdin: true}, code: -1},
		{args: []string{"--", "-odd-name"}, want: config{name: "-odd-name", qos: qos.Data, qosName: "data"}, code: -1},
		{args: []string{"-h"}, code: 0},
		{args: []string{"x", "--help"}, code: 0},
		{args: nil, code: 1, msg: "onc: no name given."},
		{args: []string{"a", "b"}, code: 1, msg: `onc: more than one name ("a" and "b").`},
		{args: []string{"-q"}, code: 1, msg: "onc: option -q needs a value."},
		{args: []string{"-q", "fast", "x"}, code: 1, msg: `onc: unknown QoS cube "fast" (want one of raw, best, video, voice, data).`},
		{args: []string{"-x", "srv"}, code: 1, msg: `onc: unknown option "-x".`},
		{args: []string{"-r", "L", "srv"}, code: 1, msg: "onc: -r registers the name a listener binds to; it needs -l."},
		{args: []string{""}, code: 1, msg: "onc: the name is empty."},
	} {
		cfg, err := parseArgs(tt.args)
		if tt.code < 0 {
			if err != nil {
				t.Errorf("parseArgs(%q): %v", tt.args, err)
				continue
			}
			if cfg.name != tt.want.name || cfg.listen != tt.want.listen || cfg.qos != tt.want.qos ||
				cfg.qosName != tt.want.qosName || cfg.noStdin != tt.want.noStdin || cfg.verbose != tt.want.verbose ||
				strings.Join(cfg.layers, ",") != strings.Join(tt.want.layers, ",") {
				t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, cfg, tt.want)
			}
			continue
		}
		var out, errOut bytes.Buffer
		if code := run(tt.args, strings.NewReader(""), &out, &errOut); code != tt.code {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
		}
		if tt.code == 0 {
			if out.String() != usageText || errOut.Len() != 0 {
				t.Errorf("run(%q) printed %q / %q, want the usage on stdout", tt.args, out.String(), errOut.String())
			}
			continue
		}
		if !strings.HasPrefix(errOut.String(), tt.msg+"\n") || out.Len() != 0 {
			t.Errorf("run(%q) printed %q / %q, want %q on stderr", tt.args, out.String(), errOut.String(), tt.msg)
		}
	}
}

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		msg     string
		typ     byte
		payload string
		ok      bool
	}{
		{"\x00abc", typeData, "abc", true},
		{"\x00\x01", typeData, "\x01", true},
		{"\x01", typeEnd, "", true},
		{"", 0, "", false},
		{"\x00", 0, "", false},
		{"\x01x", 0, "", false},
		{"\x02", typeHello, "", true},
		{"\x02abc", 0, "", false},
		{"\x03", 0, "", false},
		{"hello", 0, "", false},
	} {
		typ, payload, err := decode([]byte(tt.msg))
		if (err == nil) != tt.ok || typ != tt.typ || string(payload) != tt.payload {
			t.Errorf("decode(%q) = %d %q %v", tt.msg, typ, payload, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "\x00", "\x00a", "\x01", "\x01\x01", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		typ, payload, err := decode(msg)
		if err != nil {
			return
		}
		switch typ {
		case typeData:
			if len(payload) == 0 || !bytes.Equal(append([]byte{typeData}, payload...), msg) {
				t.Fatalf("data %q from %q", payload, msg)
			}
		case typeEnd, typeHello:
			if len(msg) != 1 || msg[0] != typ || payload != nil {
				t.Fatalf("end from %q", msg)
			}
		default:
			t.Fatalf("type %d from %q", typ, msg)
		}
	})
}

// pipeEnd is one end of an in-memory message flow: what one end writes the
// other reads, one message per Read; Close makes the other end's Reads
// return EFLOWDOWN once its queue is empty, and its Writes fail.
type pipeEnd struct {
	mu     *sync.Mutex
	cond   *sync.Cond
	in     *[][]byte
	out    *[][]byte
	closed *[2]bool
	me     int
}

func newPipe() (*pipeEnd, *pipeEnd) {
	mu := &sync.Mutex{}
	cond := sync.NewCond(mu)
	var ab, ba [][]byte
	closed := &[2]bool{}
	return &pipeEnd{mu, cond, &ba, &ab, closed, 0}, &pipeEnd{mu, cond, &ab, &ba, closed, 1}
}

func (p *pipeEnd) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(*p.in) == 0 {
		if p.closed[0] || p.closed[1] {
			return 0, flow.EFLOWDOWN
		}
		p.cond.Wait()
	}
	m := (*p.in)[0]
	*p.in = (*p.in)[1:]
	return copy(b, m), nil
}

func (p *pipeEnd) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed[0] || p.closed[1] {
		return 0, flow.EFLOWDOWN
	}
	*p.out = append(*p.out, bytes.Clone(b))
	p.cond.Broadcast()
	return len(b), nil
}

func (p *pipeEnd) SetWriteDeadline(time.Time) error { return nil }

func (p *pipeEnd) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed[p.me] = true
	p.cond.Broadcast()
	return nil
}

// blockingReader never returns: a terminal nobody types on.
type blockingReader struct{ c chan struct{} }

func (r blockingReader) Read([]byte) (int, error) { <-r.c; return 0, io.EOF }

// TestPipeRules runs two sessions against each other over an in-memory flow
// and checks the end-of-stream rules of the package documentation.
func TestPipeRules(t *testing.T) {
	file := make([]byte, 300_000)
	rand.Read(file)
	never := blockingReader{make(chan struct{})}
	defer close(never.c)
	for _, tt := range []struct {
		name         string
		aIn, bIn     io.Reader
		aTerm, bTerm bool
		bNoStdin     bool
		aWant, bWant []byte
	}{
		{name: "upload, listener stdin empty", aIn: bytes.NewReader(file), bIn: strings.NewReader(""), bWant: file},
		{name: "upload, listener on a terminal", aIn: bytes.NewReader(file), bIn: never, bTerm: true, bWant: file},
		{name: "upload, listener -d", aIn: bytes.NewReader(file), bIn: never, bNoStdin: true, bWant: file},
		{name: "download", aIn: strings.NewReader(""), bIn: bytes.NewReader(file), aWant: file},
		{name: "both ways", aIn: bytes.NewReader(file[:1000]), bIn: bytes.NewReader(file), aWant: file, bWant: file[:1000]},
		{name: "nothing", aIn: strings.NewReader(""), bIn: strings.NewReader("")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fa, fb := newPipe()
			var aOut, bOut, aErr, bErr bytes.Buffer
			a := &session{cfg: config{verbose: true}, stdin: tt.aIn, stdout: &aOut, stderr: &aErr, stdinIsTerminal: tt.aTerm, hello: true}
			b := &session{cfg: config{verbose: true, noStdin: tt.bNoStdin}, stdin: tt.bIn, stdout: &bOut, stderr: &bErr, stdinIsTerminal: tt.bTerm, waitHello: true}
			codes := make(chan int, 2)
			ctx := t.Context()
			go func() { codes <- a.pipe(ctx, fa) }()
			go func() { codes <- b.pipe(ctx, fb) }()
			for range 2 {
				select {
				case c := <-codes:
					if c != 0 {
						t.Errorf("exit %d\nA: %s\nB: %s", c, aErr.String(), bErr.String())
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("sessions did not end\nA: %s\nB: %s", aErr.String(), bErr.String())
				}
			}
			if !bytes.Equal(aOut.Bytes(), tt.aWant) || !bytes.Equal(bOut.Bytes(), tt.bWant) {
				t.Errorf("A got %d bytes (want %d), B got %d (want %d)", aOut.Len(), len(tt.aWant), bOut.Len(), len(tt.bWant))
			}
		})
	}
}

// TestPeerGone: the flow going down before the peer's end is exit 1 with
// the reason; a message that is not onc's is dropped with a line.
func TestPeerGone(t *testing.T) {
	fa, fb := newPipe()
	fb.Write([]byte("\x00hi"))
	fb.Write([]byte("junk"))
	fb.Close()
	var out, errOut bytes.Buffer
	s := &session{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	if code := s.pipe(t.Context(), fa); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out.String() != "hi" {
		t.Errorf("stdout %q, want hi", out.String())
	}
	e := errOut.String()
	if !strings.Contains(e, "onc: dropped a message of 4 bytes: unknown type byte 0x6a") ||
		!strings.Contains(e, "onc: the flow went down before the peer's end of stream") {
		t.Errorf("stderr:\n%s", e)
	}
}

// TestPeerLeftAfterItsEnd: a peer that ended its stream and then went away
// while we still send is exit 1: our stream did not get through.
func TestPeerLeftAfterItsEnd(t *testing.T) {
	fa, fb := newPipe()
	fb.Write(endMessage)
	never := blockingReader{make(chan struct{})}
	defer close(never.c)
	var out, errOut bytes.Buffer
	s := &session{stdin: never, stdout: &out, stderr: &errOut}
	done := make(chan int)
	go func() { done <- s.pipe(t.Context(), fa) }()
	// The peer leaves once its end was taken.
	for deadline := time.Now().Add(20 * time.Second); ; {
		fa.mu.Lock()
		taken := len(*fa.in) == 0
		fa.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("end not read")
		}
		time.Sleep(time.Millisecond)
	}
	fb.Close()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errOut.String(), "onc: the peer left before the end of our stream") {
			t.Errorf("exit %d\n%s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("onc did not notice the peer leaving")
	}
}
