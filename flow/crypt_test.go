package flow

import (
	"bytes"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/crypt"
	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/datapath"
	"github.com/ouroboros-go/ouroboros/internal/leakcheck"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
	"google.golang.org/protobuf/proto"
)

var testKey = bytes.Repeat([]byte{0x5a}, 32)

// cryptPair returns two flows that share cipher c and testKey, as the IRMd
// sets them up from an allocation reply.
func cryptPair(t testing.TB, c crypt.Cipher, q qos.Spec) (*Flow, *Flow) {
	t.Helper()
	leakcheck.Check(t)
	ea, eb := endpoints(t, testShm())
	p := testProcess(t)
	fa, fb := cryptFlow(t, p, ea, c, q), cryptFlow(t, p, eb, c, q)
	startFlows(t, p, fa, fb)
	t.Cleanup(func() { fa.Close(); fb.Close() })
	return fa, fb
}

// cryptFlow returns a flow of p on ep with cipher c and testKey, as the
// IRMd's allocation reply sets it up.
func cryptFlow(t testing.TB, p *process, ep *datapath.Endpoint, c crypt.Cipher, q qos.Spec) *Flow {
	t.Helper()
	f := newFlowOn(p, ep, ctrl.FlowInfo{ID: 1, QoS: q}, "")
	var err error
	// flowCipher wipes the reply's key, as it does the IRMd's: a copy.
	if f.pc, err = flowCipher(&pb.IrmMsg{CipherNid: proto.Int32(int32(c)), SymKey: bytes.Clone(testKey)}); err != nil {
		t.Fatal(err)
	}
	return f
}

// cryptPairRotating is cryptPair with keys that rotate every 2^rotBit
// packets (0: the default period).
func cryptPairRotating(t testing.TB, c crypt.Cipher, q qos.Spec, rotBit int) (*Flow, *Flow) {
	t.Helper()
	leakcheck.Check(t)
	ea, eb := endpoints(t, testShm())
	p := testProcess(t)
	fa, fb := cryptFlow(t, p, ea, c, q), cryptFlow(t, p, eb, c, q)
	for _, f := range []*Flow{fa, fb} {
		pc, err := crypt.NewPacketCipher(c, testKey, &crypt.PacketOptions{RotationBit: rotBit})
		if err != nil {
			t.Fatal(err)
		}
		f.pc.Close()
		f.pc = pc
	}
	startFlows(t, p, fa, fb)
	t.Cleanup(func() { fa.Close(); fb.Close() })
	return fa, fb
}

// rawPair returns an encrypted flow and the raw other end of its channel,
// over shared memory or a socketpair.
func rawPair(t *testing.T, c crypt.Cipher, q qos.Spec, shm bool) (*Flow, *datapath.Endpoint) {
	t.Helper()
	leakcheck.Check(t)
	ea, raw := endpoints(t, shm)
	p := testProcess(t)
	f := cryptFlow(t, p, ea, c, q)
	startFlows(t, p, f)
	t.Cleanup(func() { raw.Close(); f.Close() })
	return f, raw
}

// TestEncryptedFlowEachCipher: messages cross an encrypted flow, raw and
// reliable (FRCT inside the encryption), with and without CRC, for every
// cipher.
func TestEncryptedFlowEachCipher(t *testing.T) {
	for _, c := range []crypt.Cipher{crypt.AES128CTR, crypt.AES192CTR, crypt.AES256CTR, crypt.AES128GCM,
		crypt.AES192GCM, crypt.AES256GCM, crypt.ChaCha20Poly1305} {
		for _, q := range []qos.Spec{{BER: 1}, {BER: 0}, {BER: 1, InOrder: 1}, qos.Data} {
			q.Timeout = 0
			t.Run(c.String(), func(t *testing.T) {
				a, b := cryptPair(t, c, q)
				if a.Encryption() != c.String() {
					t.Errorf("Encryption() = %q", a.Encryption())
				}
				b.SetReadTimeout(20 * time.Second)
				a.SetReadTimeout(20 * time.Second)
				buf := make([]byte, 4096)
				for i := range 50 {
					msg := bytes.Repeat([]byte{byte(i)}, 1+i*37)
					if _, err := a.Write(msg); err != nil {
						t.Fatal(err)
					}
					n, err := b.Read(buf)
					if err != nil || !bytes.Equal(buf[:n], msg) {
						t.Fatalf("message %d: %d bytes, %v", i, n, err)
					}
					if _, err := b.Write(msg[:1]); err != nil {
						t.Fatal(err)
					}
					if n, err := a.Read(buf); err != nil || n != 1 {
						t.Fatalf("reply %d: %d bytes, %v", i, n, err)
					}
				}
				// FRCT's ACKs and window updates are encrypted too: neither
				// end dropped anything.
				if da, db := a.Drops(), b.Drops(); da != (DropStats{}) || db != (DropStats{}) {
					t.Errorf("drops %+v %+v", da, db)
				}
			})
		}
	}
}

// TestEncryptedFlowWire: what an encrypted flow writes is IV ‖ ciphertext ‖
// tag under the flow key, and not the plaintext; MaxSDU shrinks by the
// overhead.
func TestEncryptedFlowWire(t *testing.T) {
	f, raw := rawPair(t, crypt.AES256GCM, qos.Spec{BER: 1}, false)
	msg := []byte("attack at dawn, attack at dawn")
	if _, err := f.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, datapath.MaxSDU+1)
	kind, sdu, err := raw.ReadPacket(buf)
	if err != nil || kind != datapath.KindData {
		t.Fatalf("read: %v %v", kind, err)
	}
	if len(sdu) != len(msg)+12+16 || bytes.Contains(sdu, msg[:8]) {
		t.Fatalf("packet %x", sdu)
	}
	pc, _ := crypt.NewPacketCipher(crypt.AES256GCM, testKey, nil)
	if pt, err := pc.Open(nil, sdu); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("open = %q, %v", pt, err)
	}
	if _, err := f.Write(make([]byte, datapath.MaxSDU-28+1)); err == nil {
		t.Error("a message that does not fit once encrypted was accepted")
	}
}

// TestTamperedPacketDropped: a packet whose ciphertext or tag was changed on
// the way, one under another key and one too short are dropped and
// counted; the good packets around them are delivered. Over shared memory
// the reader waits first, so that the packets reach it by the hot read
// path (the reader takes them from the ring itself) as well as by the
// receive goroutine.
func TestTamperedPacketDropped(t *testing.T) {
	for _, shm := range []bool{false, true} {
		t.Run(map[bool]string{false: "socket", true: "shm"}[shm], func(t *testing.T) {
			testTamperedPacketDropped(t, shm)
		})
	}
}

func testTamperedPacketDropped(t *testing.T, shm bool) {
	f, raw := rawPair(t, crypt.ChaCha20Poly1305, qos.Spec{BER: 1}, shm)
	f.SetReadTimeout(20 * time.Second)
	pc, _ := crypt.NewPacketCipher(crypt.ChaCha20Poly1305, testKey, nil)
	other, _ := crypt.NewPacketCipher(crypt.ChaCha20Poly1305, bytes.Repeat([]byte{1}, 32), nil)
	send := func(c *crypt.PacketCipher, msg string, mangle func([]byte)) {
		pkt, err := c.Seal([]byte{0}, []byte(msg))
		if err != nil {
			t.Error(err)
			return
		}
		mangle(pkt[1:])
		if err := raw.WritePacket(datapath.KindData, pkt); err != nil {
			t.Error(err)
		}
	}
	keep := func([]byte) {}
	got := make(chan string, 3)
	go func() {
		defer close(got)
		buf := make([]byte, 100)
		for range 3 {
			n, err := f.Read(buf)
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			got <- string(buf[:n])
		}
	}()
	send(pc, "first", keep)
	send(pc, "flipped", func(b []byte) { b[14] ^= 1 })
	send(pc, "tag", func(b []byte) { b[len(b)-1] ^= 0x80 })
	send(other, "other key", keep)
	send(pc, "second", keep)
	if err := raw.WritePacket(datapath.KindData, []byte{0, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	send(pc, "last", keep)
	for _, want := range []string{"first", "second", "last"} {
		if s, ok := <-got; !ok || s != want {
			t.Fatalf("read %q; want %q", s, want)
		}
	}
	if d := f.Drops(); d.Unauthenticated != 3 || d.Malformed != 1 {
		t.Errorf("drops %+v, want 3 unauthenticated and 1 malformed", d)
	}
}

// TestEncryptedFlowBurst: a burst of distinct messages on an encrypted flow,
// raw or reliable, arrives whole and in order while the reader lags and
// while it waits (so that both the receive goroutine and the hot read path
// queue packets, or hand them to FRCT): no queued message shares a buffer
// that is reused for a later packet.
func TestEncryptedFlowBurst(t *testing.T) {
	reliable := qos.Data
	reliable.Timeout, reliable.BER = 0, 1 // as Alloc asks: no CRC, so the hot read path
	for _, c := range []crypt.Cipher{crypt.AES256GCM, crypt.ChaCha20Poly1305} {
		for _, q := range []qos.Spec{{BER: 1}, reliable} {
			t.Run(c.String(), func(t *testing.T) { testEncryptedFlowBurst(t, c, q, 0) })
		}
	}
	// Keys rotating every 128 packets: the reader tries the current,
	// previous and next keys on the packet as it came. (On a raw flow, one
	// way, the two ends' counters agree; FRCT's ACKs, sealed and opened on
	// the same counters, make them differ, and so many rotations then cost
	// drops.)
	t.Run("rotating", func(t *testing.T) { testEncryptedFlowBurst(t, crypt.AES256GCM, qos.Spec{BER: 1}, 7) })
}

func testEncryptedFlowBurst(t *testing.T, c crypt.Cipher, q qos.Spec, rotBit int) {
	a, b := cryptPairRotating(t, c, q, rotBit)
	b.SetReadTimeout(20 * time.Second)
	const n = 3000
	msg := func(i int) []byte {
		m := make([]byte, 1+i%1400)
		for j := range m {
			m[j] = byte(i + j)
		}
		return m
	}
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := a.Write(msg(i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, 2048)
	for i := range n {
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // let the queue fill: not a synchronization
		}
		k, err := b.Read(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(buf[:k], msg(i)) {
			t.Fatalf("message %d: %d bytes differ from the %d sent", i, k, len(msg(i)))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if d := b.Drops(); d != (DropStats{}) {
		t.Errorf("drops %+v", d)
	}
}

// TestCloseWipesFlowKeys: the key of the allocation reply is zeroed once
// the flow's cipher has its copy, and closing an encrypted flow, raw or
// reliable, zeroes every key buffer of its cipher (crypt's Wiped); a packet
// that was in hand when the flow closed is not counted as a drop.
func TestCloseWipesFlowKeys(t *testing.T) {
	rep := &pb.IrmMsg{CipherNid: proto.Int32(int32(crypt.AES256GCM)), SymKey: bytes.Clone(testKey)}
	pc, err := flowCipher(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rep.SymKey, make([]byte, 32)) {
		t.Errorf("reply key not wiped: %x", rep.SymKey)
	}
	pc.Close()
	for _, q := range []qos.Spec{{BER: 1}, {BER: 1, InOrder: 1, Loss: 0, Delay: 1000, MaxGap: 2000}} {
		a, b := cryptPair(t, crypt.ChaCha20Poly1305, q)
		b.SetReadTimeout(20 * time.Second)
		if _, err := a.Write([]byte("before close")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		if n, err := b.Read(buf); err != nil || string(buf[:n]) != "before close" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
		if a.pc.Wiped() || b.pc.Wiped() {
			t.Fatal("keys wiped while the flow is open")
		}
		a.Close()
		b.Close()
		if !a.pc.Wiped() || !b.pc.Wiped() {
			t.Errorf("QoS %+v: keys left after Close: %v %v", q, a.pc.Wiped(), b.pc.Wiped())
		}
		if _, ok := b.open(make([]byte, 40)); ok || b.Drops() != (DropStats{}) {
			t.Errorf("a packet after Close opened or counted: %+v", b.Drops())
		}
	}
}
