// Package pff holds the packet forwarding tables of the unicast layer: the
// map from a destination address to the N-1 flow a packet leaves on. The
// data transfer looks one up for every packet it sends or forwards, so
// NextHop is the hot path and is kept free of locks and allocation.
//
// Three policies follow from the routing policy:
//
//   - Simple (routing link_state): one next hop per destination.
//   - Alternate (routing lfa): the primary next hop and loop-free
//     alternates. When an N-1 flow goes down, every destination whose current
//     next hop it is moves to its first alternate that is not down; when the
//     flow comes back, destinations whose routing primary it is move back.
//     Unlike the reference, which forgets down flows at every recomputation,
//     the table remembers them until they come up, so a recomputed table does
//     not route onto a flow known to be down.
//   - Multipath (routing ecmp): every next hop of a destination in turn,
//     packet by packet (round robin; packets of one flow may be reordered).
//
// # Concurrency
//
// The table is a Go map published through an atomic pointer. Routing
// recomputes a whole table and installs it with Replace, one atomic swap,
// so a lookup sees the old table or the new one and never a table half
// flushed (the reference holds a write lock across flush and refill
// instead). Each entry's current next hop is an atomic word; FlowDown and
// FlowUp, serialised with the other writers by a mutex, change it in place.
// Multipath entries are immutable and carry an atomic counter for the round
// robin. Add, Update and Delete exist for single changes; they copy the map
// (O(n)), which is fine for their rare use.
//
// A lookup costs one atomic load and one map access: about 20 ns on a
// small machine for a 1000-entry table (BenchmarkNextHop), with no
// allocation (TestNoAllocs).
package pff
