package irmd

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/rundir"
)

// answerOf is how a fake IPCP answers a query: yes or no, after a delay;
// never answers until its context ends.
type answerOf struct {
	yes   bool
	after time.Duration
	never bool
}

func fakeAsk(replies []answerOf) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		r := replies[i]
		if r.never {
			<-ctx.Done()
			return ctx.Err()
		}
		select {
		case <-time.After(r.after):
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.yes {
			return nil
		}
		return oerr.ENAME
	}
}

// TestFirstReach runs the query logic in virtual time against IPCPs that
// answer late, never, or in an order other than the registry's.
func TestFirstReach(t *testing.T) {
	const bound, prefer = 3 * time.Second, 200 * time.Millisecond
	cases := []struct {
		name    string
		replies []answerOf
		want    int // -1: EIPCP
		at      time.Duration
		silent  []int
	}{
		// The naming errors of a loaded host: the only IPCP knows the
		// name but answers after more than the reference's 200 ms.
		{"slow yes", []answerOf{{yes: true, after: 900 * time.Millisecond}}, 0, 900 * time.Millisecond, nil},
		{"fast yes", []answerOf{{yes: true, after: time.Millisecond}}, 0, time.Millisecond, nil},
		// The order is a preference: a later yes waits for earlier answers...
		{"earlier yes wins", []answerOf{{yes: true, after: 150 * time.Millisecond}, {yes: true, after: 10 * time.Millisecond}}, 0, 150 * time.Millisecond, nil},
		{"earlier no", []answerOf{{after: 50 * time.Millisecond}, {yes: true, after: 10 * time.Millisecond}}, 1, 50 * time.Millisecond, nil},
		// ...but not past prefer.
		{"earlier slow no", []answerOf{{after: 2 * time.Second}, {yes: true, after: 10 * time.Millisecond}}, 1, prefer, nil},
		{"earlier silent", []answerOf{{never: true}, {yes: true, after: 300 * time.Millisecond}}, 1, 300 * time.Millisecond, nil},
		{"all no", []answerOf{{after: 100 * time.Millisecond}, {after: 2 * time.Second}}, -1, 2 * time.Second, nil},
		{"silent and no", []answerOf{{never: true}, {after: time.Second}, {never: true}}, -1, bound, []int{0, 2}},
		{"none", nil, -1, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				got, silent, err := firstReach(context.Background(), len(c.replies), fakeAsk(c.replies), bound, prefer)
				took := time.Since(start)
				if got != c.want || (c.want < 0) != errors.Is(err, oerr.EIPCP) {
					t.Fatalf("firstReach = %d, %v; want %d", got, err, c.want)
				}
				if took != c.at {
					t.Errorf("decided after %v, want %v", took, c.at)
				}
				if !slices.Equal(silent, c.silent) {
					t.Errorf("silent IPCPs %v, want %v", silent, c.silent)
				}
			})
		})
	}
}

// TestFirstReachCancelled: the requester leaving ends the queries.
func TestFirstReachCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, _, err := firstReach(ctx, 2, fakeAsk([]answerOf{{never: true}, {never: true}}), 3*time.Second, 200*time.Millisecond)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("firstReach after cancel: %v", err)
		}
	})
}

// TestSelectSlowIPCP: an IPCP that knows the name but takes 500 ms to say so
// (as an IPCP of a loaded host does) is selected; the IRMd used to give up
// after 200 ms and fail the allocation with a naming error.
func TestSelectSlowIPCP(t *testing.T) {
	d, _, _ := start(t)
	pid := fakeIPCP(t, d, "slow", func(req *pb.IpcpMsg) (int32, bool) {
		if req.GetCode() != pb.IpcpMsgCode_IPCP_QUERY {
			return 0, false
		}
		time.Sleep(500 * time.Millisecond)
		return 0, true
	})
	i, h, err := d.selectIPCP(context.Background(), "far.away", time.Time{})
	if err != nil || i.PID != pid {
		t.Fatalf("selectIPCP with an IPCP answering in 500 ms: %+v, %v", i, err)
	}
	if want, _ := hash.Sum(hash.MD5, "far.away"); string(h) != string(want) {
		t.Errorf("hash %x, want %x", h, want)
	}
}

// fakeIPCP registers this process as a bootstrapped udp4 IPCP called name in
// layer "l" (the IRMd checks that the pid lives) and serves its socket until
// the test ends: each request gets a reply with the result answer returns,
// or none if it returns false. It returns the IPCP's pid.
func fakeIPCP(t *testing.T, d *Daemon, name string, answer func(req *pb.IpcpMsg) (result int32, reply bool)) int {
	t.Helper()
	pid := os.Getpid()
	if err := d.reg.CreateIPCP(reg.IPCP{PID: pid, Type: typeUDP4, Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := d.reg.SetLayer(pid, "l", uint32(hash.MD5)); err != nil {
		t.Fatal(err)
	}
	l, err := ctrl.Listen(rundir.IPCPSocket(d.cfg.Dir, pid))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			req := &pb.IpcpMsg{}
			files, err := ctrl.Recv(c, req)
			ctrl.CloseFiles(files)
			if err == nil {
				if res, ok := answer(req); ok {
					ctrl.Send(c, &pb.IpcpMsg{Code: pb.IpcpMsgCode_IPCP_REPLY.Enum(), Result: proto.Int32(res)})
				}
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return pid
}
