package flow

import "time"

// liveness is the reference's keepalive and peer-timeout rule for a
// flow whose QoS timeout T is not 0, as a pure function of time:
//
//   - the peer is gone once nothing arrived for more than T (EFLOWPEER);
//   - otherwise an empty packet (a keepalive, which FRCT and every other
//     stage ignore) goes out when nothing was sent for T/4.
//
// The reference checks every 5 ms; check instead returns when it must run
// next, so the timer fires exactly when something can become due.
type liveness struct {
	timeout time.Duration // T
}

// check decides at now, given the last packet received and sent.
func (l liveness) check(now, lastRcv, lastSnd time.Time) (sendKeepalive, peerGone bool, next time.Time) {
	if now.Sub(lastRcv) > l.timeout {
		return false, true, time.Time{}
	}
	period := l.timeout / 4
	if now.Sub(lastSnd) >= period {
		sendKeepalive = true
		lastSnd = now
	}
	next = lastSnd.Add(period)
	// One tick past T: the rule is "more than T".
	if gone := lastRcv.Add(l.timeout + time.Millisecond); gone.Before(next) {
		next = gone
	}
	return sendKeepalive, false, next
}
