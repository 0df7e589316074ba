// Package shmring is a single-producer single-consumer ring of variable-length
// records in memory shared by two processes. It holds no lock: the producer
// only writes the head index and the record bytes, the consumer only writes
// the tail index, and each publishes with an atomic store that the other reads
// with an atomic load (Go's atomics are sequentially consistent).
//
// Layout of one ring in the shared mapping (all integers little-endian, as
// the host; the mapping never leaves the host):
//
//	offset 0    head      uint64  bytes ever written (producer)
//	offset 8    puts      uint64  records ever written (producer)
//	offset 64   tail      uint64  bytes ever consumed (consumer)
//	offset 72   takes     uint64  records ever consumed (consumer)
//	offset 128  rxSleep   uint32  consumer is (about to be) blocked: 0 awake,
//	                              SleepBell ring its doorbell, SleepFutex wake
//	                              this word with FUTEX_WAKE
//	offset 192  txWait    uint32  producer waits for space: ring its doorbell
//	offset 256  data      [Size]byte
//
// head and tail are free-running byte counters; the data offset of a counter
// c is c mod Size (Size is a power of two). Invariant: 0 <= head-tail <= Size.
// A record is an 8-byte header (uint32 length of the payload, one byte kind,
// three bytes padding) and the payload, padded to 8 bytes. A record never
// wraps: when it does not fit before the end of the data area, the producer
// writes a wrap header (length wrapMark) and continues at offset 0.
//
// The peer may be malicious or may die mid-write: every index and length read
// from the mapping is checked, and a violation is reported as ErrCorrupt, never
// a panic or an out-of-bounds access. A record becomes visible only when head
// moves past it, so a producer that dies mid-record leaves nothing behind.
package shmring

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"
)

// Header offsets; each field on its own cache line.
const (
	offHead    = 0
	offPuts    = 8
	offTail    = 64
	offTakes   = 72
	offRxSleep = 128
	offTxWait  = 192
	HeaderSize = 256
)

// A ring holds as many records as fit in its bytes, unless its producer
// caps their number (SetMaxRecords): a layer that reads the queue of its
// lower flows in packets (the unicast layer's congestion marking puts a
// sixteenth of it in the ECN byte) keeps that queue as short as the
// reference's, whose flow ring has 1024 slots, one kept free. Other flows
// are not capped: thousands of small packets queue in 512 KiB, and a
// writer of small packets waits less often.

const (
	recHdr   = 8          // record header bytes
	align    = 8          // record alignment
	wrapMark = 0xFFFFFFFF // length of a wrap record
)

// Errors.
var (
	ErrFull    = errors.New("ring full")
	ErrTooBig  = errors.New("record larger than the ring allows")
	ErrCorrupt = errors.New("ring indices or record corrupt")
)

// Ring is one direction of a shared ring: mem is HeaderSize+size bytes of the
// shared mapping, 8-byte aligned. A Ring value is used by one side only (the
// producer or the consumer); it is not safe for concurrent use by several
// producers or several consumers.
type Ring struct {
	mem  []byte
	data []byte
	size uint64 // power of two
	mask uint64
	next uint64 // consumer: tail after the record Peek returned
	// maxRecs is the producer's cap on queued records; 0 for none (the
	// ring's bytes only). Local to the producer's side, never shared.
	maxRecs uint64
}

// SetMaxRecords caps the records queued (put and not yet taken) at n, on
// the producer's side; n <= 0 removes the cap. Put then returns ErrFull
// at n records, as when the bytes run out, and the producer waits for
// space the same way.
func (r *Ring) SetMaxRecords(n int) {
	if n <= 0 {
		r.maxRecs = 0
		return
	}
	r.maxRecs = uint64(n)
}

// New wraps mem (HeaderSize + a power of two bytes, at least 4096).
func New(mem []byte) (*Ring, error) {
	if len(mem) <= HeaderSize {
		return nil, errors.New("ring memory too small")
	}
	size := uint64(len(mem) - HeaderSize)
	if size < 4096 || size&(size-1) != 0 {
		return nil, errors.New("ring data size must be a power of two >= 4096")
	}
	if uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return nil, errors.New("ring memory not 8-byte aligned")
	}
	return &Ring{mem: mem, data: mem[HeaderSize:], size: size, mask: size - 1}, nil
}

// MaxRecord is the largest payload the ring accepts: a quarter of its size.
func (r *Ring) MaxRecord() int { return int(r.size/4) - recHdr }

func (r *Ring) u64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&r.mem[off])) }
func (r *Ring) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }

func (r *Ring) loadHead() uint64 { return atomic.LoadUint64(r.u64(offHead)) }
func (r *Ring) loadTail() uint64 { return atomic.LoadUint64(r.u64(offTail)) }

// recLen is the ring space a payload of n bytes takes.
func recLen(n int) uint64 { return uint64(recHdr+n+align-1) &^ (align - 1) }

// Put appends one record (producer side). It returns ErrFull when there is no
// room now (in bytes, or the records SetMaxRecords allows queued); the caller may set
// TxWait and retry.
func (r *Ring) Put(kind byte, payload []byte) error {
	n := len(payload)
	if n > r.MaxRecord() {
		return ErrTooBig
	}
	need := recLen(n)
	head := r.loadHead()
	skip, err := r.space(head, need)
	if err != nil {
		return err
	}
	off := head & r.mask
	if skip != 0 {
		// Wrap: the rest of the area is skipped, the record goes at 0.
		binary.LittleEndian.PutUint32(r.data[off:], wrapMark)
		head += skip
		off = 0
	}
	binary.LittleEndian.PutUint32(r.data[off:], uint32(n))
	r.data[off+4] = kind
	copy(r.data[off+recHdr:], payload)
	atomic.StoreUint64(r.u64(offHead), head+need)
	atomic.StoreUint64(r.u64(offPuts), atomic.LoadUint64(r.u64(offPuts))+1)
	return nil
}

// space decides whether a record of need bytes goes in at head now: nil
// with skip, the bytes left unused at the end of the area when the record
// must wrap to 0 (0 when it need not); ErrFull when the bytes (the skip
// included) or the records SetMaxRecords allows run out; ErrCorrupt when
// the indices say more is used than the ring holds. Put's rules, and
// Room's.
func (r *Ring) space(head, need uint64) (skip uint64, err error) {
	used := head - r.loadTail()
	if used > r.size {
		return 0, ErrCorrupt
	}
	// takes is the consumer's; one ahead of puts is a lie, ignored here
	// (Records counts it as empty).
	if r.maxRecs != 0 {
		if puts, takes := atomic.LoadUint64(r.u64(offPuts)), atomic.LoadUint64(r.u64(offTakes)); takes <= puts && puts-takes >= r.maxRecs {
			return 0, ErrFull
		}
	}
	if contig := r.size - head&r.mask; contig < need {
		skip = contig
	}
	if used+skip+need > r.size {
		return 0, ErrFull
	}
	return skip, nil
}

// Room reports whether Put of a payload of n bytes would find room now
// (producer side), by Put's own rules (space). It is true when Put would
// fail for another reason (too big, corrupt indices), so that a caller
// waiting for room goes on to Put and gets that error.
func (r *Ring) Room(n int) bool {
	if n > r.MaxRecord() {
		return true
	}
	_, err := r.space(r.loadHead(), recLen(n))
	return err != ErrFull
}

// Peek returns the next record (consumer side) without consuming it; ok is
// false when the ring is empty. The payload aliases shared memory: copy it
// before Advance.
func (r *Ring) Peek() (kind byte, payload []byte, ok bool, err error) {
	tail, head := r.loadTail(), r.loadHead()
	for {
		if head == tail {
			return 0, nil, false, nil
		}
		if head-tail > r.size || tail&(align-1) != 0 {
			return 0, nil, false, ErrCorrupt
		}
		off := tail & r.mask
		if r.size-off < recHdr {
			return 0, nil, false, ErrCorrupt
		}
		n := binary.LittleEndian.Uint32(r.data[off:])
		if n == wrapMark {
			skip := r.size - off
			if head-tail < skip {
				return 0, nil, false, ErrCorrupt
			}
			tail += skip
			atomic.StoreUint64(r.u64(offTail), tail)
			continue
		}
		need := recLen(int(n))
		if int(n) > r.MaxRecord() || need > r.size-off || need > head-tail {
			return 0, nil, false, ErrCorrupt
		}
		r.next = tail + need
		return r.data[off+4], r.data[off+recHdr : off+recHdr+uint64(n)], true, nil
	}
}

// Advance consumes the record Peek returned (its length as Peek checked it,
// not as the shared memory says now).
func (r *Ring) Advance() {
	atomic.StoreUint64(r.u64(offTail), r.next)
	atomic.StoreUint64(r.u64(offTakes), atomic.LoadUint64(r.u64(offTakes))+1)
}

// Records returns the number of records in the ring, as the two sides'
// counters say: 0 if the peer's counter is ahead of ours (it is the peer's
// to write, and may lie), and never more than the ring could hold. The
// counters move just after the indices, so a record being put or taken
// may be counted or not.
func (r *Ring) Records() int {
	puts, takes := atomic.LoadUint64(r.u64(offPuts)), atomic.LoadUint64(r.u64(offTakes))
	if takes >= puts {
		return 0
	}
	return int(min(puts-takes, r.size/recHdr))
}

// Used returns the bytes in the ring (records and padding).
func (r *Ring) Used() int {
	u := r.loadHead() - r.loadTail()
	if u > r.size {
		return int(r.size)
	}
	return int(u)
}

// Empty reports whether the consumer has caught up with the producer.
func (r *Ring) Empty() bool { return r.loadHead() == r.loadTail() }

// Values of the rxSleep word: how the sleeping consumer wants to be woken.
// Any other non-zero value (a confused or malicious peer) is taken as
// SleepBell.
const (
	SleepBell  uint32 = 1 // the consumer waits on its doorbell socket
	SleepFutex uint32 = 2 // the consumer waits in FUTEX_WAIT on the rxSleep word
)

// SetRxSleep publishes whether the consumer is going to sleep. After setting
// it, the consumer must check Empty again before blocking (the producer checks
// the flag after publishing head; one of the two sees the other's store).
func (r *Ring) SetRxSleep(on bool) { atomic.StoreUint32(r.u32(offRxSleep), b2u(on)) }

// TakeRxSleep is called by the producer after Put: it reports whether the
// consumer sleeps (and clears the flag so one doorbell suffices).
func (r *Ring) TakeRxSleep() bool { return atomic.SwapUint32(r.u32(offRxSleep), 0) != 0 }

// SetRxSleepHow publishes how the consumer is going to sleep (0: it is
// awake). The same rule as for SetRxSleep applies: check Empty afterwards.
func (r *Ring) SetRxSleepHow(v uint32) { atomic.StoreUint32(r.u32(offRxSleep), v) }

// TakeRxSleepHow is TakeRxSleep telling how the consumer sleeps: 0 if it
// does not, else the value it published (see SleepBell, SleepFutex).
func (r *Ring) TakeRxSleepHow() uint32 { return atomic.SwapUint32(r.u32(offRxSleep), 0) }

// RxSleepWord is the address of the rxSleep word, for FUTEX_WAIT and
// FUTEX_WAKE (it lives in the shared mapping).
func (r *Ring) RxSleepWord() *uint32 { return r.u32(offRxSleep) }

// SetTxWait publishes that the producer waits for space; it must then retry
// Put before blocking.
func (r *Ring) SetTxWait(on bool) { atomic.StoreUint32(r.u32(offTxWait), b2u(on)) }

// TakeTxWait is called by the consumer after consuming: it reports whether the
// producer waits for space (and clears the flag).
func (r *Ring) TakeTxWait() bool { return atomic.SwapUint32(r.u32(offTxWait), 0) != 0 }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
