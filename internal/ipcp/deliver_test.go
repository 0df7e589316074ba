package ipcp

import (
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/datapath"
)

// TestDeliverAfterStall: a channel the application stopped reading makes
// Deliver wait once, then drop for stallHold; once the application reads
// again, Deliver delivers again. Over the socket data path the wait's write
// deadline used to stay on the socket, and every later Deliver failed with
// "i/o timeout" (counted as a full flow) for the rest of the flow's life.
func TestDeliverAfterStall(t *testing.T) {
	for _, shm := range []bool{false, true} {
		a, b, err := datapath.Pair(shm)
		if err != nil {
			t.Fatal(err)
		}
		ipcpEnd, err := datapath.New(a)
		if err != nil {
			t.Fatal(err)
		}
		appEnd, err := datapath.New(b)
		if err != nil {
			t.Fatal(err)
		}
		defer ipcpEnd.Close()
		defer appEnd.Close()
		f := &Flow{ID: 1, EP: ipcpEnd}
		pkt := make([]byte, 1+1000)
		n := 0
		for ; n < 1<<20; n++ {
			if err := f.Deliver(pkt); err != nil {
				break
			}
		}
		if err := f.Deliver(pkt); err == nil || datapath.IsDown(err) {
			t.Fatalf("shm=%v: a full channel delivered, or looked down: %v", shm, err)
		}
		// The application reads everything again.
		buf := make([]byte, datapath.MaxSDU+1)
		for i := 0; i < n; i++ {
			if _, _, err := appEnd.ReadPacket(buf); err != nil {
				t.Fatalf("shm=%v: read %d of %d: %v", shm, i, n, err)
			}
		}
		time.Sleep(stallHold + 20*time.Millisecond)
		for i := 0; i < 10; i++ {
			if err := f.Deliver(pkt); err != nil {
				t.Fatalf("shm=%v: %d packets after the application caught up: %v", shm, i, err)
			}
			if _, _, err := appEnd.ReadPacket(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
}
