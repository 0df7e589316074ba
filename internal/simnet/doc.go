// Package simnet runs whole unicast layers inside one test process, in
// virtual time.
//
// A Net is a set of members (Node), each with the real components of the
// unicast IPCP: data transfer (package dt), flow allocator (package fa),
// the link-state Router (package routing) and a forwarding table (package
// pff). What the daemon gets from elsewhere is stood in for: links are
// in-memory pairs of directions (a bounded queue and a goroutine each, with
// delay, random loss, a transmission rate that builds queues, and cuts), the
// directory is a static map from name hash to address, and each member's
// IRMd and applications are a small fake that accepts flows for the names
// registered there. A Link is what `irm ipcp connect` makes: a Management
// connection and a Data Transfer connection between two members.
//
// Build a Net inside synctest.Test: every timer (LSU refresh and ageing,
// link delays, the flow allocator's pacing, the tests' own waits) then runs
// on the bubble's clock, so a minute of routing takes milliseconds and
// nothing depends on the machine's speed. Net.Close ends every goroutine.
//
// Converged checks the forwarding tables against the graph of links that
// are up: every member must reach every member it is connected to on a
// shortest path, without loops, and must have no route to the others, nor
// to the address of a member that stopped. Net.Stop takes a member out
// as its process dying would (links cut, nothing announced); Net.Restart
// starts a fresh one in its place, with a new address, linked to the same
// neighbours and with the same names.
//
// RoutingSim is the same routing without the data path: Routers joined by
// links with a delay, driven by a discrete-event loop in one goroutine, for
// layers of a thousand members (MeasureScale). The Router takes time as an
// argument and returns the LSUs to send, so the same code runs in the
// daemon, in the goroutine simulation and in this loop.
package simnet
