// Command ipcpd-local is the local IPC process: a layer that connects the
// processes of one host. The IRMd starts it (irm ipcp create type local).
package main

import (
	"os"

	"github.com/ouroboros-go/ouroboros/internal/ipcp"
	"github.com/ouroboros-go/ouroboros/internal/ipcp/local"
)

func main() { os.Exit(ipcp.Main(0, local.New)) }
