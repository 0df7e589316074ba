package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/qos"
)

// A Path is one way for the harness to reach a server process on this
// machine: a row group of the results. Adding a path (a unicast layer) is
// adding a Path with its Open to DefaultPaths; measuring an
// Ouroboros path with another QoS is adding a Path with the same Open and
// another QoS.
type Path struct {
	ID     string // short identifier, in the JSON
	Label  string // name in the tables
	Kernel bool   // a kernel baseline rather than Ouroboros
	// QoS is the QoS cube of an Ouroboros path's flow, by its tool name
	// (qos.ByName: "raw", "data", ...); "" means raw, and kernel paths
	// ignore it. The server adopts the QoS the client allocates with.
	QoS string
	// Baseline is the ID of the path its figures are compared to in the
	// tables: a kernel path (the one closest to what the path rides on), or
	// for a flow with another QoS the raw flow of the same path. The JSON
	// has the ratios to every kernel path as well.
	Baseline string
	// Open starts the server process (and whatever else the path needs) and
	// returns a session connected to it; an Ouroboros path allocates its
	// flow with spec (the Path's QoS).
	Open func(ctx context.Context, h *Harness, spec qos.Spec) (*Session, error)
	// Skip, if set, says why the path cannot run on this machine ("needs
	// root ..."), or "" when it can. A path skipped is not opened: its rows
	// carry the reason rather than figures, and do not fail the run.
	Skip func() string
}

// Session is an open path.
type Session struct {
	Conn Conn
	// Lossy says that packets may be lost (kernel UDP, a raw flow over a
	// udp4 or eth-dix layer): the measurements count losses rather than
	// fail on them.
	// On a path that is not lossy, a lost packet is an error.
	Lossy bool
	PIDs  []int // every process whose CPU time counts: this one, the server, irmds, IPCPs
	close func()
}

// Close tears the path down: the connection, the processes, the directories.
func (s *Session) Close() {
	if s.close != nil {
		s.close()
		s.close = nil
	}
}

// Path identifiers.
const (
	DirectID    = "direct"
	LocalIPCPID = "local-ipcp"
	UDP4LayerID = "udp4-layer"
	EthDIXID    = "eth-dix-layer"
	UnicastID   = "unicast-udp4" // a unicast layer over the udp4 layer (tools tables only)
	UnixID      = "unix-seqpacket"
	UDPID       = "udp-loopback"
)

// DefaultPaths returns the paths of a run, in table order. The reliable flows
// (QoS data: FRCT with retransmission) are compared to the raw flow of the
// same path; the raw flow over the udp4 layer is compared to kernel UDP, which
// it rides on, and so is the raw flow over the eth-dix layer: datagrams
// through the kernel's network stack between two processes, which may be
// lost, the closest kernel path the harness has (there is no kernel path
// over the veth pair). The eth-dix layer is skipped without root.
func DefaultPaths() []Path {
	return []Path{
		{ID: DirectID, Label: "direct flow", QoS: "raw", Baseline: UnixID, Open: openDirect},
		{ID: DirectID + "-reliable", Label: "direct flow, reliable", QoS: "data", Baseline: DirectID,
			Open: openDirect},
		{ID: LocalIPCPID, Label: "local IPCP", QoS: "raw", Baseline: UnixID, Open: openLocalIPCP},
		{ID: LocalIPCPID + "-reliable", Label: "local IPCP, reliable", QoS: "data", Baseline: LocalIPCPID,
			Open: openLocalIPCP},
		{ID: UDP4LayerID, Label: "udp4 layer", QoS: "raw", Baseline: UDPID, Open: openUDP4Layer},
		{ID: UDP4LayerID + "-reliable", Label: "udp4 layer, reliable", QoS: "data", Baseline: UDP4LayerID,
			Open: openUDP4Layer},
		{ID: EthDIXID, Label: "eth-dix layer", QoS: "raw", Baseline: UDPID, Open: openEthDIXLayer, Skip: ethSkip},
		{ID: EthDIXID + "-reliable", Label: "eth-dix layer, reliable", QoS: "data", Baseline: EthDIXID,
			Open: openEthDIXLayer, Skip: ethSkip},
		{ID: UnixID, Label: "kernel: unix seqpacket", Kernel: true, Open: openUnix},
		{ID: UDPID, Label: "kernel: udp 127.0.0.1", Kernel: true, Open: openUDP},
	}
}

// readyWait bounds the start of every process the harness runs.
const readyWait = 10 * time.Second

// openUnix connects this process and a peer process with a SOCK_SEQPACKET
// socketpair: the peer gets its end as file descriptor 3.
func openUnix(ctx context.Context, h *Harness, _ qos.Spec) (*Session, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	for _, fd := range fds {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sockBuf)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, sockBuf)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "socketpair"), os.NewFile(uintptr(fds[1]), "socketpair")
	cmd := exec.Command(h.self, PeerCommand, "unix")
	cmd.ExtraFiles = []*os.File{theirs}
	peer, err := h.procs.start("unix peer", cmd, false)
	theirs.Close()
	if err != nil {
		mine.Close()
		return nil, err
	}
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		h.procs.stop(peer)
		return nil, err
	}
	s := &Session{Conn: c.(*net.UnixConn), PIDs: []int{os.Getpid(), peer.pid()},
		close: func() { c.Close(); h.procs.stop(peer) }}
	if _, err := peer.waitOutput("ready", readyWait); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openUDP starts a peer process on a UDP socket of 127.0.0.1 and connects a
// UDP socket of this process to it.
func openUDP(ctx context.Context, h *Harness, _ qos.Spec) (*Session, error) {
	peer, err := h.procs.start("udp peer", exec.Command(h.self, PeerCommand, "udp"), false)
	if err != nil {
		return nil, err
	}
	line, err := peer.waitOutput("ready ", readyWait)
	if err != nil {
		h.procs.stop(peer)
		return nil, err
	}
	port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ready ")))
	if err != nil {
		h.procs.stop(peer)
		return nil, fmt.Errorf("udp peer: bad port in %q", line)
	}
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		h.procs.stop(peer)
		return nil, err
	}
	c.SetReadBuffer(sockBuf)
	c.SetWriteBuffer(sockBuf)
	return &Session{Conn: c, Lossy: true, PIDs: []int{os.Getpid(), peer.pid()},
		close: func() { c.Close(); h.procs.stop(peer) }}, nil
}
