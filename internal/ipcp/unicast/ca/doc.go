// Package ca is the congestion avoidance of the unicast layer's flows: the
// ECN marking every hop applies to a packet it writes to an N-1 flow, and
// the per-flow state that turns the marks a receiver sees into FLOW_UPDATE
// messages and the sender's pacing.
//
// Two policies exist, numbered as in the layer configuration:
//
//   - None (0): never marks, never updates, never waits.
//   - MBECN (1, multi-bit ECN, the layer default): every hop, the origin
//     included, ORs the outgoing N-1 flow's queue length divided by 16 into
//     the PCI's ECN byte. The receiver keeps a moving congestion level
//     (start, an exponentially weighted accumulation while marks arrive,
//     quartered on every unmarked packet) and asks the flow allocator to send
//     it back to the sender in a FLOW_UPDATE when congestion starts, when it
//     ends and on every eighth marked packet. The sender cuts its time into
//     slots (initially 2^24 ns) with a byte budget per slot: slow start
//     doubles the budget while it is used up; after the first update the
//     sender leaves slow start for good and decreases the budget
//     multiplicatively while the congestion level is non-zero, or increases
//     it additively otherwise. Slots widen when too few packets fall in them
//     (under 8) and narrow when too many do (over 64). A packet over the
//     budget waits until the next slot, at most one second; a packet within
//     it waits until the slot has run as far as the budget it uses, less an
//     eighth of the budget, so that the budget leaves spread over the slot
//     rather than as a burst at its start (16 packets queued in the N-1
//     flow mark a packet). A sender that
//     sent more than 32 packets without hearing an update clears the level
//     itself.
//
// The package reads no clock and sleeps nowhere: time comes in as
// nanoseconds, the pacing wait goes out as a duration, and the caller (the
// flow allocator) sleeps in the one goroutine that reads the flow. The
// spreading's waits are mostly well under a millisecond, so the caller must
// keep them to that precision (the flow allocator sleeps in the kernel): a
// wait that lasts a millisecond whatever was asked leaves budget unsent at
// the end of each slot, and the additive increase, which starts the next
// budget from the bytes sent, then holds the flow to about 20 MB/s. A Ctx is
// a plain value, not safe for concurrent use; the flow allocator keeps it
// under its flow's lock.
package ca
