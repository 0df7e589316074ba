// Command ipcpd-broadcast is the broadcast IPC process: a member of a
// layer that floods every message to every other member and to every
// application that joined it (flow.Join, obc). The IRMd starts it (irm
// ipcp create type broadcast); bootstrap the first member with
//
//	irm ipcp bootstrap type broadcast name NAME layer LAYER autobind
//
// enroll the others with irm ipcp enroll type broadcast, and connect
// them with irm ipcp connect name NAME dst PEER component dt.
package main

import (
	"os"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/broadcast"
	"github.com/ouroboros-go/ouroboros/irm"
)

func main() { os.Exit(ipcp.Main(uint32(irm.Broadcast), broadcast.New)) }
