package enroll

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/ipcp/connmgr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

// Timeouts of the exchange. The enrollee waits RespTimeout for the
// response (the reference waits 1 s, the receive timeout OCEP left on the
// flow; a loaded member may need longer, and waiting longer is harmless).
// The enroller waits AckTimeout for the request and for the
// acknowledgement (the reference waits for ever, holding its only
// enrollment thread).
const (
	RespTimeout = 3 * time.Second
	AckTimeout  = 10 * time.Second
)

// ClockWarn is the clock offset beyond which the enrollee warns: the
// difference between the enroller's clock and ours, less the round trip.
const ClockWarn = 20 * time.Millisecond

// Errors of the exchange.
var (
	ErrIDMismatch = errors.New("enroll: the response is for another enrollment")
	ErrDenied     = errors.New("enroll: the member denied the enrollment")
	ErrWrongType  = errors.New("enroll: the layer is of another IPCP type")
)

// readMsg reads one SDU of at most MaxMsgLen bytes before dl. If ctx ends
// first, f is closed, which ends the read at once (the exchange is over:
// both sides close f when it fails).
func readMsg(ctx context.Context, f connmgr.Flow, dl time.Time) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	f.SetReadDeadline(dl)
	defer f.SetReadDeadline(time.Time{})
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		f.Close()
	})
	buf := make([]byte, MaxMsgLen+1)
	n, err := f.Read(buf)
	if !stop() {
		<-closed // no goroutine outlives the exchange
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if n > MaxMsgLen {
		return nil, ErrTooLong
	}
	return buf[:n], nil
}

// Request is the enrollee's side up to the configuration: it sends a
// request with a fresh id on f (an established Enrollment connection),
// waits for the response and checks it: same id, accepted, a layer of IPCP
// type typ. It returns the id for the acknowledgement and the layer
// configuration. A member whose clock is off by more than ClockWarn (less
// the round trip) is logged.
func Request(ctx context.Context, f connmgr.Flow, typ uint32, log *slog.Logger) (ID, *pb.IpcpConfigMsg, error) {
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		return id, nil, err
	}
	t0 := time.Now()
	if _, err := f.Write(MarshalRequest(id)); err != nil {
		return id, nil, fmt.Errorf("sending the enrollment request: %w", err)
	}
	b, err := readMsg(ctx, f, t0.Add(RespTimeout))
	if err != nil {
		return id, nil, fmt.Errorf("no enrollment response: %w", err)
	}
	t1 := time.Now()
	r, err := ParseResponse(b)
	switch {
	case err != nil:
		return id, nil, err
	case r.ID != id:
		return id, nil, ErrIDMismatch
	case r.Response < 0:
		return id, nil, fmt.Errorf("%w (%d)", ErrDenied, r.Response)
	case r.Conf.GetIpcpType() != typ:
		return id, nil, fmt.Errorf("%w: type %d, we are %d", ErrWrongType, r.Conf.GetIpcpType(), typ)
	}
	rtt := t1.Sub(t0)
	off := r.Time.Sub(t0).Abs()
	if off-rtt > ClockWarn {
		log.Warn(fmt.Sprintf("Clock offset above threshold: the member's clock differs from ours by %v (round trip %v).",
			off.Round(time.Millisecond), rtt.Round(time.Microsecond)))
	}
	return id, r.Conf, nil
}

// SendAck tells the enroller how starting with the configuration went: 0
// for success.
func SendAck(f connmgr.Flow, id ID, result int32) error {
	_, err := f.Write(Ack{ID: id, Result: result}.Marshal())
	return err
}

// Serve is the enroller's side on f, an accepted Enrollment connection:
// it reads the request, answers with conf (the whole layer configuration)
// and the time, reads the acknowledgement and logs the outcome. It closes
// f. Each wait is bounded by AckTimeout, and the exchange ends when ctx
// does.
func Serve(ctx context.Context, f connmgr.Flow, conf *pb.IpcpConfigMsg, log *slog.Logger) error {
	defer f.Close()
	b, err := readMsg(ctx, f, time.Now().Add(AckTimeout))
	if err != nil {
		return fmt.Errorf("no enrollment request: %w", err)
	}
	id, err := ParseRequest(b)
	if err != nil {
		return err
	}
	resp, err := Response{ID: id, Time: time.Now(), Response: 0, Conf: conf}.Marshal()
	if err != nil {
		return err
	}
	if _, err := f.Write(resp); err != nil {
		return fmt.Errorf("sending the enrollment response: %w", err)
	}
	b, err = readMsg(ctx, f, time.Now().Add(AckTimeout))
	if err != nil {
		return fmt.Errorf("no acknowledgement: %w", err)
	}
	a, err := ParseAck(b)
	if err != nil {
		return err
	}
	if a.ID != id {
		log.Warn("Enrollment acknowledgement carries another id.")
	}
	if a.Result != 0 {
		return fmt.Errorf("enrollment failed at remote (%d)", a.Result)
	}
	return nil
}
