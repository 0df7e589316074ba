package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

// The unicast layer path: hosts A and B of the udp4 path, and over their
// udp4 layer a unicast layer of two members: A's bootstraps it, B's
// enrolls through A's and connects to it. The server's name is registered
// in the unicast layer at B, so each packet crosses both layers: the
// unicast layer's data transfer over a udp4 flow.

// Names of the unicast layer and its members.
const (
	uniLayerName = "obench-uni"
	uniNameA     = "obench-uni-a"
	uniNameB     = "obench-uni-b"
)

// uniSettle is the pause after the connection for B's directory to join
// A's (its bootstrap goes out once the routes are there, within
// milliseconds), so that the clients find the server's name at once.
const uniSettle = time.Second

// unicastInstance is the unicast-over-udp4 path.
func unicastInstance() (instance, error) {
	port, err := freeUDPPort(udpAddrA, udpAddrB)
	if err != nil {
		return instance{}, err
	}
	return instance{
		noDirect: true,
		ipcps:    []string{"ipcpd-udp4", "ipcpd-unicast"},
		twoHosts: true,
		lossy:    true,
		hosts:    map[string]netip.Addr{uniNameA: udpAddrA, uniLayerName: udpAddrA},
		layer: func(ctx context.Context, a, b *host) error {
			return bootstrapUnicast(ctx, a, b, port)
		},
	}, nil
}

// bootstrapUnicast builds the udp4 layer (without the server's name) and
// the unicast layer over it, and registers serverName in the unicast layer
// at b.
func bootstrapUnicast(ctx context.Context, a, b *host, port uint16) error {
	udpA, err := startUDP4(ctx, a, udpIPCPNameA, udpAddrA, port)
	if err != nil {
		return err
	}
	if _, err := startUDP4(ctx, b, udpIPCPNameB, udpAddrB, port); err != nil {
		return err
	}
	pa, err := a.createIPCP(ctx, uniNameA, irm.Unicast)
	if err != nil {
		return err
	}
	if err := a.bootstrap(ctx, pa, irm.DefaultConfig(irm.Unicast, uniLayerName)); err != nil {
		return fmt.Errorf("%s: bootstrap %s: %w", a.name, uniNameA, err)
	}
	ca := a.client()
	for _, n := range []string{uniNameA, uniLayerName} {
		if err := ca.BindProcess(ctx, pa, n); err != nil {
			return fmt.Errorf("%s: bind %s: %w", a.name, n, err)
		}
		if err := ca.RegName(ctx, n, udpA); err != nil {
			return fmt.Errorf("%s: register %s in the udp4 layer: %w", a.name, n, err)
		}
	}
	pb, err := b.createIPCP(ctx, uniNameB, irm.Unicast)
	if err != nil {
		return err
	}
	cb := b.client()
	if err := cb.EnrollIPCP(ctx, pb, uniLayerName); err != nil {
		return fmt.Errorf("%s: enroll %s: %w", b.name, uniNameB, err)
	}
	for _, comp := range []string{irm.MgmtComponent, irm.DTComponent} {
		if err := cb.ConnectIPCP(ctx, pb, uniNameA, comp, qos.Raw); err != nil {
			return fmt.Errorf("%s: connect %s to %s (%s): %w", b.name, uniNameB, uniNameA, comp, err)
		}
	}
	if err := b.registerServer(ctx, pb); err != nil {
		return err
	}
	select {
	case <-time.After(uniSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
