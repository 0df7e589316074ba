package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/qos"
)

// The roles of the scale measurements (see scale.go):
//
//	obench peer hold <name>   the server: accepts every flow for name and
//	                          echoes on it with a 1 KiB buffer, so that an
//	                          idle flow costs little in it
//	obench peer many <name>   the client: allocates raw flows to name on
//	                          the commands it reads on standard input
//
// The client reads one command a line and prints one answer a line, "ok ..."
// or "err <message>":
//
//	alloc N   allocate N more flows from allocWorkers goroutines; "ok <ns>",
//	          the time the N allocations took
//	close     close every flow held; "ok"
//	times N   N allocations one after the other, each flow closed at once;
//	          "ok <p50 ns>", the median time of one allocation
//
// It exits when its standard input closes.
const (
	roleHold = "hold"
	roleMany = "many"
)

// allocWorkers is how many allocations the client has in flight at once.
const allocWorkers = 16

// allocTimeout bounds one allocation of the client.
const allocTimeout = 30 * time.Second

// peerHold serves every flow accepted for name with a small echo loop.
func peerHold(name string) error {
	return acceptLoop(name, func(f *flow.Flow) {
		buf := make([]byte, 1024)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return
			}
		}
	})
}

// peerMany is the client of the scale measurements.
func peerMany(name string) error {
	if err := flow.Init(); err != nil {
		return err
	}
	defer flow.Fini()
	var held []*flow.Flow
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.Atoi(arg)
		switch cmd {
		case "alloc":
			start := time.Now()
			fs, err := allocMany(name, n)
			held = append(held, fs...)
			if err != nil {
				fmt.Println("err", err)
				continue
			}
			fmt.Println("ok", time.Since(start).Nanoseconds())
		case "close":
			for _, f := range held {
				f.Close()
			}
			held = nil
			fmt.Println("ok")
		case "times":
			var times []int64
			var err error
			for range n {
				start := time.Now()
				var f *flow.Flow
				if f, err = allocOne(name); err != nil {
					break
				}
				times = append(times, time.Since(start).Nanoseconds())
				f.Close()
			}
			if err != nil || len(times) == 0 {
				fmt.Println("err", err)
				continue
			}
			slices.Sort(times)
			fmt.Println("ok", times[len(times)/2])
		default:
			fmt.Println("err unknown command", cmd)
		}
	}
	for _, f := range held {
		f.Close()
	}
	return nil
}

func allocOne(name string) (*flow.Flow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), allocTimeout)
	defer cancel()
	return flow.Alloc(ctx, name, qos.Raw)
}

// allocMany allocates n flows to name from allocWorkers goroutines and
// returns those it got, with the first error.
func allocMany(name string, n int) ([]*flow.Flow, error) {
	flows := make([]*flow.Flow, n)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := range allocWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += allocWorkers {
				f, err := allocOne(name)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("flow %d of %d: %w", i+1, n, err)
					}
					mu.Unlock()
					return
				}
				flows[i] = f
			}
		}()
	}
	wg.Wait()
	got := flows[:0]
	for _, f := range flows {
		if f != nil {
			got = append(got, f)
		}
	}
	return got, first
}
