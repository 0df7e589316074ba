package frct

import (
	"encoding/hex"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// The reference failures observed on live traffic between reference peers, as
// regression tests. (The third, the reader hang of F8, is a property of the
// flow layer, where one receive goroutine is the only consumer of the channel:
// see flow/frct_test.go.)

// TestSlowResponderF6: a reliable request/response where the responder's
// ACK|FC reaches the requester before its first DATA (a reference responder
// sends it 10 ms after reading; ours holds it, but not beyond ctlHold, and
// here answers 300 ms after that). In the reference that ACK activates the
// requester's receive record without a run and every response is dropped.
// Here the response opens the run and is delivered, and the requester's
// next packets carry the real window and ackno, not zeros.
func TestSlowResponderF6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cli := New(Config{RTX: true, MPL: time.Millisecond, Rand: fixed(0x4a5c5639)}, time.Now())
		srv := New(Config{RTX: true, MPL: time.Millisecond, Rand: fixed(0x24d4471d)}, time.Now())
		req, _ := cli.Send(time.Now(), nil, []byte("request"))
		if d, _, _ := srv.Receive(time.Now(), req); len(d) != 1 {
			t.Fatal("request not delivered")
		}
		srv.Consumed(time.Now())
		var acks [][]byte
		for start := time.Now(); len(acks) == 0 && time.Since(start) < time.Minute; {
			time.Sleep(time.Until(srv.NextDeadline()))
			acks = srv.OnTimeout(time.Now())
		}
		if len(acks) != 1 || wire.FRCT(acks[0]).Flags() != wire.FRCTACK|wire.FRCTFC {
			t.Fatalf("server's delayed ack %x", acks)
		}
		if d, r, err := cli.Receive(time.Now(), acks[0]); len(d) != 0 || len(r) != 0 || err != nil {
			t.Fatalf("ack: %q %x %v", d, r, err)
		}
		time.Sleep(300 * time.Millisecond)
		resp, _ := srv.Send(time.Now(), nil, []byte("response"))
		d, _, _ := cli.Receive(time.Now(), resp)
		if len(d) != 1 || string(d[0]) != "response" {
			t.Fatalf("response after the delayed ack not delivered: %q", d)
		}
		cli.Consumed(time.Now())
		next, _ := cli.Send(time.Now(), nil, []byte("next"))
		h := wire.FRCT(next)
		if !h.Flags().Has(wire.FRCTFC|wire.FRCTACK) || h.Ackno() != 0x24d4471e || h.RWE() != (0x24d4471e+DefaultRQSize)&0xffffff {
			t.Fatalf("requester's next packet %x: want ACK 24d4471e and FC with the real edge", next[:12])
		}
	})
}

// TestOneWayNoRTXNoStall: a one-way best-effort (FRCT without RTX) flow
// with a reader that keeps up. The reference's receiver never sends FC and
// its sender never sends RDVS before a first FC, so it stops after 64
// packets (F2/F3); here the receiver's delayed ACK|FC keeps the window
// open, and a writer that is refused sends RDVS at once.
func TestOneWayNoRTXNoStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 1000
		s := newSim(t, n, false, netCfg{delay: time.Millisecond}, 5)
		s.run(time.Hour)
		if s.got != n || s.gaps != 0 {
			t.Fatalf("delivered up to %d with %d gaps; stalled", s.got, s.gaps)
		}
		// Even with no reverse traffic at all, a refused writer asks.
		a := New(Config{Rand: fixed(7)}, time.Now())
		for range DefaultStartWindow {
			if _, err := a.Send(time.Now(), nil, []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.Send(time.Now(), nil, []byte{1}); err != ErrWindowClosed {
			t.Fatalf("65th send %v", err)
		}
		out := a.OnTimeout(time.Now())
		if len(out) != 1 || wire.FRCT(out[0]).Flags() != wire.FRCTRDVS {
			t.Fatalf("no rendezvous from a writer that never saw an FC: %x", out)
		}
	})
}

// TestReplayReferencePackets plays the requester against the reference
// server's packets captured on live traffic: its delayed ACK|FC, then
// its DATA|DRF|ACK|FC response. Our requester's first packet is byte-equal
// to the reference client's, the ACK acknowledges it, the response is
// delivered (the reference client drops it: F6), and our next packet
// acknowledges the response.
func TestReplayReferencePackets(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	now := t0
	a := New(Config{RTX: true, MPL: time.Millisecond, Rand: fixed(0x4a5c5639)}, now)
	req, _ := a.Send(now, nil, nil)
	if hex.EncodeToString(req) != "030000004a5c563900000000" {
		t.Fatalf("request %x", req)
	}
	now = now.Add(10 * time.Millisecond)
	if d, r, err := a.Receive(now, unhex("0c5c573a000000004a5c563a")); len(d)+len(r) != 0 || err != nil {
		t.Fatalf("reference ack: %q %x %v", d, r, err)
	}
	if a.Unacked() != 0 {
		t.Fatal("request not acknowledged by the reference's ACK")
	}
	now = now.Add(300 * time.Millisecond)
	d, _, _ := a.Receive(now, append(unhex("0f5c573a24d4471d4a5c563a"), "resp"...))
	if len(d) != 1 || string(d[0]) != "resp" {
		t.Fatalf("reference response not delivered: %q", d)
	}
	a.Consumed(now)
	next, _ := a.Send(now, nil, []byte("x"))
	if got := hex.EncodeToString(next[:12]); got != "0fd4481e4a5c563a24d4471e" {
		t.Fatalf("next packet %s, want DATA|DRF|ACK|FC (nothing unacknowledged) edge 24d4481e seq 4a5c563a ack 24d4471e", got)
	}
}
