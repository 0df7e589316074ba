package unicast

// The largest SDU of the layer's flows.
//
// A DT packet travels as one SDU of an N-1 flow, so an N+1 flow carries at
// most what its Data Transfer links carry less the DT PCI. A member does
// not know which links a flow's packets will take (routes change under
// it), so it tells every N+1 flow the smallest limit over all the links it
// has had: as a datapath.KindMTU record in the flow's channel before the
// application has the flow, and again to every flow that is up when a link
// with a smaller limit joins. The application's flow then refuses a longer
// message with EMSGSIZE instead of the packet being dropped on the way.
//
// A member knows only its own links: a smaller link further along a route
// drops the longer packets (and counts them). In a layer whose links are
// alike, over one Ethernet say, the limit is exact; and in a layer over
// another unicast layer, each level tells the next its own.
//
// The limit never rises while the member lives: a flow takes no record
// that raises its limit (datapath.KindMTU), and a link that left may come
// back. A member without links tells nothing (its flows reach only
// itself). A lower flow that does not say its limit (sduLimiter) adds
// none.

import (
	"fmt"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// sduLimiter is an N-1 flow that knows the largest SDU it takes, in bytes
// (≤ 0: it does not know); *flow.Flow has it.
type sduLimiter interface{ MaxWrite() int }

// linkLimit takes the largest SDU n of a Data Transfer link that joined.
func (u *Unicast) linkLimit(id, n int) {
	if n <= 0 {
		return
	}
	n -= wire.DTPCILen
	if n >= datapath.MaxSDU {
		return
	}
	if n < datapath.MinMTU {
		// A flow takes no record under MinMTU; what is longer than the
		// link carries is dropped below, and counted there.
		u.log.Warn(fmt.Sprintf("Data transfer connection %d carries SDUs of at most %d bytes, under the %d this layer can tell its flows.", id, n, datapath.MinMTU))
		return
	}
	for {
		cur := u.sduMax.Load()
		if cur != 0 && int32(n) >= cur {
			return
		}
		if u.sduMax.CompareAndSwap(cur, int32(n)) {
			break
		}
	}
	u.log.Info(fmt.Sprintf("Flows of this layer carry SDUs of at most %d bytes (data transfer connection %d).", n, id))
	// startReader tells a flow it adds after reading sduMax under this
	// lock; a flow added before is in the map.
	u.readers.Lock()
	defer u.readers.Unlock()
	for f := range u.readers.done {
		u.tellLimit(f)
	}
}

// tellLimit puts the layer's limit, if there is one and f was not told it
// (or less) yet, in f's channel. It is called where nothing can be in the
// channel before the record (FlowAlloc, FlowAllocResp: no packet of the
// peer comes before FLOW_REPLY), and again when the reader starts and when
// the limit goes down. The record does not wait for room: a flow whose
// channel is full keeps its earlier limit, and its longer packets are
// dropped below.
func (u *Unicast) tellLimit(f *ipcp.Flow) {
	u.limits.Lock()
	defer u.limits.Unlock()
	n := u.sduMax.Load()
	if n <= 0 {
		return
	}
	if t, ok := u.limits.told[f]; ok && t <= n {
		return
	}
	if err := f.EP.TellMTU(int(n)); err != nil {
		u.log.Debug(fmt.Sprintf("Flow %d: SDU limit not told: %v.", f.ID, err))
		return
	}
	u.limits.told[f] = n
}

// forgetLimit forgets what flow f was told, when it goes.
func (u *Unicast) forgetLimit(f *ipcp.Flow) {
	u.limits.Lock()
	delete(u.limits.told, f)
	u.limits.Unlock()
}
