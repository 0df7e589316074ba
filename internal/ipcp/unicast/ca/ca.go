package ca

import (
	"fmt"
	"time"
)

// Policy is a congestion avoidance policy; the values are the layer
// configuration's.
type Policy uint32

// Policies.
const (
	None  Policy = 0
	MBECN Policy = 1
)

func (p Policy) String() string {
	switch p {
	case None:
		return "none"
	case MBECN:
		return "mb-ecn"
	}
	return fmt.Sprintf("congestion avoidance %d", uint32(p))
}

// Valid reports whether p is a known policy.
func (p Policy) Valid() bool { return p == None || p == MBECN }

// Constants of the multi-bit ECN policy.
const (
	shift     = 5       // the receiver averages over 2^5 = 32 packets
	window    = 32      // the sender clears its level after more packets than this without an update
	updEvery  = 8       // the receiver updates on every 8th marked packet
	slotShift = 24      // initial slot: 2^24 ns, about 16.8 ms
	inc       = 65536   // additive increase per slot, bytes
	initLimit = 65536   // initial byte budget per slot
	minPkts   = 8       // fewer packets per slot widen it
	maxPkts   = 64      // more packets per slot narrow it
	qShift    = 4       // marking is the queue length / 16
	maxWait   = 1 << 30 // a wait is cut to about one second (ns)
)

// ECN returns the congestion mark a hop ORs into the PCI of a packet it
// writes to an N-1 flow with queued packets waiting: queued/16 for mb-ecn
// (the low 8 bits, as on the wire), 0 for none.
func (p Policy) ECN(queued int) uint8 {
	if p != MBECN || queued <= 0 {
		return 0
	}
	return uint8(queued >> qShift)
}

// Ctx is the congestion state of one flow, both directions.
type Ctx struct {
	policy Policy

	// receiver side
	rxECE uint16 // moving congestion level of arriving packets
	rxCtr uint32 // marked packets since congestion started

	// sender side; slot numbers and limits as in the description above
	txECE  uint16 // level last reported by the receiver
	txCtr  uint32 // packets sent since the last update
	txWBC  uint64 // bytes in this slot
	txWPC  uint64 // packets in this slot
	txWBL  uint64 // byte budget per slot
	txCAV  bool   // left slow start
	txMul  uint   // slot length is 2^txMul ns
	txInc  uint64 // additive increase per slot
	txSlot int64  // current slot number (time >> txMul)
}

// New returns the state of a new flow with policy p, created at now
// (nanoseconds of a monotonic clock).
func New(p Policy, now int64) Ctx {
	c := Ctx{policy: p}
	if p == MBECN {
		c.txMul, c.txWBL, c.txInc = slotShift, initLimit, inc
		c.txSlot = now >> slotShift
	}
	return c
}

// Policy returns the context's policy.
func (c *Ctx) Policy() Policy { return c.policy }

// Sent accounts for an SDU of n bytes the flow's application wrote at now,
// and returns how long the sender must wait before passing it on (0: at
// once; never more than about a second).
func (c *Ctx) Sent(now int64, n int) time.Duration {
	if c.policy != MBECN {
		return 0
	}
	slot := now >> c.txMul
	c.txCtr++
	c.txWPC++
	c.txWBC += uint64(n)
	if c.txCtr > window {
		c.txECE = 0
	}
	if c.txSlot-slot < 0 { // a new slot began
		carry := false
		c.txSlot = slot
		switch {
		case !c.txCAV: // slow start
			if c.txWBC > c.txWBL {
				c.txWBL <<= 1
			}
		case c.txECE != 0: // multiplicative decrease
			c.txWBL -= (c.txWBL * uint64(c.txECE)) >> (shift + 8)
		default: // additive increase
			c.txWBL = c.txWBC + c.txInc
		}
		switch {
		case c.txWPC < minPkts: // widen the slot
			f := uint(1)
			for c.txWPC<<f < minPkts {
				f++
			}
			c.txMul += f
			c.txSlot >>= f
			if c.txSlot&(1<<f-1) == 0 {
				carry = true
				c.txSlot++
			}
			c.txWBL <<= f
			c.txInc <<= f
		case c.txWPC > maxPkts: // narrow the slot
			f := uint(0)
			for w := c.txWPC; w > maxPkts; w >>= 1 {
				f++
			}
			f = min(f, c.txMul)
			c.txMul -= f
			c.txSlot <<= f
			c.txWBL >>= f
			c.txInc >>= f
		}
		if !carry {
			c.txWBC, c.txWPC = 0, 0
		}
	}
	if c.txWBC <= c.txWBL {
		return c.spread(now)
	}
	wait := (c.txSlot+1)<<c.txMul - now
	if wait <= 0 {
		return 0
	}
	return time.Duration(min(wait, maxWait))
}

// Spreading the budget over the slot. The description above lets a sender
// pass its whole budget at the start of a slot and then wait for the next;
// a flow that keeps its budget full then hands the N-1 flow a burst of up
// to 64 packets each slot, whose queue crosses the 16 packets that mark a
// packet even when the link keeps up with the average rate, and the first
// mark ends slow start for good. So a packet within the slot's budget
// still waits until the slot has run as far as the budget it would use,
// less an allowance of an eighth of the budget: budget × elapsed / slot +
// allowance ≥ bytes sent. The budget, the slots and every counter are
// exactly the description's; only when in its slot a packet leaves
// changes, and never past the slot's end (the allowance covers the last
// packet). A sender that woke late sends what the elapsed time allows at
// once, so a late wake-up does not cost it budget.
const (
	spreadDiv = 8                            // the allowance is budget / 8
	minSpread = int64(20 * time.Microsecond) // shorter waits are not worth a sleep
)

// spread returns how long a packet within the slot's budget waits (see
// above); once it waits, it waits for half an allowance more, so that the
// next packets go without a sleep each.
func (c *Ctx) spread(now int64) time.Duration {
	slotLen := int64(1) << c.txMul
	elapsed := now - c.txSlot<<c.txMul
	if elapsed < 0 {
		// A slot that widened may be numbered ahead of the clock (its
		// carry): its packets go as the description says.
		return 0
	}
	elapsed = min(elapsed, slotLen)
	wbl := float64(c.txWBL)
	allow := wbl / spreadDiv
	sent := float64(c.txWBC)
	if sent <= wbl*float64(elapsed)/float64(slotLen)+allow {
		return 0
	}
	// The time into the slot at which budget × t / slot = sent - allow/2.
	at := int64((sent - allow/2) / wbl * float64(slotLen))
	wait := min(at, slotLen) - elapsed
	if wait < minSpread {
		return 0
	}
	return time.Duration(min(wait, maxWait)) // a widened slot may be longer than a second
}

// Received accounts for an SDU that arrived with congestion mark ecn. It
// reports whether the flow allocator must send the sender a FLOW_UPDATE,
// and the congestion level to put in it.
func (c *Ctx) Received(ecn uint8) (update bool, ece uint16) {
	if c.policy != MBECN || (c.rxECE == 0 && ecn == 0) {
		return false, c.rxECE
	}
	switch {
	case ecn == 0: // congestion ending
		c.rxECE >>= 2
		update = c.rxECE == 0
	case c.rxECE == 0: // congestion starting
		c.rxECE = uint16(ecn)
		c.rxCtr = 0
		update = true
	default: // ongoing
		c.rxECE -= c.rxECE >> shift
		c.rxECE += uint16(ecn)
		update = c.rxCtr&(updEvery-1) == 1
		c.rxCtr++
	}
	return update, c.rxECE
}

// Update applies a FLOW_UPDATE from the receiver: its congestion level
// becomes the sender's, and the sender leaves slow start for good.
func (c *Ctx) Update(ece uint16) {
	if c.policy != MBECN {
		return
	}
	c.txECE, c.txCtr, c.txCAV = ece, 0, true
}

// Stats is a snapshot of a context, for tests and management.
type Stats struct {
	TxECE, RxECE uint16
	TxCtr, RxCtr uint32
	SlotNs       uint64 // slot length
	SlotPkts     uint64 // packets in the current slot
	SlotBytes    uint64 // bytes in the current slot
	SlotLimit    uint64 // byte budget per slot
	SlowStart    bool
}

// Stats returns a snapshot of c.
func (c *Ctx) Stats() Stats {
	return Stats{TxECE: c.txECE, RxECE: c.rxECE, TxCtr: c.txCtr, RxCtr: c.rxCtr,
		SlotNs: 1 << c.txMul, SlotPkts: c.txWPC, SlotBytes: c.txWBC, SlotLimit: c.txWBL,
		SlowStart: !c.txCAV}
}
