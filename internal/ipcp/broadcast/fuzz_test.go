package broadcast

import (
	"bytes"
	"testing"
	"testing/synctest"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// FuzzFlood: whatever bytes arrive on a port (from the network or from
// an application), the flooder neither fails nor alters them: the other
// port gets them unchanged iff they are 1..1400 bytes long and were not
// flooded already, and the port they came on gets nothing.
func FuzzFlood(f *testing.F) {
	f.Add([]byte("Ouroboros multicast rocks!\x00"), []byte("x"))
	f.Add([]byte{}, bytes.Repeat([]byte{0xff}, wire.BroadcastMTU+1))
	f.Add(bytes.Repeat([]byte{0}, wire.BroadcastMTU), bytes.Repeat([]byte{0}, wire.BroadcastMTU))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		synctest.Test(t, func(t *testing.T) {
			fl := newFlooder(quiet)
			defer fl.close()
			in, out := &sink{}, &sink{}
			pin := fl.add("in", in.write)
			fl.add("out", out.write)
			var want [][]byte
			for _, pkt := range [][]byte{a, b} {
				ok := len(pkt) > 0 && len(pkt) <= wire.BroadcastMTU
				for _, w := range want {
					ok = ok && !bytes.Equal(w, pkt)
				}
				if ok {
					want = append(want, bytes.Clone(pkt))
				}
				fl.receive(pin, pkt)
			}
			synctest.Wait()
			got := out.got()
			if len(got) != len(want) {
				t.Fatalf("flooded %d packets, want %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("packet %d altered", i)
				}
			}
			if len(in.got()) != 0 {
				t.Fatal("a packet went back to its port")
			}
		})
	})
}
