package main

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// msgRW is a flow end that records what is written to it.
type msgRW struct {
	writeErr error
	written  [][]byte
	closed   bool
}

func (m *msgRW) Read(p []byte) (int, error) { return 0, opErr("read", flow.EAGAIN) }

func (m *msgRW) Write(p []byte) (int, error) {
	if m.writeErr != nil {
		return 0, opErr("write", m.writeErr)
	}
	m.written = append(m.written, bytes.Clone(p))
	return len(p), nil
}

func (m *msgRW) Close() error { m.closed = true; return nil }

func opErr(op string, err error) error { return &net.OpError{Op: op, Net: "ouroboros", Err: err} }

func dataPacket(id uint32, size int) []byte {
	b := make([]byte, size)
	putID(b, id)
	return b
}

func TestSessionHandle(t *testing.T) {
	t0 := time.Unix(1700000000, 123456789)
	type step struct {
		msg []byte
		end string
	}
	tests := []struct {
		name     string
		writeErr error
		steps    []step
		out      string
		written  int // echoes
		packets  uint64
		bytes    uint64
	}{
		{"uni", nil, []step{{configMsg(testUni), ""}, {dataPacket(0, 64), ""}, {dataPacket(1, 64), ""}},
			"Doing a unidirectional test.\n" +
				"Seqno 0 from fd 64: 1700000000.123456\n" +
				"Seqno 1 from fd 64: 1700000000.123456\n", 0, 2, 128},
		{"quiet uni: no line per packet without -v", nil,
			[]step{{configMsg(testUni), ""}, {dataPacket(0, 64), ""}, {dataPacket(1, 64), ""}},
			"Doing a unidirectional test.\n", 0, 2, 128},
		{"bi", nil, []step{{configMsg(testBi), ""}, {dataPacket(0, 1500), ""}, {dataPacket(7, 100), ""}},
			"Doing a bidirectional test.\n", 2, 2, 1600},
		{"other test type: consumed silently", nil,
			[]step{{configMsg(5), ""}, {dataPacket(0, 64), ""}},
			"Doing a unidirectional test.\n", 0, 1, 64},
		{"negative id printed signed", nil, []step{{configMsg(testUni), ""}, {dataPacket(0xfffffffe, 64), ""}},
			"Doing a unidirectional test.\nSeqno -2 from fd 64: 1700000000.123456\n", 0, 1, 64},
		{"short data packet", nil, []step{{configMsg(testUni), ""}, {[]byte{9, 1}, ""}},
			"Doing a unidirectional test.\nSeqno 265 from fd 64: 1700000000.123456\n", 0, 1, 2},
		{"config too short", nil, []step{{[]byte{1, 0, 0}, endInvalid}},
			"Invalid config message.\n", 0, 0, 0},
		{"config too long", nil, []step{{[]byte{1, 0, 0, 0, 0}, endInvalid}},
			"Invalid config message.\n", 0, 0, 0},
		{"data packet first", nil, []step{{dataPacket(0, 1500), endInvalid}},
			"Invalid config message.\n", 0, 0, 0},
		{"echo fails", flow.EFLOWDOWN, []step{{configMsg(testBi), ""}, {dataPacket(0, 64), endWrite}},
			"Doing a bidirectional test.\nError writing to flow (fd 64).\n", 0, 1, 64},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		p := newPrinter(&out)
		w := &msgRW{writeErr: tt.writeErr}
		s := &session{f: w, fd: 64, verbose: !strings.HasPrefix(tt.name, "quiet")}
		for i, st := range tt.steps {
			if end := s.handle(st.msg, t0, p); end != st.end {
				t.Errorf("%s: step %d ended %q, want %q", tt.name, i, end, st.end)
			}
		}
		p.flush()
		if out.String() != tt.out {
			t.Errorf("%s: printed\n%s\nwant\n%s", tt.name, out.String(), tt.out)
		}
		if len(w.written) != tt.written || s.packets != tt.packets || s.bytes != tt.bytes {
			t.Errorf("%s: %d echoes, %d packets, %d bytes; want %d, %d, %d", tt.name,
				len(w.written), s.packets, s.bytes, tt.written, tt.packets, tt.bytes)
		}
		for i, e := range w.written {
			if !bytes.Equal(e, tt.steps[i+1].msg) {
				t.Errorf("%s: echo %d differs from the packet", tt.name, i)
			}
		}
	}
}

func TestSessionSummary(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	var out bytes.Buffer
	p := newPrinter(&out)
	s := &session{f: &msgRW{}, fd: 65}
	if got, want := s.summary(endNoConfig), (flowSummary{FD: 65, End: "no config"}); got != want {
		t.Errorf("summary before config = %+v, want %+v", got, want)
	}
	s.handle(configMsg(testBi), t0, p)
	s.handle(make([]byte, 1000), t0.Add(time.Second), p)
	s.handle(make([]byte, 1000), t0.Add(2*time.Second), p)
	s.handle(make([]byte, 500), t0.Add(3*time.Second), p)
	want := flowSummary{FD: 65, Test: "bi", Packets: 3, Bytes: 2500, Duration: 2000, Mbps: 0.01, End: "ended"}
	if got := s.summary(endPeer); got != want {
		t.Errorf("summary = %+v, want %+v", got, want)
	}
}

func TestReadEnd(t *testing.T) {
	tests := []struct {
		err        error
		configured bool
		want       string
	}{
		{opErr("read", flow.EAGAIN), true, ""},
		{opErr("read", flow.EAGAIN), false, ""},
		{opErr("read", flow.EFLOWDOWN), true, endPeer},
		{opErr("read", flow.EFLOWDOWN), false, endNoConfig},
		{opErr("read", flow.EFLOWPEER), true, endIdle},
		{opErr("read", net.ErrClosed), true, endPeer},
		{errors.New("other"), true, endPeer},
	}
	for _, tt := range tests {
		if got := readEnd(tt.err, tt.configured); got != tt.want {
			t.Errorf("readEnd(%v, %v) = %q, want %q", tt.err, tt.configured, got, tt.want)
		}
	}
}

func TestEndLine(t *testing.T) {
	tests := []struct{ end, want string }{
		{endPeer, "Flow 70 ended.\n"},
		{endIdle, "Flow 70 timed out.\n"},
		{endNoConfig, "Failed to read config message.\n"},
		{endInvalid, ""}, // printed by handle
		{endWrite, ""},   // printed by handle
		{endOpen, ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		s := &server{out: newPrinter(&out)}
		s.endLine(&session{fd: 70}, tt.end)
		if out.String() != tt.want {
			t.Errorf("endLine(%q) printed %q, want %q", tt.end, out.String(), tt.want)
		}
	}
}

func TestServerSummary(t *testing.T) {
	s := &server{}
	if got := s.summary(); got.Flows == nil || len(got.Flows) != 0 || got.Packets != 0 {
		t.Errorf("empty summary = %+v", got)
	}
	s.ended = []endedFlow{
		{3, flowSummary{FD: 66, Packets: 5, Bytes: 50}},
		{1, flowSummary{FD: 64, Packets: 1, Bytes: 10}},
		{2, flowSummary{FD: 65, Packets: 2, Bytes: 20}},
	}
	got := s.summary()
	if len(got.Flows) != 3 || got.Flows[0].FD != 64 || got.Flows[1].FD != 65 || got.Flows[2].FD != 66 {
		t.Errorf("flows not in accept order: %+v", got.Flows)
	}
	if got.Packets != 8 || got.Bytes != 80 {
		t.Errorf("totals %d packets, %d bytes; want 8, 80", got.Packets, got.Bytes)
	}
}
