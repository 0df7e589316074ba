package simnet

import (
	"fmt"
	"slices"
)

// Stop takes member nd out of the layer, as when its IPCP process dies:
// every link it has that is up is cut (its neighbours see their
// connections go, and announce nothing: the others age its adjacencies
// out), and its goroutines end. From then on nd is no member for Nodes
// and Converged, and Converged also wants no member to keep a route to
// its address. The names registered at nd stay in the directory with its
// old address, as a DHT's entries would until they expire.
func (n *Net) Stop(nd *Node) {
	n.mu.Lock()
	i := slices.Index(n.nodes, nd)
	if i < 0 {
		n.mu.Unlock()
		return
	}
	n.nodes = slices.Delete(n.nodes, i, i+1)
	n.gone = append(n.gone, nd.Addr)
	links := slices.Clone(n.links)
	n.mu.Unlock()
	var cut []*Link
	for _, l := range links {
		if (l.A == nd || l.B == nd) && l.Up() {
			cut = append(cut, l)
		}
	}
	nd.mu.Lock()
	nd.left = cut
	nd.mu.Unlock()
	for _, l := range cut {
		l.Cut()
	}
	nd.stop()
}

// Restart stops nd if it is still a member and starts a fresh member in
// its place, named name: a new address, an empty database and no flows.
// It joins the layer again with a new link, of the same configuration, to
// each member nd had a link up with when it stopped (if that member is
// still in the layer), and registers the names nd had, which the
// directory then maps to the new address.
func (n *Net) Restart(nd *Node, name string) *Node {
	n.Stop(nd)
	fresh := n.AddNode(name)
	if fresh.Addr == nd.Addr {
		n.t.Fatalf("restarted %s with its old address %#x", name, nd.Addr)
	}
	nd.mu.Lock()
	left := nd.left
	var hs []string
	for h := range nd.names {
		hs = append(hs, h)
	}
	nd.mu.Unlock()
	slices.Sort(hs)
	members := n.Nodes()
	for _, l := range left {
		nb := l.A
		if nb == nd {
			nb = l.B
		}
		if slices.Contains(members, nb) {
			n.Connect(fresh, nb, l.cfg)
		}
	}
	for _, h := range hs {
		fresh.registerHash([]byte(h))
	}
	return fresh
}

// stoppedRoute returns an error if a member has a route to the address of
// a stopped member.
func (n *Net) stoppedRoute(nodes []*Node) error {
	n.mu.Lock()
	gone := slices.Clone(n.gone)
	n.mu.Unlock()
	for _, a := range nodes {
		for _, g := range gone {
			if _, ok := a.PFF.NextHop(g); ok {
				return fmt.Errorf("%s still routes to the stopped member's address %#x", a.Name, g)
			}
		}
	}
	return nil
}
