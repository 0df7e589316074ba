// Package broadcast is the broadcast IPCP (ipcpd-broadcast): a member of a
// layer that floods. An application joins the layer by name (flow.Join,
// IPCP_FLOW_JOIN through the IRMd) and everything it writes reaches every
// other application that joined, at any member.
//
// # Model
//
// A member keeps one set of ports: its N-1 Data Transfer connections to
// other members (irm ipcp connect ... component dt, or accepted from
// them) and the N+1 flows of the applications that joined through it.
// A packet that arrives on a port is written, unchanged, to every other
// port, never back to the one it came from. There is no header: the SDU
// on an N-1 flow is the application's message, as in the reference, so
// members of both implementations make one layer. A message longer than
// 1400 bytes (wire.BroadcastMTU) is dropped at the member (and refused by
// flow.Join's Write with EMSGSIZE); empty packets are the flows'
// keepalives and are not flooded.
//
// Enrollment and connection establishment are the unicast IPCP's
// (packages enroll and connmgr): the enrollment response carries the
// layer name, IPCP type 2 and the hash SHA3-256; the Data Transfer
// connection's OCEP message has the component name only (no protocol,
// version 0, GPB, address 0). A member that connects checks that the
// peer answered for "Data Transfer" (an all-zero "unknown component"
// answer would pass the protocol check). A join must carry the hash of
// this layer's name exactly (the reference also accepts some others).
//
// # Loops: duplicate suppression
//
// The reference floods with no duplicate suppression: a cycle in the
// connections makes every packet circulate for ever. A member here
// drops a packet whose bytes it has already flooded in the last Window
// (2 s), recognised by a 64-bit keyed hash (hash/maphash, a random key per
// process, so collisions cannot be aimed at). The wire is unchanged.
//
// The rule: each member floods (and delivers to its joined applications)
// each distinct payload at most once per window. In any topology, a
// cycle that has at least one of our members stops a packet there the
// second time round, so there is no storm, and an application receives a
// message once however many paths lead to its member. In a tree nothing
// changes: a packet reaches each member once anyway.
//
// The cost: a message identical to one flooded less than a window ago is
// dropped, even if an application really sent it twice (or two
// applications sent the same bytes). Applications that repeat themselves
// should make their messages differ (a sequence number, a timestamp). A
// copy that takes longer than the window to come round a cycle is flooded
// again, once. A cycle made only of reference members still storms. The
// memory is bounded (dedupCap packets): above about 65,000 distinct
// packets a second, the oldest are forgotten early and the window
// shrinks.
//
// The alternative, refusing a connection that closes a cycle, needs
// knowledge of the topology that the broadcast wire does not carry.
//
// # Threads and queues
//
// Each port has a reader goroutine, which hands what arrives to the
// flooder, and a writer goroutine fed by a queue of 1024 packets. The
// flooder queues a packet on every other port without waiting: when a
// port's queue is full (an application that stopped reading, a slow N-1
// flow) that port's packets are dropped and counted, and the others are
// not held up. A Data Transfer connection ends when its flow fails (over
// udp or Ethernet, whose IPCPs do not say when a neighbour dies, after the
// flow's peer timeout: 120 s with the default raw QoS, which a reference
// member needs), on disconnect, or at Close. A dead neighbour costs
// nothing meanwhile: what is written to it is lost.
package broadcast
