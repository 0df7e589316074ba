package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestReliableBidirectionalFlood: reliable (FRCT) flows through the local
// IPCP carry a flood both ways at once: the client writes 1000-byte
// messages as fast as the flow takes them while it reads the echoes, so
// both directions run with full windows, data and acknowledgements
// crossing. Several rounds of several flows each; every echo must come back
// whole and in order. A stall (the one once seen as 10,000 packets/s on
// this path, 0.06 of a raw flow) shows as a read that gets nothing for 30 s.
func TestReliableBidirectionalFlood(t *testing.T) {
	rounds, flows, msgs := 5, 4, 5000
	if testing.Short() || rig.Race() {
		rounds, msgs = 2, 1000
	}
	e := setup(t, rig.Options{NoDirect: true})
	pid := e.localLayer("local-ipcp", "local-layer")
	e.register("flood.echo", pid)
	srv := e.role("echo-server", "flood.echo")
	srv.WaitOutput(t, "ready", 10*time.Second)

	const size = 1000
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, 2*flows)
		for i := range flows {
			f, err := flow.Alloc(e.ctx(), "flood.echo", qos.Data)
			if err != nil {
				t.Fatalf("round %d: alloc: %v\n%s", round, err, e.Tail())
			}
			wg.Add(2)
			go func() { // writer
				defer wg.Done()
				msg := make([]byte, size)
				for k := range msgs {
					binary.LittleEndian.PutUint32(msg, uint32(k))
					msg[4] = byte(i)
					if _, err := f.Write(msg); err != nil {
						errs <- fmt.Errorf("round %d flow %d: write %d: %v", round, i, k, err)
						return
					}
				}
			}()
			go func() { // reader
				defer wg.Done()
				defer f.Close()
				buf := make([]byte, 2*size)
				want := make([]byte, size)
				for k := range msgs {
					f.SetReadDeadline(time.Now().Add(30 * time.Second))
					n, err := f.Read(buf)
					if err != nil {
						errs <- fmt.Errorf("round %d flow %d: echo %d of %d: %v", round, i, k, msgs, err)
						return
					}
					binary.LittleEndian.PutUint32(want, uint32(k))
					want[4] = byte(i)
					if !bytes.Equal(buf[:n], want) {
						errs <- fmt.Errorf("round %d flow %d: echo %d: %d bytes, not the message sent", round, i, k, n)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%v\nserver:\n%s\n%s", err, srv.Tail(), e.Tail())
		}
	}
}
