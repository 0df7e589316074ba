package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
)

// fixedRand yields the same IV for every packet.
type fixedRand []byte

func (r fixedRand) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = r[i%len(r)]
	}
	return len(b), nil
}

// Packets of "hello" under key 00…1f, computed with an independent
// implementation (OpenSSL via Python): IV 01…0c for the AEADs, 00…0f for CTR.
// library.md §6.2 reports 33-byte AEAD and 21-byte CTR packets of "hello"
// from the reference.
var helloPackets = map[Cipher]string{
	AES128GCM:        "0102030405060708090a0b0c6e60044a5c0bea0a7e60bae1b27efdff0d96375e67",
	AES192GCM:        "0102030405060708090a0b0c141d7089bc491a188f9e1ef6167e5889b8e4179967",
	AES256GCM:        "0102030405060708090a0b0c6d8f36b98352ea56e00e3a29eba41faf3a910a35cb",
	ChaCha20Poly1305: "0102030405060708090a0b0c0ced280666100d3e34f8c9f9be45ce64d61839abf1",
	AES128CTR:        "000102030405060708090a0b0c0d0e0f62f167d92e",
	AES192CTR:        "000102030405060708090a0b0c0d0e0f6805d39229",
	AES256CTR:        "000102030405060708090a0b0c0d0e0f320b683b67",
}

func TestPacketKnownAnswer(t *testing.T) {
	for c, want := range helloPackets {
		iv := seq(16)
		if c.IsAEAD() {
			iv = seq(13)[1:]
		}
		// The random source sets bit 7 of IV byte 0; the first packet's
		// key phase (0) overwrites it.
		iv[0] |= 0x80
		pc, err := NewPacketCipher(c, seq(32), &PacketOptions{Rand: fixedRand(iv)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := pc.Seal([]byte("hdr"), []byte("hello"))
		if err != nil || string(got[:3]) != "hdr" || hex.EncodeToString(got[3:]) != want {
			t.Errorf("%s: Seal = %x, %v\nwant    %s", c, got[3:], err, want)
		}
		if n := len(got) - 3 - len("hello"); n != pc.Overhead() || n != c.IVSize()+c.TagSize() {
			t.Errorf("%s: overhead %d, Overhead() %d", c, n, pc.Overhead())
		}
		rx, _ := NewPacketCipher(c, seq(32), nil)
		pt, err := rx.Open([]byte("x"), unhex(t, want))
		if err != nil || string(pt) != "xhello" {
			t.Errorf("%s: Open = %q, %v", c, pt, err)
		}
	}
}

func TestPacketGCMZeroVectors(t *testing.T) {
	// McGrew and Viega's GCM test cases 2 and 14: zero key, zero IV, 16 zero
	// bytes (AES-128 and AES-256 use a prefix of the same 32 zero bytes).
	for c, want := range map[Cipher]string{
		AES128GCM: "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf",
		AES256GCM: "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
	} {
		pc, _ := NewPacketCipher(c, make([]byte, 32), &PacketOptions{Rand: fixedRand{0}})
		got, err := pc.Seal(nil, make([]byte, 16))
		if err != nil || hex.EncodeToString(got) != "000000000000000000000000"+want {
			t.Errorf("%s: %x, %v", c, got, err)
		}
	}
}

func TestPacketCTRCounterWraps(t *testing.T) {
	// The whole 16-byte block is one big-endian counter: 7fff…ff + 1 = 8000…00.
	iv := append([]byte{0x7f}, bytes.Repeat([]byte{0xff}, 15)...)
	pc, _ := NewPacketCipher(AES256CTR, seq(32), &PacketOptions{Rand: fixedRand(iv)})
	got, _ := pc.Seal(nil, make([]byte, 40))
	want := "e96b3fff33691eacfce5002037389a68e620f52fe75bbe87ab758c0624943d8b707ef16175ec1f7c"
	if hex.EncodeToString(got[16:]) != want {
		t.Errorf("keystream %x\nwant      %s", got[16:], want)
	}
}

var allCiphers = []Cipher{AES128CTR, AES192CTR, AES256CTR, AES128GCM, AES192GCM, AES256GCM, ChaCha20Poly1305}

func TestPacketRoundTrip(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	msg := make([]byte, 1500)
	rand.Read(msg)
	for _, c := range allCiphers {
		tx, _ := NewPacketCipher(c, key, nil)
		rx, _ := NewPacketCipher(c, key, nil)
		for _, m := range [][]byte{msg, nil, msg[:1]} {
			pkt, err := tx.Seal(nil, m)
			if err != nil || len(pkt) != len(m)+tx.Overhead() {
				t.Fatalf("%s: Seal: %d bytes, %v", c, len(pkt), err)
			}
			pt, err := rx.Open(nil, pkt)
			if err != nil || !bytes.Equal(pt, m) {
				t.Errorf("%s: Open of %d bytes: %v", c, len(m), err)
			}
		}
		// Two packets of the same plaintext differ (fresh IVs).
		a, _ := tx.Seal(nil, msg)
		b, _ := tx.Seal(nil, msg)
		if bytes.Equal(a, b) {
			t.Errorf("%s: two packets are equal", c)
		}
	}
}

func TestPacketTampered(t *testing.T) {
	for _, c := range allCiphers {
		tx, _ := NewPacketCipher(c, seq(32), nil)
		rx, _ := NewPacketCipher(c, seq(32), nil)
		pkt, _ := tx.Seal(nil, []byte("a message of some length"))
		// Flip a bit in the IV (not the phase bit), the ciphertext and the tag.
		for _, i := range []int{1, c.IVSize() + 3, len(pkt) - 1} {
			bad := bytes.Clone(pkt)
			bad[i] ^= 0x04
			out, err := rx.Open([]byte("keep"), bad)
			switch {
			case c.IsAEAD() && (!errors.Is(err, ErrAuthentication) || string(out) != "keep"):
				t.Errorf("%s: byte %d flipped: %q, %v", c, i, out, err)
			case !c.IsAEAD() && (err != nil || bytes.Contains(out, []byte("a message of some length"))):
				t.Errorf("%s: byte %d flipped: CTR gives %q, %v", c, i, out, err)
			}
		}
		// The forged packets changed nothing: the original still opens
		// under the first key.
		if pt, err := rx.Open(nil, pkt); err != nil || string(pt) != "a message of some length" || !rx.equalKey(seq(32)) {
			t.Errorf("%s: original after forgeries: %q, %v", c, pt, err)
		}
		// Another key.
		other, _ := NewPacketCipher(c, bytes.Repeat([]byte{7}, 32), nil)
		if _, err := other.Open(nil, pkt); c.IsAEAD() && !errors.Is(err, ErrAuthentication) {
			t.Errorf("%s: foreign key: %v", c, err)
		}
		// Too short for IV and tag.
		if _, err := rx.Open(nil, pkt[:c.IVSize()+c.TagSize()-1]); !errors.Is(err, ErrShortPacket) {
			t.Errorf("%s: short packet: %v", c, err)
		}
		if _, err := rx.Open(nil, nil); !errors.Is(err, ErrShortPacket) {
			t.Errorf("%s: empty packet: %v", c, err)
		}
	}
}

func TestNewPacketCipherErrors(t *testing.T) {
	for _, c := range []struct {
		nid  Cipher
		key  []byte
		opt  *PacketOptions
		want error
	}{
		{9999, seq(32), nil, ErrUnknownAlgorithm},
		{0, seq(32), nil, ErrUnknownAlgorithm},
		{AES256GCM, seq(16), nil, ErrInvalidKey},
		{AES128GCM, seq(33), nil, ErrInvalidKey},
		{AES256GCM, seq(32), &PacketOptions{RotationBit: 1}, nil},
		{AES256GCM, seq(32), &PacketOptions{RotationBit: 32}, nil},
	} {
		_, err := NewPacketCipher(c.nid, c.key, c.opt)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("NewPacketCipher(%s, %d-byte key, %+v): %v", c.nid, len(c.key), c.opt, err)
		}
	}
	// The key is copied: changing the caller's slice changes nothing.
	k := seq(32)
	pc, _ := NewPacketCipher(AES256GCM, k, nil)
	k[0] = 99
	if !pc.equalKey(seq(32)) {
		t.Error("the context aliases the caller's key")
	}
}

type failingRand struct{}

func (failingRand) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestSealRandFailure(t *testing.T) {
	pc, _ := NewPacketCipher(AES256GCM, seq(32), &PacketOptions{Rand: failingRand{}})
	out, err := pc.Seal([]byte("x"), []byte("y"))
	if err == nil || string(out) != "x" {
		t.Errorf("Seal with a failing random source: %q, %v", out, err)
	}
}

// TestConcurrentSealOpen uses each context from two goroutines at once (a
// writer sealing, a receiver opening), as a flow does. Run with -race.
func TestConcurrentSealOpen(t *testing.T) {
	a, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), nil)
	b, _ := NewPacketCipher(ChaCha20Poly1305, seq(32), nil)
	const n = 500
	errs := make(chan error, 2)
	pipe := func(from, to *PacketCipher) {
		ch := make(chan []byte, 16)
		go func() {
			defer close(ch)
			for i := range n {
				p, _ := from.Seal(nil, []byte{byte(i)})
				ch <- p
			}
		}()
		go func() {
			var err error
			i := 0
			for p := range ch {
				if pt, e := to.Open(nil, p); err == nil && (e != nil || len(pt) != 1 || pt[0] != byte(i)) {
					err = fmt.Errorf("packet %d: %x, %v", i, pt, e)
				}
				i++
			}
			errs <- err
		}()
	}
	pipe(a, b)
	pipe(b, a)
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// benchSizes are the plaintext sizes of the Seal and Open benchmarks, in
// bytes: the 1000 of the benchmark's encrypted flows table (ocbr -s 1000),
// and an Ethernet frame's worth.
var benchSizes = []int{1000, 1500}

// BenchmarkSeal and BenchmarkOpen measure one end's cost per packet, the
// cipher's own work and the context's (IV, counter, lock):
// go test -run '^$' -bench 'Seal|Open' ./internal/crypt
func BenchmarkSeal(b *testing.B) {
	for _, c := range allCiphers {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", c, n), func(b *testing.B) {
				pc, _ := NewPacketCipher(c, seq(32), nil)
				msg := make([]byte, n)
				buf := make([]byte, 0, n+100)
				b.SetBytes(int64(n))
				for b.Loop() {
					buf, _ = pc.Seal(buf[:0], msg)
				}
			})
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, c := range allCiphers {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", c, n), func(b *testing.B) {
				tx, _ := NewPacketCipher(c, seq(32), nil)
				pkt, _ := tx.Seal(nil, make([]byte, n))
				// The packet's phase bit stays equal to the receiver's
				// phase: opening it again and again never rotates the key.
				rx, _ := NewPacketCipher(c, seq(32), nil)
				buf := make([]byte, 0, n+100)
				b.SetBytes(int64(n))
				for b.Loop() {
					if _, err := rx.Open(buf[:0], pkt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestPacketAEADNoAllocs: with room in dst, sealing and opening a packet
// with an AEAD allocates nothing (the IV is written into dst, the
// ciphertext appended after it; the plaintext appended to dst), whatever
// the packet's size.
func TestPacketAEADNoAllocs(t *testing.T) {
	for _, c := range []Cipher{AES128GCM, AES256GCM, ChaCha20Poly1305} {
		tx, _ := NewPacketCipher(c, seq(32), nil)
		rx, _ := NewPacketCipher(c, seq(32), nil)
		msg := make([]byte, 1000)
		buf := make([]byte, 0, 1100)
		out := make([]byte, 0, 1100)
		var err error
		if n := testing.AllocsPerRun(100, func() {
			buf, err = tx.Seal(buf[:0], msg)
			if err == nil {
				out, err = rx.Open(out[:0], buf)
			}
		}); n != 0 || err != nil {
			t.Errorf("%s: %v allocations per packet, %v", c, n, err)
		}
	}
}

// TestDefaultIVsDistinct: with the default random source (fetched in
// batches), the IVs of many packets, across several batches, are all
// different, carry the phase bit clear before the first rotation, and
// every packet opens.
func TestDefaultIVsDistinct(t *testing.T) {
	for _, c := range []Cipher{AES256GCM, ChaCha20Poly1305, AES256CTR} {
		tx, _ := NewPacketCipher(c, seq(32), nil)
		rx, _ := NewPacketCipher(c, seq(32), nil)
		seen := map[string]bool{}
		n := 3 * ivBatch / c.IVSize()
		for i := range n {
			pkt, err := tx.Seal(nil, []byte{byte(i)})
			if err != nil {
				t.Fatal(err)
			}
			iv := string(pkt[:c.IVSize()])
			if seen[iv] || iv[0]&0x80 != 0 {
				t.Fatalf("%s: packet %d: IV %x repeated or with the phase bit", c, i, iv)
			}
			seen[iv] = true
			if pt, err := rx.Open(nil, pkt); err != nil || len(pt) != 1 || pt[0] != byte(i) {
				t.Fatalf("%s: packet %d: open %x, %v", c, i, pt, err)
			}
		}
	}
}
