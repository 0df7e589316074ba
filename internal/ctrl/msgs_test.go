package ctrl_test

// Representative messages for every irm_msg and ipcp_msg code, with the
// fields the IRMd protocol lists for each. Used by the round-trip
// tests and as the fuzz seed corpus.

import (
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/ouroboros-go/ouroboros/internal/ctrl"
	"github.com/ouroboros-go/ouroboros/internal/pb"
	"github.com/ouroboros-go/ouroboros/qos"
)

type irmCase struct {
	name string
	msg  *pb.IrmMsg
}

type ipcpCase struct {
	name string
	msg  *pb.IpcpMsg
}

func flowInfo(id, npid, n1pid int, mpl, state uint32, q qos.Spec, uid uint32) *pb.FlowInfoMsg {
	return ctrl.FlowInfoToPB(ctrl.FlowInfo{ID: id, NPid: npid, N1Pid: n1pid, MPL: mpl, State: state, QoS: q, UID: uid})
}

func layerInfo(name string, algo uint32) *pb.LayerInfoMsg {
	return &pb.LayerInfoMsg{Name: proto.String(name), DirHashAlgo: proto.Uint32(algo)}
}

func nameInfo(name string, lb uint32, paths string) *pb.NameInfoMsg {
	return &pb.NameInfoMsg{Name: proto.String(name), PolLb: proto.Uint32(lb),
		Skey: proto.String(paths), Scrt: proto.String(paths), Ckey: proto.String(paths), Ccrt: proto.String(paths)}
}

// Bootstrap configurations of each IPCP type.
func confUnicast() *pb.IpcpConfigMsg {
	return &pb.IpcpConfigMsg{
		LayerInfo: layerInfo("unicast.layer", 1),
		IpcpType:  proto.Uint32(1),
		Unicast: &pb.UniConfigMsg{
			Dt: &pb.DtConfigMsg{AddrSize: proto.Uint32(4), EidSize: proto.Uint32(8), MaxTtl: proto.Uint32(60),
				Routing: &pb.RoutingConfigMsg{Pol: proto.Uint32(0), Ls: &pb.LsConfigMsg{Pol: proto.Uint32(0),
					TRecalc: proto.Uint32(4), TUpdate: proto.Uint32(15), TTimeo: proto.Uint32(60)}}},
			Dir: &pb.DirConfigMsg{Pol: proto.Uint32(0), Dht: &pb.DirDhtConfigMsg{Alpha: proto.Uint32(3),
				K: proto.Uint32(8), TExpire: proto.Uint32(86400), TRefresh: proto.Uint32(900),
				TReplicate: proto.Uint32(900), Peer: proto.Uint64(math.MaxUint64)}},
			AddrAuthType: proto.Uint32(0),
			CongAvoid:    proto.Uint32(1),
		},
	}
}

func confUDP4() *pb.IpcpConfigMsg {
	return &pb.IpcpConfigMsg{LayerInfo: layerInfo("udp4.layer", 5), IpcpType: proto.Uint32(5),
		Udp4: &pb.Udp4ConfigMsg{IpAddr: proto.Uint32(0x0100007f), Port: proto.Uint32(3435), DnsAddr: proto.Uint32(0)}}
}

func confUDP6() *pb.IpcpConfigMsg {
	ip := make([]byte, 16)
	ip[15] = 1
	return &pb.IpcpConfigMsg{LayerInfo: layerInfo("udp6.layer", 5), IpcpType: proto.Uint32(6),
		Udp6: &pb.Udp6ConfigMsg{IpAddr: ip, Port: proto.Uint32(3435), DnsAddr: make([]byte, 16)}}
}

func confEth() *pb.IpcpConfigMsg {
	return &pb.IpcpConfigMsg{LayerInfo: layerInfo("eth.layer", 1), IpcpType: proto.Uint32(4),
		Eth: &pb.EthConfigMsg{Dev: proto.String("eth0"), Ethertype: proto.Uint32(0xA000)}}
}

func confLocal() *pb.IpcpConfigMsg {
	return &pb.IpcpConfigMsg{LayerInfo: layerInfo("local.layer", 3), IpcpType: proto.Uint32(0)}
}

func irmCode(c pb.IrmMsgCode) *pb.IrmMsgCode    { return c.Enum() }
func ipcpCode(c pb.IpcpMsgCode) *pb.IpcpMsgCode { return c.Enum() }

// irmMessages has at least one message for every irm_msg_code.
func irmMessages() []irmCase {
	hash := make([]byte, 32)
	for i := range hash {
		hash[i] = byte(i * 7)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(255 - i)
	}
	return []irmCase{
		{"IRM_CREATE_IPCP", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_CREATE_IPCP),
			IpcpInfo: &pb.IpcpInfoMsg{Type: proto.Uint32(1), Name: proto.String("uni"), Pid: proto.Uint32(0), State: proto.Uint32(0)}}},
		{"IPCP_CREATE_R", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IPCP_CREATE_R),
			IpcpInfo: &pb.IpcpInfoMsg{Type: proto.Uint32(1), Name: proto.String("uni"), Pid: proto.Uint32(4321), State: proto.Uint32(2)}}},
		{"IRM_DESTROY_IPCP", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_DESTROY_IPCP), Pid: proto.Int32(4321)}},
		{"IRM_LIST_IPCPS", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_LIST_IPCPS)}},
		{"IRM_BOOTSTRAP_IPCP unicast", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP), Pid: proto.Int32(4321), Conf: confUnicast()}},
		{"IRM_BOOTSTRAP_IPCP udp4", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP), Pid: proto.Int32(4322), Conf: confUDP4()}},
		{"IRM_BOOTSTRAP_IPCP udp6", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP), Pid: proto.Int32(4323), Conf: confUDP6()}},
		{"IRM_BOOTSTRAP_IPCP eth", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP), Pid: proto.Int32(4324), Conf: confEth()}},
		{"IRM_BOOTSTRAP_IPCP local", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_BOOTSTRAP_IPCP), Pid: proto.Int32(4325), Conf: confLocal()}},
		{"IRM_ENROLL_IPCP", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_ENROLL_IPCP), Pid: proto.Int32(4321), Dst: proto.String("bootstrap.ipcp")}},
		{"IRM_CONNECT_IPCP", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_CONNECT_IPCP), Pid: proto.Int32(4321),
			Dst: proto.String("peer"), Comp: proto.String("Data Transfer"), Qosspec: ctrl.QoSToPB(qos.Raw)}},
		{"IRM_DISCONNECT_IPCP", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_DISCONNECT_IPCP), Pid: proto.Int32(4321),
			Dst: proto.String("peer"), Comp: proto.String("Management")}},
		{"IRM_BIND_PROGRAM", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_BIND_PROGRAM), Name: proto.String("oping.server"),
			Exec: []string{"/usr/bin/oping", "-l", ""}, Opts: proto.Uint32(1)}},
		{"IRM_UNBIND_PROGRAM", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_UNBIND_PROGRAM), Prog: proto.String("oping"), Name: proto.String("oping.server")}},
		{"IRM_PROC_ANNOUNCE", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_PROC_ANNOUNCE), Pid: proto.Int32(1234), Prog: proto.String("oping")}},
		{"IRM_PROC_EXIT", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_PROC_EXIT), Pid: proto.Int32(1234)}},
		{"IRM_BIND_PROCESS", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_BIND_PROCESS), Pid: proto.Int32(1234), Name: proto.String("n")}},
		{"IRM_UNBIND_PROCESS", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_UNBIND_PROCESS), Pid: proto.Int32(1234), Name: proto.String("n")}},
		{"IRM_CREATE_NAME", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_CREATE_NAME), NameInfo: nameInfo("n", 0, "")}},
		{"IRM_DESTROY_NAME", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_DESTROY_NAME), Name: proto.String("n")}},
		{"IRM_LIST_NAMES", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_LIST_NAMES)}},
		{"IRM_REG_NAME", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REG_NAME), Name: proto.String("n"), Pid: proto.Int32(4321)}},
		{"IRM_UNREG_NAME", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_UNREG_NAME), Name: proto.String("n"), Pid: proto.Int32(4321)}},
		{"IRM_FLOW_ALLOC", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_FLOW_ALLOC),
			FlowInfo: flowInfo(0, 1234, 0, 0, 0, qos.BestEffort, 0), Dst: proto.String("oping.server"), Timeo: ctrl.Timespec(1500e6)}},
		{"IRM_FLOW_ACCEPT", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_FLOW_ACCEPT), FlowInfo: flowInfo(0, 1234, 0, 0, 0, qos.Raw, 0)}},
		{"IRM_FLOW_JOIN", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_FLOW_JOIN),
			FlowInfo: flowInfo(0, 1234, 0, 0, 0, qos.NP1, 0), Dst: proto.String("bc.layer"), Timeo: ctrl.Timespec(0)}},
		{"IRM_FLOW_DEALLOC", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_FLOW_DEALLOC),
			FlowInfo: flowInfo(7, 1234, 0, 0, 0, qos.Raw, 0), Timeo: &pb.TimespecMsg{TvSec: proto.Uint64(3), TvNsec: proto.Uint32(0)}}},
		{"IPCP_FLOW_DEALLOC", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IPCP_FLOW_DEALLOC), FlowInfo: flowInfo(7, 0, 4321, 0, 0, qos.Raw, 0)}},
		{"IPCP_FLOW_REQ_ARR", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IPCP_FLOW_REQ_ARR),
			FlowInfo: flowInfo(0, 0, 4321, 2, 0, qos.Voice, 0), Hash: hash, Pk: []byte("oap request header")}},
		{"IPCP_FLOW_ALLOC_REPLY", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IPCP_FLOW_ALLOC_REPLY),
			FlowInfo: flowInfo(7, 0, 0, 2, 0, qos.Raw, 0), Response: proto.Int32(-1007), Pk: []byte{}}},
		{"IRM_REPLY result", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), Result: proto.Int32(-110)}},
		{"IRM_REPLY flow", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), Result: proto.Int32(0),
			FlowInfo: flowInfo(7, 1234, -1, 1, 3, qos.Video, 1000), Pk: []byte{1, 2, 3},
			CipherNid: proto.Int32(1016), SymKey: key}},
		{"IRM_REPLY ipcps", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), Result: proto.Int32(0),
			Ipcps: []*pb.IpcpListMsg{
				{Pid: proto.Uint32(10), Type: proto.Uint32(0), Name: proto.String("local"), Layer: proto.String("Not enrolled."), HashAlgo: proto.Uint32(1)},
				{Pid: proto.Uint32(11), Type: proto.Uint32(1), Name: proto.String("uni"), Layer: proto.String("l"), HashAlgo: proto.Uint32(3)},
			}}},
		{"IRM_REPLY names", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), Result: proto.Int32(0),
			Names: []*pb.NameInfoMsg{nameInfo("a", 0, ""), nameInfo("b", 1, "")}}},
		{"unused fields", &pb.IrmMsg{Code: irmCode(pb.IrmMsgCode_IRM_REPLY), Layer: proto.String("x"),
			FlowId: proto.Int32(-5), Mpl: proto.Int32(-2), TimeoSec: proto.Uint32(1), TimeoNsec: proto.Uint32(2), Result: proto.Int32(math.MinInt32)}},
	}
}

// ipcpMessages has at least one message for every ipcp_msg_code.
func ipcpMessages() []ipcpCase {
	hash := make([]byte, 32)
	for i := range hash {
		hash[i] = byte(i)
	}
	return []ipcpCase{
		{"IPCP_BOOTSTRAP", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_BOOTSTRAP), Conf: confUnicast()}},
		{"IPCP_BOOTSTRAP udp6", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_BOOTSTRAP), Conf: confUDP6()}},
		{"IPCP_ENROLL", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_ENROLL), Dst: proto.String("bootstrap.ipcp")}},
		{"IPCP_REG", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_REG), Hash: hash}},
		{"IPCP_UNREG", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_UNREG), Hash: hash}},
		{"IPCP_QUERY", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_QUERY), Hash: hash[:16]}},
		{"IPCP_FLOW_ALLOC", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_FLOW_ALLOC), FlowId: proto.Int32(7),
			Pid: proto.Int32(1234), Uid: proto.Uint32(1000), Qosspec: ctrl.QoSToPB(qos.Data), Hash: hash, Pk: []byte{}}},
		{"IPCP_FLOW_JOIN", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_FLOW_JOIN), FlowId: proto.Int32(8),
			Pid: proto.Int32(1234), Uid: proto.Uint32(0), Hash: hash}},
		{"IPCP_FLOW_ALLOC_RESP", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_FLOW_ALLOC_RESP), FlowId: proto.Int32(9),
			Pid: proto.Int32(1234), Uid: proto.Uint32(0), Response: proto.Int32(0), Pk: []byte("oap response")}},
		{"IPCP_FLOW_ALLOC_RESP refused", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_FLOW_ALLOC_RESP), FlowId: proto.Int32(9),
			Pid: proto.Int32(1234), Uid: proto.Uint32(0), Response: proto.Int32(-1008)}},
		{"IPCP_FLOW_DEALLOC", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_FLOW_DEALLOC), FlowId: proto.Int32(7), TimeoSec: proto.Uint32(3)}},
		{"IPCP_CONNECT", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_CONNECT), Dst: proto.String("peer"),
			Comp: proto.String("Management"), Pid: proto.Int32(4321), Qosspec: ctrl.QoSToPB(qos.NP1)}},
		{"IPCP_DISCONNECT", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_DISCONNECT), Dst: proto.String("peer"),
			Comp: proto.String("Data Transfer"), Pid: proto.Int32(4321)}},
		{"IPCP_REPLY", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_REPLY), Result: proto.Int32(-1)}},
		{"IPCP_REPLY layer", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_REPLY), Result: proto.Int32(0),
			LayerInfo: layerInfo("unicast.layer", 1)}},
		{"unused fields", &pb.IpcpMsg{Code: ipcpCode(pb.IpcpMsgCode_IPCP_REPLY), Mpl: proto.Int32(-3),
			Result: proto.Int32(math.MinInt32), FlowId: proto.Int32(math.MaxInt32), Pid: proto.Int32(-1)}},
	}
}
