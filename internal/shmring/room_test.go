package shmring

import (
	"math/rand/v2"
	"testing"
)

// TestRoomAgreesWithPut: whatever the ring holds (wrapped or not, with or
// without a record cap), Room(n) is true exactly when a Put of n bytes
// succeeds, for payloads that fit a record at all.
func TestRoomAgreesWithPut(t *testing.T) {
	for _, maxRecs := range []int{0, 5} {
		r := newRing(t, 4096)
		r.SetMaxRecords(maxRecs)
		rng := rand.New(rand.NewPCG(uint64(maxRecs), 11))
		for step := range 20000 {
			n := rng.IntN(r.MaxRecord() + 1)
			if rng.IntN(3) == 0 {
				if _, _, ok, err := r.Peek(); err != nil {
					t.Fatal(err)
				} else if ok {
					r.Advance()
				}
				continue
			}
			room := r.Room(n)
			err := r.Put(1, make([]byte, n))
			if room != (err == nil) {
				t.Fatalf("step %d (cap %d): Room(%d) = %v, Put: %v (used %d)", step, maxRecs, n, room, err, r.Used())
			}
		}
	}
	// A payload no record can hold: Room lets the caller go on to Put's error.
	r := newRing(t, 4096)
	if !r.Room(r.MaxRecord() + 1) {
		t.Error("Room of an oversized payload is false; the caller would wait forever")
	}
}
