package frct

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// refPeer is a small model of the reference implementation's FRCT (C
// 0.23.0), written from its documented rules, to play the other end of a
// Conn in tests. What matters here is its receive side, as the reference
// has it:
//
//   - a receive record starts inactive, with edges 0, and expires after
//     rcv.inact seconds (whole seconds of the clock) without a packet;
//   - an inactive record opens a run (lwe = seqno, rwe = seqno + 256) only on
//     a packet with DRF; DATA without DRF is dropped; any other packet makes
//     the record active WITHOUT a run (quirk F6): the edges stay 0, reliable
//     DATA is then dropped, and best-effort DATA is delivered while the
//     advertised window reads 1, 2, 3, ...;
//   - reliable DATA in [lwe, rwe) enters a 256-slot reorder queue and arms
//     a delayed ACK (10 ms); without RTX, DATA not before lwe is taken;
//   - a standalone ACK|FC goes only if something was consumed since the
//     last ACK, the record was active within A, and this end sent nothing
//     in the last 5 ms; an RDVS is answered with FC.
//
// Its send side: a new run (random seqno, window seqno+64) after snd.inact
// idle; DRF when nothing is unacknowledged; FC when its receive record is
// active; piggybacked ACK on reliable flows; a write waits while the window
// is closed, and (as the reference before it has seen an FC) never sends
// RDVS; retransmission every rto (a fixed 1 s here: the model needs the
// rules, not the estimator).
type refPeer struct {
	rtx        bool
	snd, rcv   refRec
	rq         [DefaultRQSize][]byte
	lastSnd    time.Time
	ackDue     time.Time
	unacked    []refPkt
	rng        *rand.Rand
	out        func([]byte)
	runless    int // packets that activated the receive record without a run (F6)
	delivered  [][]byte
	windowSeen []uint32 // FC values received, low 24 bits
}

type refRec struct {
	lwe, rwe, seqno Seq
	act             time.Time
	inact           time.Duration
}

type refPkt struct {
	seq Seq
	due time.Time
	pkt []byte
}

const refRTO = time.Second

func newRefPeer(rtx bool, mpl time.Duration, now time.Time, seed uint64, out func([]byte)) *refPeer {
	p := &refPeer{rtx: rtx, rng: rand.New(rand.NewPCG(seed, 9)), out: out}
	p.snd.inact = (3*mpl + DefaultA + DefaultR).Truncate(time.Second) + time.Second
	p.rcv.inact = (2*mpl + DefaultA + DefaultR).Truncate(time.Second) + time.Second
	p.snd.act = now.Add(-p.snd.inact - time.Second)
	p.rcv.act = now.Add(-p.rcv.inact - time.Second)
	p.snd.rwe = DefaultStartWindow
	return p
}

// idle is the reference's test: whole seconds since act.
func idle(now time.Time, r refRec) int64 { return now.Unix() - r.act.Unix() }

func (p *refPeer) rcvActive(now time.Time) bool {
	return idle(now, p.rcv) < int64(p.rcv.inact/time.Second)
}

// send writes one payload; false if the window is closed.
func (p *refPeer) send(now time.Time, payload []byte) bool {
	if idle(now, p.snd) > int64(p.snd.inact/time.Second) {
		s := Seq(p.rng.Uint32())
		p.snd.lwe, p.snd.seqno, p.snd.rwe = s, s, s.Add(DefaultStartWindow)
	}
	if !p.snd.seqno.Before(p.snd.rwe) {
		return false
	}
	h := wire.FRCTFields{Flags: wire.FRCTData, Seqno: uint32(p.snd.seqno)}
	if p.snd.seqno == p.snd.lwe {
		h.Flags |= wire.FRCTDRF
	}
	if p.rcvActive(now) {
		h.Flags |= wire.FRCTFC
		h.RWE = uint32(p.rcv.rwe)
	}
	if !p.rtx {
		p.snd.lwe = p.snd.lwe.Add(1)
	} else if now.Sub(p.rcv.act) <= DefaultA {
		h.Flags |= wire.FRCTACK
		h.Ackno = uint32(p.rcv.lwe)
		p.rcv.seqno = p.rcv.lwe
	}
	pkt := append(h.Append(nil), payload...)
	if p.rtx {
		p.unacked = append(p.unacked, refPkt{seq: p.snd.seqno, due: now.Add(refRTO), pkt: pkt})
	}
	p.snd.seqno = p.snd.seqno.Add(1)
	p.snd.act = now
	p.xmit(now, pkt)
	return true
}

func (p *refPeer) xmit(now time.Time, pkt []byte) {
	p.lastSnd = now
	p.out(append([]byte(nil), pkt...))
}

// receive takes one packet and delivers what the reader can take (the
// reader keeps up).
func (p *refPeer) receive(now time.Time, pkt []byte) {
	h := wire.FRCT(pkt).Fields()
	seq := Seq(h.Seqno)
	data := h.Flags.Has(wire.FRCTData)
	if idle(now, p.rcv) > int64(p.rcv.inact/time.Second) {
		switch {
		case h.Flags.Has(wire.FRCTDRF):
			p.rcv.lwe, p.rcv.rwe, p.rcv.seqno = seq, seq.Add(DefaultRQSize), seq
		case data:
			p.sendAck(now)
			return
		default:
			p.runless++
		}
	}
	p.rcv.act = now
	if h.Flags.Has(wire.FRCTRDVS) {
		p.xmit(now, wire.FRCTFields{Flags: wire.FRCTFC, RWE: uint32(p.rcv.rwe)}.Append(nil))
		return
	}
	if h.Flags.Has(wire.FRCTACK) {
		if a := Seq(h.Ackno); a.After(p.snd.lwe) {
			p.snd.lwe = a
		}
		for len(p.unacked) > 0 && p.unacked[0].seq.Before(p.snd.lwe) {
			p.unacked = p.unacked[1:]
		}
	}
	if h.Flags.Has(wire.FRCTFC) {
		p.snd.rwe = p.snd.rwe.Reconstruct24(h.RWE)
		p.windowSeen = append(p.windowSeen, h.RWE)
	}
	if !data {
		p.sendAck(now)
		return
	}
	if seq.Before(p.rcv.lwe) {
		p.rcv.seqno = seq
		p.sendAck(now)
		return
	}
	i := seq % DefaultRQSize
	if p.rtx {
		if !seq.Before(p.rcv.rwe) || !seq.Before(p.rcv.lwe.Add(DefaultRQSize)) || p.rq[i] != nil {
			p.sendAck(now)
			return
		}
		p.rq[i] = pkt[wire.FRCTLen:]
		if p.ackDue.IsZero() {
			p.ackDue = now.Add(ackDelay)
		}
	} else {
		p.rcv.lwe = seq
		p.rq[i] = pkt[wire.FRCTLen:]
	}
	for p.rq[p.rcv.lwe%DefaultRQSize] != nil {
		p.delivered = append(p.delivered, p.rq[p.rcv.lwe%DefaultRQSize])
		p.rq[p.rcv.lwe%DefaultRQSize] = nil
		p.rcv.lwe, p.rcv.rwe = p.rcv.lwe.Add(1), p.rcv.rwe.Add(1)
	}
}

// sendAck is the reference's only sender of standalone ACK|FC.
func (p *refPeer) sendAck(now time.Time) {
	if !p.rcv.lwe.After(p.rcv.seqno) || now.Sub(p.rcv.act) > DefaultA || now.Sub(p.lastSnd) < tickTime {
		return
	}
	p.rcv.seqno = p.rcv.lwe
	p.xmit(now, wire.FRCTFields{Flags: wire.FRCTACK | wire.FRCTFC, RWE: uint32(p.rcv.rwe), Ackno: uint32(p.rcv.lwe)}.Append(nil))
}

func (p *refPeer) deadline() time.Time {
	d := p.ackDue
	for _, u := range p.unacked {
		d = earliest(d, u.due)
	}
	return d
}

func (p *refPeer) timeout(now time.Time) {
	if !p.ackDue.IsZero() && !now.Before(p.ackDue) {
		p.ackDue = time.Time{}
		p.sendAck(now)
	}
	for i := range p.unacked {
		u := &p.unacked[i]
		if now.Before(u.due) {
			continue
		}
		if wire.FRCT(u.pkt).Flags().Has(wire.FRCTACK) {
			wire.FRCT(u.pkt).SetAckno(uint32(p.rcv.lwe))
		}
		u.due = now.Add(refRTO)
		p.xmit(now, u.pkt)
	}
}

// refNet joins a Conn (index 0) and a refPeer (index 1) with a fixed delay
// each way, in virtual time.
type refNet struct {
	t       *testing.T
	delay   time.Duration
	q       flights
	n       int
	conn    *Conn
	peer    *refPeer
	pending [][]byte // payloads our Conn delivered, not yet taken by the app
	trace   []string
}

func (r *refNet) tracef(format string, args ...any) {
	if len(r.trace) >= 30 {
		r.trace = r.trace[1:]
	}
	r.trace = append(r.trace, fmt.Sprintf(time.Now().Format("05.000000 ")+format, args...))
}

func (r *refNet) xmit(to int, pkt []byte) {
	h := wire.FRCT(pkt).Fields()
	r.tracef("->%d %v win %06x seq %08x ack %08x", to, h.Flags, h.RWE, h.Seqno, h.Ackno)
	r.n++
	heap.Push(&r.q, flight{at: time.Now().Add(r.delay), n: r.n, to: to, pkt: pkt})
}

// ours0 sends what our Conn emitted.
func (r *refNet) ours0(pkts [][]byte) {
	for _, p := range pkts {
		if p != nil {
			r.xmit(1, p)
		}
	}
}

// step delivers what is due, runs both ends' timers and the app hook,
// then sleeps until the next event (at most max).
func (r *refNet) step(max time.Duration, app func(now time.Time) time.Time) {
	now := time.Now()
	for r.q.Len() > 0 && !r.q[0].at.After(now) {
		f := heap.Pop(&r.q).(flight)
		if f.to == 1 {
			r.peer.receive(now, f.pkt)
			continue
		}
		d, rep, err := r.conn.Receive(now, f.pkt)
		if err != nil {
			r.t.Fatal(err)
		}
		r.ours0(rep)
		r.pending = append(r.pending, d...)
	}
	if dl := r.conn.NextDeadline(); !dl.IsZero() && !dl.After(now) {
		r.ours0(r.conn.OnTimeout(now))
	}
	if dl := r.peer.deadline(); !dl.IsZero() && !dl.After(now) {
		r.peer.timeout(now)
	}
	next := now.Add(max)
	if a := app(now); !a.IsZero() {
		// An app that must retry (a closed window) tries again in 1 ms.
		next = earliest(next, later(a, now.Add(time.Millisecond)))
	}
	if r.q.Len() > 0 {
		next = earliest(next, r.q[0].at)
	}
	next = earliest(next, r.conn.NextDeadline())
	next = earliest(next, r.peer.deadline())
	if d := next.Sub(time.Now()); d > 0 {
		time.Sleep(d)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// fail prints the last packets and both ends' state.
func (r *refNet) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Log("last packets (0 = ours, 1 = reference model):\n" + strings.Join(r.trace, "\n"))
	r.t.Fatalf(format+"\nours: snd %+v rcv %+v stats %+v\nmodel: snd %+v rcv %+v runless %d",
		append(args, r.conn.snd, r.conn.rcv, r.conn.stats, r.peer.snd, r.peer.rcv, r.peer.runless)...)
}

func newRefNet(t *testing.T, rtx bool, seed uint64) *refNet {
	r := &refNet{t: t, delay: time.Millisecond}
	now := time.Now()
	r.conn = New(Config{RTX: rtx, RQSize: 1024, Rand: rand.New(rand.NewPCG(seed, 1)).Uint32}, now)
	r.peer = newRefPeer(rtx, DefaultMPL, now, seed, func(p []byte) { r.xmit(0, p) })
	return r
}

// TestResponderToReferenceRequester: our Conn answers requests from the
// model of a reference requester (as `oping -q best|data` against our
// `oping -l`), with a responder that answers at once or takes a while, and
// an advertised window larger than the reference's (as the flow layer
// uses). Every request is answered, no control packet of ours reaches the
// model before our first DATA (it would open its receive record without a
// run: quirk F6), and the window the model advertises to us is the real
// one, open.
func TestResponderToReferenceRequester(t *testing.T) {
	for _, rtx := range []bool{false, true} {
		for _, answer := range []time.Duration{0, 5 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond} {
			name := fmt.Sprintf("rtx=%v/answer=%v", rtx, answer)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { requestResponse(t, rtx, answer, 200) })
			})
		}
	}
}

func requestResponse(t *testing.T, rtx bool, answer time.Duration, n int) {
	const interval = 10 * time.Millisecond
	r := newRefNet(t, rtx, uint64(answer)+7)
	type job struct {
		at time.Time
		p  []byte
	}
	var jobs []job // answers due
	sent, nextReq := 0, time.Now()
	app := func(now time.Time) time.Time {
		for _, p := range r.pending {
			r.ours0([][]byte{r.conn.Consumed(now)})
			jobs = append(jobs, job{now.Add(answer), p})
		}
		r.pending = r.pending[:0]
		for len(jobs) > 0 && !now.Before(jobs[0].at) {
			pkt, err := r.conn.Send(now, nil, jobs[0].p)
			if err != nil {
				break // window closed: retried at the next step
			}
			r.ours0([][]byte{pkt})
			jobs = jobs[1:]
		}
		if sent < n && !now.Before(nextReq) {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(sent))
			if r.peer.send(now, b[:]) {
				sent++
				nextReq = now.Add(interval)
			}
		}
		next := time.Time{}
		if sent < n {
			next = nextReq
		}
		if len(jobs) > 0 {
			next = earliest(next, jobs[0].at)
		}
		return next
	}
	limit := time.Now().Add(time.Duration(n)*interval + answer + 10*time.Second)
	for len(r.peer.delivered) < n {
		if time.Now().After(limit) {
			r.fail("%d requests sent, %d answered", sent, len(r.peer.delivered))
		}
		r.step(100*time.Millisecond, app)
	}
	if r.peer.runless > 0 {
		r.fail("a control packet of ours reached the reference's idle receive record before our first DATA")
	}
	// Let the last ACKs land.
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
		r.step(10*time.Millisecond, app)
	}
	for i, p := range r.peer.delivered {
		if got := binary.BigEndian.Uint64(p); got != uint64(i) {
			r.fail("answer %d is to request %d", i, got)
		}
	}
	// The model's receive run is ours, with its full window, and the edge
	// it last told us (without RTX it says so only in its requests) is
	// open and no further than its real one.
	if r.peer.rcv.rwe != r.peer.rcv.lwe.Add(DefaultRQSize) || r.peer.rcv.lwe != r.conn.snd.seqno ||
		!r.conn.windowOpen() || r.conn.snd.rwe.After(r.peer.rcv.rwe) {
		r.fail("our send window: edge %08x, next seqno %08x; the model's receive edges %08x-%08x",
			r.conn.snd.rwe, r.conn.snd.seqno, r.peer.rcv.lwe, r.peer.rcv.rwe)
	}
}

// TestReceiverFromReferenceSender: the model of a reference sender writes
// one way to our Conn as fast as its window allows. It never sends RDVS
// (it has seen no FC), so our receiver must send its window even though it
// has no DATA of its own: everything arrives, and the model's window opens
// past its start window.
func TestReceiverFromReferenceSender(t *testing.T) {
	for _, rtx := range []bool{false, true} {
		t.Run(fmt.Sprintf("rtx=%v", rtx), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 1000
				r := newRefNet(t, rtx, 3)
				got, sent := 0, 0
				app := func(now time.Time) time.Time {
					for _, p := range r.pending {
						if v := binary.BigEndian.Uint64(p); v != uint64(got) {
							r.fail("delivered %d, want %d", v, got)
						}
						got++
						r.ours0([][]byte{r.conn.Consumed(now)})
					}
					r.pending = r.pending[:0]
					for sent < n {
						var b [8]byte
						binary.BigEndian.PutUint64(b[:], uint64(sent))
						if !r.peer.send(now, b[:]) {
							break
						}
						sent++
					}
					return time.Time{}
				}
				limit := time.Now().Add(30 * time.Second)
				for got < n {
					if time.Now().After(limit) {
						r.fail("sent %d, delivered %d", sent, got)
					}
					r.step(100*time.Millisecond, app)
				}
			})
		})
	}
}
