package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The stress tests run the two ends of a channel in two real processes (this
// test binary re-executed in a role, the end passed as fds 3 and 4).
const roleEnv = "O7S_DATAPATH_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(m.Run())
}

// runRole: "send N" floods N numbered packets then exits; "recv N" reads
// and checks N numbered packets then prints "ok"; "echo" echoes until EOF.
func runRole(role string) int {
	end := End{os.NewFile(3, "sock")}
	if os.Getenv("O7S_DATAPATH_SHM") == "1" {
		end = append(end, os.NewFile(4, "shm"))
	}
	ep, err := New(end)
	if err != nil {
		fmt.Println("new:", err)
		return 2
	}
	var n int
	fmt.Sscanf(os.Getenv("O7S_DATAPATH_N"), "%d", &n)
	buf := make([]byte, MaxSDU+1)
	switch role {
	case "send":
		pkt := make([]byte, 1+64)
		for i := range n {
			binary.LittleEndian.PutUint64(pkt[1:], uint64(i))
			if err := ep.WritePacket(KindData, pkt); err != nil {
				fmt.Println("write:", err)
				return 1
			}
		}
		// Wait for the reader to say it is done (it closes its end).
		for {
			if _, _, err := ep.ReadPacket(buf); err != nil {
				return 0
			}
		}
	case "recv":
		for i := range n {
			_, sdu, err := ep.ReadPacket(buf)
			if err != nil {
				fmt.Printf("read %d: %v\n", i, err)
				return 1
			}
			if got := binary.LittleEndian.Uint64(sdu); len(sdu) != 64 || got != uint64(i) {
				fmt.Printf("packet %d: got %d (%d bytes)\n", i, got, len(sdu))
				return 1
			}
		}
		fmt.Println("ok")
		return 0
	}
	return 3
}

// child starts this binary in a role with end as its channel.
func child(t *testing.T, role string, n int, end End) (*exec.Cmd, *syncOut) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, "O7S_DATAPATH_N="+strconv.Itoa(n),
		"O7S_DATAPATH_SHM="+map[bool]string{true: "1", false: "0"}[len(end) == 2])
	cmd.ExtraFiles = end
	out := &syncOut{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	end.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

type syncOut struct{ b []byte }

func (s *syncOut) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// packets is the flood size: millions over the rings (the socket path gets
// a quarter, it is slower and not the subject).
func packets() int {
	if testing.Short() {
		return 100_000
	}
	return 2_000_000
}

// TestStressTwoProcesses moves millions of packets between two processes and
// checks each arrives once, in order.
func TestStressTwoProcesses(t *testing.T) {
	bothModes(t, func(t *testing.T, shm bool) {
		n := packets()
		if !shm {
			n /= 4 // the socket path is slower; the point here is the rings
		}
		a, b, err := Pair(shm)
		if err != nil {
			t.Fatal(err)
		}
		snd, _ := child(t, "send", n, a)
		rcv, out := child(t, "recv", n, b)
		start := time.Now()
		if err := rcv.Wait(); err != nil {
			t.Fatalf("receiver: %v\n%s", err, out.b)
		}
		if err := snd.Wait(); err != nil {
			t.Fatalf("sender: %v", err)
		}
		t.Logf("%d packets in %v", n, time.Since(start))
	})
}

// TestStressRandomKill kills either side at a random moment of a flood: the
// survivor must see the channel go down (EOF or a write error) promptly,
// never hang and never see a corrupt packet.
func TestStressRandomKill(t *testing.T) {
	for i := range 6 {
		shm := i%2 == 0
		killSender := i%4 < 2
		t.Run(fmt.Sprintf("shm=%v/killSender=%v/%d", shm, killSender, i), func(t *testing.T) {
			a, b, err := Pair(shm)
			if err != nil {
				t.Fatal(err)
			}
			snd, sout := child(t, "send", 1<<40, a)
			rcv, rout := child(t, "recv", 1<<40, b)
			time.Sleep(time.Duration(rand.IntN(200)+20) * time.Millisecond)
			victim, survivor, sOut := snd, rcv, rout
			if !killSender {
				victim, survivor, sOut = rcv, snd, sout
			}
			victim.Process.Kill()
			done := make(chan error)
			go func() { done <- survivor.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 && !(killSender == false && ee.ExitCode() == 0) {
					// A receiver reports the read error (exit 1); a sender ends on
					// a write error (1) or, if it was reading, on EOF (0).
					if err != nil {
						t.Fatalf("survivor: %v\n%s", err, sOut.b)
					}
				}
				if killSender && !contains(sOut.b, "EOF") && !contains(sOut.b, "closed") {
					t.Fatalf("receiver did not report the sender's end:\n%s", sOut.b)
				}
				if contains(sOut.b, "got") {
					t.Fatalf("corrupt packet seen:\n%s", sOut.b)
				}
			case <-time.After(10 * time.Second):
				survivor.Process.Signal(syscall.SIGQUIT)
				t.Fatal("the survivor hung after its peer was killed")
			}
		})
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
