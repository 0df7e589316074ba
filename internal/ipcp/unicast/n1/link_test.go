package n1

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dt"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// end is one end of an in-memory packet flow: SDUs keep their boundaries;
// closing an end makes its Read fail with net.ErrClosed and the peer's
// with io.EOF.
type end struct {
	in, out   chan []byte
	done      chan struct{}
	peerDone  chan struct{}
	closeOnce sync.Once
}

func pipe() (*end, *end) {
	ab, ba := make(chan []byte, 64), make(chan []byte, 64)
	a := &end{in: ba, out: ab, done: make(chan struct{})}
	b := &end{in: ab, out: ba, done: make(chan struct{})}
	a.peerDone, b.peerDone = b.done, a.done
	return a, b
}

func (e *end) Read(p []byte) (int, error) {
	select {
	case b := <-e.in:
		return copy(p, b), nil
	case <-e.done:
		return 0, net.ErrClosed
	case <-e.peerDone:
		return 0, io.EOF
	}
}

func (e *end) Write(p []byte) (int, error) {
	select { // a closed flow fails even when there is room
	case <-e.done:
		return 0, net.ErrClosed
	case <-e.peerDone:
		return 0, io.ErrClosedPipe
	default:
	}
	select {
	case <-e.done:
		return 0, net.ErrClosed
	case <-e.peerDone:
		return 0, io.ErrClosedPipe
	case e.out <- append([]byte(nil), p...):
		return len(p), nil
	}
}

func (e *end) Close() error    { e.closeOnce.Do(func() { close(e.done) }); return nil }
func (e *end) TxQueueLen() int { return len(e.out) }

// member is a data transfer with its received N+1 data.
type member struct {
	dt  *dt.DT
	tab *pff.Table
	rx  chan string
}

func newMember(t *testing.T, a uint64) *member {
	t.Helper()
	tab := pff.New(pff.Simple)
	d, err := dt.New(dt.Config{Addr: a, CA: ca.None, PFF: [dt.Cubes]*pff.Table{tab}})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{dt: d, tab: tab, rx: make(chan string, 16)}
	d.SetFlowHandler(func(eid uint64, _ uint8, p []byte) { m.rx <- fmt.Sprintf("%#x %s", eid, p) })
	return m
}

// join links members x and y over a pipe, with link ids ix (at x) and iy.
func join(t *testing.T, x *member, ix int, y *member, iy int, down func(int, error)) (*Link, *Link) {
	t.Helper()
	ex, ey := pipe()
	lx := Start(ex, ix, x.dt.Receive, down)
	ly := Start(ey, iy, y.dt.Receive, down)
	if err := x.dt.AddLink(ix, lx, qos.CubeBE); err != nil {
		t.Fatal(err)
	}
	if err := y.dt.AddLink(iy, ly, qos.CubeBE); err != nil {
		t.Fatal(err)
	}
	return lx, ly
}

func recv(t *testing.T, m *member) string {
	t.Helper()
	select {
	case s := <-m.rx:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
	}
	return ""
}

func send(t *testing.T, m *member, dst, eid uint64, s string) {
	t.Helper()
	if err := m.dt.Send(dst, qos.CubeBE, eid, append(make([]byte, wire.DTPCILen), s...)); err != nil {
		t.Fatal(err)
	}
}

// TestLine: three members in a line over N-1 links; packets from one end
// to the other are forwarded by the middle one, both ways, in order. A link
// whose peer end closes reports it once; one closed here does not.
func TestLine(t *testing.T) {
	leakcheck.Check(t)
	const A, B, C = 0x0a, 0x0b, 0x0c
	a, b, c := newMember(t, A), newMember(t, B), newMember(t, C)
	downs := make(chan string, 4)
	down := func(id int, err error) { downs <- fmt.Sprintf("%d %v", id, err) }
	lab, lba := join(t, a, 1, b, 2, down)
	lbc, lcb := join(t, b, 3, c, 4, down)
	a.tab.Add(C, []int{1})
	b.tab.Add(C, []int{3})
	b.tab.Add(A, []int{2})
	c.tab.Add(A, []int{4})

	for i := range 20 {
		send(t, a, C, 1<<40, fmt.Sprint("to c ", i))
		send(t, c, A, 2<<40, fmt.Sprint("to a ", i))
	}
	for i := range 20 {
		if got, want := recv(t, c), fmt.Sprintf("%#x to c %d", uint64(1<<40), i); got != want {
			t.Fatalf("C got %q, want %q", got, want)
		}
		if got, want := recv(t, a), fmt.Sprintf("%#x to a %d", uint64(2<<40), i); got != want {
			t.Fatalf("A got %q, want %q", got, want)
		}
	}
	// B counts a packet forwarded once its write returned, which may be
	// after the packet was read at the far end.
	st := b.dt.Stats()
	for end := time.Now().Add(10 * time.Second); st.Forwarded < 40 && time.Now().Before(end); st = b.dt.Stats() {
		time.Sleep(time.Millisecond)
	}
	if st.Forwarded != 40 || st.Delivered != 0 {
		t.Errorf("B's stats %+v", st)
	}

	// C's end of B-C closes: B's link reports it, C's (closed here) does not.
	lcb.Close()
	select {
	case d := <-downs:
		if d != "3 EOF" {
			t.Errorf("down %q, want \"3 EOF\"", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("B's link to C did not report its peer gone")
	}
	<-lbc.Done()
	if !errors.Is(lbc.Err(), io.EOF) {
		t.Errorf("B's link ended with %v", lbc.Err())
	}
	if err := b.dt.Send(C, qos.CubeBE, 1<<40, make([]byte, wire.DTPCILen)); err == nil {
		t.Error("a write to the closed link succeeded")
	}
	lab.Close()
	lba.Close()
	lbc.Close()
	select {
	case d := <-downs:
		if d != "2 EOF" {
			t.Errorf("unexpected down %q", d)
		}
	default:
	}
}

// cappable is a flow end that can cap its queue, as flow.Flow can.
type cappable struct {
	*end
	limit int
}

func (c *cappable) SetTxQueueLimit(n int) { c.limit = n }

// TestStartCapsQueue: a link caps its flow's queue at MaxQueue packets,
// the reference's ring, so that the congestion marking read from it stays
// within what the reference sends.
func TestStartCapsQueue(t *testing.T) {
	leakcheck.Check(t)
	ea, eb := pipe()
	c := &cappable{end: ea}
	l := Start(c, 1, func(int, []byte) {}, nil)
	defer l.Close()
	defer eb.Close()
	if c.limit != MaxQueue || MaxQueue != 1023 {
		t.Fatalf("the link set its flow's queue limit to %d (MaxQueue %d), want 1023", c.limit, MaxQueue)
	}
}
