package dir

import (
	"bytes"
	"testing"
	"time"
)

// TestUsable: with SetUsable, a lookup skips stored values and forgets a
// remembered answer that the test refuses (an address routing no longer
// reaches), and answers with a usable value; the skipped value stays
// stored. Without it the first value wins.
func TestUsable(t *testing.T) {
	n, _ := newTestNode(t, testConfig(), 5)
	key := bytes.Repeat([]byte{9}, 32)
	const old, cur = 0x0bad, 0x600d
	n.st.putRemote(key, EncodeValue(old), t0.Add(time.Hour), t0)
	n.st.putRemote(key, EncodeValue(cur), t0.Add(time.Hour), t0)
	if a, _, _ := n.Lookup(t0, key); a != old {
		t.Fatalf("without a test: %#x, want the first value %#x", a, old)
	}
	n.SetUsable(func(a uint64) bool { return a != old })
	if a, id, err := n.Lookup(t0, key); a != cur || id != 0 || err != nil {
		t.Errorf("with the test: %#x, %d, %v; want %#x", a, id, err, cur)
	}
	if got := n.st.get(key, t0); len(got) != 2 {
		t.Errorf("%d values stored, want both kept", len(got))
	}

	other := bytes.Repeat([]byte{8}, 32)
	n.cache[string(other)] = cached{addr: old, exp: t0.Add(TCache)}
	if a, id, _ := n.Lookup(t0, other); a != 0 || id != 0 {
		t.Errorf("remembered unusable answer: %#x, lookup %d; want not found (no contacts)", a, id)
	}
	if _, ok := n.cache[string(other)]; ok {
		t.Error("the unusable answer is still remembered")
	}
	n.cache[string(other)] = cached{addr: cur, exp: t0.Add(TCache)}
	if a, _, _ := n.Lookup(t0, other); a != cur {
		t.Errorf("remembered usable answer: %#x", a)
	}
}
