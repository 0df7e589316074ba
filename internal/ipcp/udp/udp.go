// Package udp is the udp4 and udp6 IPCPs: a layer
// over UDP, wire-compatible with the reference.
//
// One socket, bound to the configured ip and port (3435 by default; every
// member of a layer uses the same port), carries everything. A datagram is a
// 4-byte big-endian endpoint id (EID) and a payload: EID 0 is a management
// message (FLOW_REQ, FLOW_REPLY; internal/wire), any other EID is data for the
// receiver's flow with that local EID.
//
// Allocation, client flow A on host 1, server flow B on host 2:
//
//	IRMd1 -> IPCP_FLOW_ALLOC(A)     FlowAlloc: resolve the name hash to an IP,
//	                                FLOW_REQ{s_eid = eid(A)} to ip:port
//	host 2: FLOW_REQ                IPCP_FLOW_REQ_ARR to IRMd2 -> flow B, whose
//	                                peer is the request's source address
//	IRMd2 -> IPCP_FLOW_ALLOC_RESP(B) FLOW_REPLY{s_eid = eid(A), d_eid = eid(B)}
//	host 1: FLOW_REPLY              check the source, IPCP_FLOW_ALLOC_REPLY(A)
//
// Each live flow has a writer goroutine that reads the application's channel
// and sends datagrams; one reader goroutine receives for all flows and hands
// each payload to its flow's channel without blocking: when an application
// does not keep up, packets are dropped and counted (UDP is lossy anyway),
// so one slow flow never stalls the others or the management traffic.
// A FLOW_REPLY is settled by the reader itself, so the flow is up before the
// datagram behind it (the peer's first data) is read; requests, which wait
// for the IRMd, wait in a bounded queue for a pool of workers (a full
// queue drops and counts them), so a flood of requests cannot stop the IPCP
// from allocating flows afterwards.
//
// Deviations from the reference (local only): data and replies are accepted
// only from the peer address recorded for the flow; a failed FLOW_REQ is
// answered with a FLOW_REPLY carrying the error, so the requester fails at
// once instead of timing out; the hosts file can be given per instance
// (HostsEnv). Deallocation is local, as in the reference: the peer notices
// through its keepalive timeout.
//
// Dynamic DNS (ddns.go): bootstrapped with a dns address, the IPCP publishes
// the names registered with it by running nsupdate and resolves names with
// nslookup before trying the hosts file. The executables are looked for in
// PATH, or named by the environment variables OUROBOROS_NSUPDATE and
// OUROBOROS_NSLOOKUP (NsupdateEnv, NslookupEnv); without them the dns address
// is ignored with a warning, as in a reference built without DDNS. Unlike
// the reference, udp6 publishes AAAA records (not A) and the address
// nslookup gives is the one cached (not 0.0.0.0).
package udp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/internal/wire"
	"github.com/ouroboros-go/ouroboros/qos"
)

// MPL is the maximum packet lifetime reported to the IRMd, in ms.
const MPL = uint32(wire.UDPMPL / time.Millisecond)

const (
	mgmtWorkers = 32      // management messages handled at once
	mgmtQueue   = 4096    // management messages waiting; more are dropped
	firstEID    = 64      // local EIDs start here, like the reference's fds
	sockBuf     = 4 << 20 // socket buffer sizes asked for, bytes
)

// reqArrTTL: wait for a local accept (ipcp_wait_flow_req_arr).
const reqArrTTL = ipcp.FlowReqArrWait

// flow is the state of one N+1 flow. Fields after eid are guarded by UDP.mu.
type flow struct {
	id  int
	eid uint32 // ours: the EID of datagrams to us

	f    *ipcp.Flow
	peer netip.AddrPort // where the peer's IPCP is
	reid uint32         // the peer's EID; valid once up
	up   bool
	done chan struct{} // closed when the writer has sent all it read; nil before up
}

// UDP is the behaviour of a udp4 or udp6 IPCP.
type UDP struct {
	ipcp.Unsupported
	p   *ipcp.IPCP
	v6  bool
	log *slog.Logger

	conn    *net.UDPConn
	raw     *rawSock // conn's data path calls; nil: conn's own
	port    uint16
	maxData int // largest payload per datagram, bytes

	mu      sync.Mutex
	byEID   map[uint32]*flow
	byID    map[int]*flow
	nextEID uint32
	names   map[string]struct{}   // registered hashes
	dir     map[string]netip.Addr // resolved hashes (never expire, as in the reference)

	ddns *ddns // nil without a dns address or the tools; set by Bootstrap

	// allocReply tells the IRMd the answer to an allocation we requested
	// (IPCP_FLOW_ALLOC_REPLY); tests replace it.
	allocReply func(ctx context.Context, id int, response int32, mplMs uint32, pk []byte) error

	mgmtQ chan mgmtMsg // to the management workers; closed by the reader
	wg    sync.WaitGroup
	stats counters
}

// counters are drops, reported in the log at most once a second.
type counters struct {
	rxNoFlow, rxWrongPeer, rxFull, rxRunt, mgmtBusy, mgmtBad, txTooBig atomic.Uint64
	lastLog                                                            atomic.Int64
}

// New4 returns the operations of a udp4 IPCP.
func New4(p *ipcp.IPCP) ipcp.Ops { return newUDP(p, p.Log(), false) }

// New6 returns the operations of a udp6 IPCP.
func New6(p *ipcp.IPCP) ipcp.Ops { return newUDP(p, p.Log(), true) }

// newUDP returns the operations of an IPCP p; p is used only for the calls
// to the IRMd that an incoming flow request makes (tests pass nil).
func newUDP(p *ipcp.IPCP, log *slog.Logger, v6 bool) *UDP {
	u := &UDP{p: p, v6: v6, log: log, byEID: map[uint32]*flow{}, byID: map[int]*flow{},
		nextEID: firstEID, names: map[string]struct{}{}, dir: map[string]netip.Addr{},
		mgmtQ: make(chan mgmtMsg, mgmtQueue), maxData: wire.UDP4MaxPayload}
	if v6 {
		u.maxData = wire.UDP6MaxPayload
	}
	if p != nil {
		u.allocReply = p.FlowAllocReply
	}
	return u
}

// Bootstrap binds the socket and starts the reader. The hash is always MD5.
func (u *UDP) Bootstrap(_ context.Context, conf *pb.IpcpConfigMsg) (string, hash.Algo, error) {
	layer := conf.GetLayerInfo().GetName()
	if layer == "" {
		return "", 0, fmt.Errorf("no layer name: %w", oerr.EINVAL)
	}
	var ip, dns netip.Addr
	var port uint32
	if u.v6 {
		c := conf.GetUdp6()
		if c == nil || len(c.GetIpAddr()) != 16 {
			return "", 0, fmt.Errorf("udp6 bootstrap without an IPv6 address: %w", oerr.EINVAL)
		}
		ip = netip.AddrFrom16([16]byte(c.GetIpAddr()))
		port = c.GetPort()
		if d := c.GetDnsAddr(); len(d) == 16 {
			dns = netip.AddrFrom16([16]byte(d)) // all zero: unused
		}
	} else {
		c := conf.GetUdp4()
		if c == nil {
			return "", 0, fmt.Errorf("udp4 bootstrap without an address: %w", oerr.EINVAL)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], c.GetIpAddr()) // s_addr, read as a little-endian uint32
		ip, port = netip.AddrFrom4(b), c.GetPort()
		binary.LittleEndian.PutUint32(b[:], c.GetDnsAddr()) // the same; 0: unused
		dns = netip.AddrFrom4(b)
	}
	if ip.IsUnspecified() || !ip.IsValid() {
		return "", 0, fmt.Errorf("the IPCP needs a specific address, not %v: %w", ip, oerr.EINVAL)
	}
	if port == 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %d: %w", port, oerr.EINVAL)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return "", 0, fmt.Errorf("bind %v port %d: %w", ip, port, err)
	}
	setBuffers(conn)
	u.conn, u.port, u.raw = conn, uint16(port), newRawSock(conn)
	u.ddns = newDDNS(dns, ip, u.v6, u.log)
	u.wg.Add(1 + mgmtWorkers)
	go u.reader()
	for range mgmtWorkers {
		go u.mgmtWorker()
	}
	fam := "IPv4"
	if u.v6 {
		fam = "IPv6"
	}
	u.log.Info(fmt.Sprintf("Bound to %v port %d (UDP/%s).", ip, port, fam))
	return layer, hash.MD5, nil
}

// Reg adds a hash to the names this host answers for and, with dynamic
// DNS, publishes it; a failed update is only logged, as in the reference.
func (u *UDP) Reg(h []byte) error {
	u.mu.Lock()
	u.names[string(h)] = struct{}{}
	u.mu.Unlock()
	if u.ddns != nil {
		u.ddns.reg(h)
	}
	u.log.Info(fmt.Sprintf("Registered %s.", DNSName(h)))
	return nil
}

// Unreg removes a hash and, with dynamic DNS, queues its removal from DNS.
func (u *UDP) Unreg(h []byte) error {
	if u.ddns != nil {
		u.ddns.unreg(h)
	}
	u.mu.Lock()
	delete(u.names, string(h))
	u.mu.Unlock()
	return nil
}

// Query resolves a hash to the IP of the host that has it and
// caches the answer.
func (u *UDP) Query(ctx context.Context, h []byte) error {
	_, err := u.lookup(ctx, h)
	return err
}

func (u *UDP) lookup(ctx context.Context, h []byte) (netip.Addr, error) {
	u.mu.Lock()
	a, ok := u.dir[string(h)]
	u.mu.Unlock()
	if ok {
		return a, nil
	}
	var err error
	if u.ddns != nil {
		if a, err = u.ddns.lookup(ctx, h); err == nil {
			u.cache(h, a)
			return a, nil
		}
		u.log.Debug(fmt.Sprintf("DDNS lookup of %s: %v; trying the hosts file.", DNSName(h), err))
	}
	a, err = resolve(ctx, h, u.v6)
	if err != nil {
		u.log.Debug(fmt.Sprintf("Failed to resolve %s: %v.", DNSName(h), err))
		return netip.Addr{}, oerr.ENAME
	}
	u.cache(h, a)
	return a, nil
}

// cache enters a resolved hash in the directory.
func (u *UDP) cache(h []byte, a netip.Addr) {
	u.mu.Lock()
	u.dir[string(h)] = a
	u.mu.Unlock()
}

// FlowAlloc sends a FLOW_REQ to the host of hash h.
func (u *UDP) FlowAlloc(ctx context.Context, f *ipcp.Flow, h []byte, q qos.Spec, pk []byte) error {
	if len(h) != wire.UDPHashLen {
		return oerr.EINVAL
	}
	ip, err := u.lookup(ctx, h)
	if err != nil {
		return err
	}
	fl := &flow{id: f.ID, f: f, peer: netip.AddrPortFrom(ip, u.port)}
	if err := u.add(fl); err != nil {
		return err
	}
	m := mgmtQoS(q)
	m.Code, m.SEID, m.Hash, m.Data = wire.UDPFlowReq, fl.eid, [16]byte(h), pk
	if err := u.send(fl.peer, m.Append(nil)); err != nil {
		u.remove(fl)
		return err
	}
	return nil
}

// FlowAllocResp answers a FLOW_REQ once the local application accepted
// (response 0) or refused it.
func (u *UDP) FlowAllocResp(_ context.Context, f *ipcp.Flow, response int32, pk []byte) error {
	u.mu.Lock()
	fl := u.byID[f.ID]
	u.mu.Unlock()
	if fl == nil {
		return oerr.ENOTALLOC
	}
	if response == 0 {
		// Up before the reply leaves: the requester may send at once.
		u.start(fl)
	}
	m := wire.UDPMgmt{Code: wire.UDPFlowReply, SEID: fl.reid, DEID: fl.eid, Response: response, Data: pk}
	err := u.send(fl.peer, m.Append(nil))
	if response != 0 || err != nil {
		u.remove(fl)
		return err
	}
	return nil
}

// FlowDealloc forgets the flow (nothing goes on the wire, as in the
// reference); its writer ends when the skeleton closes the channel.
//
// The skeleton closes the channel after this returns, so this first lets
// the writer send what the application wrote before it closed its end
// (the writer ends at the end of the channel), for at most drainWait.
func (u *UDP) FlowDealloc(f *ipcp.Flow) {
	u.mu.Lock()
	fl := u.byID[f.ID]
	u.mu.Unlock()
	if fl == nil || fl.f != f { // gone, or a newer flow that reuses the id
		return
	}
	u.mu.Lock()
	done := fl.done
	u.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-time.After(drainWait):
		}
	}
	u.remove(fl)
}

// drainWait bounds how long a deallocation waits for the writer to send
// what is queued.
const drainWait = time.Second

// Close stops the reader and waits for every goroutine.
func (u *UDP) Close() {
	if u.conn != nil {
		u.conn.Close()
	}
	if u.ddns != nil {
		u.ddns.close()
	}
	u.wg.Wait()
	u.logDrops(true)
}

// add gives fl a free local EID and enters it in the tables.
func (u *UDP) add(fl *flow) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	for range 1 << 20 {
		e := u.nextEID
		u.nextEID++
		if u.nextEID == 0 || u.nextEID > 1<<31 {
			u.nextEID = firstEID
		}
		if _, used := u.byEID[e]; !used {
			fl.eid = e
			u.byEID[e] = fl
			u.byID[fl.id] = fl
			return nil
		}
	}
	return oerr.ENOMEM
}

func (u *UDP) remove(fl *flow) {
	u.mu.Lock()
	if u.byEID[fl.eid] == fl {
		delete(u.byEID, fl.eid)
	}
	if u.byID[fl.id] == fl {
		delete(u.byID, fl.id)
	}
	fl.up = false
	u.mu.Unlock()
}

// send writes one datagram.
func (u *UDP) send(to netip.AddrPort, b []byte) error {
	if u.raw != nil {
		if ok, err := u.raw.sendTo(b, to); ok {
			return err
		}
	}
	_, err := u.conn.WriteToUDPAddrPort(b, to)
	return err
}

func mgmtQoS(q qos.Spec) wire.UDPMgmt {
	return wire.UDPMgmt{Bandwidth: q.Bandwidth, Delay: q.Delay, Loss: q.Loss, BER: q.BER,
		MaxGap: q.MaxGap, Timeout: q.Timeout, Availability: q.Availability, InOrder: q.InOrder}
}

// errClosed reports a closed socket (the IPCP is shutting down).
func errClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// setBuffers gives the socket room for a window's worth of packets (a
// reliable flow may have 1024 in flight). SO_RCVBUF/SO_SNDBUF are capped at
// net.core.rmem_max/wmem_max (about 200 KiB by default, 150 packets of
// 1000 bytes); an IPCP running as root (CAP_NET_ADMIN) forces the size.
func setBuffers(conn *net.UDPConn) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], sockBuf) != nil {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], sockBuf)
			}
		}
	})
}
