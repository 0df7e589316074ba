// Package irm manages the IPC Resource Manager daemon (IRMd) of an Ouroboros
// system: it creates, bootstraps, enrolls, connects and destroys IPC processes
// (IPCPs), binds programs and processes to names, and creates, registers and
// lists names. It is the library behind the irm command and mirrors the
// reference's libouroboros-irm, one method per IRMd
// request.
//
//	var c irm.Client // the IRMd of $OUROBOROS_RUN_DIR, default /var/run/ouroboros
//	if err := c.CreateIPCP(ctx, "local-ipcp", irm.Local); err != nil {
//		return err
//	}
//	// The IRMd does not return the new pid: list the IPCPs to find it.
//	ipcps, err := c.ListIPCPs(ctx)
//	...
//	err = c.BootstrapIPCP(ctx, pid, irm.DefaultConfig(irm.Local, "local-layer"))
//	err = c.RegName(ctx, "my.server", pid) // after c.CreateName
//
// # Waiting for a starting IRMd
//
// A call that finds no socket in the run directory, or a socket that refuses
// connections, is tried again every 20 ms for at most 5 s while an IRMd looks
// to be starting there: the IRMd's lock file (irmd.lock) names a live
// process, or the directory changed less than 5 s ago (as a directory made
// by mktemp -d just before "irmd &"). Otherwise it fails at once with EIRMD.
// So "irmd & irm ipcp bootstrap ..." works when typed or pasted in one go.
//
// # Protocol
//
// Every method is one request and one reply on a fresh connection to the
// IRMd's irm.sock. The messages are the reference's
// protobuf messages, so a Client can manage a reference IRMd and the
// reference's irm tool can manage ours. There is no built-in timeout, because
// some requests legitimately take long (an enrollment waits up to 20 s for the
// layer); the context bounds each call, and cancelling it closes the
// connection.
//
// # Errors
//
// A negative result from the IRMd comes back as an Errno with the reference's
// number, wrapped with what was being done, so errors.Is(err, irm.EIPCP)
// works. When no IRMd answers (no socket, or the connection closed without a
// reply) the error wraps EIRMD.
package irm
