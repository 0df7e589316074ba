package shmring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"unsafe"
)

func newRing(t testing.TB, size int) *Ring {
	t.Helper()
	buf := make([]uint64, (HeaderSize+size)/8) // 8-byte aligned
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), HeaderSize+size)
	r, err := New(mem)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewChecks(t *testing.T) {
	for _, n := range []int{0, HeaderSize, HeaderSize + 1000, HeaderSize + 6000} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) accepted", n)
		}
	}
}

// TestModel drives the ring with random operations against a FIFO model:
// every record comes out once, in order, intact; full and empty are reported
// exactly when the model says so; indices wrap around many times.
func TestModel(t *testing.T) {
	for seed := range 20 {
		model(t, uint64(seed), 4096, 20000)
	}
}

func model(t testing.TB, seed uint64, size, steps int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	r := newRing(t, size)
	var fifo [][]byte
	var kinds []byte
	var usedModel uint64
	for i := range steps {
		if rng.IntN(2) == 0 {
			n := rng.IntN(r.MaxRecord() + 1)
			p := make([]byte, n)
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			k := byte(rng.IntN(3))
			err := r.Put(k, p)
			switch {
			case err == nil:
				fifo = append(fifo, p)
				kinds = append(kinds, k)
			case errors.Is(err, ErrFull):
				// Full only if the record (plus a possible wrap) does not fit.
				off := r.loadHead() & r.mask
				need := recLen(n)
				if c := r.size - off; c < need {
					need += c
				}
				if usedModel+need <= r.size {
					t.Fatalf("seed %d step %d: ErrFull with %d used, %d needed", seed, i, usedModel, need)
				}
			default:
				t.Fatalf("seed %d step %d: Put: %v", seed, i, err)
			}
		} else {
			k, p, ok, err := r.Peek()
			if err != nil {
				t.Fatalf("seed %d step %d: Peek: %v", seed, i, err)
			}
			if ok != (len(fifo) > 0) {
				t.Fatalf("seed %d step %d: Peek ok=%v with %d queued", seed, i, ok, len(fifo))
			}
			if ok {
				if k != kinds[0] || !bytes.Equal(p, fifo[0]) {
					t.Fatalf("seed %d step %d: got kind %d %d bytes, want kind %d %d bytes",
						seed, i, k, len(p), kinds[0], len(fifo[0]))
				}
				r.Advance()
				fifo, kinds = fifo[1:], kinds[1:]
			}
		}
		usedModel = r.loadHead() - r.loadTail()
		if usedModel > r.size {
			t.Fatalf("seed %d step %d: used %d > size", seed, i, usedModel)
		}
	}
}

func TestTooBigAndFlags(t *testing.T) {
	r := newRing(t, 4096)
	if err := r.Put(0, make([]byte, r.MaxRecord()+1)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("oversized record: %v", err)
	}
	if r.TakeRxSleep() {
		t.Fatal("rx sleep set initially")
	}
	r.SetRxSleep(true)
	if !r.TakeRxSleep() || r.TakeRxSleep() {
		t.Fatal("TakeRxSleep does not take the flag once")
	}
	r.SetTxWait(true)
	if !r.TakeTxWait() || r.TakeTxWait() {
		t.Fatal("TakeTxWait does not take the flag once")
	}
}

// TestCorruptPeer: indices and lengths written by a broken or hostile peer
// are detected, never followed out of bounds.
func TestCorruptPeer(t *testing.T) {
	cases := []func(r *Ring){
		func(r *Ring) { *r.u64(offHead) = r.size * 3 },              // head too far
		func(r *Ring) { *r.u64(offHead) = 16; *r.u64(offTail) = 3 }, // misaligned tail
		func(r *Ring) { binary.LittleEndian.PutUint32(r.data, 1<<30); *r.u64(offHead) = 64 },
		func(r *Ring) { binary.LittleEndian.PutUint32(r.data, 100); *r.u64(offHead) = 16 }, // record past head
	}
	for i, corrupt := range cases {
		r := newRing(t, 4096)
		corrupt(r)
		if _, _, _, err := r.Peek(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("case %d: Peek = %v, want ErrCorrupt", i, err)
		}
	}
	r := newRing(t, 4096)
	*r.u64(offTail) = 1 << 40 // tail ahead of head: used underflows
	if err := r.Put(0, []byte("x")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Put with tail ahead of head: %v", err)
	}
}

// FuzzRing fuzzes the consumer against arbitrary shared memory (a hostile
// peer) and the operation sequence against the model.
func FuzzRing(f *testing.F) {
	f.Add([]byte{}, uint64(1))
	f.Add(bytes.Repeat([]byte{0xff}, 64), uint64(2))
	f.Fuzz(func(t *testing.T, garbage []byte, seed uint64) {
		r := newRing(t, 4096)
		copy(r.mem, garbage) // the peer wrote anything at all
		for range 64 {
			_, p, ok, err := r.Peek()
			if err != nil || !ok {
				break
			}
			if len(p) > r.MaxRecord() {
				t.Fatalf("payload of %d bytes", len(p))
			}
			r.Advance()
		}
		model(t, seed, 4096, 500)
	})
}

func BenchmarkPutPeek(b *testing.B) {
	r := newRing(b, 1<<18)
	p := make([]byte, 64)
	b.SetBytes(64)
	for range b.N {
		r.Put(0, p)
		r.Peek()
		r.Advance()
	}
}

// TestRecords: the record count follows puts and takes, wrap records
// excluded, and a peer's counters cannot make it negative or larger than
// the ring could hold.
func TestRecords(t *testing.T) {
	r, err := New(make([]byte, HeaderSize+4096))
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1000)
	for i := range 50 { // wraps several times: 1008-byte records in 4096 bytes
		for r.Records() < 3 {
			if err := r.Put(1, payload); err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		if _, _, ok, err := r.Peek(); !ok || err != nil {
			t.Fatalf("peek %d: %v %v", i, ok, err)
		}
		r.Advance()
		if n := r.Records(); n != 2 {
			t.Fatalf("round %d: %d records, want 2", i, n)
		}
	}
	*r.u64(offTakes) = *r.u64(offPuts) + 5 // a lying consumer
	if n := r.Records(); n != 0 {
		t.Errorf("takes ahead of puts: %d records", n)
	}
	*r.u64(offTakes), *r.u64(offPuts) = 0, 1<<60
	if n := r.Records(); n > 4096/recHdr {
		t.Errorf("%d records in a 4096-byte ring", n)
	}
}

// TestMaxRecords: a ring whose producer caps its records at n holds at
// most n of them, however small (the unicast layer caps its lower flows at
// 1023, the reference's ring); one taken makes room for one more. Without
// a cap, only the bytes limit it.
func TestMaxRecords(t *testing.T) {
	const limit = 1023
	fill := func(r *Ring) int {
		n := 0
		for ; n < 1<<14; n++ {
			if err := r.Put(0, nil); err != nil {
				if !errors.Is(err, ErrFull) {
					t.Fatalf("put %d: %v", n, err)
				}
				break
			}
		}
		return n
	}
	r := newRing(t, 1<<16) // room in bytes for 8192 empty records
	if n := fill(r); n != 8192 || r.Records() != 8192 {
		t.Fatalf("no cap: %d records put (%d counted), want 8192, the bytes' limit", n, r.Records())
	}
	r = newRing(t, 1<<16)
	r.SetMaxRecords(limit)
	if n := fill(r); n != limit || r.Records() != limit {
		t.Fatalf("%d records put (%d counted), want %d", n, r.Records(), limit)
	}
	if _, _, ok, err := r.Peek(); !ok || err != nil {
		t.Fatalf("peek: %v %v", ok, err)
	}
	r.Advance()
	if err := r.Put(0, nil); err != nil {
		t.Fatalf("put after a take: %v", err)
	}
	if err := r.Put(0, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("put over the limit: %v", err)
	}
	r.SetMaxRecords(0)
	if err := r.Put(0, nil); err != nil {
		t.Fatalf("put after the cap was removed: %v", err)
	}
}
