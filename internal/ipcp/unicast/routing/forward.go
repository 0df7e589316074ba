package routing

import "github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/pff"

// PFFPolicy returns the forwarding table policy that goes with algorithm a:
// Simple for link_state, Alternate for lfa, Multipath for ecmp.
func (a Algorithm) PFFPolicy() pff.Policy {
	switch a {
	case LFA:
		return pff.Alternate
	case ECMP:
		return pff.Multipath
	}
	return pff.Simple
}

// Forwarding turns a routing table into forwarding routes for
// pff.Table.Replace: each next-hop address becomes the N-1 flow of the data
// transfer connection to that neighbour, as flowOf reports it. Next hops
// without a flow (a neighbour known from LSUs but not connected for data
// transfer) are skipped, keeping the order of the rest; a destination left
// without any is left out.
func Forwarding(t Table, flowOf func(neighbour uint64) (fd int, ok bool)) map[uint64][]int {
	out := make(map[uint64][]int, len(t))
	for _, r := range t {
		var fds []int
		for _, h := range r.NextHops {
			if fd, ok := flowOf(h); ok {
				fds = append(fds, fd)
			}
		}
		if len(fds) > 0 {
			out[r.Dst] = fds
		}
	}
	return out
}
