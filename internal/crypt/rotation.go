package crypt

// Key rotation (library.md §6.3). The sender's rules are the reference's,
// exactly, so that a reference peer can open every packet we seal; the
// receiver's rules go beyond the reference for the AEADs.
//
// A context counts packets in cntr (32 bits, wrapping) and, since the last
// rotation, in age. mask = 1 << rotation bit (2^20). Rotation replaces the
// key K by RotateKey(K, SHA-256(K0)) (K0 = the flow's first key), keeps K as
// the previous key, resets age and flips phase.
//
// Seal (the reference's rules):
//  1. IV bit 7 of byte 0 := 1 if cntr&mask != 0; encrypt with K.
//  2. cntr++, age++.
//  3. If this increment changed the mask bit of cntr, rotate.
//  4. If a previous key is kept and age >= mask/2, wipe and drop it (AEAD:
//     only once K is seen, see below, and with it the stale keys).
//
// Open, CTR (the reference's rules: a wrong CTR key cannot be detected):
//  1. If the packet's phase bit differs from phase and age >= mask - mask/4
//     (the last rotation is not too recent), rotate.
//  2. cntr++, age++.
//  3. Decrypt with K.
//
// Open, AEAD (beyond the reference, which takes CTR step 1 and then tries K
// and the previous key):
//  1. Try K, the previous key if one is kept, the stale keys (older ones,
//     see below), then the next lookahead keys of the chain (RotateKey(K),
//     RotateKey(RotateKey(K)), …).
//  2. If the i-th next key verifies, rotate i times. A packet that opens
//     under K or a next key shows that the peer uses K: mark K seen.
//  3. If a key verified: cntr++, age++. If none did: ErrAuthentication, and
//     nothing changes: a forged or corrupted packet is not counted and
//     cannot rotate the key. The phase bit is not used.
//
// A rotation (by either rule) with K not seen keeps the previous key among
// the stale keys (up to maxStale, the oldest wiped), since the peer may
// still seal with it; a rotation with K seen wipes the previous and stale
// keys.
//
// Why the AEAD receiver differs. One context serves both directions, so
// each end crosses the boundaries of its own combined counter, at other
// packets than its peer, and a boundary crossed while opening does not
// rotate. The phase bit is the sender's counter bit, not the parity of its
// key: an end that rotated for its peer's phase change and then again at its
// own crossing has a key and a phase bit that no longer agree, and the
// reference's CTR step 1 then rotates on a bit that says nothing of the key
// its peer used. With packets in flight both ways (a reliable flow's data
// one way, its ACKs and window updates the other) the two ends rotate past
// each other until one is two keys ahead, where neither K nor the previous
// key opens anything: every packet is dropped and the flow stalls until
// FRCT gives up (TestRotationBulkWithACKs in this package,
// TestRotationReliable* in package flow). The same traffic drops keys too
// early: age counts the packets opened, so an end that receives much while
// its own packets of the new key wait in the peer's queue drops the key the
// peer still seals with, and an end that seals much rotates several times
// before its peer has opened any packet of the first new key.
//
// Here the key an end seals with changes only at its own crossings (Seal
// step 3) or to a key its peer has sealed a packet with, so the peer's
// packets, which arrive in the order it sealed them, are under a key this
// end still holds or a few rotations ahead of it. None of this changes what
// goes on the wire for a given state: IVs, phase bits, crossings and the key
// chain are the reference's, so a reference peer, which tries its K and
// previous key, opens what this end seals. "In the order it sealed them"
// is the user's to keep: a packet sealed and then held back while later
// ones went out can arrive under a key the peer has dropped. Package flow
// seals and writes each packet as one step (Flow.writeSealed); a lower
// layer that reorders packets by more than the keys kept here loses them
// (with 2^20, by hundreds of thousands of packets).

// lookahead is how many keys past the current one an AEAD receiver tries.
// An end crosses one boundary per 2^20 packets it counts, and rotates to
// every key its peer seals with, so the peer is ahead by more than one key
// only when its packets of the keys between were lost (for example control
// packets sealed while the channel was full, and dropped). Each try of a
// forged packet costs one AEAD open; the keys are derived once.
const lookahead = 4

// maxStale is how many keys older than the previous one an AEAD receiver
// keeps while its peer has not been seen to use the current one. With 2^20
// there are none; with short periods over a deep channel (the 2^7 of the
// tests, thousands of packets in flight) an end can rotate a dozen times
// before its peer opens a packet of the first new key.
const maxStale = 16

// sealedLocked runs steps 2-4 of Seal. pc.mu is held.
func (pc *PacketCipher) sealedLocked() {
	before := pc.cntr
	pc.cntr++
	pc.age++
	if (before^pc.cntr)&pc.mask != 0 {
		pc.rotateLocked()
	}
	if pc.prev != nil && pc.age >= pc.mask/2 && (pc.curSeen || !pc.nid.IsAEAD()) {
		pc.prev.wipe()
		pc.prev = nil
		pc.dropStaleLocked()
	}
}

// openingLocked runs steps 1-2 of a CTR Open for a packet whose phase bit
// is rx. pc.mu is held.
func (pc *PacketCipher) openingLocked(rx bool) {
	if rx != pc.phase && pc.age >= pc.mask-pc.mask/4 {
		pc.rotateLocked()
	}
	pc.cntr++
	pc.age++
}

// openAEADLocked opens ct (ciphertext ‖ tag) under iv by the AEAD rules
// above and appends the plaintext to dst. pc.mu is held.
func (pc *PacketCipher) openAEADLocked(dst, iv, ct []byte) ([]byte, error) {
	out, ok := pc.cur.open(dst, iv, ct)
	if ok {
		pc.curSeen = true
	} else if pc.prev != nil {
		out, ok = pc.prev.open(dst, iv, ct)
	}
	for i := 0; !ok && i < len(pc.stale) && pc.stale[i] != nil; i++ {
		out, ok = pc.stale[i].open(dst, iv, ct)
	}
	for i := 0; !ok && i < lookahead; i++ {
		if out, ok = pc.aheadLocked(i).open(dst, iv, ct); ok {
			for range i + 1 {
				pc.rotateLocked()
			}
			pc.curSeen = true
		}
	}
	if !ok {
		return dst, ErrAuthentication
	}
	pc.cntr++
	pc.age++
	return out, nil
}

// dropStaleLocked wipes and drops the stale keys. pc.mu is held.
func (pc *PacketCipher) dropStaleLocked() {
	for i, k := range pc.stale {
		k.wipe()
		pc.stale[i] = nil
	}
}

// aheadLocked returns the key i+1 rotations after the current one, deriving
// it (and the ones before it) if needed. The keys are kept until they become
// current, so that a stream of forged packets costs no derivations. pc.mu is
// held.
func (pc *PacketCipher) aheadLocked(i int) *packetKey {
	for j := range i + 1 {
		if pc.ahead[j] == nil {
			base := pc.cur
			if j > 0 {
				base = pc.ahead[j-1]
			}
			next, err := newPacketKey(pc.nid, RotateKey(base.key, pc.salt))
			if err != nil {
				// The cipher accepted a key of the same size at creation.
				panic("crypt: rotated key rejected: " + err.Error())
			}
			pc.ahead[j] = next
		}
	}
	return pc.ahead[i]
}

// rotateLocked makes the next key current and the current key the previous
// one, resets age, flips phase and marks the new key not yet seen. An AEAD
// context whose peer was not seen to use the current key keeps the previous
// one among the stale keys (the oldest beyond maxStale is wiped); otherwise
// the previous key is wiped. pc.mu is held.
func (pc *PacketCipher) rotateLocked() {
	next := pc.aheadLocked(0)
	copy(pc.ahead[:], pc.ahead[1:])
	pc.ahead[len(pc.ahead)-1] = nil
	if pc.prev != nil && !pc.curSeen && pc.nid.IsAEAD() {
		pc.stale[len(pc.stale)-1].wipe()
		copy(pc.stale[1:], pc.stale[:])
		pc.stale[0] = pc.prev
	} else {
		pc.prev.wipe()
		pc.dropStaleLocked()
	}
	pc.prev = pc.cur
	pc.cur = next
	pc.age = 0
	pc.phase = !pc.phase
	pc.curSeen = false
}
