package flow

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// pair returns two connected flows over a real channel, without an IRMd
// (Close reports that the IRMd is unreachable; the tests ignore that).
func pair(t testing.TB, qa, qb qos.Spec) (*Flow, *Flow) {
	t.Helper()
	leakcheck.Check(t)
	ea, eb := endpoints(t, testShm())
	p := testProcess(t)
	fa := newFlowOn(p, ea, ctrl.FlowInfo{ID: 1, QoS: qa}, "b")
	fb := newFlowOn(p, eb, ctrl.FlowInfo{ID: 1, QoS: qb}, "")
	startFlows(t, p, fa, fb)
	t.Cleanup(func() { fa.Close(); fb.Close() })
	return fa, fb
}

// testShm reports whether test channels use shared memory: yes unless
// O7S_TEST_DATAPATH=socket.
func testShm() bool { return os.Getenv("O7S_TEST_DATAPATH") != "socket" }

// testProcess returns a process without an IRMd to own test flows.
func testProcess(t testing.TB) *process {
	return &process{dir: t.TempDir(), pid: os.Getpid(), flows: map[*Flow]struct{}{}}
}

// startFlows adds the flows to p's table and starts them.
func startFlows(t testing.TB, p *process, fs ...*Flow) {
	t.Helper()
	for _, f := range fs {
		if err := p.addFlow(f); err != nil {
			t.Fatal(err)
		}
		f.start()
	}
}

var noKeepalive = qos.Spec{Timeout: 0}

func TestPartialReadTable(t *testing.T) {
	a, b := pair(t, noKeepalive, noKeepalive)
	b.SetReadTimeout(5 * time.Second)
	cases := []struct {
		msg   string
		flags Flags
		bufs  []int
		want  []string // "" = zero-length read; "!" = EMSGSIZE
	}{
		{"hello", FlagDefault, []int{10}, []string{"hello"}},
		{"hello", FlagDefault, []int{5, 1}, []string{"hello", ""}},
		{"0123456789", FlagDefault, []int{3, 3, 3, 3}, []string{"012", "345", "678", "9"}},
		{"01234567", FlagDefault, []int{4, 4, 4}, []string{"0123", "4567", ""}},
		{"01234567", FlagDefault | FlagRNoPart, []int{8, 9}, []string{"01234567", "!"}},
		{"0123456789", FlagRdWr | FlagRNoPart, []int{4}, []string{"!"}},
	}
	for _, c := range cases {
		b.SetFlags(c.flags)
		a.Write([]byte(c.msg))
		if c.want[len(c.want)-1] == "!" && len(c.want) == 2 {
			// The second read must find no message: give it one that does not fit.
			a.Write([]byte("0123456789"))
		}
		for i, n := range c.bufs {
			buf := make([]byte, n)
			k, err := b.Read(buf)
			switch w := c.want[i]; {
			case w == "!":
				if !errors.Is(err, oerr.EMSGSIZE) {
					t.Errorf("%q %v: read %d = %q, %v; want EMSGSIZE", c.msg, c.bufs, i, buf[:k], err)
				}
			case err != nil || string(buf[:k]) != w:
				t.Errorf("%q %v: read %d = %q, %v; want %q", c.msg, c.bufs, i, buf[:k], err, w)
			}
		}
	}
	if q := b.RxQueueLen(); q != 0 {
		t.Errorf("%d messages left queued", q)
	}
}

func TestCloseWakesReader(t *testing.T) {
	a, _ := pair(t, noKeepalive, noKeepalive)
	done := make(chan error)
	go func() { _, err := a.Read(make([]byte, 8)); done <- err }()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the reader")
	}
	if err := a.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second close: %v", err)
	}
}

func TestPeerGoneDrainsThenDown(t *testing.T) {
	a, b := pair(t, noKeepalive, noKeepalive)
	for _, m := range []string{"one", "two", "three"} {
		a.Write([]byte(m))
	}
	a.Close()
	buf := make([]byte, 16)
	b.SetReadTimeout(5 * time.Second)
	for _, m := range []string{"one", "two", "three"} {
		n, err := b.Read(buf)
		if err != nil || string(buf[:n]) != m {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, m)
		}
	}
	_, err := b.Read(buf)
	if !errors.Is(err, oerr.EFLOWDOWN) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after the peer left: %v, want EFLOWDOWN", err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, oerr.EFLOWDOWN) {
		t.Fatalf("write after the peer left: %v", err)
	}
}

func TestPeerTimeout(t *testing.T) {
	// a expects traffic every 200 ms; b sends no keepalives (timeout 0).
	// The silence is counted from the flow's creation, so the clock of
	// the test starts before pair (under load, pair and newTestSet took
	// a few ms, and a start taken after them saw the peer declared gone
	// 197 ms later, rightly).
	start := time.Now()
	a, b := pair(t, qos.Spec{Timeout: 200}, noKeepalive)
	set, err := newTestSet(a.p)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	set.Add(a)
	a.SetReadTimeout(5 * time.Second)
	_, err = a.Read(make([]byte, 8))
	if !errors.Is(err, oerr.EFLOWPEER) {
		t.Fatalf("read from a silent peer: %v, want EFLOWPEER", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("peer declared gone after %v, before the 200 ms timeout", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var q EventQueue
	if err := set.Wait(ctx, &q); err != nil {
		t.Fatal(err)
	}
	if ev, ok := q.Next(); !ok || ev.Type != EventPeer || ev.Flow != a {
		t.Fatalf("event %+v, want EventPeer", ev)
	}
	_ = b
}

func TestKeepaliveKeepsPeerAlive(t *testing.T) {
	// Both ends expect traffic every second and send nothing else: the
	// keepalives (empty packets every 250 ms) must keep the flow up for
	// three times that. (With 200 ms, a process of the test descheduled
	// that long on a busy machine rightly ended the flow.)
	a, b := pair(t, qos.Spec{Timeout: 1000}, qos.Spec{Timeout: 1000})
	a.SetReadTimeout(3 * time.Second)
	if _, err := a.Read(make([]byte, 8)); !errors.Is(err, oerr.ETIMEDOUT) {
		t.Fatalf("read: %v, want ETIMEDOUT (no data, but the peer alive)", err)
	}
	b.Write([]byte("still here"))
	buf := make([]byte, 16)
	if n, err := a.Read(buf); err != nil || string(buf[:n]) != "still here" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}

func TestBackPressureAndNonBlockingWrite(t *testing.T) {
	a, b := pair(t, noKeepalive, noKeepalive)
	a.SetFlags(FlagRdWr | FlagWNoBlock)
	msg := bytes.Repeat([]byte{7}, 1000)
	sent := 0
	// Write until the flow stays full: the reader's queue (rxCap messages)
	// and the channel have filled up.
	for full := 0; full < 5; {
		if _, err := a.Write(msg); err != nil {
			if !errors.Is(err, oerr.EAGAIN) {
				t.Fatalf("write to a full flow: %v, want EAGAIN", err)
			}
			full++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		sent++
		full = 0
	}
	if sent < rxCap {
		t.Errorf("only %d messages fit before the flow stayed full", sent)
	}
	// Nothing was lost: the reader gets every message.
	b.SetFlags(FlagRdWr | FlagRNoBlock)
	buf := make([]byte, 2000)
	got := 0
	for deadline := time.Now().Add(10 * time.Second); got < sent && time.Now().Before(deadline); {
		if _, err := b.Read(buf); err == nil {
			got++
		} else if !errors.Is(err, oerr.EAGAIN) {
			t.Fatal(err)
		}
	}
	if got != sent {
		t.Fatalf("read %d of %d messages", got, sent)
	}
}

func TestConcurrentReadWrite(t *testing.T) {
	a, b := pair(t, noKeepalive, noKeepalive)
	const n = 2000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 4 {
				a.Write([]byte{byte(w), byte(i)})
			}
		}()
	}
	got := make(chan int, 4)
	for range 4 {
		go func() {
			c := 0
			buf := make([]byte, 8)
			b.SetReadTimeout(2 * time.Second)
			for {
				if _, err := b.Read(buf); err != nil {
					got <- c
					return
				}
				c++
			}
		}()
	}
	wg.Wait()
	total := 0
	for range 4 {
		total += <-got
	}
	if total != n {
		t.Fatalf("read %d of %d messages", total, n)
	}
}

func TestEventSetLevelTriggered(t *testing.T) {
	a, b := pair(t, noKeepalive, noKeepalive)
	set, err := newTestSet(b.p)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	a.Write([]byte("before add"))
	time.Sleep(20 * time.Millisecond)
	if err := set.Add(b); err != nil {
		t.Fatal(err)
	}
	a.Write([]byte("after add"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var evs []Event
	for len(evs) < 2 {
		got, err := set.Events(ctx)
		if err != nil {
			t.Fatalf("events: %v (have %v)", err, evs)
		}
		evs = append(evs, got...)
	}
	if len(evs) != 2 || evs[0].Type != EventPkt || evs[1].Type != EventPkt {
		t.Fatalf("events %v", evs)
	}
	// Reading one message consumes one event; the other stays reported.
	b.Read(make([]byte, 32))
	short, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if got, err := set.Events(short); !errors.Is(err, oerr.ETIMEDOUT) {
		t.Fatalf("re-reported events %v, %v", got, err)
	}
	a.Write([]byte("third"))
	got, err := set.Events(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("after a new message: %v, %v", got, err)
	}
}

// newTestSet makes an event set on a test process (no IRMd).
func newTestSet(p *process) (*EventSet, error) {
	idx, err := p.newSetIndex()
	if err != nil {
		return nil, err
	}
	return &EventSet{p: p, idx: idx, flows: map[*Flow]struct{}{}, inReady: map[*Flow]struct{}{},
		kick: make(chan struct{}, 1)}, nil
}

// TestDeadlineVirtualTime checks the deadline type in virtual time: the wait
// channel closes exactly when the deadline passes, and moving the deadline
// re-arms or fires it.
func TestDeadlineVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := makeDeadline()
		start := time.Now()
		d.set(start.Add(3 * time.Second))
		c := d.wait()
		synctest.Wait()
		if isClosedChan(c) {
			t.Fatal("closed before the deadline")
		}
		<-c
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("closed after %v, want 3s", got)
		}
		// Moving it into the future opens a new channel.
		d.set(time.Now().Add(time.Second))
		c2 := d.wait()
		if isClosedChan(c2) {
			t.Fatal("new deadline already expired")
		}
		// Clearing it: never fires.
		d.set(time.Time{})
		time.Sleep(time.Hour)
		if isClosedChan(d.wait()) {
			t.Fatal("cleared deadline fired")
		}
		// A past deadline fires at once.
		d.set(time.Now().Add(-time.Second))
		if !isClosedChan(d.wait()) {
			t.Fatal("past deadline did not fire")
		}
		if !d.get().Before(time.Now()) {
			t.Fatal("get returned the wrong time")
		}
	})
}

func TestKeepaliveDecision(t *testing.T) {
	// The keepalive period is timeout/4; the peer is gone after timeout.
	a, _ := pair(t, noKeepalive, noKeepalive)
	a.ka = time.AfterFunc(time.Hour, func() {})
	defer a.ka.Stop()
	a.lastRcv.Store(monoOf(time.Now().Add(-time.Second)))
	a.keepalive(liveness{timeout: 400 * time.Millisecond})
	if a.peerErr != oerr.EFLOWPEER {
		t.Fatalf("peerErr = %v after 1 s of silence with a 400 ms timeout", a.peerErr)
	}
}

// TestKeepaliveUnreadPacketKeepsPeerAlive: a packet that arrived but was not
// yet read (the process was too busy; here its reader has not started) keeps
// the peer alive when the liveness timer runs late. It used to be declared
// gone (EFLOWPEER), which under load killed healthy flows.
func TestKeepaliveUnreadPacketKeepsPeerAlive(t *testing.T) {
	for _, shm := range []bool{false, true} {
		leakcheck.Check(t)
		ea, eb := endpoints(t, shm)
		p := testProcess(t)
		a := newFlowOn(p, ea, ctrl.FlowInfo{ID: 1, QoS: noKeepalive}, "b")
		a.ka = time.AfterFunc(time.Hour, func() {})
		a.lastRcv.Store(monoOf(time.Now().Add(-time.Second)))
		if err := eb.WritePacket(datapath.KindData, []byte("late")); err != nil {
			t.Fatal(err)
		}
		a.keepalive(liveness{timeout: 400 * time.Millisecond})
		if a.peerErr != nil {
			t.Errorf("shm %v: peerErr = %v with a packet waiting to be read", shm, a.peerErr)
		}
		// Once read, silence again means the peer is gone.
		if _, _, err := ea.ReadPacket(make([]byte, datapath.MaxSDU+1)); err != nil {
			t.Fatal(err)
		}
		a.keepalive(liveness{timeout: 400 * time.Millisecond})
		if a.peerErr != oerr.EFLOWPEER {
			t.Errorf("shm %v: peerErr = %v after 1 s of silence with nothing waiting", shm, a.peerErr)
		}
		a.ka.Stop()
		ea.Close()
		eb.Close()
	}
}

// endpoints returns the two ends of a flow channel.
func endpoints(t testing.TB, shm bool) (*datapath.Endpoint, *datapath.Endpoint) {
	t.Helper()
	a, b, err := datapath.Pair(shm)
	if err != nil {
		t.Fatal(err)
	}
	ea, err := datapath.New(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := datapath.New(b)
	if err != nil {
		t.Fatal(err)
	}
	return ea, eb
}

func TestWriteDeadlineMovedWhileBlocked(t *testing.T) {
	a, _ := pair(t, noKeepalive, noKeepalive)
	fill(a)
	a.SetFlags(FlagRdWr)
	done := make(chan error)
	go func() { _, err := a.Write(make([]byte, 1000)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	a.SetWriteDeadline(time.Now())
	select {
	case err := <-done:
		if !errors.Is(err, oerr.ETIMEDOUT) {
			t.Fatalf("blocked write after the deadline moved: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("moving the write deadline did not wake the writer")
	}
}

// fill writes to f until the peer's queue and the channel are full: the
// channel stays full for several retries in a row.
func fill(f *Flow) {
	f.SetFlags(FlagRdWr | FlagWNoBlock)
	for full := 0; full < 5; {
		if _, err := f.Write(make([]byte, 1000)); err != nil {
			full++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		full = 0
	}
}

// TestReadQueuedNoTimer: a Read with a receive timeout that finds a message
// queued makes no timer (nor anything else on the heap); the timer is made
// only when the Read must wait. A timer per Read was most of the CPU of a
// busy server with a timeout set (ocbr's).
func TestReadQueuedNoTimer(t *testing.T) {
	a, b := pair(t, noKeepalive, noKeepalive)
	b.SetReadTimeout(5 * time.Second)
	const n = 200
	msg := make([]byte, 64)
	for range n {
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); b.RxQueueLen() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages queued", b.RxQueueLen(), n)
		}
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, 128) // longer than a message: one Read per message
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := b.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a Read of a queued message made %v allocations, want 0", allocs)
	}
	// The timeout still holds once the queue is empty.
	for b.RxQueueLen() > 0 {
		if _, err := b.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	b.SetReadTimeout(50 * time.Millisecond)
	if _, err := b.Read(buf); !errors.Is(err, oerr.ETIMEDOUT) {
		t.Fatalf("Read of an empty flow: %v, want ETIMEDOUT", err)
	}
}
