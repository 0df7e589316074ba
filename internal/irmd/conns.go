package irmd

// Connections. irm.sock is open to every local user, so one user must not be
// able to take the descriptors and goroutines the irmd needs for the others:
//
//   - each connection must bring its request within requestTimeout, or it is
//     closed (a request that then blocks, such as an accept, may wait as long
//     as it needs);
//   - each uid may hold at most Config.MaxConnsPerUID connections at once,
//     blocked requests included; the irmd's own uid and root are not counted.
//     A connection over the limit gets an EAGAIN reply and is closed;
//   - the lines these refusals log are rate limited, as are the warnings of a
//     failing accept (for example when descriptors run out) and of malformed
//     requests, so that a misbehaving client cannot flood the log.
//
// The soft RLIMIT_NOFILE of the irmd is the hard limit: the Go runtime raises
// it at start (and restores the original for the processes it spawns).

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
)

const (
	// requestTimeout bounds the wait for the request of a new connection.
	requestTimeout = 5 * time.Second
	// replyTimeout bounds writing a reply (one datagram; it only blocks if
	// the requester fills its receive queue and never reads).
	replyTimeout = 5 * time.Second
	// defaultMaxConnsPerUID is the default of Config.MaxConnsPerUID.
	defaultMaxConnsPerUID = 1024
	// logBurst lines per logInterval, at most, for each rate-limited kind.
	logBurst    = 10
	logInterval = time.Second
)

// connLimit counts the open connections of each uid.
type connLimit struct {
	mu   sync.Mutex
	max  int
	open map[uint32]int
}

// acquire counts a new connection of uid; false if uid is at its limit.
func (l *connLimit) acquire(uid uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[uint32]int{}
	}
	if l.open[uid] >= l.max {
		return false
	}
	l.open[uid]++
	return true
}

// release forgets a connection of uid.
func (l *connLimit) release(uid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[uid]--; l.open[uid] <= 0 {
		delete(l.open, uid)
	}
}

// rateLog writes at most logBurst lines in each logInterval; the lines over
// that are counted, and the count is reported with the next line written.
type rateLog struct {
	mu      sync.Mutex
	now     func() time.Time // nil: time.Now
	start   time.Time        // of the current interval
	n       int              // lines written in it
	dropped int              // lines not written since the last one written
}

// allow reports whether a line may be written now and, if so, how many were
// dropped before it.
func (l *rateLog) allow() (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	if now.Sub(l.start) >= logInterval {
		l.start, l.n = now, 0
	}
	if l.n >= logBurst {
		l.dropped++
		return false, 0
	}
	l.n++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// keyedRateLog is a rateLog for each kind of line (for refusals: the uid and
// the request), so that a flood of one kind does not hide the first line of
// another. At most maxRateKeys kinds are tracked; past that the table starts
// afresh (a caller cycling through more kinds gets one more burst).
type keyedRateLog struct {
	mu   sync.Mutex
	logs map[string]*rateLog
}

const maxRateKeys = 4096

// logf writes a warning of kind key if that kind's rate allows it.
func (k *keyedRateLog) logf(log *slog.Logger, key, format string, args ...any) {
	k.mu.Lock()
	if k.logs == nil || len(k.logs) >= maxRateKeys {
		k.logs = map[string]*rateLog{}
	}
	l := k.logs[key]
	if l == nil {
		l = &rateLog{}
		k.logs[key] = l
	}
	k.mu.Unlock()
	l.logf(log, format, args...)
}

// logf writes a warning if the rate allows it.
func (l *rateLog) logf(log *slog.Logger, format string, args ...any) {
	ok, dropped := l.allow()
	if !ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if dropped > 0 {
		msg += fmt.Sprintf(" (%d similar lines not logged)", dropped)
	}
	log.Warn(msg)
}

// admit decides whether the irmd serves a new connection: uids other than
// root and the irmd's are held to their limit. It returns the function that
// releases the connection's place.
func (d *Daemon) admit(c *net.UnixConn, cred ctrl.Cred) (release func(), ok bool) {
	if cred.UID == 0 || cred.UID == d.uid {
		return func() {}, true
	}
	if !d.limit.acquire(cred.UID) {
		d.connLog.logf(d.log, "Refused a connection from process %d (uid %d): the uid has %d open connections.",
			cred.PID, cred.UID, d.limit.max)
		// The requester reads a reply after sending its request: tell it why.
		c.SetWriteDeadline(time.Now().Add(replyTimeout))
		ctrl.Send(c, &pb.IrmMsg{Code: pb.IrmMsgCode_IRM_REPLY.Enum(), Result: proto.Int32(oerr.Result(oerr.EAGAIN))})
		return nil, false
	}
	return func() { d.limit.release(cred.UID) }, true
}
