package crypt

// Key rotation (library.md §6.3), mirrored exactly from the reference so that
// both ends rotate at the same packets:
//
// A context counts every packet it seals or opens in cntr (32 bits, wrapping)
// and, since the last rotation, in age. mask = 1 << rotation bit (2^20).
// Rotation replaces the key K by RotateKey(K, SHA-256(K0)) (K0 = the flow's
// first key), keeps K as the previous key, resets age and flips phase.
//
// Seal:
//  1. IV bit 7 of byte 0 := 1 if cntr&mask != 0; encrypt with K.
//  2. cntr++, age++.
//  3. If this increment changed the mask bit of cntr, rotate.
//  4. If a previous key is kept and age >= mask/2, wipe and drop it.
//
// Open:
//  1. If the packet's phase bit differs from phase and age >= mask - mask/4
//     (the last rotation is not too recent), rotate.
//  2. cntr++, age++.
//  3. Decrypt with K, else with the previous key if one is kept.
//  4. (Not in the reference, AEAD only) else with RotateKey(K): on success
//     rotate to it. See Open.
//
// A boundary crossed by an Open increment does not rotate: only a Seal
// crossing, or a phase change observed on an opened packet, does.

// sealedLocked runs steps 2-4 of Seal. pc.mu is held.
func (pc *PacketCipher) sealedLocked() {
	before := pc.cntr
	pc.cntr++
	pc.age++
	if (before^pc.cntr)&pc.mask != 0 {
		pc.rotateLocked()
	}
	if pc.prev != nil && pc.age >= pc.mask/2 {
		pc.prev.wipe()
		pc.prev = nil
	}
}

// openingLocked runs steps 1-2 of Open for a packet whose phase bit is rx.
// pc.mu is held.
func (pc *PacketCipher) openingLocked(rx bool) {
	if rx != pc.phase && pc.age >= pc.mask-pc.mask/4 {
		pc.rotateLocked()
	}
	pc.cntr++
	pc.age++
}

// rotateLocked rotates to the next key. pc.mu is held.
func (pc *PacketCipher) rotateLocked() {
	next := pc.next
	if next == nil {
		next = pc.deriveNextLocked()
	}
	pc.rotateToLocked(next)
}

// deriveNextLocked returns the key that follows the current one. pc.mu is
// held.
func (pc *PacketCipher) deriveNextLocked() *packetKey {
	next, err := newPacketKey(pc.nid, RotateKey(pc.cur.key, pc.salt))
	if err != nil {
		// The cipher accepted a key of the same size at creation.
		panic("crypt: rotated key rejected: " + err.Error())
	}
	return next
}

// rotateToLocked makes next (the successor of the current key) current, and
// the current key the previous one. pc.mu is held.
func (pc *PacketCipher) rotateToLocked(next *packetKey) {
	pc.prev.wipe()
	pc.prev = pc.cur
	pc.cur = next
	pc.next = nil
	pc.age = 0
	pc.phase = !pc.phase
}
