package eth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/wire"
)

// ethP8022 is ETH_P_802_2: the kernel's protocol for 802.3 frames with an
// LLC header, which is what an eth-llc socket receives.
const ethP8022 = unix.ETH_P_802_2

// sockBuf is the socket buffer size asked for, bytes (root may exceed
// net.core.rmem_max/wmem_max).
const sockBuf = 4 << 20

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ifInfo describes the interface a socket is bound to.
type ifInfo struct {
	index int
	mac   wire.EthAddr
	mtu   int
	up    bool
}

// rawLink is an AF_PACKET SOCK_RAW socket bound to one interface and one
// protocol. It is non-blocking and in the Go poller: Close ends a pending
// ReadFrame with os.ErrClosed.
type rawLink struct{ f *os.File }

// openRaw opens a raw socket receiving the frames of protocol proto on dev.
// The socket is created with protocol 0 (it receives nothing) and only the
// bind names the protocol, so no frame of another interface slips in.
func openRaw(dev string, proto uint16) (*rawLink, ifInfo, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		// ENODEV crosses to the IRMd and the irm tool in the result code,
		// which carries no text.
		return nil, ifInfo{}, fmt.Errorf("%w: %w", err, syscall.ENODEV)
	}
	if len(ifi.HardwareAddr) != wire.EthAddrLen {
		return nil, ifInfo{}, fmt.Errorf("no 6-byte hardware address (%v)", ifi.HardwareAddr)
	}
	info := ifInfo{index: ifi.Index, mac: wire.EthAddr(ifi.HardwareAddr), mtu: ifi.MTU, up: ifi.Flags&net.FlagUp != 0}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, ifInfo{}, fmt.Errorf("raw socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, ifInfo{}, fmt.Errorf("bind raw socket: %w", err)
	}
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], sockBuf) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], sockBuf)
		}
	}
	return &rawLink{f: os.NewFile(uintptr(fd), "packet:"+dev)}, info, nil
}

// ReadFrame reads one frame, from its destination MAC.
func (l *rawLink) ReadFrame(b []byte) (int, error) { return l.f.Read(b) }

// WriteFrame sends one complete frame; it waits while the socket buffer is
// full.
func (l *rawLink) WriteFrame(b []byte) error {
	_, err := l.f.Write(b)
	return err
}

// Close closes the socket.
func (l *rawLink) Close() error { return l.f.Close() }

// linkMonitor receives the kernel's link notifications (rtnetlink,
// RTMGRP_LINK).
type linkMonitor struct{ f *os.File }

func openLinkMonitor() (*linkMonitor, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &linkMonitor{f: os.NewFile(uintptr(fd), "rtnetlink")}, nil
}

// Close ends run.
func (m *linkMonitor) Close() error { return m.f.Close() }

// run calls fn with the IFF_UP state of interface index at every
// notification for it, until Close.
func (m *linkMonitor) run(index int, fn func(up bool)) {
	buf := make([]byte, 1<<16)
	for {
		n, err := m.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			continue // ENOBUFS: notifications lost; the next one tells the state
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			continue
		}
		for _, msg := range msgs {
			if up, ok := linkUp(msg, index); ok {
				fn(up)
			}
		}
	}
}

// linkUp decodes an RTM_NEWLINK or RTM_DELLINK message about interface
// index: struct ifinfomsg is family(1) pad(1) type(2) index(4) flags(4)
// change(4), in host order.
func linkUp(msg syscall.NetlinkMessage, index int) (up, ok bool) {
	t := msg.Header.Type
	if (t != unix.RTM_NEWLINK && t != unix.RTM_DELLINK) || len(msg.Data) < unix.SizeofIfInfomsg {
		return false, false
	}
	if int(int32(binary.NativeEndian.Uint32(msg.Data[4:]))) != index {
		return false, false
	}
	flags := binary.NativeEndian.Uint32(msg.Data[8:])
	return t == unix.RTM_NEWLINK && flags&unix.IFF_UP != 0, true
}
