package irmtest

import (
	"slices"
	"strings"
	"sync"

	"github.com/ouroboros-go/ouroboros/internal/oerr"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/irm"
)

// Fake is an in-memory IRMd registry. Its Handle method creates, destroys,
// lists, bootstraps and enrolls IPCPs and creates, destroys and lists names
// the way the IRMd does, without processes; every
// other request succeeds. It is safe for concurrent use.
//
// Invariants kept as in the IRMd: IPCPs are listed by type then pid, names by
// byte order, a new IPCP's layer is irm.NotEnrolled, creating an existing
// name succeeds without changing it, and binding creates a missing name with
// the spill policy.
type Fake struct {
	mu      sync.Mutex
	nextPID int
	ipcps   []irm.IPCPInfo
	names   []irm.NameInfo
	fail    map[pb.IrmMsgCode]int32
}

// NewFake returns an empty registry whose first created IPCP gets pid 100.
func NewFake() *Fake { return &Fake{nextPID: 100, fail: map[pb.IrmMsgCode]int32{}} }

// AddIPCP adds an existing IPCP.
func (f *Fake) AddIPCP(i irm.IPCPInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.insertIPCP(i)
}

// AddName adds an existing name; only Name and LB are kept.
func (f *Fake) AddName(n irm.NameInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.insertName(n.Name, n.LB)
}

// IPCPs returns the IPCPs in listing order.
func (f *Fake) IPCPs() []irm.IPCPInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ipcps)
}

// Names returns the names in listing order.
func (f *Fake) Names() []irm.NameInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.names)
}

// Fail makes every later request with code fail with errno.
func (f *Fake) Fail(code pb.IrmMsgCode, errno irm.Errno) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[code] = -int32(errno)
}

// Handle answers req; it is a Handler.
func (f *Fake) Handle(req *pb.IrmMsg) *pb.IrmMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.fail[req.GetCode()]; ok {
		return Reply(r)
	}
	switch req.GetCode() {
	case pb.IrmMsgCode_IRM_CREATE_IPCP:
		info := req.GetIpcpInfo()
		f.insertIPCP(irm.IPCPInfo{PID: f.nextPID, Type: irm.IPCPType(info.GetType()),
			Name: info.GetName(), Layer: irm.NotEnrolled})
		f.nextPID++
	case pb.IrmMsgCode_IRM_DESTROY_IPCP:
		i := f.find(int(req.GetPid()))
		if i < 0 {
			return Reply(-1)
		}
		f.ipcps = slices.Delete(f.ipcps, i, i+1)
	case pb.IrmMsgCode_IRM_LIST_IPCPS:
		return IPCPsReply(f.ipcps...)
	case pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP:
		i := f.find(int(req.GetPid()))
		if i < 0 {
			return Reply(-1)
		}
		li := req.GetConf().GetLayerInfo()
		f.ipcps[i].Layer = li.GetName()
		f.ipcps[i].HashAlgo = irm.HashAlgo(li.GetDirHashAlgo())
		switch f.ipcps[i].Type {
		case irm.UDP4, irm.UDP6:
			f.ipcps[i].HashAlgo = irm.MD5
		case irm.Broadcast:
			f.ipcps[i].HashAlgo = irm.SHA3_256
		}
	case pb.IrmMsgCode_IRM_ENROLL_IPCP:
		i := f.find(int(req.GetPid()))
		if i < 0 {
			return Reply(-1)
		}
		// The destination is a member's name or the layer's name.
		layer := req.GetDst()
		for _, m := range f.ipcps {
			if m.Name == layer && m.Layer != irm.NotEnrolled {
				layer = m.Layer
				break
			}
		}
		f.ipcps[i].Layer = layer
		f.ipcps[i].HashAlgo = irm.SHA3_256
	case pb.IrmMsgCode_IRM_CREATE_NAME:
		n := req.GetNameInfo()
		f.insertName(n.GetName(), irm.LBPolicy(n.GetPolLb()))
	case pb.IrmMsgCode_IRM_DESTROY_NAME:
		i := slices.IndexFunc(f.names, func(n irm.NameInfo) bool { return n.Name == req.GetName() })
		if i < 0 {
			return Reply(-1)
		}
		f.names = slices.Delete(f.names, i, i+1)
	case pb.IrmMsgCode_IRM_LIST_NAMES:
		return NamesReply(f.names...)
	case pb.IrmMsgCode_IRM_BIND_PROGRAM, pb.IrmMsgCode_IRM_BIND_PROCESS:
		f.insertName(req.GetName(), irm.Spill)
	case pb.IrmMsgCode_IRM_REG_NAME, pb.IrmMsgCode_IRM_UNREG_NAME:
		if !slices.ContainsFunc(f.names, func(n irm.NameInfo) bool { return n.Name == req.GetName() }) {
			return Reply(-int32(oerr.ENAME))
		}
		if f.find(int(req.GetPid())) < 0 {
			return Reply(-int32(oerr.EIPCP))
		}
	}
	return Reply(0)
}

func (f *Fake) find(pid int) int {
	return slices.IndexFunc(f.ipcps, func(i irm.IPCPInfo) bool { return i.PID == pid })
}

func (f *Fake) insertIPCP(i irm.IPCPInfo) {
	at, _ := slices.BinarySearchFunc(f.ipcps, i, func(a, b irm.IPCPInfo) int {
		if a.Type != b.Type {
			return int(a.Type) - int(b.Type)
		}
		return a.PID - b.PID
	})
	f.ipcps = slices.Insert(f.ipcps, at, i)
}

func (f *Fake) insertName(name string, lb irm.LBPolicy) {
	at, found := slices.BinarySearchFunc(f.names, name, func(n irm.NameInfo, s string) int {
		return strings.Compare(n.Name, s)
	})
	if !found {
		f.names = slices.Insert(f.names, at, irm.NameInfo{Name: name, LB: lb})
	}
}
