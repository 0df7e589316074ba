package irmd

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ouroboros-go/ouroboros/internal/olog"
)

func TestConnLimit(t *testing.T) {
	l := connLimit{max: 3}
	for i := range 3 {
		if !l.acquire(1000) {
			t.Fatalf("connection %d of 3 refused", i+1)
		}
	}
	if l.acquire(1000) {
		t.Fatal("fourth connection admitted")
	}
	if !l.acquire(1001) {
		t.Fatal("another uid refused")
	}
	l.release(1000)
	if !l.acquire(1000) {
		t.Fatal("refused after a release")
	}
	for range 3 {
		l.release(1000)
	}
	l.release(1001)
	if len(l.open) != 0 {
		t.Errorf("counts left: %v", l.open)
	}
}

func TestRateLog(t *testing.T) {
	now := time.Unix(1000, 0)
	var buf bytes.Buffer
	log := olog.New(&buf, "irmd", olog.Options{PID: 1})
	l := rateLog{now: func() time.Time { return now }}
	for i := range 3 * logBurst {
		l.logf(log, "refused %d", i)
	}
	if n := strings.Count(buf.String(), "\n"); n != logBurst {
		t.Fatalf("%d lines in one interval, want %d:\n%s", n, logBurst, buf.String())
	}
	now = now.Add(logInterval)
	buf.Reset()
	l.logf(log, "refused again")
	want := "==00001== irmd(WW): refused again (20 similar lines not logged)\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

// TestKeyedRateLog: a burst of one kind of refusal does not hide the first
// line of another (the permission test's eleventh kind of refusal, logged
// within a second of the ten before it, used to be dropped).
func TestKeyedRateLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var k keyedRateLog
	for i := range 3 * logBurst {
		k.logf(log, "flood", "flood %d", i)
	}
	for i := range logBurst + 5 {
		k.logf(log, fmt.Sprint("kind", i), "kind %d", i)
	}
	out := buf.String()
	if n := strings.Count(out, "flood"); n != logBurst {
		t.Errorf("%d lines of one kind written, want the burst of %d", n, logBurst)
	}
	for i := range logBurst + 5 {
		if !strings.Contains(out, fmt.Sprintf("kind %d\"", i)) {
			t.Errorf("first line of kind %d not written:\n%s", i, out)
		}
	}
}
