// Command ipcpd-udp4 is the udp4 IPC process: a layer over UDP/IPv4 between
// hosts. The IRMd starts it (irm ipcp create type
// udp4); bootstrap it with irm ipcp bootstrap type udp4 name N layer L ip A
// [port P].
package main

import (
	"os"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/irm"
)

func main() { os.Exit(ipcp.Main(uint32(irm.UDP4), udp.New4)) }
