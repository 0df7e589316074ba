package dt

import (
	"sync"
	"testing"

	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/qos"
)

func TestSchedPriority(t *testing.T) {
	s := NewSched(2, 8)
	s.Put(qos.CubeBE, []byte("be1"))
	s.Put(qos.CubeVideo, []byte("vid"))
	s.Put(qos.CubeBE, []byte("be2"))
	if s.Put(qos.CubeBE, []byte("be3")) {
		t.Error("full queue took a packet")
	}
	s.Put(qos.CubeVoice, []byte("voc"))
	if s.Put(qos.CubeVoice, []byte("much too long")) {
		t.Error("oversized packet taken")
	}
	buf := make([]byte, 8)
	var got []string
	for range 4 {
		_, n, ok := s.Get(buf)
		if !ok {
			t.Fatal("closed")
		}
		got = append(got, string(buf[:n]))
	}
	want := []string{"voc", "vid", "be1", "be2"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if s.Drops(qos.CubeBE) != 1 || s.Drops(qos.CubeVoice) != 1 {
		t.Errorf("drops %d %d", s.Drops(qos.CubeBE), s.Drops(qos.CubeVoice))
	}
}

func TestSchedClose(t *testing.T) {
	leakcheck.Check(t)
	s := NewSched(4, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	n := 0
	go func() {
		defer wg.Done()
		buf := make([]byte, 4)
		for {
			if _, _, ok := s.Get(buf); !ok {
				return
			}
			n++
		}
	}()
	s.Put(qos.CubeBE, []byte("a"))
	s.Close()
	wg.Wait()
	if n > 1 || s.Put(qos.CubeBE, []byte("b")) {
		t.Errorf("after close: %d got, put accepted", n)
	}
}

func TestSchedNoAllocs(t *testing.T) {
	s := NewSched(4, 64)
	p, buf := make([]byte, 60), make([]byte, 64)
	if n := testing.AllocsPerRun(1000, func() { s.Put(qos.CubeVideo, p); s.Get(buf) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
