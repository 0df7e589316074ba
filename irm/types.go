package irm

import (
	"fmt"

	"github.com/ouroboros-go/ouroboros/internal/hash"
	"github.com/ouroboros-go/ouroboros/internal/oerr"
)

// IPCPType is the type of an IPC process. The values travel in the IRMd
// protocol and are also the IRMd's preference order when it picks an IPCP for
// a flow.
type IPCPType uint32

// IPCP types.
const (
	Local     IPCPType = 0
	Unicast   IPCPType = 1
	Broadcast IPCPType = 2
	EthLLC    IPCPType = 3
	EthDIX    IPCPType = 4
	UDP4      IPCPType = 5
	UDP6      IPCPType = 6
)

// typeNames are the command-line spellings, indexed by type.
var typeNames = [...]string{
	Local:     "local",
	Unicast:   "unicast",
	Broadcast: "broadcast",
	EthLLC:    "eth-llc",
	EthDIX:    "eth-dix",
	UDP4:      "udp4",
	UDP6:      "udp6",
}

// String returns the command-line spelling of the type (eth-llc, udp4, ...),
// or "UNKNOWN" for a value outside the enumeration, as irm ipcp list prints it.
func (t IPCPType) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return "UNKNOWN"
}

// Valid reports whether t is one of the defined types.
func (t IPCPType) Valid() bool { return int(t) < len(typeNames) }

// ParseIPCPType returns the type spelled s exactly: unicast, broadcast,
// local, udp4, udp6, eth-llc or eth-dix.
func ParseIPCPType(s string) (IPCPType, error) {
	for t, n := range typeNames {
		if n == s {
			return IPCPType(t), nil
		}
	}
	return 0, fmt.Errorf("IPCP type %q is unknown: %w", s, oerr.EINVAL)
}

// LBPolicy is how a name spreads incoming flows over the processes accepting
// for it.
type LBPolicy uint32

// Load-balancing policies.
const (
	// RoundRobin hands each flow to the accepter that has waited longest.
	RoundRobin LBPolicy = 0
	// Spill hands flows to the most recent accepter while it keeps accepting.
	Spill LBPolicy = 1
)

// String returns "round-robin" or "spillover", or "UNKNOWN".
func (p LBPolicy) String() string {
	switch p {
	case RoundRobin:
		return "round-robin"
	case Spill:
		return "spillover"
	}
	return "UNKNOWN"
}

// ParseLBPolicy returns the policy spelled s exactly ("round-robin" or
// "spillover").
func ParseLBPolicy(s string) (LBPolicy, error) {
	switch s {
	case "round-robin":
		return RoundRobin, nil
	case "spillover":
		return Spill, nil
	}
	return 0, fmt.Errorf("load-balance policy %q is unknown: %w", s, oerr.EINVAL)
}

// HashAlgo is a layer's directory hash algorithm.
type HashAlgo = hash.Algo

// Directory hash algorithms. Only the SHA3 ones can be chosen for a layer;
// UDP layers are forced to MD5 and broadcast layers to SHA3-256.
const (
	SHA3_224 = hash.SHA3_224
	SHA3_256 = hash.SHA3_256
	SHA3_384 = hash.SHA3_384
	SHA3_512 = hash.SHA3_512
	MD5      = hash.MD5
)

// Components of unicast and broadcast IPCPs that ConnectIPCP and
// DisconnectIPCP name. The strings travel in the protocol.
const (
	DTComponent   = "Data Transfer"
	MgmtComponent = "Management"
)

// NotEnrolled is the layer name the IRMd reports for an IPCP that has been
// neither bootstrapped nor enrolled.
const NotEnrolled = "Not enrolled."

// MaxNameLen is the longest IPCP, layer or registry name the IRMd stores.
const MaxNameLen = 255

// IPCPInfo describes an IPCP as the IRMd lists it.
type IPCPInfo struct {
	PID      int
	Type     IPCPType
	Name     string
	Layer    string // NotEnrolled until bootstrapped or enrolled
	HashAlgo HashAlgo
}

// NameInfo describes a name in the IRMd's registry. The key and certificate
// paths are for flow-allocation security; empty paths select the IRMd's
// defaults (<security dir>/{server,client}/<name>/{key,crt}.pem). ListNames
// returns them empty.
type NameInfo struct {
	Name      string
	LB        LBPolicy
	ServerKey string
	ServerCrt string
	ClientKey string
	ClientCrt string
}

// Errno is an Ouroboros error number, as the IRMd returns it.
type Errno = oerr.Errno

// Error numbers the IRMd returns to management requests.
const (
	EPERM      = oerr.EPERM
	ENOENT     = oerr.ENOENT
	EEXIST     = oerr.EEXIST
	EINVAL     = oerr.EINVAL
	ENOMEM     = oerr.ENOMEM
	ENOTSUP    = oerr.ENOTSUP
	ETIMEDOUT  = oerr.ETIMEDOUT
	EIPCPTYPE  = oerr.EIPCPTYPE
	EIRMD      = oerr.EIRMD
	EIPCP      = oerr.EIPCP
	EIPCPSTATE = oerr.EIPCPSTATE
	ENAME      = oerr.ENAME
)
