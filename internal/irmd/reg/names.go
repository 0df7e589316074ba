package reg

import (
	"slices"
)

// LBPolicy is a name's load-balancing policy among accepting processes.
type LBPolicy uint32

// Policies; the values travel in name_info_msg.
const (
	LBRoundRobin LBPolicy = 0
	LBSpill      LBPolicy = 1
)

func (p LBPolicy) String() string {
	switch p {
	case LBRoundRobin:
		return "round-robin"
	case LBSpill:
		return "spillover"
	}
	return "UNKNOWN"
}

// NameInfo is what a name is created with.
type NameInfo struct {
	Name string
	LB   LBPolicy
	// Security paths (server key/crt, client key/crt); empty means the default.
	SKey, SCrt, CKey, CCrt string
	// SEnc and CEnc are the server's and the client's enc.conf; empty means
	// the default. Set from the configuration file only (name_info_msg has
	// no field for them).
	SEnc, CEnc string
}

// Name is a registered application name.
type Name struct {
	NameInfo
	Progs  [][]string // auto-start argv, most recently bound first
	Procs  []int      // bound processes
	active []activeEntry
}

type activeEntry struct {
	pid  int
	flow int
}

// ActivePIDs returns the pids in the active list, first first.
func (n *Name) ActivePIDs() []int {
	out := make([]int, len(n.active))
	for i, a := range n.active {
		out[i] = a.pid
	}
	return out
}

// CreateName adds a name. It returns ErrExists (and changes nothing) if the
// name is already there.
func (r *Registry) CreateName(info NameInfo) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.names[info.Name]; ok {
		return ErrExists
	}
	r.addNameLocked(&Name{NameInfo: info})
	r.notifyLocked()
	return nil
}

// SetEncFiles sets the enc.conf paths of an existing name (NameInfo.SEnc,
// CEnc).
func (r *Registry) SetEncFiles(name, server, client string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.names[name]
	if !ok {
		return ErrNotFound
	}
	n.SEnc, n.CEnc = server, client
	return nil
}

// DestroyName removes a name and every binding to it. Flows pending accept
// stay; they are no longer reachable through this name.
func (r *Registry) DestroyName(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.names[name]; !ok {
		return ErrNotFound
	}
	r.delNameLocked(name)
	for _, p := range r.procs {
		p.Names = del(p.Names, name)
	}
	for _, p := range r.progs {
		p.Names = del(p.Names, name)
	}
	r.notifyLocked()
	return nil
}

// HasName reports whether the name exists.
func (r *Registry) HasName(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.names[name]
	return ok
}

// GetName returns a copy of the name's record.
func (r *Registry) GetName(name string) (Name, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.names[name]
	if !ok {
		return Name{}, false
	}
	c := *n
	c.Progs = slices.Clone(n.Progs)
	c.Procs = slices.Clone(n.Procs)
	c.active = slices.Clone(n.active)
	return c, true
}

// ListNames returns every name in strcmp order.
func (r *Registry) ListNames() []NameInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sortedNamesLocked()
	out := make([]NameInfo, 0, len(s))
	for _, k := range s {
		out = append(out, r.names[k].NameInfo)
	}
	return out
}

// HasAccepter reports whether some process is accepting for name.
func (r *Registry) HasAccepter(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hasAccepterLocked(name)
}

func (r *Registry) hasAccepterLocked(name string) bool {
	n, ok := r.names[name]
	return ok && len(n.active) > 0
}

// HasBindings reports whether name has bound processes or auto-start programs,
// i.e. whether waiting for a local accepter can succeed.
func (r *Registry) HasBindings(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.names[name]
	return ok && (len(n.Procs) > 0 || len(n.Progs) > 0)
}

// AutoStart returns the name's first auto-start argv, if any.
func (r *Registry) AutoStart(name string) ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.names[name]
	if !ok || len(n.Progs) == 0 {
		return nil, false
	}
	return slices.Clone(n.Progs[0]), true
}

// addActiveLocked puts (pid, flow) in the name's active list per its policy.
func (n *Name) addActive(pid, flow int) {
	e := activeEntry{pid: pid, flow: flow}
	if n.LB == LBSpill {
		n.active = slices.Insert(n.active, 0, e)
		return
	}
	n.active = append(n.active, e)
}

func (n *Name) delActiveFlow(flow int) {
	n.active = slices.DeleteFunc(n.active, func(e activeEntry) bool { return e.flow == flow })
}

func (n *Name) delActivePID(pid int) {
	n.active = slices.DeleteFunc(n.active, func(e activeEntry) bool { return e.pid == pid })
}

func del(s []string, v string) []string {
	return slices.DeleteFunc(s, func(x string) bool { return x == v })
}

func delInt(s []int, v int) []int {
	return slices.DeleteFunc(s, func(x int) bool { return x == v })
}

// HasAccepterLocked is HasAccepter for use inside a Wait condition.
func (r *Registry) HasAccepterLocked(name string) bool { return r.hasAccepterLocked(name) }

// HasBoundProcs reports whether processes are bound to name.
func (r *Registry) HasBoundProcs(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.names[name]
	return ok && len(n.Procs) > 0
}
