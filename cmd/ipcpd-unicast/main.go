// Command ipcpd-unicast is the unicast IPC process.
// The IRMd starts it (irm ipcp create type unicast); bootstrap the first
// member of a layer with irm ipcp bootstrap type unicast name N layer L
// [options]. In this version a layer has one member: enrollment and
// connections to other members are not supported yet.
package main

import (
	"os"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/unicast"
	"github.com/ouroboros-go/ouroboros/irm"
)

func main() { os.Exit(ipcp.Main(uint32(irm.Unicast), unicast.New)) }
