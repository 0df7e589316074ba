// Package flow is the application interface of Ouroboros: allocate a flow to a
// named application, accept flows for the names this process is bound to, and
// exchange messages over them.
//
//	f, err := flow.Alloc(ctx, "my.oping.server", qos.Raw)
//	if err != nil { ... }
//	defer f.Close()
//	f.Write([]byte("hello"))
//	n, err := f.Read(buf) // one message per Read
//
// A server binds itself to a name in one call (or is bound from outside with
// irm bind process/program) and accepts:
//
//	err := flow.Bind(ctx, "my.server") // creates the name if needed
//	f, err := flow.Accept(ctx)          // the next flow for any bound name
//
// # Messages
//
// A flow carries messages (SDUs), not a byte stream. Each Write sends one
// message; each Read returns at most one. When the buffer is shorter than the
// message, the remainder is returned by the following Reads and, if a piece
// filled the buffer exactly, a zero-length Read marks the end of the message
// (the documented reference behaviour). With FlagRNoPart
// set instead, a message that does not fit is dropped and Read returns EMSGSIZE.
//
// # Process
//
// The first call announces the process to the IRMd found through the run
// directory ($OUROBOROS_RUN_DIR, default /var/run/ouroboros). Fini tells the
// IRMd the process is leaving; a process that exits without it is cleaned up
// by the IRMd within a second. When the IRMd itself goes away, calls that need
// it fail with ErrIRMDGone; a later call that finds an IRMd in the run
// directory again announces the process to it.
//
// # Data path
//
// Each flow has one receive goroutine that reads the flow's channel
// (internal/datapath). It queues messages for Read (bounded: when the
// queue is full the sender is back-pressured), notes the peer's activity for the
// keepalive, and posts events to the flow's EventSet. On a raw flow over shared
// memory, a Read that waits for a message (and the Wait of an EventSet holding
// only that flow) takes the packets from the channel itself while the receive
// goroutine sleeps, waiting up to datapath.HotWindow for the next one, so the
// packet needs no hand-off between goroutines; the receive goroutine still
// watches for the peer's end. When the peer goes away
// (it deallocated, crashed, or its IPCP died), Read returns the queued messages
// and then EFLOWDOWN, and Write returns EFLOWDOWN.
//
// # FRCT, reliable flows and streams
//
// A flow whose QoS asks for in-order delivery (qos.BestEffort, qos.Video,
// qos.Voice, qos.Data) runs FRCT (internal/frct) at both ends: the receive
// goroutine feeds every packet to the engine and queues payloads in order,
// a per-flow timer runs delayed ACKs, retransmissions and rendezvous, Write
// waits for the send window within its deadline, and Read reports
// consumption, which reopens the window. With loss = 0 (qos.Data) lost
// packets are retransmitted and Close lingers until everything written was
// acknowledged (SetLinger). Conn turns a flow into a byte stream (net.Conn);
// Dial and Listen give reliable streams and a net.Listener.
//
// # Encrypted flows
//
// When the IRMd agreed a key for a flow (the name has an enc.conf on either
// side), every non-empty packet is encrypted between FRCT and the CRC with
// the cipher and key of the allocation reply (crypt.go); packets that fail
// authentication are dropped and counted (Drops). Encrypted flows, raw and
// FRCT, take the same fast path as plaintext ones: a waiting Read takes the
// packet from the ring and decrypts it into a buffer of its own, which the
// queue or FRCT keeps. Closing the flow wipes its keys (the expanded keys
// inside the Go cipher objects cannot be reached and are left to the garbage
// collector).
//
// Errors are Errno values with the reference's numbers; errors.Is(err,
// os.ErrDeadlineExceeded) holds for timeouts and errors.Is(err, net.ErrClosed)
// for flows that went down.
package flow
