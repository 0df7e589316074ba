package fa

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/qos"
	"golang.org/x/sys/unix"
)

// fakeKernel stands in for clock_nanosleep: it records each request and
// answers EINTR as many times as told first.
type fakeKernel struct {
	mu     sync.Mutex
	calls  []string
	eintrs int
}

func (k *fakeKernel) sleep(clock int32, flags int, req, rem *unix.Timespec) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, fmt.Sprintf("clock %d flags %d deadline %d rem %v", clock, flags, unix.TimespecToNsec(*req), rem != nil))
	if k.eintrs > 0 {
		k.eintrs--
		return unix.EINTR
	}
	return nil
}

func useFake(t *testing.T, k *fakeKernel) {
	old := clockNanosleep
	clockNanosleep = k.sleep
	t.Cleanup(func() { clockNanosleep = old })
}

func monoNow(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return unix.TimespecToNsec(ts)
}

// TestFinePaceAsksTheKernel: a pacing wait of 150 µs goes to the kernel as
// an absolute deadline on the monotonic clock 150 µs after the call (not to
// the runtime's timers, which round it up to a millisecond), and a sleep a
// signal interrupted resumes to the same deadline.
func TestFinePaceAsksTheKernel(t *testing.T) {
	k := &fakeKernel{eintrs: 2}
	useFake(t, k)
	const d = 150 * time.Microsecond
	before := monoNow(t)
	finePace(d)
	after := monoNow(t)
	if len(k.calls) != 3 {
		t.Fatalf("kernel calls %q, want 3 (two interrupted)", k.calls)
	}
	for _, c := range k.calls {
		if c != k.calls[0] {
			t.Fatalf("an interrupted sleep resumed to another deadline: %q", k.calls)
		}
	}
	var clock int32
	var flags int
	var deadline int64
	var rem bool
	if _, err := fmt.Sscanf(k.calls[0], "clock %d flags %d deadline %d rem %v", &clock, &flags, &deadline, &rem); err != nil {
		t.Fatal(err)
	}
	if clock != unix.CLOCK_MONOTONIC || flags != unix.TIMER_ABSTIME || rem {
		t.Errorf("kernel call %q: want CLOCK_MONOTONIC, TIMER_ABSTIME, no remainder", k.calls[0])
	}
	if deadline < before+int64(d) || deadline > after+int64(d) {
		t.Errorf("deadline %d ns, want the call's time (%d..%d) + %d", deadline, before, after, d)
	}
}

// TestFinePaceLeavesLongWaits: no wait, and a wait long enough that a
// millisecond does not matter, never hold a thread in the kernel.
func TestFinePaceLeavesLongWaits(t *testing.T) {
	k := &fakeKernel{}
	useFake(t, k)
	finePace(0)
	finePace(-time.Second)
	finePace(coarseWait)
	if len(k.calls) != 0 {
		t.Errorf("kernel calls %q", k.calls)
	}
}

// TestWritePaces: the waits the congestion avoidance asks of a flooding
// writer go to the configured pacing, one per paced SDU, and the
// default pacing is the kernel's.
func TestWritePaces(t *testing.T) {
	p := newPair(t, ca.MBECN, nil)
	if p.a.cfg.Pace == nil {
		t.Fatal("no default pacing")
	}
	var waits []time.Duration
	p.a.cfg.Pace = func(d time.Duration) { waits = append(waits, d) }
	if err := p.a.Alloc(65, hashB, qos.Raw, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.b.AllocResp(100, 0, nil); err != nil {
		t.Fatal(err)
	}
	sdu := strings.Repeat("x", 1000)
	for range 300 { // 300 kB at once: far over the first slot's 64 KiB
		write(t, p.a, 65, sdu)
	}
	if len(waits) == 0 || uint64(len(waits)) != p.a.Stats().Paced {
		t.Fatalf("%d waits paced, %d counted", len(waits), p.a.Stats().Paced)
	}
	for _, w := range waits {
		if w <= 0 || w > time.Second+time.Millisecond {
			t.Fatalf("a pacing wait of %v", w)
		}
	}
	if got := len(p.ub.rxData[100]); got != 300 {
		t.Errorf("%d SDUs delivered, want 300", got)
	}
}
