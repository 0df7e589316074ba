// Package routing holds the link-state routing of the unicast layer: the
// link-state database, the graph it builds, the algorithms that turn the
// graph into routing tables and forwarding routes, and the Router that
// runs the protocol over them.
//
// # The Router
//
// Router is the link-state component without I/O and without goroutines:
// events go in (a Data Transfer or Management connection came or went, a
// link's flow went down or up, an LSU arrived, the clock reached
// NextDeadline), and the LSUs to send on Management links come out, for
// the caller to write once the call returned. Time is passed in, so the
// simulator drives a thousand routers in virtual time and the daemon drives
// one from a timer.
//
// When the topology changes the Router recomputes the routing table and
// installs it in the forwarding tables with one Replace each (a lookup sees
// the old table or the new one). By default that happens within the call,
// as the reference does for a new adjacency; a hold time batches a burst of
// changes into one computation. Unlike the reference, the loss of a local
// adjacency and the ageing of a remote one recompute too (the reference
// waits for its t_recalc tick, or forgets), a member left without a graph
// empties its tables, and LSUs about our own adjacencies coming from the
// network are refused: we are their only source. When a Data Transfer
// connection goes, the forwarding tables hear that its link is down before
// anything is recomputed, so an alternate forwarding table moves traffic to
// a loop-free alternate at once.
//
// # The database
//
// Every member announces each of its adjacencies (a Data Transfer
// connection to a neighbour) in a link-state update: source, destination,
// sequence number, 24 bytes on a Management flow. LSDB keeps one entry per
// directed adjacency. A new adjacency is accepted whatever its sequence
// number and changes the topology; a known one only with a higher number,
// which just refreshes it. An accepted update is flooded on to the other
// Management neighbours; a new Management neighbour gets the whole
// database. Periodically (Tick) a member bumps the sequence number of its
// own adjacencies and floods them, and drops other entries not refreshed
// within the timeout; dropping one changes the topology, so routes are
// recomputed (the reference forgets that). A removed local adjacency is not
// announced: the others age it out. A member that restarts begins again at
// sequence number 0, which the others ignore until their old copy ages out.
//
// # The graph
//
// Vertices are layer addresses; an edge is an adjacency between two
// members. A link-state update announces one directed adjacency s→d, and
// each announcement bumps the counters of both s→d and d→s, so a link both
// ends have announced carries 2 on each edge. Only such links count for
// shortest paths: a half-announced link (one LSU lost or not yet arrived)
// is ignored until the other end speaks. Withdrawing an announcement
// (an aged-out LSU, a local link going away) drops both counters; an edge
// at zero disappears, and so does a vertex left without edges.
//
// There are no weights on the wire, so distances are hop counts.
//
// # The algorithms
//
// Table(algo, src) computes a routing table: for every reachable
// destination, the neighbour addresses to forward to, in order of
// preference.
//
//   - Simple: one next hop per destination, on a shortest path. Equal-cost
//     paths are broken the way every member breaks them, so that tables
//     computed from the same database agree: vertices are settled in order
//     of distance and then of ascending address, and a vertex keeps the
//     first hop of the first settled vertex that reached it.
//   - LFA: the Simple next hop first, then every neighbour N of the source
//     that is a loop-free alternate for destination D, that is
//     dist(N,D) < dist(src,N) + dist(src,D). A forwarding table falls back to
//     the alternates when the primary's flow goes down.
//   - ECMP: every neighbour N on a shortest path, dist(N,D) + 1 ==
//     dist(src,D), for spreading packets over equal-cost paths.
//
// LFA and ECMP take the source's neighbours newest adjacency first, and
// consider an adjacency of the source even if only one end has announced it
// (its far end must still be reachable over confirmed links to qualify).
// This keeps the tables identical to those of the reference implementation.
// Each algorithm value is the link-state policy number of the layer
// configuration (0 link_state, 1 lfa, 2 ecmp).
//
// A graph with fewer than two vertices, or without the source, has no
// table (ErrNoTable); the caller keeps its forwarding table unchanged.
//
// The search is Dijkstra with unit weights, done level by level (each level
// sorted by address): O(E + V log V) per source. LFA and ECMP run it once
// more per neighbour of the source. A 1000-node mesh takes about a
// millisecond for Simple on a small machine; see BenchmarkTable.
package routing
