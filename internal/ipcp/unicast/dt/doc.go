// Package dt is the data transfer of the unicast layer: it puts the DT PCI
// in front of every packet a member originates, forwards packets between
// its N-1 Data Transfer flows ("links") by the forwarding tables, and hands
// packets addressed to the member to the component or N+1 flow their EID
// names.
//
// The PCI carries no source address and no length: destination, QoS cube,
// TTL, a congestion byte and the EID (see package wire). EIDs below 64 are
// components that every member numbers alike (0 the flow allocator, 1 the
// directory), so a component sends to its peer with its own number; EIDs
// from 64 up are N+1 flows, which the flow allocator resolves.
//
// A link is anything that can write a packet and say how many wait to
// leave: an N-1 flow in the daemon, an in-memory pipe in the simulator. Links
// are numbered by the owner (the connection manager), and the forwarding
// tables, which routing fills, map a destination address to those numbers.
//
// Forwarding is done in the goroutine that read the packet, in place: the
// TTL is decremented in the buffer, the congestion mark ORed in, and the
// same buffer written to the next link, which must copy what it keeps.
// There is no queue, no goroutine hand-off and no allocation on that path
// (TestForwardNoAllocs, BenchmarkForward); the tables are read without
// locks and the link map under a read lock.
//
// Unlike the reference, which decrements an unsigned TTL before looking at
// it (so a TTL of 0 wraps and travels on), a packet in transit that arrives
// with a TTL of 0 or 1 is dropped and counted. A packet for us is delivered
// whatever its TTL. The forwarding table is the incoming link's cube's, as
// the reference does; the PCI's cube byte is carried but not trusted.
//
// Every drop is counted (Stats): malformed (shorter than a PCI), TTL
// exhausted, no next hop, failed write, unknown component.
//
// Sched is the packet scheduler: bounded per-cube queues served voice
// first, then video, then best effort, for an owner that must queue
// between reading and processing (a congested link writer, or a reader
// shared by many flows). It copies packets into preallocated slots, so it
// does not allocate either.
package dt
