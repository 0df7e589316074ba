package irmd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Which IPCP reaches a name is asked of every candidate IPCP at once. The
// reference asks them in turn and gives each 200 ms: on a loaded host an
// IPCP that has the answer (often from its own cache) misses that, and the
// allocation fails with a naming error although the layer reaches the name.
// Here every IPCP has queryBound to answer, and the registry order is kept
// as a preference: an IPCP that said yes waits for the earlier ones in the
// order to say no, but not longer than queryPrefer after the queries went
// out (the reference's budget for one IPCP).
const (
	queryBound  = 3 * time.Second        // all answers; longer than an eth IPCP's 2 s broadcast wait
	queryPrefer = 200 * time.Millisecond // precedence of the earlier IPCPs in the order
)

// firstReach asks n IPCPs at once whether they reach a name (ask returns nil
// for yes; it must return when its context ends) and returns the index of
// the one to use: the first in order that said yes, once every earlier one
// said no or prefer has passed. It fails with EIPCP when all said no, and
// when bound passes first (then silent lists the IPCPs that never
// answered), or with ctx's error. Every ask has returned when it returns.
func firstReach(ctx context.Context, n int, ask func(context.Context, int) error,
	bound, prefer time.Duration) (best int, silent []int, err error) {
	var wg sync.WaitGroup
	defer wg.Wait()
	qctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel() // before wg.Wait: the asks still running return
	type answer struct {
		i   int
		err error
	}
	answers := make(chan answer, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- answer{i, ask(qctx, i)}
		}()
	}
	yes, done := make([]bool, n), make([]bool, n)
	late := false
	// pick returns the IPCP to use now, or -1 to wait for more answers.
	pick := func() int {
		for i := range n {
			if yes[i] {
				return i
			}
			if !done[i] && !late {
				return -1
			}
		}
		return -1
	}
	preferred := time.NewTimer(prefer)
	defer preferred.Stop()
	for answered := 0; answered < n; {
		select {
		case a := <-answers:
			answered++
			done[a.i], yes[a.i] = true, a.err == nil
		case <-preferred.C:
			late = true
		case <-qctx.Done():
			if ctx.Err() != nil {
				return -1, nil, ctx.Err()
			}
			for i := range n {
				if !done[i] {
					silent = append(silent, i)
				}
			}
			return -1, silent, oerr.EIPCP
		}
		if i := pick(); i >= 0 {
			return i, nil, nil
		}
	}
	return -1, nil, oerr.EIPCP
}

// selectIPCP finds the IPCP that reaches dst: among the IPCPs in registry
// order (type, pid), skipping broadcast and unenrolled ones, the one
// firstReach picks from their answers to a query for the name's hash (with
// the IPCP's algorithm). It returns the IPCP and the hash. Silent IPCPs are
// waited for until the allocation's deadline (zero: none), and at least
// queryBound: an IPCP that has not answered on a loaded host has not said no,
// and only the requester's own bound says how long an answer may take.
func (d *Daemon) selectIPCP(ctx context.Context, dst string, deadline time.Time) (reg.IPCP, []byte, error) {
	var cands []reg.IPCP
	var hashes [][]byte
	for _, i := range d.reg.ListIPCPs() {
		if i.Type == typeBroadcast || !i.Enrolled() {
			continue
		}
		h, err := hash.Sum(hash.Algo(i.HashAlgo), dst)
		if err != nil {
			continue
		}
		cands, hashes = append(cands, i), append(hashes, h)
	}
	ask := func(ctx context.Context, i int) error {
		req := &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_QUERY.Enum(), Hash: hashes[i]}
		_, err := d.ipcpCall(ctx, cands[i].PID, req, 0) // bounded by ctx
		return err
	}
	bound := queryBound
	if b := time.Until(deadline); !deadline.IsZero() && b > bound {
		bound = b
	}
	best, silent, err := firstReach(ctx, len(cands), ask, bound, queryPrefer)
	if err != nil {
		for _, i := range silent {
			d.log.Warn(fmt.Sprintf("IPCP %d did not answer the query for %s within %v.", cands[i].PID, dst, bound.Round(time.Millisecond)))
		}
		return reg.IPCP{}, nil, err
	}
	return cands[best], hashes[best], nil
}
