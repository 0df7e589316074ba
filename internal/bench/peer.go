package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/ouroboros-go/ouroboros/flow"
)

// PeerCommand is the hidden first argument that makes obench run as the
// server end of a path: "obench peer unix" (the socket is file descriptor 3),
// "obench peer udp", "obench peer flow <name>", or a role of the scale
// measurements (scalepeer.go) or of the EventSet rows (eventsetpeer.go). A peer prints "ready"
// (followed by the UDP port for udp) once it serves, and exits when its
// standard input closes, so it never outlives the harness.
const PeerCommand = "peer"

// sockBuf is the socket buffer size asked for on the kernel paths' sockets,
// in bytes: the same as the flow data path asks for on its socketpairs.
const sockBuf = 1 << 20

// maxPacket is the read buffer of the servers, in bytes.
const maxPacket = 65536

// packetConn is what the server loop needs of a connection: one packet per
// Read and per Write.
type packetConn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
}

// serve answers the harness on c until a read fails: it echoes kindEcho and
// kindEchoLast packets, counts kindSink packets of the latest test, and
// answers kindEnd with that count. With lossy set, failed writes are ignored
// (a datagram socket may refuse a packet and go on).
func serve(c packetConn, lossy bool) error {
	buf := make([]byte, maxPacket)
	reply := make([]byte, hdrLen)
	var cur uint32 // test whose sink packets are being counted
	var count uint64
	for {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		h, ok := parseHeader(buf[:n])
		if !ok {
			continue
		}
		var out []byte
		switch h.kind {
		case kindEcho, kindEchoLast:
			out = buf[:n]
		case kindSink:
			if h.test != cur {
				cur, count = h.test, 0
			}
			count++
		case kindEnd:
			r := header{kind: kindCount, test: h.test}
			if h.test == cur {
				r.seq = count
			}
			r.put(reply)
			out = reply
		}
		if out != nil {
			if _, err := c.Write(out); err != nil && !lossy {
				return err
			}
		}
	}
}

// udpServer answers whoever sent the last datagram.
type udpServer struct {
	c    *net.UDPConn
	peer netip.AddrPort
}

func (u *udpServer) Read(p []byte) (int, error) {
	n, a, err := u.c.ReadFromUDPAddrPort(p)
	if err == nil {
		u.peer = a
	}
	return n, err
}

func (u *udpServer) Write(p []byte) (int, error) { return u.c.WriteToUDPAddrPort(p, u.peer) }

// PeerMain runs a peer role (the arguments after PeerCommand) and returns the
// exit status.
func PeerMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "obench peer: missing role")
		return 2
	}
	var err error
	switch args[0] {
	case "unix":
		err = peerUnix()
	case "udp":
		err = peerUDP()
	case "flow":
		if len(args) != 2 {
			fmt.Fprintln(os.Stderr, "obench peer flow: want a name")
			return 2
		}
		err = peerFlow(args[1])
	case roleHold, roleMany:
		if len(args) != 2 {
			fmt.Fprintf(os.Stderr, "obench peer %s: want a name\n", args[0])
			return 2
		}
		if args[0] == roleHold {
			err = peerHold(args[1])
		} else {
			err = peerMany(args[1])
		}
	case roleEvServer, roleEvDrive:
		err = evPeerMain(args)
	default:
		fmt.Fprintf(os.Stderr, "obench peer: unknown role %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "obench peer %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// exitOnStdinEOF ends the process when its standard input closes: the
// harness closed it, or died.
func exitOnStdinEOF(before func()) {
	go func() {
		io.Copy(io.Discard, os.Stdin)
		if before != nil {
			before()
		}
		os.Exit(0)
	}()
}

func peerUnix() error {
	exitOnStdinEOF(nil)
	f := os.NewFile(3, "socketpair")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return err
	}
	fmt.Println("ready")
	return serve(c, false)
}

func peerUDP() error {
	exitOnStdinEOF(nil)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	c.SetReadBuffer(sockBuf)
	c.SetWriteBuffer(sockBuf)
	fmt.Println("ready", c.LocalAddr().(*net.UDPAddr).Port)
	return serve(&udpServer{c: c}, true)
}

// peerFlow announces itself to the IRMd of $OUROBOROS_RUN_DIR, binds itself to
// name and serves every flow it accepts. An accepted flow has the QoS the
// client allocated it with (raw, or reliable with FRCT), so one peer serves
// every QoS.
func peerFlow(name string) error {
	return acceptLoop(name, func(f *flow.Flow) {
		// Whole messages only: a message that fills the buffer is not
		// followed by a zero-length read.
		f.SetFlags(flow.FlagRdWr | flow.FlagRNoPart)
		serve(f, false)
	})
}

// acceptLoop binds this process to name, prints "ready" and hands every
// flow it accepts to handle in a goroutine of its own, closing the flow
// when handle returns. It returns when an accept fails.
func acceptLoop(name string, handle func(*flow.Flow)) error {
	exitOnStdinEOF(flow.Fini)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := flow.Bind(ctx, name)
	cancel()
	if err != nil {
		return err
	}
	fmt.Println("ready")
	for {
		f, err := flow.Accept(context.Background())
		if err != nil {
			return err
		}
		go func() {
			defer f.Close()
			handle(f)
		}()
	}
}
