package flow

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Encrypted flows (library.md §4, §6.2–6.3). The IRMd runs the key exchange
// at allocation and hands both ends the cipher NID and the same 32-byte key
// in the FLOW_ALLOC/FLOW_ACCEPT reply (cipher_nid, sym_key). Every non-empty
// packet is then, in this order on the way out:
//
//	FRCT header (if FRCT) → encrypt: IV ‖ ciphertext ‖ tag → CRC (if ber 0)
//
// and the reverse on the way in. Empty packets (keepalives) are never
// encrypted. A packet that fails authentication (AEAD ciphers) is dropped and
// counted in Drops().Unauthenticated, never delivered; one too short to hold
// an IV and tag counts as malformed. A plaintext flow takes none of these
// steps: its fast path is the one of a flow without a cipher.
//
// Key material is wiped as soon as it is no longer needed: the key in the
// allocation reply once the packet cipher has copied it (flowCipher), and
// the cipher's keys (the flow key and every key rotated from it) when the
// flow closes or is dropped before it starts (Flow.dropCipher, through
// crypt.PacketCipher.Close). The expanded keys inside the Go AES, GCM and
// ChaCha20-Poly1305 objects cannot be wiped: no API reaches them, and they
// are left to the garbage collector.

// flowCipher returns the packet cipher of an allocation reply, nil for a
// plaintext flow. It zeroes the reply's key.
func flowCipher(rep *pb.IrmMsg) (*crypt.PacketCipher, error) {
	defer clear(rep.GetSymKey()) // copied by NewPacketCipher
	nid := crypt.Cipher(rep.GetCipherNid())
	if nid == 0 {
		return nil, nil
	}
	if !nid.Supported() || rep.GetCipherNid() > 0xffff {
		return nil, fmt.Errorf("IRMd chose cipher %d, which this library cannot run: %w", rep.GetCipherNid(), oerr.ECRYPT)
	}
	pc, err := crypt.NewPacketCipher(nid, rep.GetSymKey(), nil)
	if err != nil {
		return nil, fmt.Errorf("flow key for %s: %v: %w", nid, err, oerr.ECRYPT)
	}
	return pc, nil
}

// sealInto appends the encrypted form of plaintext to dst (which holds the
// kind byte); dst must not overlap plaintext.
func (f *Flow) sealInto(dst, plaintext []byte) ([]byte, error) {
	out, err := f.pc.Seal(dst, plaintext)
	switch {
	case errors.Is(err, crypt.ErrClosed):
		return nil, net.ErrClosed // a Write that raced Close
	case err != nil:
		return nil, fmt.Errorf("encrypt: %v: %w", err, oerr.ECRYPT)
	}
	return out, nil
}

// writeSealed encrypts plaintext into dst (which holds the kind byte, and
// has room for the IV, tag and CRC) and writes the packet to the channel,
// waiting for room up to dl when wait is set; without wait a full channel
// is datapath.ErrWouldBlock. It returns the channel's error as is (the
// caller maps it, writeErr).
//
// Why sealing and writing are one step. The key a packet is sealed with
// follows the flow's packet count (key rotation, crypt/rotation.go), and the
// peer drops a key some packets after it saw this end use the next one. A
// packet sealed and then held (its writer descheduled, or waiting for room)
// while other writers of the flow sealed and sent a rotation's worth of
// packets would arrive under a key the peer has dropped, and be lost as
// unauthenticated. So packets enter the channel in the order they were
// sealed: seal and TryWritePacket under sealMu.
//
// A writer that finds the channel full leaves its sealed packet in pending
// and lets go of sealMu while it waits for room (a lock held across the
// wait would stop the receive goroutine's acknowledgements, and with them
// the peer that makes the room). Whoever takes sealMu next writes the
// pending packet before sealing anything (flushPendingLocked), so nothing
// overtakes it; while it cannot go, a non-blocking writer gets
// ErrWouldBlock and a blocking one waits, neither sealing. No packet is
// sealed and then thrown away for want of room by a blocking writer (a CTR
// peer, which counts packets to follow the key changes, would lose track
// after a quarter period of them); only a non-blocking write that finds the
// channel full seals a packet the peer never sees, as before.
func (f *Flow) writeSealed(dst, plaintext []byte, dl time.Time, wait bool) error {
	f.sealMu.Lock()
	for !f.flushPendingLocked() {
		// An earlier writer's packet waits for room: ours goes after it.
		if !wait {
			f.sealMu.Unlock()
			return datapath.ErrWouldBlock
		}
		n := len(f.pending.pkt) - 1
		f.sealMu.Unlock()
		f.ep.SetWriteDeadline(dl)
		if err := f.ep.WaitRoom(n); err != nil {
			return err
		}
		f.sealMu.Lock()
	}
	pkt, err := f.sealInto(dst[:1], plaintext)
	if err != nil {
		f.sealMu.Unlock()
		return err
	}
	if f.crc {
		pkt = appendCRC(pkt)
	}
	if h := testHookSealed.Load(); h != nil {
		(*h)(f)
	}
	err = f.ep.TryWritePacket(datapath.KindData, pkt)
	if !wait || !errors.Is(err, datapath.ErrWouldBlock) {
		f.sealMu.Unlock()
		return err
	}
	me := &pendingPacket{pkt: pkt}
	f.pending = me
	f.ep.SetWriteDeadline(dl)
	for {
		f.sealMu.Unlock()
		werr := f.ep.WaitRoom(len(pkt) - 1)
		f.sealMu.Lock()
		switch {
		case me.sent:
			// Another writer wrote it (and the error, if any, is ours).
		case werr != nil:
			// Given up (deadline, peer gone): nobody else sealed after
			// it (they wait for it), so it is dropped unseen.
			f.pending = nil
			f.sealMu.Unlock()
			return werr
		case !f.flushPendingLocked():
			continue // someone else took the room first
		}
		f.sealMu.Unlock()
		return me.err
	}
}

// pendingPacket is a sealed packet that found the channel full; its writer
// waits for room (writeSealed). pkt is the writer's buffer, valid while it
// waits; sent and err are set, under sealMu, by whoever writes it.
type pendingPacket struct {
	pkt  []byte
	sent bool
	err  error
}

// flushPendingLocked writes the pending packet, if any, without waiting,
// and reports whether none is left: false means the channel is still full.
// A failure other than a full channel is the pending packet's writer's to
// report. f.sealMu is held.
func (f *Flow) flushPendingLocked() bool {
	p := f.pending
	if p == nil {
		return true
	}
	err := f.ep.TryWritePacket(datapath.KindData, p.pkt)
	if errors.Is(err, datapath.ErrWouldBlock) {
		return false
	}
	p.sent, p.err = true, err
	f.pending = nil
	return true
}

// testHookSealed, if set (by tests only), runs in writeSealed between
// sealing a packet and writing it.
var testHookSealed atomic.Pointer[func(*Flow)]

// open decrypts a received packet; ok false means it was dropped (and
// counted). sdu is left intact (a key that fails does not spoil the
// ciphertext for the next one) and may be a pooled buffer. The plaintext is
// in a new buffer of its exact size, which the flow keeps: the receive queue
// of a raw flow, FRCT's reorder queue of an FRCT flow (own). No buffer is
// shared between packets, so the receive goroutine and a hotRead, which
// hold the channel's consumer role in turn, never write to one the other
// still uses; a packet costs this one allocation.
func (f *Flow) open(sdu []byte) ([]byte, bool) {
	pt, err := f.pc.Open(make([]byte, 0, max(0, len(sdu)-f.pc.Overhead())), sdu)
	switch {
	case err == nil:
		return pt, true
	case errors.Is(err, crypt.ErrAuthentication):
		f.badAuth.Add(1)
	case errors.Is(err, crypt.ErrClosed):
		// The flow closed while this packet was in hand: nobody reads it.
	default:
		f.malformed.Add(1)
	}
	return nil, false
}

// dropCipher wipes the flow's keys (crypt.PacketCipher.Close); the flow
// must send and receive no more packets. Called when the flow closes, or
// when it is dropped before it starts.
func (f *Flow) dropCipher() {
	if f.pc != nil {
		f.pc.Close()
	}
}

// Encryption names the flow's cipher (for example "aes-256-gcm"), or is
// empty for a plaintext flow.
func (f *Flow) Encryption() string {
	if f.pc == nil {
		return ""
	}
	return f.pc.Cipher().String()
}

// PeerName returns the peer's name as its certificate proved it when the
// flow was allocated: the IRMds checked the certificate against their
// trusted CAs and its signature over the allocation (the allocating side
// also that it is issued to the name it allocated to). It is empty when the
// peer did not authenticate.
func (f *Flow) PeerName() string { return f.peerName }

// DropStats counts the packets a flow dropped on receipt.
type DropStats struct {
	Malformed       int64 // too short, a bad CRC, or not an FRCT packet
	Unauthenticated int64 // failed decryption: forged, corrupted or under the wrong key
}

// Drops returns the flow's drop counters.
func (f *Flow) Drops() DropStats {
	return DropStats{Malformed: f.malformed.Load(), Unauthenticated: f.badAuth.Load()}
}
