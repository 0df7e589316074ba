package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/rig"
	"github.com/ouroboros-go/ouroboros/qos"
)

// benchPaths are the ways a flow crosses one host: direct or through a local
// IPCP, over either data path, with QoS raw; and direct over either data path
// with QoS data (reliable: FRCT with retransmission; the server adopts it).
var benchPaths = []struct {
	name     string
	noDirect bool
	shm      bool
	qos      qos.Spec
}{
	{"direct", false, false, qos.Raw}, {"local-ipcp", true, false, qos.Raw},
	{"direct-shm", false, true, qos.Raw}, {"local-ipcp-shm", true, true, qos.Raw},
	{"direct-reliable", false, false, qos.Data}, {"direct-shm-reliable", false, true, qos.Data},
}

// benchFlow starts an instance, a server process in role for name, and
// returns a flow with QoS q to it.
func benchFlow(b *testing.B, noDirect, shm bool, q qos.Spec, role string) *flow.Flow {
	e := setup(b, rig.Options{NoDirect: noDirect, Datapath: map[bool]string{true: "shm", false: "socket"}[shm]})
	if noDirect {
		pid := e.localLayer("local1", "local-layer")
		e.register("bench", pid)
	}
	srv := e.role(role, "bench")
	srv.WaitOutput(b, "ready", 10*time.Second)
	f := e.alloc("bench", q)
	// Datagram reads: a message that fills the buffer is not followed by a
	// zero-length end-of-message read.
	f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart)
	return f
}

// BenchmarkRoundTrip measures back-to-back ping-pong between this process
// and an echo server process: ns/op is the round-trip time.
func BenchmarkRoundTrip(b *testing.B) {
	for _, p := range benchPaths {
		for _, size := range []int{64, 1400} {
			b.Run(fmt.Sprintf("%s/%dB", p.name, size), func(b *testing.B) {
				f := benchFlow(b, p.noDirect, p.shm, p.qos, "echo-server")
				msg := make([]byte, size)
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					if _, err := f.Write(msg); err != nil {
						b.Fatal(err)
					}
					if _, err := f.Read(buf); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rtt/s")
			})
		}
	}
}

// BenchmarkOneWay measures one-way throughput to a process that counts what
// it receives; the count is checked at the end (nothing may be lost).
func BenchmarkOneWay(b *testing.B) {
	for _, p := range benchPaths {
		for _, size := range []int{64, 1000} {
			b.Run(fmt.Sprintf("%s/%dB", p.name, size), func(b *testing.B) {
				f := benchFlow(b, p.noDirect, p.shm, p.qos, "counter")
				msg := make([]byte, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					if _, err := f.Write(msg); err != nil {
						b.Fatal(err)
					}
				}
				f.Write([]byte("END"))
				buf := make([]byte, 32)
				n, err := f.Read(buf)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if got, _ := strconv.Atoi(string(buf[:n])); got != b.N {
					b.Fatalf("server counted %d of %d messages", got, b.N)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkt/s")
			})
		}
	}
}
