package reg

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// Prog is a program bound to names: every process announced later with the
// same basename is bound to those names.
type Prog struct {
	Name  string // basename of the executable
	Path  string // path as bound
	Names []string
	By    map[string]Cred // who bound it, by name: an auto-start runs as that user
}

// Cred is the user who made a binding: the uid, gid and supplementary
// groups of the binding process.
type Cred struct {
	UID, GID uint32
	Groups   []uint32
}

// Proc is an announced process.
type Proc struct {
	PID   int
	Prog  string // basename
	UID   uint32 // of the announcing connection
	GID   uint32
	Own   bool     // announced from its own pid (not by another process on its behalf)
	Names []string // names it is bound to
}

// CreateProc adds an announced process and binds it to the names of its
// program, if that program is bound ("inheritance"). ErrExists if the pid is known.
func (r *Registry) CreateProc(p Proc) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.procs[p.PID]; ok {
		return ErrExists
	}
	np := p
	np.Names = nil
	if prog, ok := r.progs[p.Prog]; ok {
		for _, n := range prog.Names {
			if name, ok := r.names[n]; ok {
				np.Names = append(np.Names, n)
				name.Procs = append(name.Procs, p.PID)
			}
		}
	}
	r.procs[p.PID] = &np
	r.touchLocked(ProcTopic(p.PID))
	r.notifyLocked()
	return nil
}

// HasProc reports whether the pid is announced.
func (r *Registry) HasProc(pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.procs[pid]
	return ok
}

// GetProc returns a copy of a process record.
func (r *Registry) GetProc(pid int) (Proc, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.procs[pid]
	if !ok {
		return Proc{}, false
	}
	c := *p
	c.Names = slices.Clone(p.Names)
	return c, true
}

// ListProcs returns the pids of announced processes, ascending.
func (r *Registry) ListProcs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, 0, len(r.procs))
	for pid := range r.procs {
		out = append(out, pid)
	}
	slices.Sort(out)
	return out
}

// DestroyProc removes a process: its bindings and active entries go, its
// pending flows become DEALLOCATED (their waiters fail), and, if it was an
// IPCP, the IPCP entry goes too. It returns the flows the process holds as an
// application (handed over to it), for the caller to release (the reference
// leaves the allocated flows of a dead process behind).
func (r *Registry) DestroyProc(pid int) []Flow {
	flows, _ := r.RemoveProc(pid)
	return flows
}

// RemoveProc is DestroyProc that also reports whether pid was a process or an
// IPCP, so that concurrent detections of one death act once.
//
// A dead IPCP holds no id any more: its holds end here, and the flows it
// carried go down (DEALLOCATED) until their applications release them. A
// flow still owned by the request serving pid is left to that request, which
// notices (pending states become DEALLOCATED; HandOver fails) and releases it.
func (r *Registry) RemoveProc(pid int) (live []Flow, existed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.procs[pid]
	_, isIPCP := r.ipcps[pid]
	existed = ok || isIPCP
	if ok {
		// A process's active entries are only in the names it is bound to.
		for _, n := range p.Names {
			if name, ok := r.names[n]; ok {
				name.Procs = delInt(name.Procs, pid)
				name.delActivePID(pid)
			}
		}
		delete(r.procs, pid)
	}
	delete(r.ipcps, pid)
	r.touchLocked(IPCPTopic(pid))
	for _, f := range r.sortedFlowsLocked() {
		if !f.Direct && f.N1Pid == pid && f.IPCPHeld {
			f.IPCPHeld, f.Asked = false, false
			if r.settleLocked(f) {
				continue
			}
			r.setStateLocked(f, FlowDeallocated)
			continue
		}
		if f.NPid != pid && !(f.Direct && f.N1Pid == pid) {
			continue
		}
		switch {
		case f.InReq && f.NPid == pid:
			switch f.State {
			case FlowInit, FlowAllocPending, FlowAcceptPending:
				r.setStateLocked(f, FlowDeallocated)
			}
		case f.Direct || f.AppHeld:
			live = append(live, f.copy())
		}
	}
	r.notifyLocked()
	return live, existed
}

// BindProgram binds the program at path to name for the user by, creating the
// program and the name (spillover) if needed. With auto, argv (path first) is
// added at the head of the name's auto-start list. ErrExists if already bound.
func (r *Registry) BindProgram(path, name string, auto bool, argv []string, by Cred) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := filepath.Base(path)
	prog, ok := r.progs[base]
	if !ok {
		prog = &Prog{Name: base, Path: path}
		r.progs[base] = prog
	}
	n := r.ensureNameLocked(name)
	if slices.Contains(prog.Names, name) {
		return ErrExists
	}
	prog.Names = append(prog.Names, name)
	if prog.By == nil {
		prog.By = map[string]Cred{}
	}
	by.Groups = slices.Clone(by.Groups)
	prog.By[name] = by
	if auto {
		a := append([]string{path}, argv...)
		n.Progs = slices.Insert(n.Progs, 0, a)
	}
	r.notifyLocked()
	return nil
}

// UnbindProgram removes the binding of prog (a basename or a path) to name and
// the name's auto-start entries of that program. With an empty name the program
// is forgotten. (The reference keys one by basename and the other by path, so
// neither form fully unbinds; here both forms work.)
func (r *Registry) UnbindProgram(prog, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := filepath.Base(prog)
	p, ok := r.progs[base]
	if !ok {
		return ErrNotFound
	}
	dropAuto := func(n *Name) {
		n.Progs = slices.DeleteFunc(n.Progs, func(a []string) bool {
			return len(a) > 0 && filepath.Base(a[0]) == base
		})
	}
	if name == "" {
		for _, nn := range p.Names {
			if n, ok := r.names[nn]; ok {
				dropAuto(n)
			}
		}
		delete(r.progs, base)
		r.notifyLocked()
		return nil
	}
	if !slices.Contains(p.Names, name) {
		return ErrNotFound
	}
	p.Names = del(p.Names, name)
	delete(p.By, name)
	if n, ok := r.names[name]; ok {
		dropAuto(n)
	}
	r.notifyLocked()
	return nil
}

// Binder returns who bound prog (a basename or a path) to name.
func (r *Registry) Binder(prog, name string) (Cred, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.progs[filepath.Base(prog)]
	if !ok || !slices.Contains(p.Names, name) {
		return Cred{}, false
	}
	c, ok := p.By[name]
	c.Groups = slices.Clone(c.Groups)
	return c, ok
}

// NameOwners returns the uids that hold name, sorted and without
// duplicates: those of the processes bound to it and of the users who bound
// programs to it. A name nobody is bound to has none.
func (r *Registry) NameOwners(name string) []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint32
	if n, ok := r.names[name]; ok {
		for _, pid := range n.Procs {
			if p, ok := r.procs[pid]; ok {
				out = append(out, p.UID)
			}
		}
	}
	for _, p := range r.progs {
		if slices.Contains(p.Names, name) {
			out = append(out, p.By[name].UID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// GetProg returns a copy of a program record, by basename or path.
func (r *Registry) GetProg(prog string) (Prog, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.progs[filepath.Base(prog)]
	if !ok {
		return Prog{}, false
	}
	c := *p
	c.Names = slices.Clone(p.Names)
	c.By = maps.Clone(p.By)
	return c, true
}

// ListProgs returns the program basenames in strcmp order.
func (r *Registry) ListProgs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.progs))
	for k := range r.progs {
		out = append(out, k)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}

// BindProcess binds an announced process to name, creating the name
// (spillover) if needed. Its pending accepts become active for the name at
// once. ErrNotFound if the pid is unknown, ErrExists if already bound.
func (r *Registry) BindProcess(pid int, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.procs[pid]
	if !ok {
		return ErrNotFound
	}
	if slices.Contains(p.Names, name) {
		return ErrExists
	}
	n := r.ensureNameLocked(name)
	p.Names = append(p.Names, name)
	n.Procs = append(n.Procs, pid)
	for _, f := range r.sortedFlowsLocked() {
		if f.NPid == pid && f.State == FlowAcceptPending {
			n.addActive(pid, f.ID)
			r.touchLocked(NameTopic(name))
		}
	}
	r.notifyLocked()
	return nil
}

// UnbindProcess removes the binding of pid to name (and its active entries
// there). ErrNotFound if it was not bound.
func (r *Registry) UnbindProcess(pid int, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.procs[pid]
	if !ok || !slices.Contains(p.Names, name) {
		return ErrNotFound
	}
	p.Names = del(p.Names, name)
	if n, ok := r.names[name]; ok {
		n.Procs = delInt(n.Procs, pid)
		n.delActivePID(pid)
	}
	r.notifyLocked()
	return nil
}

func (r *Registry) ensureNameLocked(name string) *Name {
	n, ok := r.names[name]
	if !ok {
		n = &Name{NameInfo: NameInfo{Name: name, LB: LBSpill}}
		r.addNameLocked(n)
	}
	return n
}

// HasProcLocked reports whether pid is announced; call it only with the lock
// held (inside a Wait condition).
func (r *Registry) HasProcLocked(pid int) bool {
	_, ok := r.procs[pid]
	return ok
}
