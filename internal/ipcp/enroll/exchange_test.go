package enroll

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr/connmgrtest"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// IPCP types as the configuration carries them.
const (
	typeUnicast   = 1
	typeBroadcast = 2
)

// logBuf collects a logger's lines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLog() (*slog.Logger, *logBuf) {
	b := &logBuf{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// unicastConf is a whole unicast layer configuration with every parameter
// away from its default, so that a field lost on the way shows.
func unicastConf() *pb.IpcpConfigMsg {
	c := irm.DefaultConfig(irm.Unicast, "a-layer")
	c.Hash = irm.SHA3_512
	c.Unicast.MaxTTL = 9
	c.Unicast.LinkState = irm.LinkStateConfig{Policy: irm.LSLFA, Recalc: 2, Update: 5, Timeout: 20}
	c.Unicast.Congestion = irm.CongestionNone
	c.Unicast.DHT = irm.DHTConfig{Alpha: 2, K: 5, Expire: 600, Refresh: 60, Replicate: 30}
	m := c.Message()
	m.GetUnicast().GetDir().GetDht().Peer = proto.Uint64(0xe4c46f9c)
	return m
}

// serve runs Serve on f in a goroutine; its result arrives on the channel.
func serve(ctx context.Context, f *connmgrtest.End, conf *pb.IpcpConfigMsg, log *slog.Logger) chan error {
	ch := make(chan error, 1)
	go func() { ch <- Serve(ctx, f, conf, log) }()
	return ch
}

// read reads one SDU from e, waiting at most d.
func read(e *connmgrtest.End, d time.Duration) ([]byte, error) {
	e.SetReadDeadline(time.Now().Add(d))
	defer e.SetReadDeadline(time.Time{})
	buf := make([]byte, 4096)
	n, err := e.Read(buf)
	return buf[:n], err
}

// TestEnrollment: Request against Serve: the enrollee gets the whole
// configuration (proto-equal), its acknowledgement ends Serve with
// success, and Serve closes its flow. The ack is the exact bytes of the
// protocol; nothing is logged, the clocks being the same.
func TestEnrollment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, c := range []struct {
			typ  uint32
			conf *pb.IpcpConfigMsg
		}{{typeUnicast, unicastConf()}, {typeBroadcast, irm.DefaultConfig(irm.Broadcast, "b").Message()}} {
			a, b := connmgrtest.Pipe(qos.Raw)
			log, lines := newLog()
			done := serve(context.Background(), b, c.conf, log)
			id, got, err := Request(context.Background(), a, c.typ, log)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, c.conf) {
				t.Errorf("type %d: got configuration %v, want %v", c.typ, got, c.conf)
			}
			if err := SendAck(a, id, 0); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Errorf("type %d: Serve: %v", c.typ, err)
			}
			if !b.Closed() || !a.PeerClosed() {
				t.Error("Serve left its flow open")
			}
			if s := lines.String(); s != "" {
				t.Errorf("logged %q", s)
			}
		}
	})
}

// TestAckBytes: SendAck writes the protocol's encoding, a negative result
// as ten varint bytes.
func TestAckBytes(t *testing.T) {
	a, b := connmgrtest.Pipe(qos.Raw)
	SendAck(a, ID{1, 2, 3, 4, 5, 6, 7, 8}, -1)
	got, err := read(b, time.Second)
	if want := unhex(t, "0a08 0102030405060708 10 ffffffffffffffffff01"); err != nil || !bytes.Equal(got, want) {
		t.Errorf("ack %x, %v; want %x", got, err, want)
	}
}

// fakeEnroller answers the request on e with what answer makes of its id:
// nothing for nil, and an empty answer closes e.
func fakeEnroller(t *testing.T, e *connmgrtest.End, answer func(ID) []byte) {
	go func() {
		b, err := read(e, time.Second)
		if err != nil {
			t.Errorf("no request: %v", err)
			return
		}
		id, err := ParseRequest(b)
		if err != nil {
			t.Errorf("request %x: %v", b, err)
			return
		}
		switch msg := answer(id); {
		case msg == nil: // silent
		case len(msg) == 0: // the member dies
			e.Close()
		default:
			e.Write(msg)
		}
	}()
}

func marshalResp(t *testing.T, r Response) []byte {
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRequestRefuses: the enrollee refuses a response for another id, a
// denial, a layer of another IPCP type, an oversized or malformed response,
// fails when the member goes, and gives up on a silent member after
// exactly RespTimeout (virtual time).
func TestRequestRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf := unicastConf()
		valid := func(id ID) []byte { return marshalResp(t, Response{ID: id, Time: time.Now(), Conf: conf}) }
		for _, c := range []struct {
			name   string
			typ    uint32
			answer func(ID) []byte
			want   error
		}{
			{"other id", typeUnicast, func(id ID) []byte {
				id[0]++
				return valid(id)
			}, ErrIDMismatch},
			{"denied", typeUnicast, func(id ID) []byte { return marshalResp(t, Response{ID: id, Time: time.Now(), Response: -1}) }, ErrDenied},
			{"broadcast layer", typeUnicast, func(id ID) []byte {
				return marshalResp(t, Response{ID: id, Time: time.Now(), Conf: irm.DefaultConfig(irm.Broadcast, "b").Message()})
			}, ErrWrongType},
			{"unicast layer", typeBroadcast, valid, ErrWrongType},
			{"1025 bytes", typeUnicast, func(id ID) []byte {
				b := valid(id)
				pad := MaxMsgLen + 1 - len(b) - 3 // unknown field 15, bytes: tag, 2-byte length
				return append(b, append([]byte{0x7a, byte(pad&0x7f | 0x80), byte(pad >> 7)}, make([]byte, pad)...)...)
			}, ErrTooLong},
			{"garbage", typeUnicast, func(ID) []byte { return []byte{0xff, 0xff} }, ErrMalformed},
			{"7-byte id", typeUnicast, func(id ID) []byte { return append([]byte{0x0a, 0x07}, append(id[:7], valid(id)[10:]...)...) }, ErrMalformed},
			{"accepted without configuration", typeUnicast, func(id ID) []byte {
				b, _ := proto.Marshal(&pb.EnrollRespMsg{Id: id[:], TSec: proto.Int64(0), TNsec: proto.Int32(0), Response: proto.Int32(0)})
				return b
			}, ErrMalformed},
			{"silent", typeUnicast, func(ID) []byte { return nil }, os.ErrDeadlineExceeded},
			{"gone", typeUnicast, func(ID) []byte { return []byte{} }, io.EOF}, // closes the flow
		} {
			a, b := connmgrtest.Pipe(qos.Raw)
			fakeEnroller(t, b, c.answer)
			start := time.Now()
			_, conf, err := Request(context.Background(), a, c.typ, slog.New(slog.DiscardHandler))
			if !errors.Is(err, c.want) || conf != nil {
				t.Errorf("%s: %v, %v; want %v", c.name, conf, err, c.want)
			}
			if el := time.Since(start); c.name == "silent" && el != RespTimeout {
				t.Errorf("silent member: gave up after %v, want %v", el, RespTimeout)
			}
		}
	})
}

// TestRequestCancelled: the enrollee gives up when its context ends.
func TestRequestCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := connmgrtest.Pipe(qos.Raw)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, _, err := Request(ctx, a, typeUnicast, slog.New(slog.DiscardHandler)); err == nil || time.Since(start) != 100*time.Millisecond {
			t.Errorf("%v after %v", err, time.Since(start))
		}
	})
}

// TestServeRefuses: the enroller answers nothing to a malformed, oversized
// or missing request, waits for the acknowledgement at most AckTimeout
// (virtual time), reports a failure at the remote, and closes the flow in
// every case. An ack for another id is only logged.
func TestServeRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf := unicastConf()
		id := ID{1, 2, 3, 4, 5, 6, 7, 8}
		for _, c := range []struct {
			name    string
			req     []byte // nil: none
			ack     []byte // nil: none
			want    error
			wantLog string
			after   time.Duration
		}{
			{name: "garbage", req: []byte{0xff}, want: ErrMalformed},
			{name: "9-byte id", req: unhex(t, "0a09 010203040506070809"), want: ErrMalformed},
			{name: "1025 bytes", req: make([]byte, MaxMsgLen+1), want: ErrTooLong},
			{name: "no request", want: os.ErrDeadlineExceeded, after: AckTimeout},
			{name: "no ack", req: MarshalRequest(id), want: os.ErrDeadlineExceeded, after: AckTimeout},
			{name: "failed", req: MarshalRequest(id), ack: Ack{ID: id, Result: -1}.Marshal(), want: errors.New("at remote")},
			{name: "malformed ack", req: MarshalRequest(id), ack: []byte{0x0a}, want: ErrMalformed},
			{name: "other id", req: MarshalRequest(id), ack: Ack{ID: ID{9}}.Marshal(), wantLog: "another id"},
		} {
			a, b := connmgrtest.Pipe(qos.Raw)
			log, lines := newLog()
			start := time.Now()
			done := serve(context.Background(), b, conf, log)
			if c.req != nil {
				a.Write(c.req)
				if c.ack != nil {
					if r, err := read(a, time.Second); err != nil {
						t.Errorf("%s: no response: %v", c.name, err)
					} else if _, err := ParseResponse(r); err != nil {
						t.Errorf("%s: response: %v", c.name, err)
					}
					a.Write(c.ack)
				}
			}
			err := <-done
			switch {
			case c.want == nil && err != nil:
				t.Errorf("%s: %v", c.name, err)
			case c.want != nil && (err == nil || !errors.Is(err, c.want) && !strings.Contains(err.Error(), c.want.Error())):
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
			if el := time.Since(start); el != c.after {
				t.Errorf("%s: Serve returned after %v, want %v", c.name, el, c.after)
			}
			if !b.Closed() {
				t.Errorf("%s: flow left open", c.name)
			}
			if c.ack == nil {
				// Nothing but a response (to a valid request) was sent.
				for {
					r, err := read(a, time.Millisecond)
					if err == io.EOF {
						break
					}
					if err != nil || c.name != "no ack" {
						t.Errorf("%s: enroller sent %x, %v", c.name, r, err)
						break
					}
				}
			}
			if s := lines.String(); !strings.Contains(s, c.wantLog) || c.wantLog == "" && s != "" {
				t.Errorf("%s: logged %q", c.name, s)
			}
		}
	})
}

// TestServeCancelled: Serve ends as soon as its context does, even while
// it waits for an acknowledgement, and closes the flow.
func TestServeCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := connmgrtest.Pipe(qos.Raw)
		ctx, cancel := context.WithCancel(context.Background())
		done := serve(ctx, b, unicastConf(), slog.New(slog.DiscardHandler))
		a.Write(MarshalRequest(ID{1}))
		if _, err := read(a, time.Second); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) || time.Since(start) != 0 {
			t.Errorf("%v after %v", err, time.Since(start))
		}
		if !b.Closed() {
			t.Error("flow left open")
		}
	})
}

// TestClockOffset: the enrollee warns when the member's clock is off by
// more than ClockWarn (in virtual time the round trip is 0), either way,
// and not when it is within.
func TestClockOffset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf := unicastConf()
		for _, c := range []struct {
			off  time.Duration
			warn bool
		}{{0, false}, {15 * time.Millisecond, false}, {-15 * time.Millisecond, false},
			{25 * time.Millisecond, true}, {-25 * time.Millisecond, true}, {time.Hour, true}} {
			a, b := connmgrtest.Pipe(qos.Raw)
			fakeEnroller(t, b, func(id ID) []byte {
				return marshalResp(t, Response{ID: id, Time: time.Now().Add(c.off), Conf: conf})
			})
			log, lines := newLog()
			if _, _, err := Request(context.Background(), a, typeUnicast, log); err != nil {
				t.Fatalf("offset %v: %v", c.off, err)
			}
			s := lines.String()
			if warned := strings.Contains(s, "level=WARN") && strings.Contains(s, "Clock offset above threshold"); warned != c.warn {
				t.Errorf("offset %v: logged %q", c.off, s)
			}
		}
	})
}
