package frct

import "time"

// RTT estimation: one probe at a time; the sample is the
// time from sending the probe until an ACK past it arrives.
//
//	first sample m: srtt = m, mdev = m/2
//	later: d = m-srtt; srtt += d>>3; e = (|d|-mdev)>>2; e >>= 3 if e < 0; mdev += e
//	rto = max(rtoMin, srtt + 4·mdev)

type rttState struct {
	srtt, mdev, rto time.Duration
	sampled         bool
	backoff         uint // rto doublings since the last ack of new data

	probing bool
	probe   Seq
	probeAt time.Time
}

func (r *rttState) init() {
	r.mdev = initialMdev
	r.rto = initialRTO
}

// startProbe starts a probe on seqno s sent at now, unless one is running.
func (r *rttState) startProbe(s Seq, now time.Time) {
	if !r.probing {
		r.probing, r.probe, r.probeAt = true, s, now
	}
}

// onAck ends the probe and feeds a sample if ackno acknowledges past it.
func (r *rttState) onAck(ackno Seq, now time.Time) {
	if r.probing && ackno.After(r.probe) {
		r.probing = false
		r.sample(now.Sub(r.probeAt))
	}
}

// onRetransmit applies Karn/Partridge when packet s is retransmitted: a
// retransmitted probe is cancelled (no sample from it) and doubles the rto;
// so does a retransmission of the oldest unacknowledged packet (head).
func (r *rttState) onRetransmit(s Seq, head bool) {
	// The probe's ACK also covers every packet before it (cumulative
	// ACKs), so resending any of them spoils the sample (Karn).
	probe := r.probing && !s.After(r.probe)
	if probe {
		r.probing = false
	}
	if (probe || head) && r.backoff < maxBackoff && r.current() < maxRTO {
		r.backoff++
	}
}

// maxBackoff caps the doublings at 8 × rto. Only the head of the queue
// is resent (rtx.go), so a lost packet must get many tries within R, and a
// back-off without bound (1, 2, 4, … 64 s) gives it only six: at 20 % loss
// each way one flow in a few thousand lost packets would go down.
const maxBackoff = 3

// onNewAck undoes the back-off when an ACK acknowledges new data. The
// reference keeps a doubled rto until the next sample; with cumulative
// acks every packet behind a loss is retransmitted, so samples become rare
// and the rto would only grow (as Linux TCP, we reset on progress).
func (r *rttState) onNewAck() { r.backoff = 0 }

// estimate returns the smoothed RTT, 0 before the first sample.
func (r *rttState) estimate() time.Duration {
	if !r.sampled {
		return 0
	}
	return r.srtt
}

// current returns the rto including back-off.
func (r *rttState) current() time.Duration {
	d := r.rto
	for i := uint(0); i < r.backoff && d < maxRTO; i++ {
		d *= 2
	}
	return min(d, maxRTO)
}

func (r *rttState) sample(m time.Duration) {
	if !r.sampled {
		r.sampled = true
		r.srtt, r.mdev = m, m/2
	} else {
		d := m - r.srtt
		r.srtt += d >> 3
		e := (abs(d) - r.mdev) >> 2
		if e < 0 {
			e >>= 3
		}
		r.mdev += e
	}
	r.srtt = max(r.srtt, time.Microsecond)
	r.mdev = max(r.mdev, 100*time.Nanosecond)
	r.rto = min(max(rtoMin, r.srtt+r.mdev<<2), maxRTO)
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
