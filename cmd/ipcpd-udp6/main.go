// Command ipcpd-udp6 is the udp6 IPC process: a layer over UDP/IPv6 between
// hosts. The IRMd starts it (irm ipcp create type
// udp6); bootstrap it with irm ipcp bootstrap type udp6 name N layer L ip A
// [port P].
package main

import (
	"os"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/udp"
	"github.com/ouroboros-go/ouroboros/irm"
)

func main() { os.Exit(ipcp.Main(uint32(irm.UDP6), udp.New6)) }
