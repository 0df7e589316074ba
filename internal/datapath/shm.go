package datapath

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/shmring"
)

// The shared-memory channel: a sealed memfd, created by the IRMd and passed
// only to the two ends of the flow, holds two SPSC rings (one per direction);
// the socketpair stays as the doorbell and as the peer-death signal.
//
//	offset 0         claim  uint32: the first end to map it takes role 0
//	offset 4096      ring 0 (role 0 -> role 1)
//	offset 4096+R    ring 1 (role 1 -> role 0)
//
// A packet moves without a system call when the reader is busy: the writer
// puts the record in the ring and rings the doorbell (one byte on the socket)
// only if the reader announced it is going to sleep; symmetrically, a writer
// waiting for space announces it and the reader rings back after consuming.
// Each end has one reading goroutine (ReadPacket), which also receives the
// doorbells meant for its writers and wakes them.
const (
	ringData  = 512 << 10 // bytes of data per direction; a quarter is the largest record
	ringBytes = shmring.HeaderSize + ringData
	shmHeader = 4096
	shmSize   = shmHeader + 2*ringBytes
)

// newShm creates the sealed memfd of one channel.
func newShm() (*os.File, error) {
	fd, err := unix.MemfdCreate("o7s-flow", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "o7s-flow")
	if err := f.Truncate(shmSize); err != nil {
		f.Close()
		return nil, err
	}
	// Neither end may resize it: a shrunk mapping would fault the other.
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: %w", err)
	}
	return f, nil
}

// shm is the shared-memory state of an Endpoint.
type shm struct {
	mu      sync.RWMutex // held (read) around ring access; Close takes it to unmap
	mapping []byte
	tx, rx  *shmring.Ring
	txMu    sync.Mutex // serialises this end's producers

	down     atomic.Bool // the peer is gone or the end is closed
	downCh   chan struct{}
	downOnce sync.Once

	spaceMu sync.Mutex
	space   chan struct{} // closed when a doorbell may mean free space

	wdl atomic.Int64 // write deadline, unix ns; 0 = none

	// sockMu is held by whoever reads the socket: the reading goroutine from
	// its sleep announcement until its blocking read returns (so no doorbell
	// meant for it can be taken in between), or a writer that polls for space
	// and the peer's death while no goroutine reads.
	sockMu sync.Mutex

	misses, skip int  // polling statistics of the reading goroutine (see spin)
	noSpin       bool // never poll (SetPolling)
}

// SetPolling turns the reader's brief polling before sleep on or off (on by
// default). A forwarder such as an IPCP turns it off: its polling would take
// the CPU from the processes it forwards between.
func (e *Endpoint) SetPolling(on bool) {
	if e.shm != nil {
		e.shm.noSpin = !on
	}
}

func mapShm(f *os.File) (*shm, error) {
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != shmSize {
		return nil, fmt.Errorf("shared channel of %d bytes, want %d", st.Size(), shmSize)
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&(unix.F_SEAL_SHRINK|unix.F_SEAL_GROW) != unix.F_SEAL_SHRINK|unix.F_SEAL_GROW {
		return nil, errors.New("shared channel is not sealed against resizing")
	}
	m, err := unix.Mmap(int(f.Fd()), 0, shmSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		if errors.Is(err, unix.ENOMEM) {
			// One mapping per flow: a process with tens of thousands of
			// flows meets the host's limit on mappings.
			return nil, fmt.Errorf("mmap: %w (the process may be at the host's limit of memory mappings, vm.max_map_count)", err)
		}
		return nil, fmt.Errorf("mmap: %w", err)
	}
	role := 0
	if !atomic.CompareAndSwapUint32((*uint32)(unsafe.Pointer(&m[0])), 0, 1) {
		role = 1
	}
	r0, err0 := shmring.New(m[shmHeader : shmHeader+ringBytes])
	r1, err1 := shmring.New(m[shmHeader+ringBytes : shmHeader+2*ringBytes])
	if err := errors.Join(err0, err1); err != nil {
		unix.Munmap(m)
		return nil, err
	}
	s := &shm{mapping: m, downCh: make(chan struct{}), space: make(chan struct{})}
	s.tx, s.rx = r0, r1
	if role == 1 {
		s.tx, s.rx = r1, r0
	}
	return s, nil
}

func (s *shm) setDown() { s.downOnce.Do(func() { s.down.Store(true); close(s.downCh) }) }

// wakeWriters tells this end's waiting writers that space may be free.
func (s *shm) wakeWriters() {
	s.spaceMu.Lock()
	close(s.space)
	s.space = make(chan struct{})
	s.spaceMu.Unlock()
}

func (s *shm) spaceChan() chan struct{} {
	s.spaceMu.Lock()
	defer s.spaceMu.Unlock()
	return s.space
}

// doorbell wakes the peer without ever blocking: if the socket is full, the
// peer has doorbells queued already.
func (e *Endpoint) doorbell() {
	rc, err := e.c.SyscallConn()
	if err != nil {
		return
	}
	rc.Write(func(fd uintptr) bool {
		unix.SendmsgN(int(fd), []byte{1}, nil, nil, unix.MSG_DONTWAIT)
		return true
	})
}

var errCorrupt = fmt.Errorf("shared channel corrupt: %w", io.EOF)

// shmRead is ReadPacketInto over the rings.
func (e *Endpoint) shmRead(get func(n int) []byte) (Kind, []byte, error) {
	s := e.shm
	var bells [64]byte
	for {
		s.mu.RLock()
		if s.mapping == nil {
			s.mu.RUnlock()
			return 0, nil, net.ErrClosed
		}
		kind, p, ok, err := s.rx.Peek()
		if err != nil {
			s.mu.RUnlock()
			s.setDown()
			return 0, nil, errCorrupt
		}
		if ok {
			buf := get(1 + len(p))
			n := copy(buf[1:], p)
			s.rx.Advance()
			wake := s.rx.TakeTxWait()
			s.mu.RUnlock()
			if wake {
				e.doorbell()
			}
			if n < len(p) {
				return 0, nil, ErrTooBig
			}
			return Kind(kind), buf[1 : 1+n], nil
		}
		if s.down.Load() {
			s.mu.RUnlock()
			return 0, nil, io.EOF
		}
		s.mu.RUnlock()
		if e.spin() {
			continue
		}
		// Announce sleep, then look again before blocking (see shmring).
		s.sockMu.Lock()
		s.mu.RLock()
		empty := true
		if s.mapping != nil {
			s.rx.SetRxSleep(true)
			empty = s.rx.Empty()
		}
		s.mu.RUnlock()
		if !empty {
			s.sockMu.Unlock()
			continue
		}
		n, err := e.c.Read(bells[:])
		s.sockMu.Unlock()
		if err != nil || n == 0 {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, nil, err
			}
			// The peer is gone: drain what it left, then EOF.
			s.setDown()
			continue
		}
		s.wakeWriters()
	}
}

// shmWrite is WritePacket over the rings; with nonblock it never waits.
func (e *Endpoint) shmWrite(kind Kind, pkt []byte, nonblock bool) error {
	s := e.shm
	for {
		if s.down.Load() {
			return &net.OpError{Op: "write", Net: "shm", Err: os.NewSyscallError("write", unix.EPIPE)}
		}
		err := e.shmPut(kind, pkt[1:])
		if err == nil || !errors.Is(err, shmring.ErrFull) {
			return err
		}
		if nonblock {
			return ErrWouldBlock
		}
		// Take the wake-up channel, announce the wait, then try once more
		// before blocking: a doorbell that follows the announcement closes
		// this channel. (Not on the fast path: only once the ring is full.)
		space := s.spaceChan()
		s.mu.RLock()
		if s.mapping != nil {
			s.tx.SetTxWait(true)
		}
		s.mu.RUnlock()
		if err := e.shmPut(kind, pkt[1:]); err == nil || !errors.Is(err, shmring.ErrFull) {
			return err
		}
		if err := e.waitSpace(space); err != nil {
			return err
		}
	}
}

// waitSpace blocks until space may be free, the peer goes, or the write
// deadline (re-read on every wake-up: SetWriteDeadline wakes the writers)
// passes. The peer's "space" doorbell arrives on the socket, which the
// reading goroutine reads; when no goroutine is reading, the writer drains the
// socket itself (noticing the peer's death) and polls the ring every 100 µs,
// so it never depends on a reader it lacks.
func (e *Endpoint) waitSpace(space chan struct{}) error {
	s := e.shm
	var poll <-chan time.Time
	if s.sockMu.TryLock() {
		// Nobody reads the socket: look for the peer's end ourselves.
		e.drainDoorbells()
		s.sockMu.Unlock()
		t := time.NewTimer(100 * time.Microsecond)
		defer t.Stop()
		poll = t.C
	}
	var timer <-chan time.Time
	if dl := s.wdl.Load(); dl != 0 {
		d := time.Until(time.Unix(0, dl))
		if d <= 0 {
			return &net.OpError{Op: "write", Net: "shm", Err: os.ErrDeadlineExceeded}
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-space:
	case <-poll:
	case <-s.downCh:
	case <-timer:
		return &net.OpError{Op: "write", Net: "shm", Err: os.ErrDeadlineExceeded}
	}
	return nil
}

func (e *Endpoint) shmPut(kind Kind, payload []byte) error {
	s := e.shm
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mapping == nil {
		return net.ErrClosed
	}
	s.txMu.Lock()
	err := s.tx.Put(byte(kind), payload)
	s.txMu.Unlock()
	switch {
	case err == nil:
		if s.tx.TakeRxSleep() {
			e.doorbell()
		}
		return nil
	case errors.Is(err, shmring.ErrTooBig):
		return ErrTooBig
	case errors.Is(err, shmring.ErrCorrupt):
		s.setDown()
		return errCorrupt
	}
	return err
}

func (e *Endpoint) shmClose() {
	s := e.shm
	s.setDown()
	s.mu.Lock()
	if s.mapping != nil {
		unix.Munmap(s.mapping)
		s.mapping = nil
	}
	s.mu.Unlock()
}

// drainDoorbells reads the queued doorbells without blocking and notes the
// peer's end (EOF). Called with sockMu held.
func (e *Endpoint) drainDoorbells() {
	rc, err := e.c.SyscallConn()
	if err != nil {
		e.shm.setDown()
		return
	}
	var buf [64]byte
	rc.Read(func(fd uintptr) bool {
		for {
			n, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_DONTWAIT)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return true
			case err != nil || n == 0:
				e.shm.setDown()
				return true
			}
		}
	})
}

// spinFor is how long a reader polls its ring before it announces sleep: a
// reply usually comes within a round trip, and catching it by polling saves
// both sides a wake-up through the kernel (the largest cost of a round trip).
// Polling only pays when the peer can run meanwhile: after four polls in a row
// that caught nothing (a slow peer, or more busy processes than cores), the
// reader skips polling for its next spinSkip sleeps.
const (
	spinFor  = 20 * time.Microsecond
	spinSkip = 16
)

// spin polls the rx ring for up to spinFor, yielding between polls; it reports
// whether a record arrived. Only the reading goroutine calls it.
func (e *Endpoint) spin() bool {
	s := e.shm
	if s.noSpin {
		return false
	}
	if s.skip > 0 {
		s.skip--
		return false
	}
	deadline := time.Now().Add(spinFor)
	for time.Now().Before(deadline) {
		runtime.Gosched()
		s.mu.RLock()
		ready := s.mapping == nil || !s.rx.Empty() || s.down.Load()
		s.mu.RUnlock()
		if ready {
			s.misses = 0
			return true
		}
	}
	if s.misses++; s.misses >= 4 {
		s.misses, s.skip = 0, spinSkip
	}
	return false
}
