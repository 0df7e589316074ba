package reg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/hash"
)

// A lookup by digest computes no digest: it does not walk the names. Creating
// or destroying a name computes one digest per algorithm in use, whatever the
// number of names. (Before the index, every lookup hashed every name.)
func TestNameByHashDoesNotScan(t *testing.T) {
	t.Parallel()
	r := New()
	const n = 5000
	for i := range n {
		if err := r.CreateName(NameInfo{Name: fmt.Sprintf("name-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	sum := func(a hash.Algo, name string) []byte {
		d, err := hash.Sum(a, name)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// The first lookup with an algorithm builds its table: one digest per name.
	if got, ok := r.NameByHash(hash.SHA3_256, sum(hash.SHA3_256, "name-17")); !ok || got != "name-17" {
		t.Fatalf("NameByHash(name-17) = %q, %v", got, ok)
	}
	if r.idx.sums != n {
		t.Fatalf("building the table computed %d digests, want %d", r.idx.sums, n)
	}
	r.idx.sums = 0
	for i := 0; i < n; i += 97 {
		name := fmt.Sprintf("name-%d", i)
		if got, ok := r.NameByHash(hash.SHA3_256, sum(hash.SHA3_256, name)); !ok || got != name {
			t.Fatalf("NameByHash(%s) = %q, %v", name, got, ok)
		}
	}
	if _, ok := r.NameByHash(hash.SHA3_256, sum(hash.SHA3_256, "absent")); ok {
		t.Error("found a name that does not exist")
	}
	if r.idx.sums != 0 {
		t.Errorf("lookups computed %d digests, want 0", r.idx.sums)
	}
	// A second algorithm gets its own table; both are maintained.
	if got, ok := r.NameByHash(hash.MD5, sum(hash.MD5, "name-3")); !ok || got != "name-3" {
		t.Fatalf("NameByHash(MD5, name-3) = %q, %v", got, ok)
	}
	r.idx.sums = 0
	if err := r.CreateName(NameInfo{Name: "new"}); err != nil {
		t.Fatal(err)
	}
	mustProc(t, r, 42, "prog")
	if err := r.BindProcess(42, "bound-new"); err != nil { // creates the name
		t.Fatal(err)
	}
	if err := r.DestroyName("name-3"); err != nil {
		t.Fatal(err)
	}
	if r.idx.sums != 6 { // two algorithms, three changes
		t.Errorf("three changes computed %d digests, want 6", r.idx.sums)
	}
	for _, a := range []hash.Algo{hash.SHA3_256, hash.MD5} {
		for _, name := range []string{"new", "bound-new"} {
			if got, ok := r.NameByHash(a, sum(a, name)); !ok || got != name {
				t.Errorf("NameByHash(%v, %s) = %q, %v", a, name, got, ok)
			}
		}
		if _, ok := r.NameByHash(a, sum(a, "name-3")); ok {
			t.Errorf("%v: destroyed name still found", a)
		}
	}
	if _, ok := r.NameByHash(hash.Algo(99), []byte{1}); ok {
		t.Error("unknown algorithm found a name")
	}
}

// Names whose digests collide resolve to the first in strcmp order, as the walk
// over sorted names did. CRC32 collides often enough to find a pair quickly
// among random names (a birthday search: about 80,000 of them).
func TestNameByHashCollision(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	var a, b string
	rng := rand.New(rand.NewPCG(1, 2))
	for a == "" {
		name := fmt.Sprintf("c%016x", rng.Uint64())
		d, _ := hash.Sum(hash.CRC32, name)
		if o, ok := seen[string(d)]; ok {
			a, b = o, name
		}
		seen[string(d)] = name
	}
	first, second := min(a, b), max(a, b)
	r := New()
	r.CreateName(NameInfo{Name: second})
	d, _ := hash.Sum(hash.CRC32, first)
	if got, _ := r.NameByHash(hash.CRC32, d); got != second {
		t.Fatalf("alone: %q, want %q", got, second)
	}
	r.CreateName(NameInfo{Name: first})
	if got, _ := r.NameByHash(hash.CRC32, d); got != first {
		t.Errorf("with both: %q, want %q", got, first)
	}
	r.DestroyName(first)
	if got, _ := r.NameByHash(hash.CRC32, d); got != second {
		t.Errorf("after destroy: %q, want %q", got, second)
	}
}

// BenchmarkNameByHash: the time per lookup does not grow with the names.
func BenchmarkNameByHash(b *testing.B) {
	for _, n := range []int{10, 100000} {
		b.Run(fmt.Sprintf("names=%d", n), func(b *testing.B) {
			r := New()
			for i := range n {
				r.CreateName(NameInfo{Name: fmt.Sprintf("name-%d", i)})
			}
			d, _ := hash.Sum(hash.SHA3_256, "name-7")
			r.NameByHash(hash.SHA3_256, d)
			b.ResetTimer()
			for b.Loop() {
				if _, ok := r.NameByHash(hash.SHA3_256, d); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}
