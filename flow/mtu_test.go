package flow

import (
	"errors"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/qos"
)

// The layer's largest SDU (datapath.KindMTU): an IPCP whose layer carries
// less than the channel puts it in the channel before the application has
// the flow; the flow's first Write already refuses a bigger message with
// EMSGSIZE, taking off what the flow adds (FRCT header, cipher, CRC), and
// one that fits goes through. (Before, the IPCP dropped it and counted it,
// and the writer learnt nothing: an Ethernet layer's 1,496 bytes.)
func TestLayerMTU(t *testing.T) {
	const mtu = 1496
	for _, c := range []struct {
		name   string
		q      qos.Spec
		cipher crypt.Cipher
		extra  int // what the flow adds to a message
	}{
		{"raw", rawNoKeepalive, 0, 0},
		{"crc", qos.Spec{BER: 0, Timeout: 0}, 0, crcLen},
		{"reliable", reliable, 0, frctHeader + crcLen},
		{"aes-256-gcm", rawNoKeepalive, crypt.AES256GCM, 12 + 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			leakcheck.Check(t)
			f, ipcp := mtuFlow(t, c.q, c.cipher)
			if err := ipcp.TellMTU(mtu); err != nil {
				t.Fatal(err)
			}
			startFlows(t, f.p, f)
			max := mtu - c.extra
			if got := f.maxWrite(); got != max {
				t.Errorf("maxWrite %d, want %d", got, max)
			}
			_, err := f.Write(make([]byte, max+1))
			if !errors.Is(err, oerr.EMSGSIZE) {
				t.Fatalf("write of %d bytes over a layer of %d: %v, want EMSGSIZE", max+1, mtu, err)
			}
			t.Logf("write of %d bytes: %v", max+1, err)
			if _, err := f.Write(make([]byte, max)); err != nil {
				t.Fatalf("write of %d bytes: %v", max, err)
			}
			buf := make([]byte, datapath.MaxSDU+1)
			for {
				ipcp.SetReadDeadline(time.Now().Add(5 * time.Second))
				kind, sdu, err := ipcp.ReadPacket(buf)
				if err != nil {
					t.Fatal(err)
				}
				if kind == datapath.KindData && len(sdu) > 0 {
					if len(sdu) != mtu {
						t.Fatalf("the IPCP got %d bytes, want %d", len(sdu), mtu)
					}
					break
				}
			}
		})
	}
}

// TestLayerMTUMalformed: a KindMTU record that is not 4 bytes, or says
// less than datapath.MinMTU, changes nothing and is counted as malformed; a
// good one lowers the limit, and a later one cannot raise it.
func TestLayerMTUMalformed(t *testing.T) {
	leakcheck.Check(t)
	f, ipcp := mtuFlow(t, rawNoKeepalive, 0)
	startFlows(t, f.p, f)
	for _, bad := range [][]byte{{0, 1, 2}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 4}, {0, 0, 0, 0, 255}} {
		if err := ipcp.TryWritePacket(datapath.KindMTU, bad); err != nil {
			t.Fatal(err)
		}
	}
	ipcp.TellMTU(1000)
	ipcp.TellMTU(9000) // does not raise it
	ipcp.TellMTU(datapath.MinMTU)
	deadline := time.Now().Add(5 * time.Second)
	for f.maxWrite() != datapath.MinMTU && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := f.maxWrite(); got != datapath.MinMTU {
		t.Fatalf("maxWrite %d after the records, want %d", got, datapath.MinMTU)
	}
	if d := f.Drops().Malformed; d != 4 {
		t.Errorf("malformed %d, want 4", d)
	}
}

// TestLayerMTURaiseIgnored: once a limit is set, a record saying more
// leaves it.
func TestLayerMTURaiseIgnored(t *testing.T) {
	leakcheck.Check(t)
	f, ipcp := mtuFlow(t, rawNoKeepalive, 0)
	ipcp.TellMTU(1000)
	startFlows(t, f.p, f)
	ipcp.TellMTU(9000)
	// The marker, a malformed record: once it is counted, the 9000 was
	// handled.
	ipcp.TryWritePacket(datapath.KindMTU, []byte{0, 1})
	deadline := time.Now().Add(5 * time.Second)
	for f.Drops().Malformed == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := f.maxWrite(); got != 1000 {
		t.Fatalf("maxWrite %d after a record saying 9000, want 1000", got)
	}
}

// mtuFlow returns a flow, not started, and the IPCP's end of its channel.
func mtuFlow(t *testing.T, q qos.Spec, c crypt.Cipher) (*Flow, *datapath.Endpoint) {
	t.Helper()
	ea, ipcp := endpoints(t, testShm())
	p := testProcess(t)
	var f *Flow
	if c != 0 {
		f = cryptFlow(t, p, ea, c, q)
	} else {
		f = newFlowOn(p, ea, ctrl.FlowInfo{ID: 1, QoS: q}, "")
	}
	t.Cleanup(func() { ipcp.Close(); f.Close() })
	return f, ipcp
}
