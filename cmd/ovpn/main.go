// Command ovpn carries IP over an Ouroboros flow through a TUN device, as
// the reference's ovpn: one raw IP packet (no header, no framing) per
// message, in both directions, on a raw flow.
//
//	ovpn -i 10.10.10.2 -m 255.255.255.0                   server: accept one flow
//	ovpn -i 10.10.10.1 -m 255.255.255.0 -n my.vpn.server  client: allocate a flow
//
// The server accepts one flow for a name its process is bound to (irm bind
// process <pid> name <name>, or irm bind program ovpn name <name>); the
// client allocates a flow to that name. Each side then creates a TUN device
// (the kernel names it tunN), gives it the address, netmask and MTU with
// ioctls and brings it up, and copies packets between the device and the
// flow until a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT: exit 0) or the end
// of the flow (exit 1). The device is not persistent: it disappears when
// ovpn exits, however it exits.
//
// Deliberate deviations from the reference, each for a tunnel that cannot
// silently lose packets or hang:
//
//   - the MTU of the device is set (-M, default 1400 bytes, which every
//     shim layer carries in one packet, lowered to the flow's largest
//     message when its layer carries less), so the kernel fragments or refuses
//     (ICMP "fragmentation needed") rather than handing ovpn a packet the
//     layer cannot carry; a packet longer than it that still reaches ovpn is
//     dropped, counted and logged, never sent;
//   - packets from the flow are checked (IP version, header lengths) before
//     they reach the kernel; others are dropped, counted and logged;
//   - the end of the flow (the peer left or died) ends the tunnel, instead
//     of the reference's threads spinning on failed reads; -t sets the
//     peer timeout of the flow (the keepalive; default the raw cube's 120 s),
//     which bounds how long a dead peer across a shim layer goes unnoticed;
//   - 255.255.255.255 is a valid netmask (the reference mistakes it for a
//     missing one), and an unknown option is named before the usage;
//   - at exit it prints how many packets went each way and were dropped.
package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/ouroboros-go/ouroboros/flow"
	"github.com/ouroboros-go/ouroboros/internal/tool"
)

// Defaults and limits.
const (
	defaultMTU = 1400      // bytes: fits every shim layer's packet (as flow.StreamChunk)
	minMTU     = 68        // bytes: the smallest IPv4 MTU (RFC 791)
	maxMTU     = 65535     // bytes: the largest IP packet, and the device's limit
	maxTimeout = 3600 * 24 // s
)

const usageText = `Usage: ovpn [OPTION]...
Creates a VPN connection: IP over an Ouroboros flow through a TUN device.

  -i, --ip                  IPv4 address of the TUN device (required)
  -m, --mask                Subnet mask of the TUN device (required)
  -n, --name                Name of the server to connect to (client);
                            without it, wait for one flow (server)
  -M, --mtu                 MTU of the TUN device in bytes (68 to 65535,
                            default 1400, or less if the flow carries less);
                            packets longer than it are dropped
  -t, --timeout             Peer timeout of the flow in s (client; the server
                            takes the client's; default 120)

  -h, --help                Print this help and exit
`

// config is the parsed command line.
type config struct {
	ip, mask netip.Addr
	name     string // empty: server
	mtu      int
	mtuSet   bool // -M given: the device gets mtu whatever the flow carries
	timeout  int  // s; 0: the raw cube's
}

// parseArgs reads the command line with the reference's messages; it
// returns a *tool.ExitError for --help and every mistake.
func parseArgs(args []string) (config, error) {
	cfg := config{mtu: defaultMTU}
	bad := func(msg string) error { return &tool.ExitError{Code: 1, Msg: msg + "\n", Usage: true} }
	var ipSet, maskSet bool
	var extra []string
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		opt, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			if k, v, ok := strings.Cut(a, "="); ok {
				opt, val, hasVal = k, v, true
			}
		}
		switch opt {
		case "-h", "--help":
			return cfg, &tool.ExitError{Code: 0, Usage: true}
		case "-i", "--ip", "-m", "--mask", "-n", "--name", "-M", "--mtu", "-t", "--timeout":
		default:
			if len(a) > 1 && a[0] == '-' {
				return cfg, tool.Unknown("ovpn", a)
			}
			extra = append(extra, a)
			continue
		}
		if !hasVal {
			if len(args) == 0 {
				return cfg, tool.Missing("ovpn", opt)
			}
			val, args = args[0], args[1:]
		}
		switch opt {
		case "-i", "--ip":
			ip, err := netip.ParseAddr(val)
			if err != nil || !ip.Is4() {
				return cfg, bad(fmt.Sprintf("Invalid IP address: %s.", val))
			}
			cfg.ip, ipSet = ip, !ip.IsUnspecified() // 0.0.0.0 counts as not given
		case "-m", "--mask":
			m, err := netip.ParseAddr(val)
			if err != nil || !m.Is4() || !contiguous(m) {
				return cfg, bad(fmt.Sprintf("Invalid subnet mask: %s.", val))
			}
			cfg.mask, maskSet = m, true
		case "-n", "--name":
			if val == "" {
				return cfg, tool.Missing("ovpn", opt)
			}
			cfg.name = val
		case "-M", "--mtu":
			n, ok := tool.Int(val, minMTU, maxMTU)
			if !ok {
				return cfg, tool.BadValue("ovpn", opt, val, fmt.Sprintf("want bytes from %d to %d", minMTU, maxMTU))
			}
			cfg.mtu, cfg.mtuSet = int(n), true
		case "-t", "--timeout":
			n, ok := tool.Int(val, 1, maxTimeout)
			if !ok {
				return cfg, tool.BadValue("ovpn", opt, val, fmt.Sprintf("want seconds from 1 to %d", maxTimeout))
			}
			cfg.timeout = int(n)
		}
	}
	if len(extra) > 0 {
		return cfg, &tool.ExitError{Code: 1, Msg: "Unknown arguments specified: " + strings.Join(extra, " ") + " ", Usage: true}
	}
	if !ipSet {
		return cfg, bad("Please specify an IP address.")
	}
	if !maskSet {
		return cfg, bad("Please specify a subnetmask.")
	}
	return cfg, nil
}

// contiguous reports whether the netmask m is ones followed by zeros (0 and
// 255.255.255.255 included).
func contiguous(m netip.Addr) bool {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	inv := ^v
	return inv&(inv+1) == 0
}

// run is the whole program; it returns the exit status.
func run(args []string, stdout io.Writer) int {
	cfg, err := parseArgs(args)
	if err != nil {
		return tool.Report(stdout, err, usageText)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stdout, "ovpn must be run as root.")
		return 1
	}
	return runTunnel(cfg, stdout)
}

func main() {
	code := run(os.Args[1:], os.Stdout)
	flow.Fini()
	os.Exit(code)
}
