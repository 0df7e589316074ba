package main

import (
	"bytes"
	"net"
	"testing"

	"github.com/ouroboros-go/ouroboros/flow"
)

// msgRW is a flow end: Read returns the queued messages one per call (cut to
// the buffer), then readErr; Write records the message, or fails with writeErr.
type msgRW struct {
	in       [][]byte
	readErr  error
	writeErr error
	written  [][]byte
}

func (m *msgRW) Read(p []byte) (int, error) {
	if len(m.in) == 0 {
		return 0, &net.OpError{Op: "read", Err: m.readErr}
	}
	msg := m.in[0]
	m.in = m.in[1:]
	return copy(p, msg), nil
}

func (m *msgRW) Write(p []byte) (int, error) {
	if m.writeErr != nil {
		return 0, &net.OpError{Op: "write", Err: m.writeErr}
	}
	m.written = append(m.written, bytes.Clone(p))
	return len(p), nil
}

func TestRunUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--help"}, 0, ""},
		{[]string{"-h"}, 0, ""},
		{[]string{"-x"}, 1, "oecho: unknown option \"-x\".\n"},
		{[]string{"-l", "extra"}, 1, "oecho: unknown option \"extra\".\n"},
		{[]string{"-n"}, 1, "oecho: option -n needs a value.\n"},
	} {
		var out bytes.Buffer
		if code := run(tt.args, &out); code != tt.code {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
		}
		if out.String() != tt.msg+usageText {
			t.Errorf("run(%q) printed %q", tt.args, out.String())
		}
	}
	const head = "Usage: oecho [OPTION]...\nSends an echo between a server and a client\n\n"
	if !bytes.HasPrefix([]byte(usageText), []byte(head)) {
		t.Errorf("usage text starts differently from the reference's:\n%s", usageText)
	}
}

func TestGreeting(t *testing.T) {
	// 15 characters and the NUL of the C string: interop with the C server,
	// which prints what it got as a C string.
	if len(greeting) != 16 || greeting[:15] != "Client says hi!" || greeting[15] != 0 {
		t.Errorf("greeting = %q", greeting)
	}
}

func TestCString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Client says hi!\x00", "Client says hi!"},
		{"no terminator", "no terminator"},
		{"a\x00b\x00", "a"},
		{"\x00", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := cString([]byte(tt.in)); got != tt.want {
			t.Errorf("cString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTalk(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 300)
	tests := []struct {
		name     string
		reply    []byte
		readErr  error
		writeErr error
		out      string
		fail     string
	}{
		{"echo", []byte(greeting), nil, nil, "Server replied with Client says hi!\n", ""},
		{"without NUL", []byte("hello"), nil, nil, "Server replied with hello\n", ""},
		{"longer than the buffer", long, nil, nil, "Server replied with " + string(long[:bufSize]) + "\n", ""},
		{"read fails", nil, flow.EFLOWDOWN, nil, "", "Failed to read packet."},
		{"write fails", nil, nil, flow.EFLOWDOWN, "", "Failed to write packet."},
	}
	for _, tt := range tests {
		m := &msgRW{readErr: tt.readErr, writeErr: tt.writeErr}
		if tt.reply != nil {
			m.in = [][]byte{tt.reply}
		}
		var out bytes.Buffer
		if fail := talk(m, &out); fail != tt.fail {
			t.Errorf("%s: talk = %q, want %q", tt.name, fail, tt.fail)
		}
		if out.String() != tt.out {
			t.Errorf("%s: printed %q, want %q", tt.name, out.String(), tt.out)
		}
		if tt.writeErr == nil && (len(m.written) != 1 || string(m.written[0]) != greeting) {
			t.Errorf("%s: sent %q, want the greeting", tt.name, m.written)
		}
	}
}

func TestEcho(t *testing.T) {
	long := bytes.Repeat([]byte{'y'}, 300)
	tests := []struct {
		name     string
		msg      []byte
		readErr  error
		writeErr error
		out      string
		fail     string
		sent     []byte
	}{
		{"greeting", []byte(greeting), nil, nil, "Message from client is Client says hi!.\n", "", []byte(greeting)},
		{"binary after NUL is echoed", []byte("a\x00\x01\x02"), nil, nil, "Message from client is a.\n", "", []byte("a\x00\x01\x02")},
		{"cut to the buffer", long, nil, nil, "Message from client is " + string(long[:bufSize]) + ".\n", "", long[:bufSize]},
		{"read fails", nil, flow.EFLOWDOWN, nil, "", "Failed to read packet.", nil},
		{"write fails", []byte("hi"), nil, flow.EFLOWDOWN, "Message from client is hi.\n", "Failed to write packet.", nil},
	}
	for _, tt := range tests {
		m := &msgRW{readErr: tt.readErr, writeErr: tt.writeErr}
		if tt.msg != nil {
			m.in = [][]byte{tt.msg}
		}
		var out bytes.Buffer
		if fail := echo(m, &out); fail != tt.fail {
			t.Errorf("%s: echo = %q, want %q", tt.name, fail, tt.fail)
		}
		if out.String() != tt.out {
			t.Errorf("%s: printed %q, want %q", tt.name, out.String(), tt.out)
		}
		switch {
		case tt.sent == nil && len(m.written) != 0:
			t.Errorf("%s: sent %q", tt.name, m.written)
		case tt.sent != nil && (len(m.written) != 1 || !bytes.Equal(m.written[0], tt.sent)):
			t.Errorf("%s: sent %q, want %q", tt.name, m.written, tt.sent)
		}
	}
}

// TestTalkToEcho runs the client's and the server's halves against each other.
func TestTalkToEcho(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var srvOut bytes.Buffer
	done := make(chan string)
	go func() { done <- echo(b, &srvOut) }()
	var cliOut bytes.Buffer
	if fail := talk(a, &cliOut); fail != "" {
		t.Fatal(fail)
	}
	if fail := <-done; fail != "" {
		t.Fatal(fail)
	}
	if got, want := srvOut.String(), "Message from client is Client says hi!.\n"; got != want {
		t.Errorf("server printed %q, want %q", got, want)
	}
	if got, want := cliOut.String(), "Server replied with Client says hi!\n"; got != want {
		t.Errorf("client printed %q, want %q", got, want)
	}
}
