package oerr

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestValues(t *testing.T) {
	// The numbers cross the IRMd protocol: they are the reference's.
	want := map[Errno]int32{EPERM: 1, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EINVAL: 22, EPIPE: 32,
		EMSGSIZE: 90, ENOTSUP: 95, ECONNRESET: 104, ETIMEDOUT: 110, ENOTALLOC: 1000,
		EIPCPTYPE: 1001, EIRMD: 1002, EIPCP: 1003, EIPCPSTATE: 1004, EFLOWDOWN: 1005,
		EFLOWPEER: 1006, ENAME: 1007, ECRYPT: 1008, EAUTH: 1009}
	for e, v := range want {
		if int32(e) != v {
			t.Errorf("%s = %d, want %d", e.Name(), e, v)
		}
	}
}

func TestIs(t *testing.T) {
	wrapped := fmt.Errorf("read: %w", ETIMEDOUT)
	if !errors.Is(wrapped, os.ErrDeadlineExceeded) {
		t.Error("ETIMEDOUT is not os.ErrDeadlineExceeded")
	}
	if !errors.Is(fmt.Errorf("x: %w", EFLOWDOWN), net.ErrClosed) {
		t.Error("EFLOWDOWN is not net.ErrClosed")
	}
	if !errors.Is(EAGAIN, syscall.EAGAIN) {
		t.Error("EAGAIN is not syscall.EAGAIN")
	}
	if errors.Is(ENAME, net.ErrClosed) {
		t.Error("ENAME is net.ErrClosed")
	}
	var ne net.Error = ETIMEDOUT
	if !ne.Timeout() {
		t.Error("ETIMEDOUT.Timeout() false")
	}
}

func TestResult(t *testing.T) {
	cases := []struct {
		err  error
		want int32
	}{
		{nil, 0}, {ENAME, -1007}, {fmt.Errorf("x: %w", EIPCP), -1003},
		{syscall.ENOENT, -2}, {errors.New("other"), -1},
	}
	for _, c := range cases {
		if got := Result(c.err); got != c.want {
			t.Errorf("Result(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if FromResult(0) != nil || FromResult(5) != nil {
		t.Error("FromResult(>=0) != nil")
	}
	if err := FromResult(-1005); err != EFLOWDOWN {
		t.Errorf("FromResult(-1005) = %v", err)
	}
	if s := Errno(-7).Error(); s != "errno -7" {
		t.Errorf("Error() = %q", s)
	}
	if s := EPERM.Error(); s != syscall.EPERM.Error() {
		t.Errorf("EPERM.Error() = %q", s)
	}
}
