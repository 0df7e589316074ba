package bench

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// The roles of the EventSet rows (see eventset.go):
//
//	obench peer evserver <name>
//	    the server: binds itself to name, accepts every flow and reads them
//	    all from one flow.EventSet in one goroutine, counting the messages.
//	    When the last open flow has ended it prints
//	    "test: <flows> flows, <packets> packets in <ns> ns", the time running
//	    from the first Wait that returned a packet to the end of the last
//	    such batch, and starts counting afresh.
//	obench peer evdrive <name> <flows> <size> <duration>
//	    the client: allocates <flows> raw flows to name, then writes packets
//	    of <size> bytes on all of them at once, one goroutine a flow, as fast
//	    as they go for <duration> (a Go duration), closes them and prints
//	    "sent <packets> packets on <flows> flows in <ns> ns". It exits by
//	    itself.
const (
	roleEvServer = "evserver"
	roleEvDrive  = "evdrive"
)

// evServerTest is what the EventSet server reports of one test.
type evServerTest struct {
	Flows, Packets int64
	Elapsed        time.Duration
}

var evServerLine = regexp.MustCompile(`^test: (\d+) flows, (\d+) packets in (\d+) ns$`)

// parseEvServer returns the first test the EventSet server reported in out;
// ok is false when there is none yet.
func parseEvServer(out string) (t evServerTest, ok bool) {
	for _, line := range strings.Split(out, "\n") {
		m := evServerLine.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		t.Flows, _ = strconv.ParseInt(m[1], 10, 64)
		t.Packets, _ = strconv.ParseInt(m[2], 10, 64)
		ns, _ := strconv.ParseInt(m[3], 10, 64)
		t.Elapsed = time.Duration(ns)
		return t, true
	}
	return t, false
}

var evDriveLine = regexp.MustCompile(`^sent (\d+) packets on (\d+) flows in (\d+) ns$`)

// parseEvDrive reads the packets the driver sent from its last line.
func parseEvDrive(out string) (int64, error) {
	for _, line := range strings.Split(out, "\n") {
		if m := evDriveLine.FindStringSubmatch(strings.TrimRight(line, "\r")); m != nil {
			return strconv.ParseInt(m[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no \"sent ... packets\" line in the driver's output: %s", cellText(out, 300))
}

// evPeerMain runs the role args[0] of the EventSet rows.
func evPeerMain(args []string) error {
	switch {
	case args[0] == roleEvServer && len(args) == 2:
		return peerEvServer(args[1])
	case args[0] == roleEvDrive && len(args) == 5:
		n, err1 := strconv.Atoi(args[2])
		size, err2 := strconv.Atoi(args[3])
		d, err3 := time.ParseDuration(args[4])
		if err := errors.Join(err1, err2, err3); err != nil || n < 1 || size < 1 || size > maxPacket || d <= 0 {
			return fmt.Errorf("want <name> <flows> <size> <duration>: %q", args[1:])
		}
		return peerEvDrive(args[1], n, size, d)
	}
	return fmt.Errorf("bad arguments %q", args[1:])
}

// peerEvServer is the EventSet server.
func peerEvServer(name string) error {
	exitOnStdinEOF(flow.Fini)
	set, err := flow.NewEventSet()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = flow.Bind(ctx, name)
	cancel()
	if err != nil {
		return err
	}
	// open counts the flows accepted and not yet closed by the loop below;
	// the accept goroutine counts a flow before it adds it to the set.
	var open atomic.Int64
	go func() {
		for {
			f, err := flow.Accept(context.Background())
			if err != nil {
				fmt.Println("accept:", err)
				return
			}
			f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart | flow.FlagRNoBlock)
			open.Add(1)
			if err := set.Add(f); err != nil {
				fmt.Println("add:", err)
				f.Close()
				open.Add(-1)
			}
		}
	}()
	fmt.Println("ready")

	q := flow.NewEventQueue()
	buf := make([]byte, maxPacket)
	var flows, packets int64
	var first, last time.Time
	closed := map[*flow.Flow]bool{} // flows closed during the current batch
	end := func(f *flow.Flow) {
		if closed[f] {
			return // a later event of a flow already closed
		}
		closed[f] = true
		f.Close()
		flows++
		if open.Add(-1) == 0 {
			fmt.Printf("test: %d flows, %d packets in %d ns\n", flows, packets, last.Sub(first).Nanoseconds())
			flows, packets = 0, 0
		}
	}
	for {
		if err := set.Wait(context.Background(), q); err != nil {
			return err
		}
		now := time.Now()
		n := packets
		for ev, ok := q.Next(); ok; ev, ok = q.Next() {
			if ev.Type == flow.EventPkt {
				// Level-triggered: one message is queued for this event.
				_, err := ev.Flow.Read(buf)
				switch {
				case err == nil:
					packets++
				case !errors.Is(err, flow.EAGAIN):
					end(ev.Flow)
				}
				continue
			}
			// The peer went away or the flow went down: read what is
			// queued, then the failed read ends the flow.
			for {
				_, err := ev.Flow.Read(buf)
				if err == nil {
					packets++
					continue
				}
				if !errors.Is(err, flow.EAGAIN) {
					end(ev.Flow)
				}
				break
			}
		}
		if packets > n {
			if n == 0 {
				first = now
			}
			last = time.Now()
		}
		if len(closed) > 0 {
			clear(closed)
		}
	}
}

// peerEvDrive is the driver of the EventSet rows.
func peerEvDrive(name string, n, size int, d time.Duration) error {
	if err := flow.Init(); err != nil {
		return err
	}
	defer flow.Fini()
	flows, err := allocMany(name, n)
	defer func() {
		for _, f := range flows {
			f.Close()
		}
	}()
	if err != nil {
		return err
	}
	var sent atomic.Int64
	var mu sync.Mutex
	var werr error
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for _, f := range flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, size)
			var k int64
			for {
				// Reading the clock every 16 packets keeps its cost out of the loop.
				if k&15 == 0 && time.Now().After(stop) {
					break
				}
				if _, err := f.Write(msg); err != nil {
					mu.Lock()
					werr = errors.Join(werr, fmt.Errorf("write: %w", err))
					mu.Unlock()
					break
				}
				k++
			}
			sent.Add(k)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("sent %d packets on %d flows in %d ns\n", sent.Load(), len(flows), elapsed.Nanoseconds())
	return werr
}
