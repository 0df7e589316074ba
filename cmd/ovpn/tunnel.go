package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
	"github.com/ouroboros-go/ouroboros/qos"
)

// runTunnel gets the flow (allocating or accepting it), opens the device
// and carries packets until a signal or the end of the flow.
func runTunnel(cfg config, out io.Writer) int {
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := signal.NotifyContext(context.Background(),
		syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer cancel()
	var f *flow.Flow
	var err error
	if cfg.name != "" {
		fmt.Fprintf(out, "Allocating a flow to %s.\n", cfg.name)
		q := qos.Raw
		if cfg.timeout > 0 {
			q.Timeout = uint32(cfg.timeout) * 1000
		}
		if f, err = flow.Alloc(ctx, cfg.name, q); err != nil {
			fmt.Fprintln(out, "Failed to allocate flow.")
			tool.Why("ovpn", err)
			return 1
		}
	} else {
		fmt.Fprintln(out, "Waiting for a new flow...")
		if f, err = flow.Accept(ctx); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(out, "Failed to accept flow.")
			tool.Why("ovpn", err)
			return 1
		}
	}
	fmt.Fprintln(out, "Flow allocated.")
	mtu, note := deviceMTU(cfg, f.MaxWrite())
	if note != "" {
		fmt.Fprintln(out, note)
	}
	tun, dev, err := openTUN(cfg.ip, cfg.mask, mtu)
	if err != nil {
		fmt.Fprintln(out, "Failed to open tunnel device.")
		tool.Why("ovpn", err)
		f.Close()
		return 1
	}
	fmt.Fprintf(out, "Tunnel device name is %s.\n", dev)
	fmt.Fprintln(out, "Starting read/write threads.")
	t := &tunnel{flow: f, dev: tun, name: dev, mtu: mtu, log: os.Stderr}
	code := t.run(ctx, out)
	fmt.Fprintf(out, "Sent %d packets, received %d; dropped %d longer than the MTU, %d malformed, %d failed writes.\n",
		t.sent.Load(), t.received.Load(), t.oversize.Load(), t.malformed.Load(), t.failed.Load())
	return code
}

// deviceMTU is the MTU the device gets on a flow whose Write takes at most
// flowMax bytes (flow.Flow.MaxWrite: the layer's largest SDU as its IPCP
// told it): the default lowered to what the flow carries, so that the
// kernel fragments or refuses a longer packet instead of the flow dropping
// it; an MTU given with -M as it is, with a warning when the flow carries
// less. note, if not empty, is the line that says so.
func deviceMTU(cfg config, flowMax int) (mtu int, note string) {
	switch {
	case flowMax >= cfg.mtu:
		return cfg.mtu, ""
	case cfg.mtuSet:
		return cfg.mtu, fmt.Sprintf("Warning: the flow carries packets of at most %d bytes; longer ones will be dropped (MTU %d).", flowMax, cfg.mtu)
	case flowMax < minMTU:
		return cfg.mtu, fmt.Sprintf("Warning: the flow carries packets of at most %d bytes, under the smallest MTU (%d); longer ones will be dropped (MTU %d).", flowMax, minMTU, cfg.mtu)
	}
	return flowMax, fmt.Sprintf("The flow carries packets of at most %d bytes: MTU %d.", flowMax, flowMax)
}

// packetIO is what the tunnel needs of the flow and of the device: packets
// in both directions, and Close to end pending calls.
type packetIO interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
}

// tunnel copies packets between a flow and a TUN device.
type tunnel struct {
	flow packetIO
	dev  packetIO
	name string // of the device, for log lines
	mtu  int    // bytes; longer packets from the device are dropped
	log  io.Writer

	sent, received, oversize, malformed, failed atomic.Int64

	logMu sync.Mutex
}

// run starts the two copies and waits for a signal (exit status 0) or the
// end of the flow (1); then it closes the device (removing the interface)
// and the flow, and waits for both copies to end.
func (t *tunnel) run(ctx context.Context, out io.Writer) int {
	ended := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ended <- t.fromFlow() }()
	go func() { defer wg.Done(); ended <- t.toFlow() }()
	code := 0
	select {
	case <-ctx.Done():
	case err := <-ended:
		fmt.Fprintf(out, "Flow ended: %v.\n", err)
		code = 1
	}
	fmt.Fprintln(out, "Shutting down...")
	t.dev.Close()
	t.flow.Close()
	wg.Wait()
	return code
}

// logDrop says that a packet was dropped, for the 1st, 2nd, 4th, 8th, ...
// drop of its kind, so a stream of bad packets does not flood the log.
func (t *tunnel) logDrop(count int64, format string, args ...any) {
	if bits.OnesCount64(uint64(count)) != 1 {
		return
	}
	t.logMu.Lock()
	defer t.logMu.Unlock()
	fmt.Fprintf(t.log, "ovpn: "+format+" (%d so far)\n", append(args, count)...)
}

// isDown reports whether err says that the flow is down.
func isDown(err error) bool {
	return errors.Is(err, flow.EFLOWDOWN) || errors.Is(err, flow.EFLOWPEER)
}

// closed reports whether err comes from our own Close (test isDown first).
func closed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

// fromFlow writes the flow's packets to the device. It returns why the flow
// ended, or nil when the tunnel was closed.
func (t *tunnel) fromFlow() error {
	buf := make([]byte, flow.MaxSDU)
	for {
		n, err := t.flow.Read(buf)
		switch { // isDown first: EFLOWDOWN also matches net.ErrClosed
		case err != nil && isDown(err):
			return errors.New("the peer left or died")
		case err != nil && closed(err):
			return nil
		case err != nil:
			return fmt.Errorf("reading the flow: %w", err)
		case n == 0:
			continue // the end of a message that filled buf exactly
		}
		pkt, err := ipPacket(buf[:n])
		if err != nil {
			t.logDrop(t.malformed.Add(1), "dropped a message from the flow: %v", err)
			continue
		}
		if _, err := t.dev.Write(pkt); err != nil {
			if closed(err) {
				return nil
			}
			t.logDrop(t.failed.Add(1), "%s refused a packet of %d bytes: %v", t.name, len(pkt), err)
			continue
		}
		t.received.Add(1)
	}
}

// toFlow sends the device's packets on the flow, one per message; a packet
// longer than the MTU is dropped. It returns why the flow ended, or nil
// when the tunnel was closed.
func (t *tunnel) toFlow() error {
	buf := make([]byte, maxMTU+1)
	for {
		n, err := t.dev.Read(buf)
		if err != nil {
			if closed(err) {
				return nil
			}
			return fmt.Errorf("reading %s: %w", t.name, err)
		}
		if n > t.mtu {
			t.logDrop(t.oversize.Add(1), "dropped a packet of %d bytes from %s: longer than the MTU of %d bytes", n, t.name, t.mtu)
			continue
		}
		if n == 0 {
			continue
		}
		if _, err := t.flow.Write(buf[:n]); err != nil {
			switch { // isDown first: EFLOWDOWN also matches net.ErrClosed
			case isDown(err):
				return errors.New("the peer left or died")
			case closed(err):
				return nil
			}
			t.logDrop(t.failed.Add(1), "could not send a packet of %d bytes: %v", n, err)
			continue
		}
		t.sent.Add(1)
	}
}
