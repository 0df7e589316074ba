package bench

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The reference's unicast layer paths: a line of reference nodes (cnode.sh,
// variant nodirect), each in a network namespace of its own, neighbours
// joined by a veth pair, a udp4 IPCP on every node and a unicast layer over
// them built as ours is (buildUnicastLine): the first node's member
// bootstraps it, each next one enrolls through its neighbour (the second by
// the layer's name) and connects to it; serverName is registered in the
// unicast layer at the last node, and the clients run on the first.
//
// Addresses: the veth pair of hop i (between nodes i and i+1) is the subnet
// 10.79.i.0/24, node i's end .1 and node i+1's .2; nothing is attached to
// the host's network. Node i's udp4 IPCP binds its address on the pair
// towards node i-1 (node 0's: towards node 1). Node i-1 reaches it on that
// pair; node i+1 through a route to that pair's subnet via node i's end of
// their own pair. The setup ends when a ping from the first node reaches a
// server on the last (refUniProbe).

// refUniSubnet is the first two bytes of the subnets of the veth pairs.
const refUniSubnet = "10.79"

// refUniAddr returns node j's address on the pair of hop i (j is i or i+1).
func refUniAddr(i, j int) string {
	return fmt.Sprintf("%s.%d.%d", refUniSubnet, i, j-i+1)
}

// refUniIPCPAddr returns the address node j's udp4 IPCP binds.
func refUniIPCPAddr(j int) string {
	if j == 0 {
		return refUniAddr(0, 0)
	}
	return refUniAddr(j-1, j)
}

// refTries is how often a command of the reference's that allocates a
// flow is tried (a step of the setup, a tool client that failed to
// allocate its flow): now and then its udp4 IPCP fails to answer a flow
// request ("Failed to respond to flow request"), and the irmd gives up on
// the allocation after 20 s. The setup's other irm commands are tried as
// often: on a busy machine a bootstrap of its udp4 IPCP failed once,
// saying nothing.
const refTries = 3

// refUniPause is the pause before each connection of the reference's setup
// and before each retry. Seen on a busy 2-core machine: without it, the
// reference's udp4 IPCP often failed to answer the flow request of a
// connection that came right after the enrollment's or the previous
// connection's flow with the same neighbour (in 5 setups of 7); with it,
// once in 9.
const refUniPause = time.Second

// refStepWait bounds each command of the reference's setup: longer than the
// reference's own wait for an allocation, and than the start of one of its
// IPCPs on a busy machine (it took more than 10 s on a 2-core machine with a
// load of 14).
const refStepWait = 30 * time.Second

// refStopWait bounds a node's stop: cnode.sh scans every process of the
// machine, and on a 2-core machine with a load of 20 the stop of three
// nodes at once took more than a minute.
const refStopWait = 3 * time.Minute

// ansiEscape matches the colour codes of the reference's logs.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// logTail returns the end of a reference log, its last n characters at
// most, on one line and without colours: the start is a banner, the end
// says what failed.
func logTail(s string, n int) string {
	s = strings.Join(strings.Fields(ansiEscape.ReplaceAllString(s, "")), " ")
	if r := []rune(s); len(r) > n {
		s = "…" + string(r[len(r)-n+1:])
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

// refUniProbes bounds the pings that wait until the first node finds the
// server's name (its directory learns it from the last node's, and its
// routing the way there), each at most refUniProbeWait.
const (
	refUniProbes    = 20
	refUniProbeWait = 2 * time.Second
)

// refUniSetups bounds the lines built for one path. Seen on a busy 2-core
// machine: in one setup of three the reference's last node of a two-hop
// line never bootstrapped its directory ("DHT_FIND_NODE_REQ write failed",
// "Failed to bootstrap peer" in its log every few seconds, for the 40 s of
// the probes), so the first node never found the server's name ("Failed
// to allocate flow: -1003"); a new line of new nodes then worked.
const refUniSetups = 3

// refUnicastOpen returns the refOpen of a ToolPath: the reference's unicast
// layer over udp4 across hops hops (one or two). A setup that fails is
// logged and made again with new nodes, up to refUniSetups in all; the
// error is the last setup's.
func refUnicastOpen(hops int) func(h *Harness) (client, server *refNode, stop func(), err error) {
	return func(h *Harness) (client, server *refNode, stop func(), err error) {
		for try := 1; try <= refUniSetups; try++ {
			if client, server, stop, err = h.startRefUnicast(hops); err == nil {
				return client, server, stop, nil
			}
			h.logf("reference unicast layer, %d hops: setup %d of %d failed: %s", hops, try, refUniSetups,
				logTail(err.Error(), 300))
		}
		return nil, nil, nil, fmt.Errorf("%d setups failed, the last: %w", refUniSetups, err)
	}
}

// startRefUnicast starts a line of hops+1 reference nodes with the unicast
// layer (see above) and returns the first node, the last, and the function
// that stops them all. On failure it stops what it started; the error has
// the irmd log of the node where the setup failed.
func (h *Harness) startRefUnicast(hops int) (client, server *refNode, stop func(), err error) {
	var nodes []*refNode
	// All at once: a node's stop takes seconds (its irmd waits for its
	// unicast IPCP to exit).
	stopAll := func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.remove()
			}()
		}
		wg.Wait()
	}
	defer func() {
		if err != nil {
			stopAll()
		}
	}()
	for j := 0; j <= hops; j++ {
		n, err := h.launchRefNode("nodirect")
		if err != nil {
			return nil, nil, nil, err
		}
		nodes = append(nodes, n)
	}
	// fail adds the irmd log of node j.
	fail := func(j int, err error) (*refNode, *refNode, func(), error) {
		return nil, nil, nil, fmt.Errorf("%w\nreference irmd log (%s), its end:\n%s", err, nodes[j].name,
			logTail(nodes[j].irmdLog(), 2000))
	}
	names := []string{uniNameA, uniNameB, uniNameC}
	if hops+1 > len(names) {
		return nil, nil, nil, fmt.Errorf("reference unicast layer: %d hops, at most %d", hops, len(names)-1)
	}
	for i := 0; i < hops; i++ {
		// Interface names: prev and next, as seen from each node.
		if _, err := nodes[i].run(refStepWait, "veth", nodes[i].name, nodes[i+1].name,
			refUniAddr(i, i)+"/24", refUniAddr(i, i+1)+"/24", "o7s-next", "o7s-prev"); err != nil {
			return fail(i, err)
		}
	}
	for j := 2; j <= hops; j++ {
		// Node j reaches node j-1's IPCP address (on hop j-2) through
		// node j-1's end of hop j-1.
		if _, err := nodes[j].run(refStepWait, "exec", nodes[j].name, "ip", "route", "add",
			fmt.Sprintf("%s.%d.0/24", refUniSubnet, j-2), "via", refUniAddr(j-1, j-1)); err != nil {
			return fail(j, err)
		}
	}
	for j, n := range nodes {
		if err := n.retry("irm", "ipcp", "bootstrap", "type", "udp4", "name", "obench-udp",
			"layer", udpLayerName, "ip", refUniIPCPAddr(j)); err != nil {
			return fail(j, err)
		}
		var steps [][]string
		if j == 0 {
			steps = [][]string{
				{"irm", "ipcp", "bootstrap", "type", "unicast", "name", names[0], "layer", uniLayerName, "autobind"},
				{"irm", "name", "register", names[0], "layer", udpLayerName},
				{"irm", "name", "register", uniLayerName, "layer", udpLayerName},
			}
		} else {
			prev := names[j-1]
			dst := uniLayerName
			if j > 1 {
				dst = prev
			}
			// The reference's irmd allocates a flow only to a name it
			// knows, and its udp4 IPCP finds the name's address in the
			// node's hosts file.
			known := []string{prev}
			if dst != prev {
				known = append(known, dst)
			}
			for _, name := range known {
				if _, err := n.run(refStepWait, "host", n.name, name, refUniIPCPAddr(j-1)); err != nil {
					return fail(j, err)
				}
				if err := n.exec(refStepWait, "irm", "name", "create", name); err != nil {
					return fail(j, err)
				}
			}
			if err := n.retry("irm", "ipcp", "enroll", "name", names[j], "dst", dst, "autobind"); err != nil {
				return fail(j, err)
			}
			for _, comp := range []string{"mgmt", "dt"} {
				time.Sleep(refUniPause)
				if err := n.retry("irm", "ipcp", "connect", "name", names[j], "dst", prev, "component", comp); err != nil {
					return fail(j, err)
				}
			}
			if j < hops {
				steps = [][]string{{"irm", "name", "register", names[j], "layer", udpLayerName}}
			} else {
				steps = [][]string{{"irm", "name", "register", serverName, "layer", uniLayerName}}
			}
		}
		if j == 0 || j == hops {
			steps = append([][]string{{"irm", "name", "create", serverName}}, steps...)
		}
		for _, args := range steps {
			if err := n.retry(args...); err != nil {
				return fail(j, err)
			}
		}
	}
	client, server = nodes[0], nodes[hops]
	if err := h.refUniProbe(client, server); err != nil {
		return fail(hops, err)
	}
	return client, server, stopAll, nil
}

// retry runs a command inside the node up to refTries times, refUniPause
// apart, until it succeeds.
func (n *refNode) retry(args ...string) error {
	var err error
	for try := 1; try <= refTries; try++ {
		if try > 1 {
			time.Sleep(refUniPause)
		}
		if err = n.exec(refStepWait, args...); err == nil {
			return nil
		}
		n.h.logf("reference node %s: try %d of %d: %v", n.name, try, refTries, err)
	}
	return err
}

// refUniProbe waits until a ping from client reaches a probe server on
// server, bound to serverName: until the layer knows the way.
func (h *Harness) refUniProbe(client, server *refNode) error {
	const tag = "probe"
	if err := server.startServer(tag, "Ouroboros ping server started.", "oping"); err != nil {
		return err
	}
	defer server.stopServer(tag)
	secs := strconv.Itoa(int(refUniProbeWait.Seconds()))
	var out string
	for try := 1; try <= refUniProbes; try++ {
		o, err := client.run(refUniProbeWait+10*time.Second, "exec", client.name,
			"timeout", "-k", "1", secs, "oping", "-n", serverName, "-c", "1")
		if err == nil && strings.Contains(o, "1 received") {
			if try > 1 {
				h.logf("reference node %s: %s reached after %d pings", client.name, serverName, try)
			}
			return nil
		}
		out = o
		if err != nil {
			out = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%s not reached from %s in %d pings: %s", serverName, client.name, refUniProbes,
		cellText(out, 300))
}
