package ipcp

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/ouroboros-go/ouroboros/internal/fdlimit"
	"github.com/ouroboros-go/ouroboros/internal/olog"
)

// Main is the body of every ipcpd-<type> command. The IRMd starts it as
//
//	ipcpd-<type> <IRMd pid> <IPCP name> [1]
//
// where a third argument means "log to syslog". SIGTERM or SIGINT (from the
// IRMd's destroy or shutdown) stops it; SIGUSR1 logs the number of flows it
// holds. It returns the exit status.
func Main(typ uint32, newOps func(*IPCP) Ops) int {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Printf("Usage: %s <IRMd pid> <IPCP name> [1]\n\n"+
			"An Ouroboros IPC process; the IRMd starts it (irm ipcp create).\n", os.Args[0])
		return 0
	}
	if len(args) != 2 && len(args) != 3 {
		fmt.Fprintf(os.Stderr, "Usage: %s <IRMd pid> <IPCP name> [1]\n", os.Args[0])
		return 1
	}
	irmdPID, err := strconv.Atoi(args[0])
	if err != nil || irmdPID <= 0 {
		fmt.Fprintf(os.Stderr, "%s: invalid IRMd pid %q\n", os.Args[0], args[0])
		return 1
	}
	comp := "ipcpd/" + typeName(typ)
	var log *slog.Logger
	if len(args) == 3 {
		log = olog.NewSyslog("ipcpd-"+typeName(typ), comp, slog.LevelInfo)
	} else {
		log = olog.New(os.Stdout, comp, olog.Options{})
	}
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
	// Two descriptors per flow through this IPCP.
	log.Debug(fmt.Sprintf("Open files limit: %d.", fdlimit.Raise()))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	defer stop()
	p, err := New(Config{Type: typ, Name: args[1], IRMdPID: irmdPID, Log: log}, nil)
	if err != nil {
		log.Error(fmt.Sprintf("Failed to create IPCP: %v.", err))
		return 1
	}
	p.ops = newOps(p)
	// SIGUSR1 logs how many flows the IPCP holds (for operators and tests:
	// after every flow is closed it must be 0).
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer func() { signal.Stop(usr1); close(usr1) }()
	go func() {
		for range usr1 {
			log.Info(fmt.Sprintf("Flows held: %d.", p.FlowCount()))
		}
	}()
	go releaseMemory(ctx, p.FlowCount)
	if err := p.Run(ctx); err != nil {
		log.Error(fmt.Sprintf("IPCP failed: %v.", err))
		return 1
	}
	return 0
}
