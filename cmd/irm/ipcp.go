package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/irm"
	"github.com/ouroboros-go/ouroboros/qos"
)

const ipcpUsage = `Usage: irm ipcp [OPERATION]

where OPERATION in { create destroy bootstrap enroll connect disconnect list help }
`

var ipcpGroup = &group{
	path:  "irm ipcp",
	usage: ipcpUsage,
	commands: []command{
		{"create", ipcpCreate, ipcpCreateUsage},
		{"destroy", ipcpDestroy, ipcpDestroyUsage},
		{"bootstrap", ipcpBootstrap, ipcpBootstrapUsage},
		{"enroll", ipcpEnroll, ipcpEnrollUsage},
		{"connect", ipcpConnect, ipcpConnectUsage},
		{"disconnect", ipcpDisconnect, ipcpDisconnectUsage},
		{"list", ipcpList, ipcpListUsage},
		{"help", func(e *env, _ []string) error { return e.help(ipcpUsage) }, ""},
	},
}

const typeList = "{unicast broadcast local udp4 udp6 eth-llc eth-dix}"

const ipcpCreateUsage = `Usage: irm ipcp create
                name <ipcp name>
                type [TYPE]

where TYPE in ` + typeList + "\n"

func ipcpCreate(e *env, args []string) error {
	var name, typ string
	ci := cmdInfo{path: "irm ipcp create", usage: ipcpCreateUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "name", set: store(&name)},
		{keyword: "type", set: store(&typ)},
	}); err != nil {
		return err
	}
	if name == "" || typ == "" {
		return e.usage(ipcpCreateUsage)
	}
	t, err := e.ipcpType(typ, ipcpCreateUsage)
	if err != nil {
		return err
	}
	err = e.c.CreateIPCP(e.ctx, name, t)
	if errors.Is(err, oerr.EEXIST) {
		return e.failf("An IPCP named \"%s\" already exists.", name)
	}
	return err
}

// ipcpType parses an exactly spelled type, reporting an unknown one.
func (e *env) ipcpType(s, usage string) (irm.IPCPType, error) {
	t, err := irm.ParseIPCPType(s)
	if err != nil {
		e.errorf("IPCP type \"%s\" is unknown.", s)
		return 0, e.usage(usage)
	}
	return t, nil
}

const ipcpDestroyUsage = "Usage: irm ipcp destroy name <ipcp name>\n"

func ipcpDestroy(e *env, args []string) error {
	var name string
	ci := cmdInfo{path: "irm ipcp destroy", usage: ipcpDestroyUsage}
	if err := e.parse(ci, args, []option{{keyword: "name", set: store(&name)}}); err != nil {
		return err
	}
	if name == "" {
		return e.usage(ipcpDestroyUsage)
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return err
	}
	if i, ok := byName(ipcps, name); ok {
		return e.c.DestroyIPCP(e.ctx, i.PID)
	}
	// The reference succeeds silently; we say so, on stderr only.
	return e.failf("No IPCP named \"%s\".", name)
}

// byName returns the first IPCP called exactly name.
func byName(ipcps []irm.IPCPInfo, name string) (irm.IPCPInfo, bool) {
	for _, i := range ipcps {
		if i.Name == name {
			return i, true
		}
	}
	return irm.IPCPInfo{}, false
}

// matching returns the IPCPs whose listed name, taken as the pattern, matches
// name (the existing name is the pattern, as in the reference), and whose
// type is t unless t is nil.
func matching(ipcps []irm.IPCPInfo, name string, t *irm.IPCPType) []irm.IPCPInfo {
	var out []irm.IPCPInfo
	for _, i := range ipcps {
		if wildcardMatch(i.Name, name) && (t == nil || i.Type == *t) {
			out = append(out, i)
		}
	}
	return out
}

const ipcpEnrollUsage = `Usage: irm ipcp enroll
                name <ipcp name>
                [layer <layer to enroll in>]
                [dst <destination to enroll with> (default: layer)]
                [type [TYPE] (default: unicast)]
                [autobind]
(at least one of layer and dst)

where TYPE in {unicast broadcast}
`

// enrollNeedsLayer is the answer when the IRMd cannot create the IPCP to
// enroll (its binary, such as ipcpd-unicast, is not installed); %s is the
// type asked for.
const enrollNeedsLayer = "Cannot create a %[1]s IPCP to enroll: the irmd does not find ipcpd-%[1]s."

func ipcpEnroll(e *env, args []string) error {
	var name, layer, dst, typ string
	var autobind bool
	ci := cmdInfo{path: "irm ipcp enroll", usage: ipcpEnrollUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "name", set: store(&name)},
		{keyword: "layer", set: store(&layer)},
		{keyword: "dst", set: store(&dst)},
		{keyword: "type", set: store(&typ)},
		{keyword: "autobind", flag: true, set: setTrue(&autobind)},
	}); err != nil {
		return err
	}
	if name == "" || (layer == "" && dst == "") {
		return e.usage(ipcpEnrollUsage)
	}
	if dst == "" {
		dst = layer
	}
	t := irm.Unicast
	if typ != "" {
		var err error
		if t, err = e.ipcpType(typ, ipcpEnrollUsage); err != nil {
			return err
		}
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return err
	}
	created := len(matching(ipcps, name, &t)) == 0
	targets, err := e.findOrCreate(ipcps, name, t)
	if errors.Is(err, oerr.EIPCPTYPE) {
		return e.failf(enrollNeedsLayer, t)
	}
	if err != nil {
		return err
	}
	for _, i := range targets {
		if err := e.c.EnrollIPCP(e.ctx, i.PID, dst); err != nil {
			e.errorf("Failed to enroll IPCP.")
			if created {
				// Created for this command: leave nothing behind.
				e.c.DestroyIPCP(e.ctx, i.PID)
			}
			return err
		}
		ipcps, err := e.c.ListIPCPs(e.ctx)
		if err != nil {
			return err
		}
		j := slices.IndexFunc(ipcps, func(j irm.IPCPInfo) bool { return j.PID == i.PID })
		if j < 0 {
			return errFailed // it died after enrolling
		}
		joined := ipcps[j].Layer
		if layer != "" && joined != layer {
			return e.failf("Enrollment destination does not match requested layer.")
		}
		if autobind && e.canBind(i.Type) {
			if err := e.autobind(i.PID, i.Name, joined); err != nil {
				return err
			}
		}
	}
	return nil
}

// findOrCreate returns the IPCPs of type t in ipcps matching name, creating
// one called name if there are none.
func (e *env) findOrCreate(ipcps []irm.IPCPInfo, name string, t irm.IPCPType) ([]irm.IPCPInfo, error) {
	if m := matching(ipcps, name, &t); len(m) > 0 {
		return m, nil
	}
	if err := e.c.CreateIPCP(e.ctx, name, t); err != nil {
		return nil, err
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return nil, err
	}
	if m := matching(ipcps, name, &t); len(m) > 0 {
		return m, nil
	}
	return nil, e.failf("No IPCPs matching %s found.", name)
}

// canBind reports whether autobind applies to type t, saying so if not: only
// unicast and broadcast IPCPs accept flows for their own and their layer's
// names (from peers enrolling or connecting).
func (e *env) canBind(t irm.IPCPType) bool {
	if t == irm.Unicast || t == irm.Broadcast {
		return true
	}
	e.errorf("Can not bind this IPCP type,autobind disabled.")
	return false
}

// autobind binds the IPCP process to its own name and to its layer's name,
// leaving neither binding behind on failure.
func (e *env) autobind(pid int, name, layer string) error {
	if err := e.c.BindProcess(e.ctx, pid, name); err != nil {
		return err
	}
	if err := e.c.BindProcess(e.ctx, pid, layer); err != nil {
		e.c.UnbindProcess(e.ctx, pid, name)
		return err
	}
	return nil
}

func (e *env) unautobind(pid int, name, layer string) {
	e.c.UnbindProcess(e.ctx, pid, layer)
	e.c.UnbindProcess(e.ctx, pid, name)
}

const ipcpConnectUsage = `Usage: irm ipcp connect
                name <ipcp name>
                dst <name of destination IPCP>
                [component [COMPONENT] (default: all)]
                [qos [QOS] (default: raw, dt only)]

where COMPONENT in {dt mgmt}
      QOS in {raw best video voice data}
`

func ipcpConnect(e *env, args []string) error {
	var name, dst, qosName string
	comp := "*"
	ci := cmdInfo{path: "irm ipcp connect", usage: ipcpConnectUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "name", set: store(&name)},
		{keyword: "dst", set: store(&dst)},
		{keyword: "component", set: store(&comp)},
		{keyword: "qos", set: store(&qosName)},
	}); err != nil {
		return err
	}
	if name == "" || dst == "" {
		return e.usage(ipcpConnectUsage)
	}
	q := qos.Raw
	if qosName != "" {
		s, err := qos.ByName(qosName)
		if err != nil {
			e.errorf("Unknown QoS cube, defaulting to raw.")
		} else {
			q = s
		}
	}
	i, err := e.ipcpByName(name)
	if err != nil {
		return err
	}
	// Management first: routing needs it before data transfer is useful.
	// Its flow is always raw.
	if wantComp(comp, "mgmt", i.Type) {
		if err := e.c.ConnectIPCP(e.ctx, i.PID, dst, irm.MgmtComponent, qos.Raw); err != nil {
			return err
		}
	}
	if wantComp(comp, "dt", i.Type) {
		return e.c.ConnectIPCP(e.ctx, i.PID, dst, irm.DTComponent, q)
	}
	return nil
}

// wantComp reports whether the component pattern selects comp for an IPCP of
// type t. Broadcast IPCPs have no management component, so a pattern selects
// it for them only when it names it exactly.
func wantComp(pattern, comp string, t irm.IPCPType) bool {
	if t == irm.Broadcast && comp == "mgmt" && pattern != "mgmt" {
		return false
	}
	return wildcardMatch(pattern, comp)
}

// ipcpByName finds the IPCP called exactly name; none is a silent failure.
func (e *env) ipcpByName(name string) (irm.IPCPInfo, error) {
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return irm.IPCPInfo{}, err
	}
	i, ok := byName(ipcps, name)
	if !ok {
		return irm.IPCPInfo{}, errFailed
	}
	return i, nil
}

const ipcpDisconnectUsage = `Usage: irm ipcp disconnect
                name <ipcp name>
                dst <name of destination IPCP>
                [component [COMPONENT] (default: all)]

where COMPONENT in {dt mgmt}
`

func ipcpDisconnect(e *env, args []string) error {
	var name, dst string
	comp := "*"
	ci := cmdInfo{path: "irm ipcp disconnect", usage: ipcpDisconnectUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "name", set: store(&name)},
		{keyword: "dst", set: store(&dst)},
		{keyword: "component", set: store(&comp)},
	}); err != nil {
		return err
	}
	if name == "" || dst == "" {
		return e.usage(ipcpDisconnectUsage)
	}
	i, err := e.ipcpByName(name)
	if err != nil {
		return err
	}
	// The reverse of connect: data transfer first.
	if wantComp(comp, "dt", i.Type) {
		if err := e.c.DisconnectIPCP(e.ctx, i.PID, dst, irm.DTComponent); err != nil {
			return err
		}
	}
	if wantComp(comp, "mgmt", i.Type) {
		return e.c.DisconnectIPCP(e.ctx, i.PID, dst, irm.MgmtComponent)
	}
	return nil
}

const ipcpListUsage = `Usage: irm ipcp list
                [name <ipcp name pattern>]
                [type [TYPE]]
                [layer <layer name pattern>]

where TYPE in ` + typeList + "\n"

func ipcpList(e *env, args []string) error {
	var name, layer, typ string
	ci := cmdInfo{path: "irm ipcp list", usage: ipcpListUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "name", set: store(&name)},
		{keyword: "type", set: store(&typ)},
		{keyword: "layer", set: store(&layer)},
	}); err != nil {
		return err
	}
	var t *irm.IPCPType
	if typ != "" {
		v, err := e.ipcpType(typ, ipcpListUsage)
		if err != nil {
			return err
		}
		t = &v
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return err
	}
	if len(ipcps) == 0 {
		fmt.Fprint(e.out, "No IPCPs in system.\n\n")
		return nil
	}
	var b strings.Builder
	const rule = "+---------+----------------------+------------+----------------------+\n"
	b.WriteString(rule)
	fmt.Fprintf(&b, "| %7s | %20s | %10s | %20s |\n", "pid", "name", "type", "layer")
	b.WriteString(rule)
	for _, i := range ipcps {
		if (name != "" && !wildcardMatch(name, i.Name)) ||
			(layer != "" && !wildcardMatch(layer, i.Layer)) ||
			(t != nil && i.Type != *t) {
			continue
		}
		fmt.Fprintf(&b, "| %7d | %20s | %10s | %20s |\n", i.PID, i.Name, i.Type, i.Layer)
	}
	b.WriteString(rule)
	b.WriteString("\n")
	fmt.Fprint(e.out, b.String())
	return nil
}
