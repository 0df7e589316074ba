package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/ouroboros-go/ouroboros/irm"
)

const nameUsage = `Usage: irm name [OPERATION]

where OPERATION in { create destroy register unregister list help }
`

// As for bind, the command word is the keyword of the first value: the name.
var nameGroup = &group{
	path:     "irm name",
	usage:    nameUsage,
	keepWord: true,
	commands: []command{
		{"create", nameCreate, nameCreateUsage},
		{"destroy", nameDestroy, nameDestroyUsage},
		{"register", nameRegister, nameRegisterUsage},
		{"unregister", nameUnregister, nameUnregisterUsage},
		{"list", nameList, nameListUsage},
		{"help", func(e *env, _ []string) error { return e.help(nameUsage) }, ""},
	},
}

const nameCreateUsage = `Usage: irm name create <name>
                [lb LB_POLICY] (default: spillover)
                [sencpath <path to server encryption configuration>]
                [scrtpath <path to server certificate>]
                [skeypath <path to server private key>]
                [cencpath <path to client encryption configuration>]
                [ccrtpath <path to client certificate>]
                [ckeypath <path to client private key>]

where LB_POLICY in {round-robin spillover}
`

// nameCreate creates a name. Deliberate deviation: the reference's CLI
// defaults to round-robin while every name the IRMd creates itself (bind,
// register, configuration file) gets spillover; here spillover is the
// default everywhere.
func nameCreate(e *env, args []string) error {
	info := irm.NameInfo{LB: irm.Spill}
	var lb, senc, cenc string
	ci := cmdInfo{path: "irm name create", usage: nameCreateUsage}
	if err := e.parse(ci, args, []option{
		{keyword: "create", set: store(&info.Name)},
		{keyword: "lb", set: store(&lb)},
		{keyword: "sencpath", set: store(&senc)},
		{keyword: "scrtpath", set: store(&info.ServerCrt)},
		{keyword: "skeypath", set: store(&info.ServerKey)},
		{keyword: "cencpath", set: store(&cenc)},
		{keyword: "ccrtpath", set: store(&info.ClientCrt)},
		{keyword: "ckeypath", set: store(&info.ClientKey)},
	}); err != nil {
		return err
	}
	if info.Name == "" {
		return e.usage(nameCreateUsage)
	}
	if len(info.Name) > irm.MaxNameLen {
		return e.failf("Name too long.")
	}
	if lb != "" {
		p, err := irm.ParseLBPolicy(lb)
		if err != nil {
			return e.failf("Unknown parameter for lb: \"%s\".", lb)
		}
		info.LB = p
	}
	// The encryption configuration paths are checked like the others, but
	// the protocol has no field for them (a quirk of the reference): the IRMd
	// uses its defaults.
	for _, p := range []*string{&senc, &info.ServerCrt, &info.ServerKey,
		&cenc, &info.ClientCrt, &info.ClientKey} {
		if *p == "" {
			continue
		}
		abs, err := realpath(*p)
		if err != nil {
			return e.failf("Failed to check path %s: %s", *p, errText(err))
		}
		*p = abs
	}
	return e.c.CreateName(e.ctx, info)
}

// errText describes err as strerror would: "No such file or directory".
func errText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

const nameDestroyUsage = `Usage: irm name destroy <name>
`

func nameDestroy(e *env, args []string) error {
	if len(args) != 2 {
		return e.usage(nameDestroyUsage)
	}
	return e.c.DestroyName(e.ctx, args[1])
}

const nameRegisterUsage = `Usage: irm name register <name>
                ipcp <ipcp name pattern> ...
                layer <layer name pattern> ...
(at least one ipcp or layer)
`

const nameUnregisterUsage = `Usage: irm name unregister <name>
                ipcp <ipcp name pattern> ...
                layer <layer name pattern> ...
(at least one ipcp or layer)
`

// regTargets are the parsed arguments of register and unregister.
type regTargets struct {
	name          string
	ipcps, layers []string
}

func (e *env) parseTargets(cmd, usage string, args []string) (regTargets, error) {
	var t regTargets
	ci := cmdInfo{path: "irm name " + cmd, usage: usage}
	err := e.parse(ci, args, []option{
		{keyword: cmd, set: store(&t.name)},
		{keyword: "ipcp", set: appendTo(&t.ipcps)},
		{keyword: "layer", set: appendTo(&t.layers)},
	})
	if err == nil && (t.name == "" || len(t.ipcps)+len(t.layers) == 0) {
		err = e.usage(usage)
	}
	return t, err
}

// selected reports whether an IPCP is a target: its layer matches one of
// the layer patterns or its name one of the IPCP name patterns. The
// patterns are what the user typed (the reference swaps the roles for
// unregister; we do not).
func (t regTargets) selected(i irm.IPCPInfo) (bool, string) {
	for _, l := range t.layers {
		if wildcardMatch(l, i.Layer) {
			return true, i.Layer
		}
	}
	for _, p := range t.ipcps {
		if wildcardMatch(p, i.Name) {
			return true, i.Name
		}
	}
	return false, ""
}

// noneSelected fails, saying so, when no IPCP is a target: a name registered
// in no layer would be reachable by nobody, so it is an error (exit 1), not
// a silent success. Nothing has been changed when it fails.
func (t regTargets) noneSelected(e *env, ipcps []irm.IPCPInfo, cmd string) error {
	for _, i := range ipcps {
		if ok, _ := t.selected(i); ok {
			return nil
		}
	}
	if len(ipcps) == 0 {
		return e.failf("Cannot %s %s: there are no IPCPs.", cmd, t.name)
	}
	var what []string
	for _, l := range t.layers {
		what = append(what, "layer "+l)
	}
	for _, p := range t.ipcps {
		what = append(what, "ipcp "+p)
	}
	return e.failf("Cannot %s %s: no IPCP matches %s (irm ipcp list shows them).",
		cmd, t.name, strings.Join(what, " or "))
}

// nameRegister registers the name with every selected IPCP, once each,
// creating the name (spill policy) if it does not exist.
func nameRegister(e *env, args []string) error {
	t, err := e.parseTargets("register", nameRegisterUsage, args)
	if err != nil {
		return err
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return err
	}
	if err := t.noneSelected(e, ipcps, "register"); err != nil {
		return err
	}
	// Creating a name that exists changes nothing in our IRMd, so there is no
	// need to list every name first; an IRMd that refuses it (the reference
	// may) is asked whether the name exists.
	if err := e.c.CreateName(e.ctx, irm.NameInfo{Name: t.name, LB: irm.Spill}); err != nil {
		names, lerr := e.c.ListNames(e.ctx)
		if lerr != nil {
			return err
		}
		if !slices.ContainsFunc(names, func(n irm.NameInfo) bool { return n.Name == t.name }) {
			return err
		}
	}
	for _, i := range ipcps {
		if ok, what := t.selected(i); ok {
			if err := e.c.RegName(e.ctx, t.name, i.PID); err != nil {
				e.errorf("Failed to register with %s", what)
				return err
			}
		}
	}
	return nil
}

// nameUnregister unregisters the name from every selected IPCP, once each.
func nameUnregister(e *env, args []string) error {
	t, err := e.parseTargets("unregister", nameUnregisterUsage, args)
	if err != nil {
		return err
	}
	ipcps, err := e.c.ListIPCPs(e.ctx)
	if err != nil {
		return err
	}
	if err := t.noneSelected(e, ipcps, "unregister"); err != nil {
		return err
	}
	for _, i := range ipcps {
		if ok, what := t.selected(i); ok {
			if err := e.c.UnregName(e.ctx, t.name, i.PID); err != nil {
				e.errorf("Failed to unregister from %s", what)
				return err
			}
		}
	}
	return nil
}

const nameListUsage = `Usage: irm name list [<name prefix>]
`

// nameList prints the names. The filter may follow "list" directly; the
// reference's form, after a second "list" keyword (irm name list list
// <prefix>), is accepted too. Unlike the reference, the filter keeps the
// names that start with it (the reference keeps the names that the filter
// starts with).
func nameList(e *env, args []string) error {
	var filter string
	ci := cmdInfo{path: "irm name list", usage: nameListUsage}
	if rest := args[1:]; len(rest) == 1 {
		filter = rest[0]
	} else if err := e.parse(ci, rest, []option{{keyword: "list", set: store(&filter)}}); err != nil {
		return err
	}
	names, err := e.c.ListNames(e.ctx)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Fprint(e.out, "No names in system.\n\n")
		return nil
	}
	var b strings.Builder
	const rule = "+----------------------------------------------------+----------------------+\n"
	b.WriteString(rule)
	fmt.Fprintf(&b, "| %50s | %20s |\n", "name", "load-balance policy")
	b.WriteString(rule)
	for _, n := range names {
		if strings.HasPrefix(n.Name, filter) {
			fmt.Fprintf(&b, "| %50s | %20s |\n", n.Name, n.LB)
		}
	}
	b.WriteString(rule)
	fmt.Fprint(e.out, b.String())
	return nil
}
