// Command ipcpd-eth-dix is the eth-dix IPC process: a layer directly over an
// Ethernet segment, in Ethernet II frames with the layer's Ethertype.
// The IRMd starts it (irm ipcp create type eth-dix);
// bootstrap it with irm ipcp bootstrap type eth-dix name N layer L dev D
// [ethertype 0xA000] [hash ALGO]. It needs CAP_NET_RAW.
package main

import (
	"os"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/eth"
	"github.com/ouroboros-go/ouroboros/irm"
)

func main() { os.Exit(ipcp.Main(uint32(irm.EthDIX), eth.NewDIX)) }
