package frct

// Conn is the FRCT engine of one flow as a sans-I/O state
// machine: it reads no clock, starts no goroutine and does no
// I/O. Every entry point takes the current time; packets to transmit are
// returned to the caller, and NextDeadline tells it when to call OnTimeout.
//
// Files:
//
//	conn.go    configuration, state, constructor, deadlines
//	snd.go     Send: header construction, new runs, piggybacked ACK/FC
//	rcv.go     Receive: header processing, runs, reorder queue, delivery
//	window.go  flow control and rendezvous (RDVS)
//	ctl.go     when control packets may go: never before our first DATA (F6)
//	rtx.go     retransmission queue, back-off, delayed ACK, OnTimeout
//	rtt.go     RTT/RTO estimator

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Defaults.
const (
	DefaultMPL         = 100 * time.Millisecond
	DefaultA           = 10 * time.Second  // DELTA_T_ACK
	DefaultR           = 120 * time.Second // DELTA_T_RTX
	DefaultStartWindow = 64                // FRCT_START_WINDOW
	DefaultRQSize      = 256               // FRCT_REORDER_QUEUE_SIZE
)

// Timing constants.
const (
	tickTime    = 5 * time.Millisecond
	ackDelay    = 2 * tickTime // delayed ACK, ≈10 ms in the reference
	rdvInterval = 100 * time.Millisecond
	maxRDV      = time.Second
	initialRTO  = time.Second
	initialMdev = 10 * time.Millisecond
	rtoMin      = 250 * time.Microsecond
	// maxRTO caps the per-packet back-off. The reference declares the flow
	// down once the rto exceeds its timer wheel (≈68.7 s); we cap instead
	// and let the R timer end the flow.
	maxRTO = 64 * time.Second
)

// Errors returned by Send.
var (
	// ErrWindowClosed means the send window is closed; the flow layer maps
	// it to EAGAIN (non-blocking) or waits for the window (blocking).
	ErrWindowClosed = errors.New("frct: send window closed")
	// ErrFlowDown means a packet was not acknowledged within R.
	ErrFlowDown = errors.New("frct: flow down")
)

// Config configures a Conn. Zero fields take the defaults above.
type Config struct {
	MPL time.Duration // maximum packet lifetime, from the IPCP
	A   time.Duration // ack lifetime
	R   time.Duration // retransmission give-up time

	// RTX enables retransmission: reliable, in-order, exactly-once delivery
	// (qos loss == 0). Without it delivery is in order with gaps skipped.
	RTX bool

	StartWindow uint32 // send window of a new run, in packets
	RQSize      int    // reorder queue size = advertised receive window

	// Rand returns the random initial sequence number of a new run.
	// Nil means math/rand/v2.Uint32.
	Rand func() uint32
}

func (cfg Config) withDefaults() Config {
	if cfg.MPL <= 0 {
		cfg.MPL = DefaultMPL
	}
	if cfg.A <= 0 {
		cfg.A = DefaultA
	}
	if cfg.R <= 0 {
		cfg.R = DefaultR
	}
	if cfg.StartWindow == 0 {
		cfg.StartWindow = DefaultStartWindow
	}
	if cfg.RQSize <= 0 {
		cfg.RQSize = DefaultRQSize
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Uint32
	}
	return cfg
}

// sndRec is the send connection record.
type sndRec struct {
	lwe   Seq // oldest unacknowledged
	rwe   Seq // right window edge advertised by the peer
	seqno Seq // next seqno to send
	act   time.Time
	inact time.Duration
}

// rcvRec is the receive connection record. rwe is always lwe + RQSize.
type rcvRec struct {
	lwe   Seq // next seqno the reader consumes
	seqno Seq // last ackno sent
	adv   Seq // last right window edge advertised in an FC field
	act   time.Time
	inact time.Duration
	// run is set when a DRF packet opened a run. The reference has no such
	// flag (quirk F6): a control packet then activates the record without a
	// run. We accept DRF whenever no run exists.
	run    bool
	isn    Seq       // first seqno of the run
	opened time.Time // when the run opened
	ackNow bool      // a hole or the end of the start window: the sender needs us
}

// Conn holds the FRCT state of one flow. It is not safe for concurrent use.
type Conn struct {
	cfg Config
	snd sndRec
	rcv rcvRec

	rq      [][]byte // reorder queue; rq[(rqHead+i)%len] holds rcv.lwe+i
	dlv     [][]byte // what the last Receive delivered (its array is reused)
	rqHead  int
	pending int // payloads returned by Receive and not yet Consumed

	rtt  rttState
	rtx  rtxQueue
	win  window
	peer peerRec // what we know of the peer's receive run (ctl.go)

	stats Stats

	ackDue    time.Time // pending delayed ACK, zero if none
	down      bool
	noResCntl bool // FRCTFRESCNTL cleared: ignore the peer's window
	dupAcks   int  // duplicate ACKs since the left edge last moved
}

// New returns a Conn whose send and receive records are both inactive, so
// the first packet sent starts a new run.
func New(cfg Config, now time.Time) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{cfg: cfg, rq: make([][]byte, cfg.RQSize)}
	c.snd.inact = (3*cfg.MPL + cfg.A + cfg.R).Truncate(time.Second) + time.Second
	c.rcv.inact = (2*cfg.MPL + cfg.A + cfg.R).Truncate(time.Second) + time.Second
	c.snd.act = now.Add(-c.snd.inact - time.Second)
	c.rcv.act = now.Add(-c.rcv.inact - time.Second)
	c.snd.rwe = Seq(cfg.StartWindow)
	c.rtt.init()
	return c
}

// Stats counts what the engine did, in packets.
type Stats struct {
	Sent          uint64 // data packets sent for the first time
	Retransmitted uint64 // data packets sent again
	Delivered     uint64 // payloads returned in order
	Duplicates    uint64 // data packets dropped as already received
	OutOfWindow   uint64 // data packets dropped outside the receive window
	Refused       uint64 // Sends refused because the window was closed
	Control       uint64 // ACK/FC/RDVS packets produced
}

// Stats returns the counters.
func (c *Conn) Stats() Stats { return c.stats }

// Down reports whether the flow was declared down (R timer expired).
func (c *Conn) Down() bool { return c.down }

// Unacked returns the number of packets sent but not yet acknowledged.
func (c *Conn) Unacked() int {
	if !c.cfg.RTX {
		return 0
	}
	return int(c.snd.seqno - c.snd.lwe)
}

// NextDeadline returns when OnTimeout must next be called, zero if never.
func (c *Conn) NextDeadline() time.Time {
	if c.down {
		return time.Time{}
	}
	d := c.ackDue
	d = earliest(d, c.rtx.due)
	d = earliest(d, c.win.rdvDue)
	return d
}

// OnTimeout runs the timers that are due at now: delayed ACK, retransmission
// with back-off and rendezvous. It returns the packets to transmit.
func (c *Conn) OnTimeout(now time.Time) (out [][]byte) {
	if c.down {
		return nil
	}
	if !c.ackDue.IsZero() && !now.Before(c.ackDue) {
		c.ackDue = time.Time{}
		if p := c.ackPkt(now); p != nil {
			out = append(out, p)
		}
	}
	out = c.retransmit(now, out)
	out = c.rendezvous(now, out)
	return out
}

// earliest returns the earlier of two deadlines, zero meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
