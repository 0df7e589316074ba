package unicast

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast/dir"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// TestDirectoryTwoMembers: the driver of the DHT between two members whose
// messages go straight to each other: the second bootstraps through the
// first, a name registered at the first is found from the second by a
// remote lookup (the query waits for its result), one registered nowhere is
// not, and each finds its own names locally.
func TestDirectoryTwoMembers(t *testing.T) {
	leakcheck.Check(t)
	const A, B = 0x0a, 0x0b
	var mu sync.Mutex
	dirs := map[uint64]*directory{}
	send := func(dst uint64, msg []byte) {
		mu.Lock()
		d := dirs[dst]
		mu.Unlock()
		if d != nil {
			d.receive(1, 0, msg)
		}
	}
	cfg := dir.Config{IDLen: hash.SHA3_256.Len()}
	a, err := newDirectory(cfg, A, rand.New(rand.NewPCG(1, 2)), send, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	mu.Lock()
	dirs[A] = a
	mu.Unlock()
	cfg.Peer = A
	b, err := newDirectory(cfg, B, rand.New(rand.NewPCG(3, 4)), send, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	mu.Lock()
	dirs[B] = b
	mu.Unlock()

	h, _ := hash.Sum(hash.SHA3_256, "at-a")
	if err := a.register(h); err != nil {
		t.Fatal(err)
	}
	if got, err := a.query(context.Background(), h); err != nil || got != A {
		t.Errorf("A's own name at A: %#x, %v", got, err)
	}
	if got, err := b.Query(h); err != nil || got != A {
		t.Errorf("A's name from B: %#x, %v", got, err)
	}
	none, _ := hash.Sum(hash.SHA3_256, "nowhere")
	if got, err := b.Query(none); !errors.Is(err, oerr.ENAME) {
		t.Errorf("unregistered name from B: %#x, %v", got, err)
	}
	if _, err := a.query(context.Background(), []byte("short")); err == nil {
		t.Error("a key of the wrong length was looked up")
	}
}
