// Package fa is the flow allocator of the unicast layer: it sets up the
// N+1 flows the layer offers to applications, end to end between two
// members, and moves their data to and from the data transfer.
//
// # Messages and sequences
//
// The flow allocators of two members talk with three messages, carried as
// DT packets to the peer's EID 0: FLOW_REQ, FLOW_REPLY and FLOW_UPDATE
// (package wire has their layout). There is no deallocation message.
//
//	requester (IRMd asks Alloc)            responder
//	directory: name hash -> address
//	entry {pending, our EID}
//	FLOW_REQ{our addr, our EID, QoS, hash, data} ----->
//	                                        Upper.FlowReqArr (the IRMd finds an
//	                                        accepting application); entry
//	                                        {arrived, our EID, peer's EID and addr}
//	                                        IRMd answers: AllocResp
//	<----- FLOW_REPLY{peer's EID echoed, our EID, response, data}
//	Upper.FlowAllocReply                    (entry up, or gone if refused)
//	data: DT to the peer's address and EID, both ways
//	<----- FLOW_UPDATE{the sender's EID, congestion level}
//
// A requester's entry exists before its FLOW_REQ leaves, so that a fast
// reply finds it. A request the IRMd refuses is answered with a negative
// FLOW_REPLY at once (the reference sends nothing and leaves the requester
// to its allocation timeout; a reference requester handles such a reply as
// a refusal). Deallocation is local: the entry goes, and packets still
// arriving for it are dropped as for an unknown EID.
//
// The name may be registered at this member itself (two applications on one
// host, or a one-member layer): FLOW_REQ and FLOW_REPLY then go straight to
// our own worker's queue, marked local, and never through the data
// transfer; the data takes the data transfer's local delivery. A FLOW_REQ
// naming our own address that arrives from the network is refused.
//
// # EIDs
//
// A flow's EID is 64 bits: the N+1 flow id in the lower half and a fresh
// random non-zero number in the upper half. It is therefore never below 64
// (so never a component's), and a stale or forged packet for a reused flow
// id does not match: data is looked up by all 64 bits. A peer's EID below
// 64 in a request or a reply is refused, since our data would go to one of
// its components.
//
// # Data path and congestion
//
// Write takes an SDU of an N+1 flow with headroom for the PCI, runs the
// sender side of the congestion avoidance (package ca), which may ask the
// writer to wait (pacing holds up only the goroutine that reads that flow),
// and sends it by the data transfer. Receive, the data transfer's handler
// for EIDs from 64 up, runs the receiver side with the packet's ECN byte,
// writes the SDU to the application and, when the congestion avoidance asks,
// sends the sender a FLOW_UPDATE. Neither allocates, apart from building an
// update.
//
// # Concurrency
//
// Messages that reach EID 0 are queued by Post (a copy, bounded, drops
// counted) for one worker goroutine (Start, Close), because handling a
// request waits for the IRMd; Handle is the same processing, synchronous.
// The flow table is under a read-write lock, each flow's state under its
// own mutex, and no lock is held while calling the data transfer or the
// IRMd side.
//
// Upper is the IRMd side: in the daemon, the IPCP skeleton (its
// FlowReqArr, FlowAllocReply and each flow's Deliver); Alloc, AllocResp and
// Dealloc are what the skeleton's FlowAlloc, FlowAllocResp and FlowDealloc
// operations call.
package fa
