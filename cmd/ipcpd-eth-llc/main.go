// Command ipcpd-eth-llc is the eth-llc IPC process: a layer directly over an
// Ethernet segment, in IEEE 802.3 frames with an 802.2 LLC header, at most 64
// flows at once. The IRMd starts it (irm ipcp create
// type eth-llc); bootstrap it with irm ipcp bootstrap type eth-llc name N
// layer L dev D [hash ALGO]. It needs CAP_NET_RAW.
package main

import (
	"os"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/eth"
	"github.com/ouroboros-go/ouroboros/irm"
)

func main() { os.Exit(ipcp.Main(uint32(irm.EthLLC), eth.NewLLC)) }
