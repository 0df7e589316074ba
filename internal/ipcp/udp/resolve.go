package udp

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// HostsEnv names a hosts file that replaces the system resolver for name
// queries. Its lines have the /etc/hosts syntax,
// an address followed by names; the name of an Ouroboros name is the
// lower-case hex of its MD5 hash:
//
//	127.0.0.2  7862c6fec5ecaef4aa2e3934725e23b3   # "oping"
//
// Private instances and tests set it, so that they never touch /etc/hosts.
// Without it the system resolver is asked, which reads /etc/hosts (and DNS).
const HostsEnv = "OUROBOROS_HOSTS"

// DNSName returns the DNS name of a name hash: lower-case hex, no suffix.
func DNSName(h []byte) string { return hex.EncodeToString(h) }

// resolve finds the address of hash h in the hosts file named by HostsEnv,
// or with the system resolver, for the IPCP's address family.
func resolve(ctx context.Context, h []byte, v6 bool) (netip.Addr, error) {
	name := DNSName(h)
	if path := os.Getenv(HostsEnv); path != "" {
		return lookupHostsFile(path, name, v6)
	}
	network := "ip4"
	if v6 {
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, name)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a = a.Unmap(); a.Is6() == v6 {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s: no %s address", name, network)
}

// lookupHostsFile returns the first address of the right family listed
// for name in a hosts file. Malformed lines are skipped.
func lookupHostsFile(path, name string, v6 bool) (netip.Addr, error) {
	f, err := os.Open(path)
	if err != nil {
		return netip.Addr{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		a, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		if a = a.Unmap(); a.Is6() != v6 {
			continue
		}
		for _, n := range fields[1:] {
			if strings.EqualFold(n, name) {
				return a, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %w", path, err)
	}
	return netip.Addr{}, fmt.Errorf("%s: not in %s", name, path)
}
