package datapath

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// forwarders joins two channels as the local IPCP does: c and s are the
// applications' ends; x and y the forwarder's, each read by a paired
// Puller whose packets go to the other. It returns c and s.
func forwarders(t *testing.T) (c, s, x, y *Endpoint) {
	c, x = endpoints(t, true)
	s, y = endpoints(t, true)
	x.SetPolling(false) // as the local IPCP's are
	y.SetPolling(false)
	var wg sync.WaitGroup
	fwd := func(src, dst *Endpoint) {
		defer wg.Done()
		p := src.Puller()
		p.Pair(dst)
		defer p.Close()
		var b *[]byte
		get := func(n int) []byte { b = GetBuf(n); return *b }
		for {
			kind, sdu, err := p.Read(get)
			if err != nil {
				if b != nil {
					PutBuf(b)
				}
				return
			}
			err = dst.WritePacket(kind, (*b)[:1+len(sdu)])
			PutBuf(b)
			b = nil
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go fwd(x, y)
	go fwd(y, x)
	t.Cleanup(func() { c.Close(); s.Close(); x.Close(); y.Close(); wg.Wait() })
	return c, s, x, y
}

func needPair(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("a Puller waits hot only as a raw wait, and GOMAXPROCS 1 leaves no slot for one")
	}
	if !waitvOK() {
		t.Skip("this kernel has no futex_waitv (Linux 5.16 and later)")
	}
}

// TestPullerPairPacedWaitsOnBoth: paced round trips through two paired
// forwarders (as oping -i through the local IPCP): the reply is passed on
// by the forwarder that waits on both rings (hotWaitPair), not by a
// wake-up of the other one on its doorbell.
func TestPullerPairPacedWaitsOnBoth(t *testing.T) {
	needPair(t)
	// Two Ps, one raw-wait slot, as on the 2-core machines the local IPCP
	// is measured on (with more slots both forwarders may wait hot, each
	// on its own ring).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	c, s, x, y := forwarders(t)
	go func() { // echo
		buf := make([]byte, 2048)
		for {
			kind, sdu, err := s.ReadPacket(buf)
			if err != nil {
				return
			}
			if s.WritePacket(kind, append([]byte{0}, sdu...)) != nil {
				return
			}
		}
	}()
	buf := make([]byte, 2048)
	for i := range 100 {
		msg := fmt.Sprint("ping ", i)
		if err := c.WritePacket(KindData, append([]byte{0}, msg...)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, sdu, err := c.ReadPacket(buf)
		if err != nil || string(sdu) != msg {
			t.Fatalf("reply %d: %q %v", i, sdu, err)
		}
		time.Sleep(HotWindow / 10)
	}
	if x.shm.pairWaits.Load() == 0 || y.shm.pairWaits.Load() == 0 {
		t.Fatalf("pair waits: %d on the request's ring, %d on the reply's; want both > 0",
			x.shm.pairWaits.Load(), y.shm.pairWaits.Load())
	}
}

// TestPullerPairOrderUnderLoad: both directions flooded at once, through
// paired forwarders with small rings: every packet arrives, in order, and
// an echo that writes before it reads (its writes wait for room) never
// wedges the forwarders (a forwarder holding both directions must not
// wait for room while the other direction waits for it). The flood
// (20,000 packets of 73 bytes one way, twice that back) is several times
// a ring's 512 KiB, so the rings fill.
func TestPullerPairOrderUnderLoad(t *testing.T) {
	needPair(t)
	c, s, _, _ := forwarders(t)
	const n = 20000
	seq := func(i int) []byte {
		b := make([]byte, 1+8+64)
		binary.BigEndian.PutUint64(b[1:], uint64(i))
		return b
	}
	errs := make(chan error, 4)
	check := func(name string, e *Endpoint, n int) {
		buf := make([]byte, 2048)
		for i := range n {
			e.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, sdu, err := e.ReadPacket(buf)
			if err != nil {
				errs <- fmt.Errorf("%s: packet %d: %v", name, i, err)
				return
			}
			if got := binary.BigEndian.Uint64(sdu); got != uint64(i) {
				errs <- fmt.Errorf("%s: packet %d is number %d", name, i, got)
				return
			}
		}
		errs <- nil
	}
	// The server echoes the client's packets, interleaved with its own
	// numbered ones: the client sees one stream of 2n in order.
	go func() {
		buf := make([]byte, 2048)
		out := 0
		for i := range n {
			s.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, sdu, err := s.ReadPacket(buf)
			if err != nil {
				errs <- fmt.Errorf("server: packet %d: %v", i, err)
				return
			}
			if got := binary.BigEndian.Uint64(sdu); got != uint64(i) {
				errs <- fmt.Errorf("server: packet %d is number %d", i, got)
				return
			}
			for range 2 {
				s.SetWriteDeadline(time.Now().Add(20 * time.Second))
				if err := s.WritePacket(KindData, seq(out)); err != nil {
					errs <- fmt.Errorf("server: write %d: %v", out, err)
					return
				}
				out++
			}
		}
		errs <- nil
	}()
	go check("client", c, 2*n)
	go func() {
		for i := range n {
			c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			if err := c.WritePacket(KindData, seq(i)); err != nil {
				errs <- fmt.Errorf("client: write %d: %v", i, err)
				return
			}
		}
		errs <- nil
	}()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
