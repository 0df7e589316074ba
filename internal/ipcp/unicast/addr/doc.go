// Package addr is the address authority of the unicast layer: it picks the
// layer address of a member when it bootstraps or enrolls.
//
// The only policy, flat random, draws a random non-zero 32-bit number. The
// address is not coordinated with the other members, not checked for
// collisions and not kept: a member gets a new one every time it joins.
// Peers learn it from connection establishment (neighbours) and from the
// directory (everyone else). Inside the IPCP an address is a uint64; the DT
// PCI carries its 4 low-order bytes, which is why the flat policy refuses a
// layer configured with any other address size. 0 is never an address.
package addr
