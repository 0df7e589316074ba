package crypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

const testRotBit = 7 // as the reference's crypt_test.c: rotate every 128 packets

func phaseOf(pkt []byte) bool { return pkt[0]&0x80 != 0 }

func TestKeyPhaseBit(t *testing.T) {
	tx, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	var phases []bool
	for range 3 * 128 {
		pkt, _ := tx.Seal(nil, []byte("p"))
		phases = append(phases, phaseOf(pkt))
	}
	for _, c := range []struct {
		i    int
		want bool
	}{{0, false}, {127, false}, {128, true}, {255, true}, {256, false}, {383, false}} {
		if phases[c.i] != c.want {
			t.Errorf("packet #%d has phase %v, want %v", c.i, phases[c.i], c.want)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	// Separate sending and receiving contexts, 3×128 packets, with the
	// rotated keys of library.md §6.3.
	k1 := "cf95b6c68e77b8713cdfd62033f2bea52f621b894e197be6934c6ff99735d1a5"
	k2 := "4c3544057ff00629fb982b8c17201efcbee072bc377c0496131bc840903559b9"
	for _, c := range allCiphers {
		tx, _ := NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: testRotBit})
		rx, _ := NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: testRotBit})
		for i := range 3 * 128 {
			msg := fmt.Appendf(nil, "packet %d", i)
			pkt, _ := tx.Seal(nil, msg)
			pt, err := rx.Open(nil, pkt)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("%s: packet %d: %q, %v", c, i, pt, err)
			}
			switch i {
			case 127:
				if !tx.equalKey(unhex(t, k1)) {
					t.Errorf("%s: sender key after 128 packets is not K1", c)
				}
			case 128:
				if !rx.equalKey(unhex(t, k1)) {
					t.Errorf("%s: receiver key after the first phase-1 packet is not K1", c)
				}
			case 255:
				if !tx.equalKey(unhex(t, k2)) {
					t.Errorf("%s: sender key after 256 packets is not K2", c)
				}
			}
		}
	}
}

func TestKeyRotationEpochVectors(t *testing.T) {
	// A receiver that has rotated to K1 opens a packet sealed under K1 by
	// an independent implementation (AES-256-GCM, IV 81 02 … 0c: phase 1).
	k1 := unhex(t, "cf95b6c68e77b8713cdfd62033f2bea52f621b894e197be6934c6ff99735d1a5")
	iv := append([]byte{0x81}, seq(13)[2:]...)
	pk, _ := newPacketKey(AES256GCM, k1)
	pkt := pk.seal(bytes.Clone(iv), iv, []byte("epoch 1"))

	rx, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	tx, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	for range 128 {
		p, _ := tx.Seal(nil, nil)
		if _, err := rx.Open(nil, p); err != nil {
			t.Fatal(err)
		}
	}
	if pt, err := rx.Open(nil, pkt); err != nil || string(pt) != "epoch 1" {
		t.Errorf("K1 packet: %q, %v", pt, err)
	}
}

func TestPreviousKeyDropped(t *testing.T) {
	// After a rotation the previous key is kept for mask/2 = 64 sealed
	// packets, then wiped: a late packet of the old epoch then fails.
	tx, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	rx, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	var late []byte
	for i := range 129 {
		p, _ := tx.Seal(nil, []byte("x"))
		if i == 127 {
			late = p // the last packet under K0, held back
			continue
		}
		if _, err := rx.Open(nil, p); err != nil {
			t.Fatal(err)
		}
	}
	// rx rotated at packet 128 and keeps K0 as its previous key.
	if rx.prev == nil {
		t.Fatal("no previous key after a rotation")
	}
	if pt, err := rx.Open(nil, late); err != nil || string(pt) != "x" {
		t.Errorf("late packet within the grace period: %q, %v", pt, err)
	}
	// rx seals 64 packets of its own: its previous key ages out.
	for range 64 {
		rx.Seal(nil, nil)
	}
	if rx.prev != nil {
		t.Error("previous key kept after mask/2 sealed packets")
	}
	if _, err := rx.Open(nil, late); !errors.Is(err, ErrAuthentication) {
		t.Errorf("late packet after the grace period: %v", err)
	}
}

// TestPingPong runs alternating traffic through two contexts, each counting
// both directions as the reference does, over several rotation periods. It
// holds for the AEADs only: when the boundary is crossed by the peer's
// packet, this end's next packet still uses the old key while the peer has
// rotated; an AEAD peer falls back to its previous key, a CTR peer cannot
// tell and decrypts garbage (the reference behaves the same way).
func TestPingPong(t *testing.T) {
	for _, c := range []Cipher{AES256GCM, ChaCha20Poly1305, AES128GCM} {
		a, _ := NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: 4})
		b, _ := NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: 4})
		for i := range 200 {
			from, to := a, b
			if i%2 == 1 {
				from, to = b, a
			}
			msg := fmt.Appendf(nil, "ping %d", i)
			p, _ := from.Seal(nil, msg)
			if pt, err := to.Open(nil, p); err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("%s: packet %d: %q, %v", c, i, pt, err)
			}
		}
	}
}

// TestBurstsBothWays sends bursts in both directions, lossless and in order,
// over many rotation periods: every AEAD packet must open. The shared
// counter makes the two ends rotate at different packets; the previous key
// and the next-key retry cover the gap. (Without the retry, which the
// reference does not have, this sequence loses a packet in burst 34.)
func TestBurstsBothWays(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []Cipher{AES256GCM, ChaCha20Poly1305} {
		a, _ := NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: 5})
		b, _ := NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: 5})
		for i := range 300 {
			from, to := a, b
			if r.IntN(2) == 1 {
				from, to = b, a
			}
			for j := range 1 + r.IntN(40) {
				msg := fmt.Appendf(nil, "burst %d/%d", i, j)
				p, _ := from.Seal(nil, msg)
				if pt, err := to.Open(nil, p); err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("%s: burst %d packet %d: %q, %v", c, i, j, pt, err)
				}
			}
		}
	}
}

func TestRotatedKeysVisible(t *testing.T) {
	// The context's first key is K0; Close wipes it.
	pc, _ := NewPacketCipher(AES128GCM, seq(32), nil)
	if !pc.equalKey(seq(32)) {
		t.Fatal("initial key")
	}
	pc.Close()
	if hex.EncodeToString(pc.cur.key) != hex.EncodeToString(make([]byte, 32)) {
		t.Error("Close did not wipe the key")
	}
}

// TestCloseWipesEveryKey: Close zeroes the current, previous and next keys
// and the salt of a context that has rotated (so all three are held), and
// Seal and Open fail afterwards instead of deriving a key again.
func TestCloseWipesEveryKey(t *testing.T) {
	opt := &PacketOptions{RotationBit: 2}
	tx, _ := NewPacketCipher(AES256GCM, seq(32), opt)
	rx, _ := NewPacketCipher(AES256GCM, seq(32), opt)
	var last []byte
	for i := range 6 { // past a rotation: rx keeps the previous key
		p, err := tx.Seal(nil, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rx.Open(nil, p); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		last = p
	}
	forged := append([]byte(nil), last...)
	forged[len(forged)-1] ^= 1
	if _, err := rx.Open(nil, forged); err == nil { // derives and keeps the next key
		t.Fatal("forged packet opened")
	}
	if rx.prev == nil || rx.next == nil {
		t.Fatalf("setup: previous key %v, next key %v held", rx.prev != nil, rx.next != nil)
	}
	keys := [][]byte{rx.cur.key, rx.prev.key, rx.next.key, rx.salt[:]}
	if rx.Wiped() {
		t.Fatal("Wiped before Close")
	}
	rx.Close()
	for i, k := range keys {
		if !allZero(k) {
			t.Errorf("key buffer %d not wiped: %x", i, k)
		}
	}
	if !allZero(rx.salt[:]) || !rx.Wiped() {
		t.Error("Wiped false after Close")
	}
	if _, err := rx.Open(nil, last); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close: %v", err)
	}
	if _, err := rx.Seal(nil, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Seal after Close: %v", err)
	}
	rx.Close() // a second Close is harmless
	tx.Close()
	if !tx.Wiped() {
		t.Error("tx not wiped")
	}
}
