package flow

import (
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/qos"
)

// benchOneWay measures one-way messages/s between two flows of this
// process over a real channel: the per-packet cost of the flow layer
// (and of FRCT on in-order flows) on both ends.
func benchOneWay(b *testing.B, q qos.Spec, size int) { benchOneWayCipher(b, q, size, 0) }

// benchOneWayCipher is benchOneWay on a flow encrypted with c (0: none).
func benchOneWayCipher(b *testing.B, q qos.Spec, size int, c crypt.Cipher) {
	q.Timeout = 0
	q.BER = 1
	var fa, fb *Flow
	if c != 0 {
		fa, fb = cryptPair(b, c, q)
	} else {
		fa, fb = pair(b, q, q)
	}
	msg := make([]byte, size)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for range b.N {
			if _, err := fb.Read(buf); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		if _, err := fa.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	if st, err := fa.FRCTStats(); err == nil {
		// Engine work per message: resends and control packets (ACK, FC,
		// RDVS) on the sender's side, and what the receiver sent back.
		rs, _ := fb.FRCTStats()
		b.ReportMetric(float64(st.Retransmitted)/float64(b.N), "rtx/op")
		b.ReportMetric(float64(rs.Control)/float64(b.N), "acks/op")
		b.ReportMetric(float64(st.Refused)/float64(b.N), "refused/op")
	}
}

func BenchmarkOneWayRaw64(b *testing.B)        { benchOneWay(b, qos.Raw, 64) }
func BenchmarkOneWayReliable64(b *testing.B)   { benchOneWay(b, qos.Data, 64) }
func BenchmarkOneWayRaw1000(b *testing.B)      { benchOneWay(b, qos.Raw, 1000) }
func BenchmarkOneWayReliable1000(b *testing.B) { benchOneWay(b, qos.Data, 1000) }
func BenchmarkOneWayAES256GCM1000(b *testing.B) {
	benchOneWayCipher(b, qos.Raw, 1000, crypt.AES256GCM)
}
func BenchmarkOneWayChaCha1000(b *testing.B) {
	benchOneWayCipher(b, qos.Raw, 1000, crypt.ChaCha20Poly1305)
}
func BenchmarkOneWayReliableAES256GCM1000(b *testing.B) {
	benchOneWayCipher(b, qos.Data, 1000, crypt.AES256GCM)
}
