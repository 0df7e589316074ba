package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/irm"
)

const ipcpBootstrapUsage = `Usage: irm ipcp bootstrap
                name <ipcp name>
                layer <layer name>
                [type [TYPE]]
where TYPE in {unicast broadcast udp4 udp6 eth-dix eth-llc local}

if TYPE == unicast
                [addr <address size> (default: 4)]
                [eid <eid size> (default: 8)]
                [ttl <max time-to-live value> (default: 60)]
                [addr_auth <ADDRESS_POLICY> (default: flat)]
                [routing <ROUTING_POLICY> (default: link_state)]
                [ls_t_recalc <seconds> (default: 4)]
                [ls_t_update <seconds> (default: 15)]
                [ls_t_timeo <seconds> (default: 60)]
                [congestion <CONG_POLICY> (default: mb-ecn)]
                [directory <DIRECTORY_POLICY> (default: DHT)]
                [dht_alpha <parallel lookups> (default: 3)]
                [dht_k <bucket size> (default: 8)]
                [dht_t_expire <seconds> (default: 86400)]
                [dht_t_refresh <seconds> (default: 900)]
                [dht_t_replicate <seconds> (default: 900)]
                [hash [ALGORITHM] (default: SHA3_256)]
                [autobind]
where ADDRESS_POLICY in {flat}
      ROUTING_POLICY in {link_state lfa ecmp}
      CONG_POLICY in {none mb-ecn}
      DIRECTORY_POLICY in {DHT}
      ALGORITHM in {SHA3_224 SHA3_256 SHA3_384 SHA3_512}

if TYPE == udp4 or TYPE == udp6
                ip <IP address>
                [port <UDP port> (default: 3435)]
                [dns <DDNS IP address> (default: none)]

if TYPE == eth-llc or TYPE == eth-dix
                dev <interface name>
                [ethertype <ethertype> (default: 0xA000, eth-dix only)]
                [hash [ALGORITHM] (default: SHA3_256)]

if TYPE == local
                [hash [ALGORITHM] (default: SHA3_256)]

if TYPE == broadcast
                [autobind]
`

// bootstrapTypes is the order in which a prefix given to "type" selects.
var bootstrapTypes = []irm.IPCPType{
	irm.Unicast, irm.Broadcast, irm.UDP4, irm.UDP6, irm.EthDIX, irm.EthLLC, irm.Local,
}

// bootstrapArgs is the parsed command line. conf starts at the defaults and
// carries every option that does not depend on the IPCP's type; config
// completes it per IPCP.
type bootstrapArgs struct {
	name, layer string
	typ         *irm.IPCPType
	ip, dns     netip.Addr
	ipText      string
	dev         string
	autobind    bool
	conf        irm.Config
}

func ipcpBootstrap(e *env, args []string) error {
	b := bootstrapArgs{conf: irm.DefaultConfig(0, "")}
	u := &b.conf.Unicast
	ci := cmdInfo{path: "irm ipcp bootstrap", usage: ipcpBootstrapUsage,
		unknown: `Unknown option: "%s".`}
	if err := e.parse(ci, args, []option{
		{keyword: "type", set: b.setType(e)},
		{keyword: "layer", set: store(&b.layer)},
		{keyword: "name", set: store(&b.name)},
		{keyword: "hash", set: oneOf(e, "hash", &b.conf.Hash, map[string]irm.HashAlgo{
			"SHA3_224": irm.SHA3_224, "SHA3_256": irm.SHA3_256,
			"SHA3_384": irm.SHA3_384, "SHA3_512": irm.SHA3_512})},
		{keyword: "ip", set: b.setAddr(e, "ip", &b.ip)},
		{keyword: "dns", set: b.setAddr(e, "dns", &b.dns)},
		{keyword: "device", set: store(&b.dev)},
		{keyword: "ethertype", set: b.setEthertype(e)},
		{keyword: "addr", set: number(e, "addr", &u.AddrSize)},
		{keyword: "eid", set: number(e, "eid", &u.EIDSize)},
		{keyword: "ttl", set: number(e, "ttl", &u.MaxTTL)},
		{keyword: "port", set: b.setPort(e)},
		{keyword: "autobind", flag: true, set: setTrue(&b.autobind)},
		{keyword: "addr_auth", set: oneOf(e, "addr_auth", &u.AddrAuth,
			map[string]irm.AddrAuthPolicy{"flat": irm.AddrAuthFlat})},
		{keyword: "directory", set: oneOf(e, "directory", &u.Directory,
			map[string]irm.DirPolicy{"DHT": irm.DirDHT})},
		{keyword: "dht_alpha", set: number(e, "dht_alpha", &u.DHT.Alpha)},
		{keyword: "dht_k", set: number(e, "dht_k", &u.DHT.K)},
		{keyword: "dht_t_expire", set: number(e, "dht_t_expire", &u.DHT.Expire)},
		{keyword: "dht_t_refresh", set: number(e, "dht_t_refresh", &u.DHT.Refresh)},
		{keyword: "dht_t_replicate", set: number(e, "dht_t_replicate", &u.DHT.Replicate)},
		{keyword: "routing", set: oneOf(e, "routing", &u.LinkState.Policy,
			map[string]irm.LSPolicy{"link_state": irm.LSSimple, "lfa": irm.LSLFA, "ecmp": irm.LSECMP})},
		{keyword: "ls_t_timeo", set: number(e, "ls_t_timeo", &u.LinkState.Timeout)},
		{keyword: "ls_t_update", set: number(e, "ls_t_update", &u.LinkState.Update)},
		{keyword: "ls_t_recalc", set: number(e, "ls_t_recalc", &u.LinkState.Recalc)},
		{keyword: "congestion", set: oneOf(e, "congestion", &u.Congestion,
			map[string]irm.CongestionPolicy{"none": irm.CongestionNone, "mb-ecn": irm.CongestionMBECN})},
	}); err != nil {
		return err
	}
	if b.name == "" || b.layer == "" {
		return e.usage(ipcpBootstrapUsage)
	}
	if len(b.layer) > irm.MaxNameLen {
		return e.failf("Layer name too long.")
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return err
	}
	targets := matching(ipcps, b.name, nil)
	created := false
	if len(targets) == 0 {
		if b.typ == nil {
			return e.failf("No IPCPs matching %s found.", b.name)
		}
		// Check the arguments the type needs before creating the IPCP, so a
		// mistake leaves nothing behind.
		if _, err := b.config(e, *b.typ); err != nil {
			return err
		}
		if targets, err = e.findOrCreate(ipcps, b.name, *b.typ); err != nil {
			return err
		}
		created = true
	}
	if err := b.bootstrap(e, targets); err != nil {
		if created {
			// The IPCP was created for this command: do not leave it
			// behind, not enrolled and unusable.
			for _, i := range targets {
				e.c.DestroyIPCP(e.ctx, i.PID)
			}
		}
		return err
	}
	return nil
}

// bootstrap bootstraps each target IPCP, binding it first for autobind.
func (b *bootstrapArgs) bootstrap(e *env, targets []irm.IPCPInfo) error {
	for _, i := range targets {
		if b.typ != nil && i.Type != *b.typ {
			return e.failf("Types do not match.")
		}
		conf, err := b.config(e, i.Type)
		if err != nil {
			return err
		}
		bind := b.autobind && e.canBind(i.Type)
		if bind {
			if err := e.autobind(i.PID, i.Name, b.layer); err != nil {
				return err
			}
		}
		if err := e.c.BootstrapIPCP(e.ctx, i.PID, conf); err != nil {
			if bind {
				e.unautobind(i.PID, i.Name, b.layer)
			}
			if errors.Is(err, oerr.EIRMD) {
				return err
			}
			return e.failf("Failed to bootstrap IPCP %s in layer %s: %s.", i.Name, b.layer, bootstrapReason(err, conf))
		}
	}
	return nil
}

// bootstrapReason says in words why an IPCP refused to bootstrap. The IRMd
// passes on only the IPCP's error number; the IPCP's own message, with the
// details, is in its log (irmd --stdout shows it).
func bootstrapReason(err error, conf irm.Config) string {
	var n oerr.Errno
	if !errors.As(err, &n) {
		return err.Error()
	}
	switch syscall.Errno(n) {
	case syscall.ENODEV:
		return fmt.Sprintf("no network device %q", conf.Eth.Dev)
	case syscall.EADDRINUSE:
		return "the address or port is in use"
	case syscall.EADDRNOTAVAIL:
		return "the address is not one of this host's"
	case syscall.EPERM, syscall.EACCES:
		if conf.Type == irm.EthDIX || conf.Type == irm.EthLLC {
			return "the IPCP refused (a raw Ethernet layer needs root or CAP_NET_RAW); its reason is in the log of the irmd"
		}
		return "the IPCP refused; its reason is in the log of the irmd"
	}
	return err.Error() + " (the IPCP's reason is in the log of the irmd)"
}

// config completes the configuration for an IPCP of type t, checking the
// options that type requires.
func (b *bootstrapArgs) config(e *env, t irm.IPCPType) (irm.Config, error) {
	conf := b.conf
	conf.Type = t
	conf.Layer = b.layer
	switch t {
	case irm.EthLLC, irm.EthDIX:
		if b.dev == "" {
			e.errorf("Missing argument: dev <interface name>.")
			return conf, e.usage(ipcpBootstrapUsage)
		}
		conf.Eth.Dev = b.dev
	case irm.UDP4:
		if !b.ip.IsValid() {
			e.errorf("Missing argument: ip <IP address>.")
			return conf, e.usage(ipcpBootstrapUsage)
		}
		ip, dns := b.ip.Unmap(), b.dns.Unmap()
		if !ip.Is4() || ip.IsUnspecified() {
			return conf, e.failf("Invalid IP address: \"%s\".", b.ipText)
		}
		if dns.IsValid() && !dns.Is4() {
			return conf, e.failf("Invalid DNS address: \"%s\".", dns)
		}
		conf.UDP4.IP, conf.UDP4.DNS = ip, dns
	case irm.UDP6:
		if !b.ip.IsValid() {
			e.errorf("Missing argument: ip <IP address>.")
			return conf, e.usage(ipcpBootstrapUsage)
		}
		if !b.ip.Is6() || b.ip.Is4In6() || b.ip.IsUnspecified() {
			return conf, e.failf("Invalid IP address: \"%s\".", b.ipText)
		}
		if b.dns.IsValid() && !b.dns.Is6() {
			return conf, e.failf("Invalid DNS address: \"%s\".", b.dns)
		}
		conf.UDP6.IP, conf.UDP6.DNS = b.ip, b.dns
	}
	return conf, nil
}

func (b *bootstrapArgs) setType(e *env) func(string) error {
	return func(v string) error {
		for _, t := range bootstrapTypes {
			if matches(v, t.String()) {
				b.typ = &t
				return nil
			}
		}
		e.errorf("IPCP type \"%s\" is unknown.", v)
		return e.usage(ipcpBootstrapUsage)
	}
}

func (b *bootstrapArgs) setAddr(e *env, kw string, dst *netip.Addr) func(string) error {
	return func(v string) error {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			if kw == "dns" {
				return e.failf("Invalid DNS address: \"%s\".", v)
			}
			return e.failf("Invalid IP address: \"%s\".", v)
		}
		*dst = a
		if kw == "ip" {
			b.ipText = v
		}
		return nil
	}
}

// setEthertype parses the value as hexadecimal with or without "0x", as the
// reference does. Unlike the reference it checks the range before
// truncating to 16 bits, so "40960" (0x40960) is refused, not taken as 0x0960.
func (b *bootstrapArgs) setEthertype(e *env) func(string) error {
	return func(v string) error {
		h := strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil || n < 0x0600 || n >= 0xFFFF {
			e.errorf("Invalid Ethertype: \"%s\".", v)
			return e.failf("Recommended range: 0xA000-0xEFFF.")
		}
		b.conf.Eth.Ethertype = uint16(n)
		return nil
	}
}

// setPort sets the port of both UDP types.
func (b *bootstrapArgs) setPort(e *env) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return e.failf("Unknown parameter for port: \"%s\".", v)
		}
		b.conf.UDP4.Port, b.conf.UDP6.Port = uint16(n), uint16(n)
		return nil
	}
}

// number returns a setter parsing a decimal that fits *dst.
func number[T uint8 | uint32](e *env, kw string, dst *T) func(string) error {
	return func(v string) error {
		var zero T
		bits := 8
		if _, wide := any(zero).(uint32); wide {
			bits = 32
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return e.failf("Unknown parameter for %s: \"%s\".", kw, v)
		}
		*dst = T(n)
		return nil
	}
}

// oneOf returns a setter accepting exactly the spellings in values.
func oneOf[T any](e *env, kw string, dst *T, values map[string]T) func(string) error {
	return func(v string) error {
		x, ok := values[v]
		if !ok {
			return e.failf("Unknown parameter for %s: \"%s\".", kw, v)
		}
		*dst = x
		return nil
	}
}
