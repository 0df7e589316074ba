package udp

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawSock sends and receives the data path's datagrams with raw system
// calls, in the netpoller's callbacks: the call runs only once the socket
// is ready and never blocks (the socket is non-blocking), and it does not
// tell the Go scheduler it enters the kernel. A call made the ordinary way
// (net.UDPConn's) wakes the runtime's monitor thread whenever it sleeps,
// as it does each time every goroutine of the process waits: for an IPCP
// that forwards packets one at a time that was a wake-up of that thread
// (and its polling until it slept again) per packet, half of the IPCP's
// context switches under oping -f.
type rawSock struct {
	rc syscall.RawConn
	v6 bool // the socket is AF_INET6
}

// newRawSock returns the raw calls of c, or nil if c's family is not known.
func newRawSock(c *net.UDPConn) *rawSock {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) { sa, serr = unix.Getsockname(int(fd)) }); err != nil || serr != nil {
		return nil
	}
	switch sa.(type) {
	case *unix.SockaddrInet4:
		return &rawSock{rc: rc}
	case *unix.SockaddrInet6:
		return &rawSock{rc: rc, v6: true}
	}
	return nil
}

// putPort stores port in network byte order at p.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// sendTo sends b to to. ok is false, with nothing sent, for an address the
// raw call does not build (an IPv6 zone, a family the socket lacks): the
// caller sends it the ordinary way.
func (s *rawSock) sendTo(b []byte, to netip.AddrPort) (ok bool, err error) {
	var sa4 unix.RawSockaddrInet4
	var sa6 unix.RawSockaddrInet6
	var sa unsafe.Pointer
	var salen uintptr
	a := to.Addr()
	switch {
	case !s.v6 && a.Unmap().Is4():
		sa4.Family = unix.AF_INET
		putPort(&sa4.Port, to.Port())
		sa4.Addr = a.Unmap().As4()
		sa, salen = unsafe.Pointer(&sa4), unix.SizeofSockaddrInet4
	case s.v6 && a.Zone() == "":
		sa6.Family = unix.AF_INET6
		putPort(&sa6.Port, to.Port())
		sa6.Addr = a.As16()
		sa, salen = unsafe.Pointer(&sa6), unix.SizeofSockaddrInet6
	default:
		return false, nil
	}
	var errno unix.Errno
	err = s.rc.Write(func(fd uintptr) bool {
		for {
			_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))),
				uintptr(len(b)), 0, uintptr(sa), salen)
			if errno != unix.EINTR {
				return errno != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return true, err
	}
	if errno != 0 {
		return true, &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendto", errno)}
	}
	return true, nil
}

// recvFrom waits in the netpoller for a datagram and reads it into buf.
func (s *rawSock) recvFrom(buf []byte) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	var n uintptr
	var errno unix.Errno
	err := s.rc.Read(func(fd uintptr) bool {
		for {
			l := uint32(unix.SizeofSockaddrAny)
			n, _, errno = unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(buf))),
				uintptr(len(buf)), 0, uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
			if errno != unix.EINTR {
				return errno != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if errno != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("recvfrom", errno)}
	}
	var src netip.AddrPort
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		src = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), getPort(&sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			zone := strconv.Itoa(int(sa.Scope_id))
			if ifi, err := net.InterfaceByIndex(int(sa.Scope_id)); err == nil {
				zone = ifi.Name
			}
			a = a.WithZone(zone)
		}
		src = netip.AddrPortFrom(a, getPort(&sa.Port))
	}
	return int(n), src, nil
}
