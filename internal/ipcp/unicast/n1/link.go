// Package n1 carries the data transfer's packets over N-1 flows: a flow
// of a lower layer (any layer: local, udp, Ethernet, another unicast
// layer) becomes a dt.Link. Each DT packet (PCI and payload) is one SDU of
// the flow, as on the reference's Data Transfer flows; nothing is added.
//
// A Link has one reader goroutine, which reads one SDU at a time into its
// own buffer and hands it to the receive function (the data transfer's
// Receive, which delivers or forwards it in place before returning, so one
// buffer serves every packet). When the flow fails, the reader calls the
// down function once and ends; Close closes the flow and waits for it.
package n1

import (
	"io"
	"sync/atomic"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dt"
)

// Flow is an N-1 flow as a link uses it; *flow.Flow has these methods.
// Read returns one SDU per call; Close makes a pending Read return.
type Flow interface {
	io.Reader
	io.Writer
	io.Closer
	// TxQueueLen is the number of packets written and not yet taken by
	// the lower layer.
	TxQueueLen() int
}

// MaxQueue is the most packets a link queues on its flow (when the flow
// can be capped: flow.Flow's SetTxQueueLimit): the reference's flow ring
// holds 1023. The data transfer marks congestion from this queue's length
// in packets (a sixteenth of it in the ECN byte); a longer queue of small
// packets would mark with levels the reference never sends and cut a
// sender's budget to nothing for seconds.
const MaxQueue = 1023

// MaxPacket is the largest DT packet a link reads, in bytes: the largest
// SDU of a flow between processes.
const MaxPacket = 1 << 16

// Link is a dt.Link over an N-1 flow.
type Link struct {
	f      Flow
	id     int
	closed atomic.Bool   // Close was called: a failed read is not news
	done   chan struct{} // closed when the reader ends
	err    error         // why the reader ended; written before done closes
}

var _ dt.Link = (*Link)(nil)

// Start makes f link id, its queue capped at MaxQueue packets where the
// flow allows: recv gets every packet read from it (the buffer
// is reused once recv returns) and down, if not nil, is called once, in
// the reader, when the flow fails (not after Close).
func Start(f Flow, id int, recv func(id int, pkt []byte), down func(id int, err error)) *Link {
	if c, ok := f.(interface{ SetTxQueueLimit(int) }); ok {
		c.SetTxQueueLimit(MaxQueue)
	}
	l := &Link{f: f, id: id, done: make(chan struct{})}
	go l.read(recv, down)
	return l
}

func (l *Link) read(recv func(int, []byte), down func(int, error)) {
	defer close(l.done)
	buf := make([]byte, MaxPacket)
	for {
		n, err := l.f.Read(buf)
		if err != nil {
			l.err = err
			if down != nil && !l.closed.Load() {
				down(l.id, err)
			}
			return
		}
		recv(l.id, buf[:n])
	}
}

// ID returns the link's id.
func (l *Link) ID() int { return l.id }

// Write sends one DT packet as one SDU of the flow.
func (l *Link) Write(pkt []byte) error {
	_, err := l.f.Write(pkt)
	return err
}

// Queued returns the packets waiting in the flow to leave.
func (l *Link) Queued() int { return l.f.TxQueueLen() }

// Close closes the flow and waits for the reader. It returns the flow's
// Close error.
func (l *Link) Close() error {
	l.closed.Store(true)
	err := l.f.Close()
	<-l.done
	return err
}

// Done is closed when the reader has ended (the flow failed or closed).
func (l *Link) Done() <-chan struct{} { return l.done }

// Err returns why the reader ended, once Done is closed.
func (l *Link) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}
