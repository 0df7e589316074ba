package flow

import (
	"bytes"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/qos"
)

// TestEncryptedFRCTHotRead: a reader of an encrypted reliable flow over
// shared memory takes the packets from the ring itself (hotRead), as on a
// plaintext FRCT flow: the good packets are decrypted and delivered in
// order, a forged one between them is dropped and counted. The reader's
// receive goroutine is started only afterwards, so the packets can reach
// the queue by no other way.
func TestEncryptedFRCTHotRead(t *testing.T) {
	a, b, ea, start := hotPair(t, crypt.AES256GCM)
	if _, err := a.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	other, _ := crypt.NewPacketCipher(crypt.AES256GCM, bytes.Repeat([]byte{1}, 32), nil)
	forged, _ := other.Seal([]byte{0}, make([]byte, frctHeader+6))
	if err := ea.WritePacket(datapath.KindData, forged); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	// The three records are in b.s ring (a shared-memory write returns
	// once its record is there): a non-blocking hot read takes them all.
	if got, _ := b.hotRead(time.Time{}); !got {
		t.Fatal("hotRead took nothing from the ring of an encrypted FRCT flow")
	}
	b.mu.Lock()
	n := b.queued()
	b.mu.Unlock()
	if n != 2 {
		t.Errorf("%d messages queued by the hot read, want 2", n)
	}
	if d := b.Drops(); d.Unauthenticated != 1 || d.Malformed != 0 {
		t.Errorf("drops %+v, want 1 unauthenticated", d)
	}
	start()
	b.SetReadTimeout(20 * time.Second)
	buf := make([]byte, 100)
	for _, want := range []string{"first", "second"} {
		k, err := b.Read(buf)
		if err != nil || string(buf[:k]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:k], err, want)
		}
	}
	// The flow goes on: a reply crosses back, and more data after it.
	a.SetReadTimeout(20 * time.Second)
	if _, err := b.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	if k, err := a.Read(buf); err != nil || string(buf[:k]) != "reply" {
		t.Fatalf("reply %q, %v", buf[:k], err)
	}
	if _, err := a.Write([]byte("third")); err != nil {
		t.Fatal(err)
	}
	if k, err := b.Read(buf); err != nil || string(buf[:k]) != "third" {
		t.Fatalf("third %q, %v", buf[:k], err)
	}
}

// TestEncryptedFRCTHotReadKeepsPlaintext: packets a hot read decrypted for
// FRCT stay intact while later packets are decrypted, by the receive
// goroutine or by the next hot read: each is kept in its own buffer. The
// reader first leaves many packets in FRCT's hands (behind a hole, or
// queued), and only then reads them all.
func TestEncryptedFRCTHotReadKeepsPlaintext(t *testing.T) {
	a, b, _, start := hotPair(t, crypt.ChaCha20Poly1305)
	msg := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100+i) }
	const n = 64 // well within the channel's and FRCT's windows
	for i := range n {
		if _, err := a.Write(msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		if got, _ := b.hotRead(time.Time{}); !got {
			break
		}
	}
	start()
	b.SetReadTimeout(20 * time.Second)
	for i := n; i < 2*n; i++ { // these by the receive goroutine or Read
		if _, err := a.Write(msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1000)
	for i := range 2 * n {
		k, err := b.Read(buf)
		if err != nil || !bytes.Equal(buf[:k], msg(i)) {
			t.Fatalf("message %d: %d bytes, %v", i, k, err)
		}
	}
	if d := b.Drops(); d != (DropStats{}) {
		t.Errorf("drops %+v", d)
	}
}

// hotPair returns two encrypted reliable flows (no CRC, as Alloc asks) over
// shared memory, a's end of the channel, and start, which starts b's receive
// goroutine: until then only a hot read takes b's packets from the ring.
func hotPair(t *testing.T, c crypt.Cipher) (a, b *Flow, ea *datapath.Endpoint, start func()) {
	t.Helper()
	leakcheck.Check(t)
	ea, eb := endpoints(t, true)
	p := testProcess(t)
	q := qos.Data
	q.Timeout, q.BER = 0, 1
	a, b = cryptFlow(t, p, ea, c, q), cryptFlow(t, p, eb, c, q)
	startFlows(t, p, a)
	if err := p.addFlow(b); err != nil {
		t.Fatal(err)
	}
	started := false
	start = func() {
		if !started {
			started = true
			b.start()
		}
	}
	t.Cleanup(func() {
		start() // Close waits for the receive goroutine
		a.Close()
		b.Close()
	})
	return a, b, ea, start
}
