package fa

import (
	"errors"
	"sync/atomic"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/ca"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

type counters struct {
	unknownEID, malformed, ctlDropped, refused atomic.Uint64
	updatesSent, updatesRcvd, paced            atomic.Uint64
	sendFailed, deliverFailed                  atomic.Uint64
}

// Stats counts the flow allocator's events since it started.
type Stats struct {
	UnknownEID    uint64 // data or messages for an EID we do not have
	Malformed     uint64 // messages that do not parse or make no sense
	CtlDropped    uint64 // messages dropped because the worker's queue was full
	Refused       uint64 // flow requests the IRMd refused
	UpdatesSent   uint64 // FLOW_UPDATEs sent
	UpdatesRcvd   uint64 // FLOW_UPDATEs received for a known flow
	Paced         uint64 // SDUs that waited for the congestion avoidance
	SendFailed    uint64 // SDUs the data transfer could not send
	DeliverFailed uint64 // SDUs the application's flow did not take
}

// Stats returns the counters.
func (fa *FA) Stats() Stats {
	s := &fa.stats
	return Stats{UnknownEID: s.unknownEID.Load(), Malformed: s.malformed.Load(),
		CtlDropped: s.ctlDropped.Load(), Refused: s.refused.Load(), UpdatesSent: s.updatesSent.Load(),
		UpdatesRcvd: s.updatesRcvd.Load(), Paced: s.paced.Load(), SendFailed: s.sendFailed.Load(),
		DeliverFailed: s.deliverFailed.Load()}
}

// FlowInfo describes one flow, for tests and management.
type FlowInfo struct {
	ID         int
	LocalEID   uint64
	RemoteEID  uint64
	RemoteAddr uint64
	Up         bool
	CA         ca.Stats
}

// Flow returns the state of N+1 flow id.
func (fa *FA) Flow(id int) (FlowInfo, bool) {
	f := fa.flowByID(id)
	if f == nil {
		return FlowInfo{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return FlowInfo{ID: f.id, LocalEID: f.seid, RemoteEID: f.reid, RemoteAddr: f.raddr,
		Up: f.state == up, CA: f.ca.Stats()}, true
}

func asErrno(err error, e *oerr.Errno) bool { return errors.As(err, e) }
