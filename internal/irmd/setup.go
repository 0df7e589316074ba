package irmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/irmd/conffile"
	"github.com/ouroboros-go/ouroboros/internal/irmd/reg"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// ErrSetup is returned by Serve when a step of the configuration file
// (Config.Setup) failed: the daemon then shut down, as the reference does.
var ErrSetup = errors.New("the configuration file could not be carried out")

// setup carries out a checked configuration file, in its order: the names
// with their programs, then each IPCP: create, bootstrap or enroll, bind
// (autobind), register the names, connect. It calls the handlers of the
// irm requests directly, as the irmd itself. The first step that fails stops
// it; the error says which, in words.
func (d *Daemon) setup(ctx context.Context, f *conffile.File) error {
	self := reg.Cred{UID: d.uid, GID: uint32(os.Getegid())}
	for _, n := range f.Names {
		info := &pb.NameInfoMsg{Name: proto.String(n.Name), PolLb: proto.Uint32(uint32(n.LB)),
			Scrt: proto.String(n.ServerCrt), Skey: proto.String(n.ServerKey),
			Ccrt: proto.String(n.ClientCrt), Ckey: proto.String(n.ClientKey)}
		if err := d.createName(info); err != nil {
			return fmt.Errorf("%s:%d: creating name %s: %w", f.Path, n.Line, n.Name, err)
		}
		if n.ServerEnc != "" || n.ClientEnc != "" {
			if err := d.reg.SetEncFiles(n.Name, n.ServerEnc, n.ClientEnc); err != nil {
				return fmt.Errorf("%s:%d: enc.conf files of name %s: %w", f.Path, n.Line, n.Name, err)
			}
		}
		for _, p := range n.Progs {
			opts := uint32(0)
			if p.AutoStart {
				opts = 1
			}
			if err := d.bindProgram(append([]string{}, p.Argv...), n.Name, opts, self); err != nil {
				return fmt.Errorf("%s:%d: binding program %s to name %s: %w", f.Path, n.Line, p.Argv[0], n.Name, err)
			}
		}
	}
	for _, ip := range f.IPCPs {
		if err := d.setupIPCP(ctx, ip); err != nil {
			return fmt.Errorf("%s:%d: IPCP %s: %w", f.Path, ip.Line, ip.Name, err)
		}
	}
	return nil
}

func (d *Daemon) setupIPCP(ctx context.Context, ip conffile.IPCP) error {
	info := &pb.IpcpInfoMsg{Name: proto.String(ip.Name), Type: proto.Uint32(uint32(ip.Type))}
	if err := d.createIPCP(ctx, info); err != nil {
		return fmt.Errorf("creating the %s IPCP: %w", ip.Type, err)
	}
	pid := -1
	for _, i := range d.reg.ListIPCPs() {
		if i.Name == ip.Name {
			pid = i.PID
		}
	}
	if pid < 0 {
		return errors.New("the IPCP exited after it was created")
	}
	switch {
	case ip.Bootstrap != "":
		if err := ip.Config.Validate(); err != nil {
			return fmt.Errorf("bootstrapping layer %s: %w", ip.Bootstrap, err)
		}
		if err := d.bootstrapIPCP(ctx, pid, ip.Config.Message()); err != nil {
			return fmt.Errorf("bootstrapping layer %s: %w", ip.Bootstrap, err)
		}
	case ip.Enrol != "":
		if err := d.enrollIPCP(ctx, pid, ip.Enrol); err != nil {
			return fmt.Errorf("enrolling through %s: %w", ip.Enrol, err)
		}
	default:
		return nil
	}
	if ip.Autobind {
		i, _ := d.reg.GetIPCP(pid)
		for _, name := range []string{ip.Name, i.Layer} {
			if err := d.bindProcess(ctx, pid, name); err != nil && !errors.Is(err, oerr.EEXIST) {
				return fmt.Errorf("binding the IPCP to %s: %w", name, err)
			}
		}
	}
	for _, name := range ip.Reg {
		if !d.reg.HasName(name) {
			if err := d.createName(&pb.NameInfoMsg{Name: proto.String(name),
				PolLb: proto.Uint32(uint32(irm.Spill))}); err != nil {
				return fmt.Errorf("creating name %s: %w", name, err)
			}
		}
		if err := d.regName(ctx, name, pid, true); err != nil {
			return fmt.Errorf("registering %s: %w", name, err)
		}
	}
	raw := ctrl.QoSToPB(qos.Raw)
	for _, dst := range ip.Conn {
		for _, comp := range []string{irm.MgmtComponent, irm.DTComponent} {
			if comp == irm.MgmtComponent && ip.Type == irm.Broadcast {
				continue // a broadcast IPCP has Data Transfer only (the reference tries Management and fails)
			}
			if err := d.connectIPCP(ctx, pid, dst, comp, raw, true); err != nil {
				return fmt.Errorf("connecting %s to %s: %w", comp, dst, err)
			}
		}
	}
	return nil
}
