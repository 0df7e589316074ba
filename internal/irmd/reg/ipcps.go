package reg

import (
	"cmp"
	"slices"
)

// IPCP states (enum ipcp_state); only Init and Boot are kept by the IRMd.
const (
	IPCPNull        = 0
	IPCPInit        = 1
	IPCPBoot        = 2
	IPCPOperational = 5
)

// IPCP is an IPC process known to the IRMd.
type IPCP struct {
	PID      int
	Type     uint32 // ipcp_type: local 0 ... udp6 6; also the selection order
	Name     string
	State    uint32
	Layer    string // NotEnrolled until bootstrap or enrollment
	HashAlgo uint32
}

// Enrolled reports whether the IPCP has a layer.
func (i IPCP) Enrolled() bool { return i.Layer != NotEnrolled }

// CreateIPCP adds an IPCP in state Init with no layer.
func (r *Registry) CreateIPCP(i IPCP) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ipcps[i.PID]; ok {
		return ErrExists
	}
	i.State = IPCPInit
	i.Layer = NotEnrolled
	r.ipcps[i.PID] = &i
	r.notifyLocked()
	return nil
}

// SetIPCPState records the state an IPCP reported (IPCP_CREATE_R).
func (r *Registry) SetIPCPState(pid int, state uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.ipcps[pid]
	if !ok {
		return ErrNotFound
	}
	i.State = state
	r.touchLocked(IPCPTopic(pid))
	r.notifyLocked()
	return nil
}

// SetLayer records the layer an IPCP bootstrapped or enrolled in.
func (r *Registry) SetLayer(pid int, layer string, algo uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.ipcps[pid]
	if !ok {
		return ErrNotFound
	}
	i.Layer = layer
	i.HashAlgo = algo
	r.notifyLocked()
	return nil
}

// GetIPCP returns a copy of the IPCP record.
func (r *Registry) GetIPCP(pid int) (IPCP, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.ipcps[pid]
	if !ok {
		return IPCP{}, false
	}
	return *i, true
}

// DestroyIPCP removes the IPCP entry (not the process entry).
func (r *Registry) DestroyIPCP(pid int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ipcps[pid]; !ok {
		return ErrNotFound
	}
	delete(r.ipcps, pid)
	r.notifyLocked()
	return nil
}

// ListIPCPs returns the IPCPs ordered by type, then pid.
func (r *Registry) ListIPCPs() []IPCP {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]IPCP, 0, len(r.ipcps))
	for _, i := range r.ipcps {
		out = append(out, *i)
	}
	slices.SortFunc(out, func(a, b IPCP) int {
		if c := cmp.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return cmp.Compare(a.PID, b.PID)
	})
	return out
}

// IPCPLocked returns the IPCP record; call it only with the lock held (inside
// a Wait condition).
func (r *Registry) IPCPLocked(pid int) (IPCP, bool) {
	i, ok := r.ipcps[pid]
	if !ok {
		return IPCP{}, false
	}
	return *i, true
}
