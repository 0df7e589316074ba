// Command ethclient is a helper of the Ethernet end-to-end tests
// (e2e/eth_test.go), which build it and run it inside a host's network
// namespace. It prints one summary line the test checks.
//
//	ethclient serve NAME             bind to NAME, echo on every flow; a "close"
//	                                 message is echoed and then the flow closed
//	ethclient flows NAME N [extra]   N flows at once, 10 echoes on each; with
//	                                 extra, one more allocation while all N are
//	                                 held, its outcome printed ("extra: ...")
//	ethclient loop NAME N            N allocations in a row, one echo each
//	ethclient hold NAME              one flow with a 1 s peer timeout, echoes
//	                                 until it fails, then prints the error
//	ethclient stream NAME N          one raw flow, N numbered echoes 10 ms
//	                                 apart, read without a timeout; prints
//	                                 what came back and the longest gap
//	ethclient flood DEV DST dix|llc N  N malformed, stray and bogus frames
//	                                 from a raw socket on DEV to MAC DST
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

func main() {
	defer flow.Fini()
	if len(os.Args) < 3 {
		fail("usage: ethclient serve|flows|loop|hold|flood ...")
	}
	name := os.Args[2]
	n := 1
	if len(os.Args) > 3 && os.Args[1] != "flood" {
		n = atoi(os.Args[3])
	}
	switch os.Args[1] {
	case "serve":
		serve(name)
	case "flows":
		flows(name, n, len(os.Args) > 4 && os.Args[4] == "extra")
	case "loop":
		start := time.Now()
		for i := range n {
			f := alloc(name, qos.Raw)
			echo(f, "close")
			f.Close()
			if i == 0 {
				start = time.Now()
			}
		}
		fmt.Printf("loop ok %d in %v\n", n, time.Since(start).Round(time.Millisecond))
	case "hold":
		q := qos.Raw
		q.Timeout = 1000
		f := alloc(name, q)
		for i := 0; ; i++ {
			if err := try(f, "ping "+strconv.Itoa(i)); err != nil {
				fmt.Printf("hold: %v\n", err)
				f.Close()
				return
			}
			if i == 0 {
				fmt.Println("echoing")
			}
			time.Sleep(10 * time.Millisecond)
		}
	case "stream":
		stream(name, n)
	case "flood":
		if len(os.Args) != 6 {
			fail("usage: ethclient flood DEV DST dix|llc N")
		}
		flood(os.Args[2], os.Args[3], os.Args[4] == "llc", atoi(os.Args[5]))
	default:
		fail("unknown mode " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Println("FAIL", msg)
	flow.Fini()
	os.Exit(1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err.Error())
	}
	return n
}

func alloc(name string, q qos.Spec) *flow.Flow {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, err := flow.Alloc(ctx, name, q)
	if err != nil {
		fail("alloc: " + err.Error())
	}
	return f
}

// try writes msg and reads it back.
func try(f *flow.Flow, msg string) error {
	if _, err := f.Write([]byte(msg)); err != nil {
		return err
	}
	f.SetReadTimeout(10 * time.Second)
	buf := make([]byte, 256)
	n, err := f.Read(buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != msg {
		return fmt.Errorf("echo %q, want %q", buf[:n], msg)
	}
	return nil
}

func echo(f *flow.Flow, msg string) {
	if err := try(f, msg); err != nil {
		fail(fmt.Sprintf("flow %d: %v", f.ID(), err))
	}
}

func serve(name string) {
	if err := flow.Init(); err != nil {
		fail("init: " + err.Error())
	}
	var c irm.Client
	if err := c.BindProcess(context.Background(), os.Getpid(), name); err != nil {
		fail("bind: " + err.Error())
	}
	fmt.Println("ready")
	for {
		f, err := flow.Accept(context.Background())
		if err != nil {
			fail("accept: " + err.Error())
		}
		go func() {
			defer f.Close()
			buf := make([]byte, flow.MaxSDU)
			for {
				n, err := f.Read(buf)
				if err != nil {
					return
				}
				if _, err := f.Write(buf[:n]); err != nil || string(buf[:n]) == "close" {
					return
				}
			}
		}()
	}
}

// flows allocates n flows at once and echoes through each; with extra, it
// tries one more while holding them all. Each flow ends with "close".
func flows(name string, n int, extra bool) {
	var wg sync.WaitGroup
	fs := make([]*flow.Flow, n)
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f, err := flow.Alloc(ctx, name, qos.Raw)
			if err != nil {
				errs <- fmt.Errorf("alloc %d: %w", i, err)
				return
			}
			fs[i] = f
			for j := range 10 {
				if err := try(f, fmt.Sprintf("flow %d message %d", i, j)); err != nil {
					errs <- fmt.Errorf("flow %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fail(err.Error())
	}
	fmt.Printf("flows ok %d in %v\n", n, time.Since(start).Round(time.Millisecond))
	if extra {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		f, err := flow.Alloc(ctx, name, qos.Raw)
		cancel()
		if err == nil {
			fmt.Println("extra: ok")
			f.Close()
		} else {
			fmt.Printf("extra: %v\n", err)
		}
	}
	for _, f := range fs {
		echo(f, "close")
		f.Close()
	}
	fmt.Println("closed")
}

// flood sends n bad frames to dst: runts, garbage management, flow
// requests and name queries for a name nobody has, stray flow replies, and
// data for random (also out of range) endpoints.
func flood(dev, dst string, llc bool, n int) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		fail(err.Error())
	}
	mac, err := net.ParseMAC(dst)
	if err != nil || len(mac) != 6 {
		fail("bad MAC " + dst)
	}
	proto := uint16(wire.EthDefaultEthertype)
	format := wire.EthDIX
	if llc {
		proto, format = unix.ETH_P_802_2, wire.EthLLC
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		fail(err.Error())
	}
	sa := &unix.SockaddrLinklayer{Protocol: proto<<8 | proto>>8, Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		fail(err.Error())
	}
	to, from := wire.EthAddr(mac), wire.EthAddr(ifi.HardwareAddr)
	rng := rand.New(rand.NewPCG(1, 2))
	nobody := make([]byte, 32)
	junk := make([]byte, 1400)
	sent, errs := 0, 0
	for i := range n {
		for j := range junk {
			junk[j] = byte(rng.Uint32())
		}
		var payload []byte
		mgmt := true
		id := uint16(rng.Uint32())
		switch i % 6 {
		case 0:
			payload = wire.EthMgmt{Code: wire.EthFlowReq, SEID: id % 256, Hash: nobody}.Append(nil, format)
		case 1:
			payload = wire.EthMgmt{Code: wire.EthNameQueryReq, Hash: nobody}.Append(nil, format)
		case 2:
			payload = wire.EthMgmt{Code: wire.EthFlowReply, SEID: id % 256, DEID: uint16(rng.Uint32()) % 256}.Append(nil, format)
		case 3:
			payload = junk[:rng.IntN(80)] // short or bad management
		case 4, 5:
			payload, mgmt = junk[:1+rng.IntN(len(junk)-1)], false
		}
		var b []byte
		if llc {
			h := wire.EthLLCHeader{Dst: to, Src: from, Length: uint16(3 + len(payload)),
				DSAP: wire.EthLLCMgmtSAP, SSAP: wire.EthLLCMgmtSAP}
			if !mgmt {
				h.DSAP, h.SSAP = uint8(id), uint8(id>>8) // any byte: 0, 1, 66..255 included
			}
			b = append(h.Append(nil), payload...)
		} else {
			h := wire.EthDIXHeader{Dst: to, Src: from, Ethertype: proto, Length: uint16(len(payload))}
			if !mgmt {
				h.EID = id | 1
			}
			b = append(h.Append(nil), payload...)
		}
		if i%50 == 0 {
			b = b[:14+rng.IntN(3)] // runt: the Ethernet header and part of ours
		}
		if _, err := unix.Write(fd, b); err != nil {
			errs++
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		sent++
	}
	unix.Close(fd)
	fmt.Printf("flood sent %d frames (%d send errors)\n", sent, errs)
}

// stream sends n numbered messages 10 ms apart on one raw flow while a
// reader counts the echoes; it waits up to 10 s after the last for the
// stragglers, then prints "stream sent N received M last L gap G": the
// highest number echoed and the longest time without an echo.
func stream(name string, n int) {
	f := alloc(name, qos.Raw)
	defer f.Close()
	var mu sync.Mutex
	received, last := 0, -1
	lastAt, gap := time.Now(), time.Duration(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			k, err := f.Read(buf)
			if err != nil {
				return
			}
			i, err := strconv.Atoi(string(buf[:k]))
			if err != nil {
				continue
			}
			mu.Lock()
			received++
			last = max(last, i)
			now := time.Now()
			gap = max(gap, now.Sub(lastAt))
			lastAt = now
			full := received == n
			mu.Unlock()
			if full {
				return
			}
		}
	}()
	for i := range n {
		if _, err := f.Write([]byte(strconv.Itoa(i))); err != nil {
			fail(fmt.Sprintf("write %d: %v", i, err))
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("stream sent %d received %d last %d gap %v\n", n, received, last, gap.Round(time.Millisecond))
}
