package main

import (
	"bytes"
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// msgRW is a flow end holding queued messages; it records what is written.
type msgRW struct {
	in       [][]byte
	readErr  error
	writeErr error
	written  [][]byte
	onWrite  func() // called first in each Write
}

func (m *msgRW) Read(p []byte) (int, error) {
	if len(m.in) == 0 {
		return 0, opErr("read", m.readErr)
	}
	msg := m.in[0]
	m.in = m.in[1:]
	if len(msg) > len(p) {
		return 0, opErr("read", flow.EMSGSIZE)
	}
	return copy(p, msg), nil
}

func (m *msgRW) Write(p []byte) (int, error) {
	if m.onWrite != nil {
		m.onWrite()
	}
	if m.writeErr != nil {
		return 0, opErr("write", m.writeErr)
	}
	m.written = append(m.written, bytes.Clone(p))
	return len(p), nil
}

func TestServeRequest(t *testing.T) {
	req := make([]byte, 100)
	header{Type: typeRequest, ID: 9, Sec: 1, Nsec: 2}.put(req)
	req[99] = 0xee // padding is echoed verbatim, even if not zero
	reply := bytes.Clone(req)
	reply[3] = 1

	notReq := bytes.Clone(reply)
	tests := []struct {
		name     string
		in       []byte
		readErr  error
		writeErr error
		quiet    bool
		ok       bool
		out      string
		written  []byte
	}{
		{"request", req, nil, nil, false, true, "Received 100 bytes on fd 70.\n", reply},
		{"quiet", req, nil, nil, true, true, "", reply},
		{"reply is not a request", notReq, nil, nil, false, false,
			"Received 100 bytes on fd 70.\nInvalid message on fd 70.\n", nil},
		{"invalid is printed when quiet", notReq, nil, nil, true, false, "Invalid message on fd 70.\n", nil},
		{"too short for a type", []byte{0, 0, 0}, nil, nil, false, false,
			"Received 3 bytes on fd 70.\nInvalid message on fd 70.\n", nil},
		{"type only", []byte{0, 0, 0, 0}, nil, nil, false, true, "Received 4 bytes on fd 70.\n", []byte{0, 0, 0, 1}},
		{"largest", append(bytes.Clone(req), make([]byte, maxSize-100)...), nil, nil, true, true, "",
			append(bytes.Clone(reply), make([]byte, maxSize-100)...)},
		{"oversized: dropped by the flow", make([]byte, maxSize+1), flow.EAGAIN, nil, false, false, "", nil},
		{"nothing queued", nil, flow.EAGAIN, nil, false, false, "", nil},
		{"flow down", nil, flow.EFLOWDOWN, nil, false, false, "", nil},
		{"write fails", req, nil, flow.EFLOWDOWN, true, true, "Error writing to flow (fd 70).\n", nil},
	}
	for _, tt := range tests {
		m := &msgRW{readErr: tt.readErr, writeErr: tt.writeErr}
		if tt.in != nil {
			m.in = [][]byte{bytes.Clone(tt.in)}
		}
		var out bytes.Buffer
		p := &printer{W: &out}
		// The reply goes out before anything is printed: the print is
		// a system call the client's round trip must not include.
		m.onWrite = func() {
			if out.Len() != 0 {
				t.Errorf("%s: printed %q before the reply", tt.name, out.String())
			}
		}
		buf := make([]byte, maxSize)
		if ok := serveRequest(m, 70, buf, tt.quiet, p); ok != tt.ok {
			t.Errorf("%s: serveRequest ok = %v, want %v", tt.name, ok, tt.ok)
		}
		if out.String() != tt.out {
			t.Errorf("%s: printed %q, want %q", tt.name, out.String(), tt.out)
		}
		switch {
		case tt.written == nil && len(m.written) != 0:
			t.Errorf("%s: wrote %x", tt.name, m.written)
		case tt.written != nil && (len(m.written) != 1 || !bytes.Equal(m.written[0], tt.written)):
			t.Errorf("%s: wrote %x, want %x", tt.name, m.written, tt.written)
		}
	}
}

func TestIdleTable(t *testing.T) {
	var tab idleTable[string]
	tab.init()
	t0 := time.Unix(1000, 0)
	tab.add("c", 66, t0)
	tab.add("a", 64, t0)
	tab.add("b", 65, t0.Add(5*time.Second))
	tab.add("d", 300, t0) // fds beyond the reference's 256-entry table

	if got := tab.expire(t0.Add(idleTimeout), idleTimeout); len(got) != 0 {
		t.Errorf("expired at exactly the idle time: %v", got)
	}
	tab.touch("c", t0.Add(2*time.Second))
	got := tab.expire(t0.Add(idleTimeout+time.Millisecond), idleTimeout)
	if want := []string{"a", "d"}; !slices.Equal(got, want) {
		t.Errorf("expire = %v, want %v (in fd order)", got, want)
	}
	tab.touch("a", t0.Add(time.Hour)) // evicted: touching does not bring it back
	got = tab.expire(t0.Add(time.Minute), idleTimeout)
	if want := []string{"b", "c"}; !slices.Equal(got, want) {
		t.Errorf("expire = %v, want %v", got, want)
	}

	tab.add("x", 80, t0)
	tab.add("y", 70, t0)
	tab.remove("x")
	if got := tab.drain(); !slices.Equal(got, []string{"y"}) {
		t.Errorf("drain = %v, want [y]", got)
	}
	if got := tab.drain(); len(got) != 0 {
		t.Errorf("second drain = %v", got)
	}
}

func TestIdleTableConcurrent(t *testing.T) {
	var tab idleTable[int]
	tab.init()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			tab.add(i, i, time.Now())
			tab.touch(i-1, time.Now())
		}
	}()
	n := 0
	for n < 1000 {
		n += len(tab.expire(time.Now().Add(time.Hour), idleTimeout))
	}
	<-done
	if n != 1000 {
		t.Errorf("expired %d entries, want 1000", n)
	}
}

// TestCleanerSleepsWithoutFlows: the cleaner sweeps once a period while
// flows are tracked and not at all (no timer) while none is, so an idle
// server takes no CPU; a flow added later wakes it.
func TestCleanerSleepsWithoutFlows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tab idleTable[int]
		tab.init()
		ctx, cancel := context.WithCancel(t.Context())
		var sweeps atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			tab.clean(ctx, func(now time.Time) {
				sweeps.Add(1)
				tab.expire(now, idleTimeout)
			})
		}()
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := sweeps.Load(); n != 0 {
			t.Fatalf("%d sweeps in an hour without flows, want 0", n)
		}
		tab.add(1, 64, time.Now())
		// Swept each period until the flow is idle for longer than
		// idleTimeout, then the table is empty and the sweeps stop.
		time.Sleep(time.Hour)
		synctest.Wait()
		want := int64((idleTimeout + cleanerPeriod) / cleanerPeriod)
		if n := sweeps.Load(); n != want {
			t.Fatalf("%d sweeps while a flow idled out, want %d", n, want)
		}
		if !tab.empty() {
			t.Fatal("the idle flow was not expired")
		}
		cancel()
		<-done
	})
}
