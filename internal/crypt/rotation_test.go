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
	if rx.prev == nil || rx.ahead[0] == nil {
		t.Fatalf("setup: previous key %v, next key %v held", rx.prev != nil, rx.ahead[0] != nil)
	}
	keys := [][]byte{rx.cur.key, rx.prev.key, rx.ahead[0].key, rx.salt[:]}
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

// TestRotationBulkWithACKs models a reliable flow under rotation: end 0
// writes data with up to w packets in flight, end 1 answers every k-th data
// packet it opens with an ACK, and the two directions are delivered in a
// random interleaving (in order each, as a flow's channel does). An ACK
// that finds w ACKs queued is sealed (and counted) but lost, as a control
// packet is on a full channel. Each end counts the packets of both
// directions, so they cross their rotation boundaries at different packets;
// every AEAD packet must still open. (With the reference's receiver, which
// rotates on an unauthenticated phase change and drops the previous key
// after mask/2 packets sent or received, most of these runs fail within a
// few thousand packets.)
func TestRotationBulkWithACKs(t *testing.T) {
	for _, c := range []Cipher{AES256GCM, ChaCha20Poly1305} {
		for _, w := range []int{4, 8, 16} {
			for _, k := range []int{1, 2, 4} {
				for seed := range uint64(6) {
					if err := bulkWithACKs(c, w, k, seed); err != nil {
						t.Errorf("%s, window %d, an ACK per %d, seed %d: %v", c, w, k, seed, err)
					}
				}
			}
		}
	}
}

func bulkWithACKs(c Cipher, w, k int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, uint64(w*100+k)))
	var ends [2]*PacketCipher
	for i := range ends {
		ends[i], _ = NewPacketCipher(c, seq(32), &PacketOptions{RotationBit: testRotBit})
	}
	var queues [2][][]byte // queues[i]: sealed by end i, not yet opened
	var sent, got [2]int
	seal := func(i int) {
		p, _ := ends[i].Seal(nil, fmt.Appendf(nil, "%d:%d", i, sent[i]))
		if len(queues[i]) < w {
			queues[i] = append(queues[i], p)
			sent[i]++
		}
	}
	for step := range 30000 {
		switch x := r.IntN(4); {
		case x < 2 && len(queues[0]) < w:
			seal(0)
		case x == 2 && len(queues[0]) > 0, x == 3 && len(queues[1]) > 0:
			i := x - 2
			p := queues[i][0]
			queues[i] = queues[i][1:]
			want := fmt.Appendf(nil, "%d:%d", i, got[i])
			got[i]++
			if pt, err := ends[1-i].Open(nil, p); err != nil || !bytes.Equal(pt, want) {
				return fmt.Errorf("step %d: packet %s: %q, %v", step, want, pt, err)
			}
			if i == 0 && got[0]%k == 0 {
				seal(1)
			}
		}
	}
	if got[0] < 5000 || got[1] < 1000 {
		return fmt.Errorf("only %d data packets and %d ACKs opened", got[0], got[1])
	}
	return nil
}

// TestForgedPacketKeepsState: a packet that no key opens changes nothing,
// even with the phase bit of a rotation (on which the reference's receiver
// rotates once its key is old enough): the genuine packets that follow still
// open under the same key.
func TestForgedPacketKeepsState(t *testing.T) {
	tx, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	rx, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	for range 120 { // rx's age is past mask - mask/4
		p, _ := tx.Seal(nil, []byte("x"))
		if _, err := rx.Open(nil, p); err != nil {
			t.Fatal(err)
		}
	}
	cntr, age := rx.cntr, rx.age
	for i := range 50 {
		p, _ := tx.Seal(nil, []byte("forged"))
		tx.cntr-- // keep tx where it was: the forgery is not its packet
		tx.age--
		p[0] ^= 0x80          // the other phase
		p[len(p)-1-i%16] ^= 1 // and a broken tag
		if _, err := rx.Open(nil, p); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("forged packet %d: %v", i, err)
		}
	}
	if rx.cntr != cntr || rx.age != age || !rx.equalKey(seq(32)) {
		t.Errorf("forged packets moved the state: cntr %d→%d, age %d→%d, key K0 %v",
			cntr, rx.cntr, age, rx.age, rx.equalKey(seq(32)))
	}
	p, _ := tx.Seal(nil, []byte("genuine"))
	if pt, err := rx.Open(nil, p); err != nil || string(pt) != "genuine" {
		t.Errorf("genuine packet after the forgeries: %q, %v", pt, err)
	}
}

// TestRotationLookahead: the peer's packets of up to lookahead rotations
// were lost (sealed, counted, never delivered): its next packet still
// opens, and the receiver adopts its key, keeping the one before as the
// previous key.
func TestRotationLookahead(t *testing.T) {
	for lost := range lookahead {
		tx, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), &PacketOptions{RotationBit: testRotBit})
		rx, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), &PacketOptions{RotationBit: testRotBit})
		for range 128 * (lost + 1) {
			tx.Seal(nil, []byte("lost"))
		}
		late, _ := tx.Seal(nil, []byte("arrives"))
		if pt, err := rx.Open(nil, late); err != nil || string(pt) != "arrives" {
			t.Fatalf("%d rotations ahead: %q, %v", lost+1, pt, err)
		}
		if !rx.equalKey(tx.cur.key) {
			t.Errorf("%d rotations ahead: receiver did not adopt the sender's key", lost+1)
		}
		if rx.prev == nil {
			t.Errorf("%d rotations ahead: no previous key", lost+1)
		}
	}
	// One rotation further is out of reach.
	tx, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), &PacketOptions{RotationBit: testRotBit})
	rx, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), &PacketOptions{RotationBit: testRotBit})
	for range 128 * (lookahead + 1) {
		tx.Seal(nil, nil)
	}
	p, _ := tx.Seal(nil, nil)
	if _, err := rx.Open(nil, p); !errors.Is(err, ErrAuthentication) {
		t.Errorf("%d rotations ahead: %v", lookahead+1, err)
	}
}

// TestPreviousKeyKeptUntilPeerMoves: an end that rotates at its own
// crossing keeps the previous key past mask/2 packets until a packet of its
// peer's opens under the new key; then it drops it at its next packet, as
// the reference does once mask/2 packets are counted.
func TestPreviousKeyKeptUntilPeerMoves(t *testing.T) {
	a, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	b, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{RotationBit: testRotBit})
	var fromA [][]byte
	for range 128 { // a crosses: K1; its packets wait in b's queue
		p, _ := a.Seal(nil, []byte("a"))
		fromA = append(fromA, p)
	}
	for i := range 35 { // b, still at K0, keeps sending: a opens with K0 (a counts 70 > mask/2)
		p, _ := b.Seal(nil, []byte("b"))
		if _, err := a.Open(nil, p); err != nil {
			t.Fatalf("b's packet %d under K0: %v", i, err)
		}
		a.Seal(nil, nil) // a's own packets, lost
	}
	if a.prev == nil {
		t.Fatal("a dropped K0 while b still sends with it")
	}
	fromA = append(fromA, must(a.Seal(nil, []byte("a, K1"))))
	for _, p := range fromA { // b catches up: K1
		if _, err := b.Open(nil, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Open(nil, must(b.Seal(nil, []byte("b, K1")))); err != nil {
		t.Fatal(err)
	}
	a.Seal(nil, nil) // a's age is past mask/2
	if a.prev != nil {
		t.Error("previous key kept after the peer moved and mask/2 packets")
	}
}

func must(p []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return p
}

// TestStaleKeys: an end that seals much rotates several times before its
// peer opens any of its packets; the peer's packets, still sealed with the
// first key, open until the peer is seen to use the current key. Then the
// older keys go as the previous key does.
func TestStaleKeys(t *testing.T) {
	a, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), &PacketOptions{RotationBit: testRotBit})
	b, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), &PacketOptions{RotationBit: testRotBit})
	var fromA [][]byte
	for range 3*128 + 10 { // a: K3, its packets wait in b's queue
		fromA = append(fromA, must(a.Seal(nil, []byte("a"))))
	}
	late := must(b.Seal(nil, []byte("b, K0")))
	for i := range 20 {
		if pt, err := a.Open(nil, must(b.Seal(nil, []byte("b, K0")))); err != nil || string(pt) != "b, K0" {
			t.Fatalf("b's packet %d under K0: %q, %v", i, pt, err)
		}
	}
	for i, p := range fromA { // b catches up: K3
		if _, err := b.Open(nil, p); err != nil {
			t.Fatalf("a's packet %d: %v", i, err)
		}
	}
	if !b.equalKey(a.cur.key) {
		t.Fatal("b did not follow a to K3")
	}
	if _, err := a.Open(nil, must(b.Seal(nil, []byte("b, K3")))); err != nil {
		t.Fatal(err)
	}
	for range 64 {
		a.Seal(nil, nil)
	}
	if a.prev != nil || a.stale[0] != nil {
		t.Error("older keys kept after the peer moved and mask/2 packets")
	}
	if _, err := a.Open(nil, late); !errors.Is(err, ErrAuthentication) {
		t.Errorf("K0 packet after the older keys were dropped: %v", err)
	}
}
